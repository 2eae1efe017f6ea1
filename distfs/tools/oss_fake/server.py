"""The fake on a socket: an HTTP/1.1 server thread (:func:`serve`) and the standalone command (:func:`main`)."""

from __future__ import annotations

import argparse
import base64
import threading
import urllib.parse
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .documents import OSSError, document, element
from .fake import OSSFake

__all__ = ["main", "serve"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every response with a body.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                piece = self.rfile.read(size)
                if len(piece) != size:
                    raise ConnectionError("the request body ended early")
                data += piece
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) != length:  # the client went away mid-body: OSS applies nothing
            raise ConnectionError(f"the request body ended at {len(body)} of {length} bytes")
        return body

    def _serve(self) -> None:
        raw_path, _, raw_query = self.path.partition("?")
        query = {k: v for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True)}
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._body()
        except (ConnectionError, ValueError):  # a client killed mid-request: nothing is applied
            self.close_connection = True
            return
        request_id = uuid.uuid4().hex[:24].upper()
        try:
            status, out_headers, out = self.server.fake.handle(self.command, raw_path, query, headers, body)
        except OSSError as error:
            status, out_headers = error.status, {"Content-Type": "application/xml", "x-oss-ec": "0000-00000000"}
            extra = "".join(element(k, v) for k, v in error.extra.items())
            out = document(
                "Error",
                element("Code", error.code)
                + element("Message", error.message)
                + element("RequestId", request_id)
                + element("HostId", "oss-fake")
                + extra,
            )
            if self.command == "HEAD":  # no body: OSS repeats the error document in x-oss-err
                out_headers["x-oss-err"] = base64.b64encode(out).decode()
        if status == 304:  # no body, ever
            out = b""
        self.send_response(status)
        out_headers.setdefault("Content-Type", "application/xml")
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("x-oss-request-id", request_id)
        self.send_header("Server", "AliyunOSS (distfs test fake)")
        self.send_header("Date", formatdate(usegmt=True))
        if "Content-Length" not in out_headers:
            self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            view = memoryview(out)
            for start in range(0, len(view), 1 << 20):
                self.wfile.write(view[start : start + (1 << 20)])

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: OSSFake


def serve(fake: OSSFake, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve ``fake`` on ``host:port`` (0: a free port) in a daemon thread."""
    server = _Server((host, port), _Handler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, name="oss-fake", daemon=True)
    thread.start()
    return server, thread


def main() -> None:
    parser = argparse.ArgumentParser(description="distfs's in-repo OSS protocol fake (a test tool)")
    parser.add_argument("--port", type=int, default=9900)
    parser.add_argument("--key-id", default="test-key-id")
    parser.add_argument("--secret", default="test-key-secret")
    parser.add_argument("--bucket", action="append", default=[])
    arguments = parser.parse_args()
    fake = OSSFake(arguments.key_id, arguments.secret)
    for name in arguments.bucket:
        fake.create_bucket(name)
    server, thread = serve(fake, port=arguments.port)
    print(f"OSS fake on http://127.0.0.1:{server.server_address[1]}", flush=True)
    thread.join()
