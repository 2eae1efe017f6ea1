"""A reverse proxy that delays every request: loopback servers answering like a remote store.

Real object stores answer in tens of milliseconds; moto on loopback answers in about one,
which hides every request a client makes one after another. :class:`DelayProxy` listens
on ``127.0.0.1:<free port>``, waits ``delay`` seconds on each request, then forwards it to
``upstream`` (plain HTTP on loopback only) and relays the answer. Requests are served on
one thread each (HTTP/1.1 keep-alive), so concurrent requests are delayed concurrently,
as a remote store's would be; its sockets send at once (``TCP_NODELAY``), so an answer
never waits for the client's delayed ACK (before, one request after another on a
connection took about 48 ms each at no delay). Bodies are read whole (meant for benchmarks of small
objects, not for streaming gigabytes).

The proxy runs in a process of its own (``python -m distfs.tools.delayproxy``), as a remote
store would: its threads never take the measured client's interpreter lock, which would
slow a Python client and not a client whose HTTP runs outside Python (obstore). Its
listen backlog holds :data:`BACKLOG` connections, so a client that opens a hundred at once
is not left waiting on SYN retransmits. What it counted (``requests``, ``in_flight``,
``peak``) and its ``pid`` is read from it on each access, through a path of its own (:data:`CONTROL`).
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from types import TracebackType

__all__ = ["BACKLOG", "CONTROL", "DelayProxy"]

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}

#: Connections the proxy's socket queues before it accepts them.
BACKLOG = 1024
#: The proxy's own path: GET answers its counts, POST ``.../reset`` sets ``peak`` to the requests in flight.
CONTROL = "/.delayproxy"


class DelayProxy:
    """Forward to ``upstream`` after ``delay`` seconds per request (see the module docstring)."""

    def __init__(self, upstream: str, delay: float) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the delay proxy only forwards to plain http on loopback, not {upstream!r}")
        self.upstream = upstream
        self.delay = delay
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0

    @property
    def endpoint(self) -> str:
        """The proxy's URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._port}"

    def _counts(self, method: str = "GET", path: str = "") -> dict[str, int]:
        request = urllib.request.Request(f"{self.endpoint}{CONTROL}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            counts: dict[str, int] = json.loads(answer.read())
        return counts

    @property
    def pid(self) -> int:
        """The proxy process's id (answered by that process itself)."""
        return self._counts()["pid"]

    @property
    def requests(self) -> int:
        """Requests forwarded so far."""
        return self._counts()["requests"]

    @property
    def in_flight(self) -> int:
        """Requests being served now."""
        return self._counts()["in_flight"]

    @property
    def peak(self) -> int:
        """The most requests ever served at once (the concurrency a client reached)."""
        return self._counts()["peak"]

    @peak.setter
    def peak(self, value: int) -> None:
        if value != 0:
            raise ValueError("the peak can only be reset (set to 0)")
        self._counts("POST", "/reset")

    def start(self) -> DelayProxy:
        from .servers import _die_with_parent

        self._process = subprocess.Popen(
            [sys.executable, "-m", "distfs.tools.delayproxy", self.upstream, repr(self.delay)],
            stdout=subprocess.PIPE,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - the proxy must not outlive its user
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"the delay proxy did not start: {line!r}")
        self._port = int(line)
        return self

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Counts:
    """The proxy process's counts, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = self.in_flight = self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def as_json(self) -> bytes:
        with self.lock:
            counts = {"requests": self.requests, "in_flight": self.in_flight, "peak": self.peak, "pid": os.getpid()}
        return json.dumps(counts).encode()


def serve(upstream: str, delay: float) -> None:
    """The proxy process: print the port it listens on, then serve until killed."""
    parts = urllib.parse.urlsplit(upstream)
    target = (parts.hostname or "127.0.0.1", parts.port or 80)
    counts = _Counts()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # An answer goes out as two writes (headers, then body): with Nagle's algorithm the body
        # waited for the client's delayed ACK of the headers, 40 ms and more on some answers.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def _forward(self) -> None:
            if self.path.startswith(CONTROL):
                self._control()
                return
            counts.enter()
            try:
                self._relay()
            finally:
                counts.leave()

        def _control(self) -> None:
            if self.command == "POST":
                with counts.lock:
                    counts.peak = counts.in_flight
            body = counts.as_json()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _relay(self) -> None:
            time.sleep(delay)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            connection: http.client.HTTPConnection | None = getattr(self, "_upstream", None)
            if connection is None:
                connection = http.client.HTTPConnection(*target, timeout=60)
                self._upstream: http.client.HTTPConnection | None = connection
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._upstream = None
                self.send_error(502)
                return
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in _HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815 - http.server names

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = BACKLOG
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]))
