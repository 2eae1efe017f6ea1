"""A reverse proxy that delays every request: loopback servers answering like a remote store.

Real object stores answer in tens of milliseconds; moto on loopback answers in about one,
which hides every request a client makes one after another. :class:`DelayProxy` listens
on ``127.0.0.1:<free port>``, waits ``delay`` seconds on each request, then forwards it to
``upstream`` (plain HTTP on loopback only) and relays the answer. Requests are served on
one thread each (HTTP/1.1 keep-alive), so concurrent requests are delayed concurrently,
as a remote store's would be. Bodies are read whole (meant for benchmarks of small
objects, not for streaming gigabytes).
"""

from __future__ import annotations

import http.client
import http.server
import threading
import time
import urllib.parse
from types import TracebackType

__all__ = ["DelayProxy"]

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


class DelayProxy:
    """Forward to ``upstream`` after ``delay`` seconds per request (see the module docstring)."""

    def __init__(self, upstream: str, delay: float) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the delay proxy only forwards to plain http on loopback, not {upstream!r}")
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.delay = delay
        self.requests = 0
        #: Requests being served now, and the most ever served at once (concurrency reached).
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.requests += 1
                    proxy.in_flight += 1
                    proxy.peak = max(proxy.peak, proxy.in_flight)
                try:
                    self._relay()
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

            def _relay(self) -> None:
                time.sleep(proxy.delay)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                connection: http.client.HTTPConnection | None = getattr(self, "_upstream", None)
                if connection is None:
                    connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
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

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="delay-proxy", daemon=True)

    @property
    def endpoint(self) -> str:
        """The proxy's URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> DelayProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
