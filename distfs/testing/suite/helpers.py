"""Helpers the cases share (ported from ``testsuites.go``): round trips, reads, checks, raw HTTP, suspended uploads."""

from __future__ import annotations

import hashlib
import http.client
import urllib.parse
from collections.abc import Callable

from ...driver import StorageDriver
from ..context import Case, Context, check, check_equal

__all__ = [
    "GiB",
    "MiB",
    "check_name",
    "http_request",
    "read_all",
    "read_digest",
    "round_trip_cases",
    "suspend",
    "write_read_compare",
    "write_read_compare_streams",
]

MiB = 1 << 20
GiB = 1 << 30


def write_read_compare(ctx: Context, path: str, data: bytes) -> None:
    ctx.cleanup(path)
    ctx.driver.put_content(path, data)
    check_equal(ctx.driver.get_content(path), data, f"get_content({path})")


def write_read_compare_streams(ctx: Context, path: str, data: bytes) -> None:
    ctx.cleanup(path)
    writer = ctx.driver.writer(path, append=False)
    check_equal(writer.write(data), len(data), "bytes written")
    writer.commit()
    writer.close()
    with ctx.driver.reader(path, 0) as stream:
        check_equal(stream.read(), data, f"reader({path}, 0).read()")


def read_all(ctx: Context, path: str, offset: int = 0) -> bytes:
    with ctx.driver.reader(path, offset) as stream:
        return stream.read()


def read_digest(ctx: Context, path: str, offset: int = 0) -> tuple[int, str]:
    """The size and SHA-256 of ``path``'s content from ``offset``, read in MiB pieces (the cases
    that read on many threads at once hold no whole copy per thread)."""
    digest, size = hashlib.sha256(), 0
    with ctx.driver.reader(path, offset) as stream:
        while piece := stream.read(MiB):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def check_name(ctx: Context, error: BaseException) -> None:
    check(ctx.driver.name in str(error), f"error message {str(error)!r} does not name driver {ctx.driver.name!r}")


def http_request(url: str, method: str) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    connection_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(parts.netloc, timeout=30)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target)
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def suspend(driver: StorageDriver, path: str, data: bytes, *, append: bool = False) -> None:
    writer = driver.writer(path, append)
    writer.write(data)
    writer.close()


# Go's TestWriteRead1..4 and TestWriteReadNonUTF8, and their streaming twins.
_ROUND_TRIPS: list[tuple[str, str, Callable[[Context], bytes]]] = [
    ("1", '"a"', lambda ctx: b"a"),
    ("2", 'UTF-8 "\\xc3\\x9f"', lambda ctx: "\u00df".encode()),
    ("3", "32 random bytes", lambda ctx: ctx.random_bytes(32)),
    ("4", "1 MiB", lambda ctx: ctx.random_bytes(MiB)),
    ("_non_utf8", "bytes 80 80 80 80", lambda ctx: b"\x80\x80\x80\x80"),
]


def round_trip_cases(cases: list[Case], prefix: str, how: str, compare: Callable[[Context, str, bytes], None]) -> None:
    for suffix, what, data in _ROUND_TRIPS:

        def run(ctx: Context, data: Callable[[Context], bytes] = data) -> None:
            compare(ctx, ctx.random_path(32), data(ctx))

        cases.append(Case(prefix + suffix, run, f"{how} of {what}."))
