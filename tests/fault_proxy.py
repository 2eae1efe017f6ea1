"""A small HTTP fault-injecting reverse proxy for the cloud drivers' tests (stdlib only).

:class:`FaultProxy` listens on ``127.0.0.1:<free port>`` and forwards every request to one
upstream server (moto, fake-gcs-server, Azurite, distfs's OSS fake). For each request a
seeded RNG decides, with probability ``rate``, to inject a fault; the kinds are dealt from
a shuffled deck of ``kinds`` (every kind once before any repeats). :meth:`FaultProxy.force`
injects a given fault into the next requests matching a method and a path fragment.

Before the request is forwarded (the upstream never sees it, so nothing half-applies):

* ``500``, ``503``: a plain server error;
* ``throttle``: the backend's own throttling answer (S3 ``503 SlowDown`` XML, GCS ``429``
  JSON error, Azure ``503 ServerBusy``, OSS ``503 ServerBusy`` XML);
* ``reset``: the connection is reset (RST) before any response;
* ``latency``: the request is delayed by ``latency`` seconds, then forwarded normally.

After the upstream answered (the request *was* applied; the client never learns it):

* ``reset-after``: the upstream response is dropped and the connection reset;
* ``truncated``: the status and headers with the full ``Content-Length`` are sent, then
  half of the body, then the connection is reset (falls back to ``reset-after`` when the
  response has no body).

Bodies are streamed in pieces of :data:`PIECE` bytes both ways (a 100 MiB upload is never
held whole). ``Location`` headers and small JSON/XML bodies naming the upstream's
``host:port`` are rewritten to the proxy's, so absolute URLs handed out by the upstream
(GCS resumable uploads, Azure copy sources) come back through the proxy. ``counts`` holds
the faults injected by kind, ``requests`` the requests seen, ``bytes_up`` /
``bytes_down`` the body bytes that crossed the proxy, and ``trace`` / ``heard`` (when
set to a list) each request's line / method, path and headers.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import random
import socket
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from types import TracebackType
from typing import Any

__all__ = ["AFTER", "BEFORE", "KINDS", "FaultProxy"]

#: Faults injected before forwarding, and on the response path.
BEFORE = ("500", "503", "throttle", "reset", "latency")
AFTER = ("reset-after", "truncated")
KINDS = BEFORE + AFTER

PIECE = 1 << 20
_REWRITE_LIMIT = 1 << 20
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"}

_THROTTLE: dict[str, tuple[int, str, bytes]] = {
    "s3": (
        503,
        "application/xml",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
        b"<Message>Please reduce your request rate.</Message></Error>",
    ),
    "gcs": (
        429,
        "application/json",
        b'{"error": {"code": 429, "message": "The rate of change requests to the object is too high.",'
        b' "errors": [{"reason": "rateLimitExceeded", "message": "too many requests"}]}}',
    ),
    "azure": (
        503,
        "application/xml",
        b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
        b"<Message>The server is currently unable to receive requests. Please retry your request.</Message></Error>",
    ),
    "oss": (
        503,
        "application/xml",
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ServerBusy</Code>'
        b"<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>",
    ),
}


class FaultProxy:
    """A threaded reverse proxy to ``upstream`` injecting faults at ``rate`` (see the module docstring).

    ``backend`` (``s3``, ``gcs``, ``azure``, ``oss``) picks the throttling answer. ``rate``,
    ``kinds`` and ``latency`` may be changed while the proxy runs. Use as a context manager,
    or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        upstream: str,
        backend: str,
        *,
        rate: float = 0.0,
        kinds: Iterable[str] = KINDS,
        seed: int = 0,
        latency: float = 0.05,
    ) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the fault proxy only forwards to plain http on loopback, not {upstream!r}")
        if backend not in _THROTTLE:
            raise ValueError(f"unknown backend {backend!r}; one of {', '.join(_THROTTLE)}")
        self.backend = backend
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.upstream_path = parts.path.rstrip("/")
        self.rate = rate
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        self.latency = latency
        self.counts: Counter[str] = Counter()
        #: When a list, one line per request (time, method, path, fault) is appended.
        self.trace: list[str] | None = None
        #: When a list, (method, path with query, headers with lower-case names) of every request.
        self.heard: list[tuple[str, str, dict[str, str]]] | None = None
        self.requests = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._random = random.Random(seed)
        self._deck: list[str] = []
        self._forced: list[list[Any]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The proxy's URL, with the upstream's path (``http://127.0.0.1:PORT/devstoreaccount1``)."""
        return f"http://127.0.0.1:{self.port}{self.upstream_path}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- decisions --------------------------------------------------------------------

    def force(self, method: str, marker: str, kind: str, times: int = 1) -> None:
        """Inject ``kind`` into the next ``times`` requests ``method`` whose path (with query) holds ``marker``."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._forced.append([method.upper(), marker, kind, times])

    def forced_left(self) -> int:
        """Forced faults not injected yet."""
        with self._lock:
            return sum(entry[3] for entry in self._forced)

    def draw(self, method: str = "", path: str = "") -> str:
        """The fault for the request ``method path`` (``""``: none), counted.

        Forced faults (:meth:`force`) come first. Otherwise whether a request fails is
        random (``rate``); the kinds are dealt from a shuffled deck of ``kinds``, so every
        kind is injected once before any kind repeats.
        """
        with self._lock:
            self.requests += 1
            for entry in self._forced:
                if entry[3] > 0 and entry[0] == method and entry[1] in path:
                    entry[3] -= 1
                    self.counts[entry[2]] += 1
                    return str(entry[2])
            if not self.kinds or self._random.random() >= self.rate:
                return ""
            if not self._deck:
                self._deck = list(self.kinds)
                self._random.shuffle(self._deck)
            kind = self._deck.pop()
            self.counts[kind] += 1
            return kind

    def recount(self, drawn: str, applied: str) -> None:
        """The fault ``drawn`` was applied as ``applied`` (a truncation of a response without body)."""
        with self._lock:
            self.counts[drawn] -= 1
            self.counts[applied] += 1

    def add_bytes(self, up: int = 0, down: int = 0) -> None:
        with self._lock:
            self.bytes_up += up
            self.bytes_down += down

    def faults(self) -> int:
        """Faults injected so far, all kinds."""
        with self._lock:
            return sum(self.counts.values())

    def throttle(self) -> tuple[int, str, bytes]:
        return _THROTTLE[self.backend]

    def rewrite(self, data: bytes) -> bytes:
        """``data`` with the upstream's ``host:port`` replaced by the proxy's."""
        own = f"127.0.0.1:{self.port}".encode()
        for host in {self.upstream_host, "127.0.0.1", "localhost"}:
            data = data.replace(f"{host}:{self.upstream_port}".encode(), own)
        return data


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    proxy: FaultProxy


class _Reset(Exception):
    """Abort this client connection with a reset."""


class _Closed(Exception):
    """The client connection was reset on purpose; the handler stops."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read the counters, not a log."""

    _fault = ""
    _early = False

    def handle_expect_100(self) -> bool:
        """Decide before the client sends its body: a pre-forward fault answers instead of 100."""
        self._fault = self.server.proxy.draw(self.command, self.path)
        self._early = True
        if self._fault in ("500", "503", "throttle", "reset"):
            self.close_connection = True  # the client never sends the body
            return True
        return super().handle_expect_100()

    def handle_one_request(self) -> None:
        self._fault, self._early = "", False
        try:
            super().handle_one_request()
        except (_Closed, ConnectionError, OSError):
            self.close_connection = True

    # every method is proxied the same way
    def do_GET(self) -> None:
        self._proxy()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET  # noqa: N815 - http.server's names

    def finish(self) -> None:
        with contextlib.suppress(Exception):
            if self._upstream is not None:
                self._upstream.close()
        with contextlib.suppress(Exception):
            super().finish()

    # -- the request ------------------------------------------------------------------

    def _proxy(self) -> None:
        proxy = self.server.proxy
        fault = self._fault if self._early else proxy.draw(self.command, self.path)
        if proxy.trace is not None:
            proxy.trace.append(f"{time.monotonic():.3f} {self.command} {self.path[:1000]} {fault or '-'}")
        if proxy.heard is not None:
            proxy.heard.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        try:
            if fault == "latency":
                time.sleep(proxy.latency)
            elif fault == "reset":
                self._reset()
            elif fault in ("500", "503", "throttle"):
                if not self._early:
                    self._drain_body()
                if fault == "throttle":
                    status, kind, body = proxy.throttle()
                else:
                    status, kind, body = int(fault), "text/plain", f"injected {fault}\n".encode()
                self._answer(status, kind, body)
                return
            self._forward(fault if fault in AFTER else "")
        except _Reset:
            self._reset()
        except (ConnectionError, TimeoutError, http.client.HTTPException, OSError):
            self.close_connection = True
            with contextlib.suppress(Exception):
                if self._upstream is not None:
                    self._upstream.close()
            self._upstream = None
            self._reset()

    def _reset(self) -> None:
        """Close the client connection with a TCP reset."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()
        raise _Closed

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-ms-error-code" if self.server.proxy.backend == "azure" else "x-fault", "ServerBusy")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _body_pieces(self) -> Iterable[bytes]:
        """The request body, piece by piece (Content-Length or chunked)."""
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size:
                    piece = self.rfile.read(min(size, PIECE))
                    if not piece:
                        raise ConnectionError("client closed mid-body")
                    size -= len(piece)
                    yield piece
                self.rfile.readline(16)
        elif length:
            left = int(length)
            while left:
                piece = self.rfile.read(min(left, PIECE))
                if not piece:
                    raise ConnectionError("client closed mid-body")
                left -= len(piece)
                yield piece

    def _drain_body(self) -> None:
        for piece in self._body_pieces():
            self.server.proxy.add_bytes(up=len(piece))

    def _connection(self) -> http.client.HTTPConnection:
        if self._upstream is None:
            proxy = self.server.proxy
            self._upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
        return self._upstream

    def _forward(self, after: str) -> None:
        proxy = self.server.proxy
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        upstream = self._connection()
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in _HOP:
                upstream.putheader(name, value)
        if chunked:
            upstream.putheader("Transfer-Encoding", "chunked")
        upstream.endheaders()
        for piece in self._body_pieces():
            proxy.add_bytes(up=len(piece))
            upstream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            upstream.send(b"0\r\n\r\n")
        response = upstream.getresponse()
        if response.will_close:
            self._upstream = None
        if after == "truncated" and (self.command == "HEAD" or not response.length):
            proxy.recount("truncated", "reset-after")
            after = "reset-after"
        if after == "reset-after":
            response.read()
            raise _Reset
        self._relay(response, after == "truncated")

    def _relay(self, response: http.client.HTTPResponse, truncate: bool) -> None:
        proxy = self.server.proxy
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP]
        length = response.length
        kind = response.getheader("Content-Type", "") or ""
        body: bytes | None = None
        small = length is not None and length <= _REWRITE_LIMIT
        if self.command != "HEAD" and small and ("json" in kind or "xml" in kind):
            body = proxy.rewrite(response.read())
            length = len(body)
        self.send_response_only(response.status, response.reason)
        for name, value in headers:
            if name.lower() == "content-length" and self.command != "HEAD":
                continue
            if name.lower() == "location":
                self.send_header(name, proxy.rewrite(value.encode("latin-1")).decode("latin-1"))
            else:
                self.send_header(name, value)
        bodiless = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        chunk_out = False
        if not bodiless:
            if length is not None:
                self.send_header("Content-Length", str(length))
            else:
                self.send_header("Transfer-Encoding", "chunked")
                chunk_out = True
        self.end_headers()
        if bodiless:
            response.read()
            self.wfile.flush()
            return
        if body is not None:
            pieces: Iterable[bytes] = [body]
        else:
            pieces = iter(lambda: response.read(PIECE), b"")
        sent = 0
        for whole in pieces:
            piece = whole[: max(0, length // 2 - sent)] if truncate and length else whole
            if chunk_out:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            elif piece:
                self.wfile.write(piece)
            sent += len(piece)
            proxy.add_bytes(down=len(piece))
            if truncate and length and sent >= length // 2:
                self.wfile.flush()
                response.read()
                raise _Reset
        if chunk_out:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
