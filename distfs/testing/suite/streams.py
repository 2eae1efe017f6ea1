"""Streams (Go's TestWriteReadStreams*, TestReaderWithOffset, TestContinueStreamAppend*,
TestReadNonexistentStream, TestWriteZeroByte*): writers and readers, suspended and resumed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

from ...errors import InvalidOffsetError, PathNotFoundError
from ..context import Case, Context, check_equal, expect_error
from .helpers import GiB, MiB, check_name, read_all, round_trip_cases, write_read_compare_streams
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


round_trip_cases(CASES, "write_read_streams", "writer/reader round trip", write_read_compare_streams)


@case(long_only=True)
def test_write_read_large_streams(ctx: Context) -> None:
    """5 GiB streamed through a writer reads back with the same SHA-256 (long mode)."""
    path = ctx.cleanup(ctx.random_path(32))
    size = 5 * GiB
    block = ctx.random_bytes(4 * MiB)
    written = hashlib.sha256()
    writer = ctx.driver.writer(path, append=False)
    remaining = size
    counter = 0
    while remaining:
        chunk = counter.to_bytes(8, "big") + block[8 : min(len(block), remaining)]
        chunk = chunk[:remaining]
        writer.write(chunk)
        written.update(chunk)
        remaining -= len(chunk)
        counter += 1
    check_equal(writer.size, size, "writer.size")
    writer.commit()
    writer.close()
    read = hashlib.sha256()
    total = 0
    with ctx.driver.reader(path, 0) as stream:
        while chunk := stream.read(4 * MiB):
            read.update(chunk)
            total += len(chunk)
    check_equal(total, size, "bytes read back")
    check_equal(read.hexdigest(), written.hexdigest(), "sha256 of the content")


@case()
def test_reader_with_offset(ctx: Context) -> None:
    """Readers start at 0, 32, 64, 95 and at the end; a negative offset is rejected."""
    path = ctx.cleanup(ctx.random_path(32))
    chunk1, chunk2, chunk3 = (ctx.random_bytes(32) for _ in range(3))
    content = chunk1 + chunk2 + chunk3
    ctx.driver.put_content(path, content)
    check_equal(read_all(ctx, path, 0), content, "reader(0)")
    check_equal(read_all(ctx, path, 32), chunk2 + chunk3, "reader(32)")
    check_equal(read_all(ctx, path, 64), chunk3, "reader(64)")
    error = expect_error(InvalidOffsetError, lambda: ctx.driver.reader(path, -1), "reader(-1)")
    check_equal((error.path, error.offset), (path, -1), "InvalidOffsetError path and offset")  # type: ignore[attr-defined]
    check_name(ctx, error)
    with ctx.driver.reader(path, 96) as stream:
        check_equal(stream.read(1), b"", "first read at the end")
    with ctx.driver.reader(path, 95) as stream:
        check_equal(stream.read(), chunk3[-1:], "read from offset 95")
        check_equal(stream.read(), b"", "read after the end")


def _continue_stream_append(ctx: Context, chunk_size: int) -> None:
    path = ctx.cleanup(ctx.random_path(32))
    chunks = [ctx.random_bytes(chunk_size) for _ in range(3)]
    driver = ctx.driver

    writer = driver.writer(path, append=False)
    check_equal(writer.write(chunks[0]), chunk_size, "bytes written")
    writer.close()
    check_equal(writer.size, chunk_size, "size after first close")

    writer = driver.writer(path, append=True)
    check_equal(writer.size, chunk_size, "size on resume")
    writer.write(chunks[1])
    writer.close()
    check_equal(writer.size, 2 * chunk_size, "size after second close")

    writer = driver.writer(path, append=True)
    check_equal(writer.size, 2 * chunk_size, "size on second resume")
    writer.write(chunks[2])
    writer.commit()
    writer.close()
    check_equal(writer.size, 3 * chunk_size, "size after commit")
    check_equal(driver.get_content(path), b"".join(chunks), "committed content")


@case()
def test_continue_stream_append_large(ctx: Context) -> None:
    """Suspend and resume a writer twice with 10 MiB chunks (4 MiB on azure)."""
    _continue_stream_append(ctx, 4 * MiB if ctx.driver.name == "azure" else 10 * MiB)


@case()
def test_continue_stream_append_small(ctx: Context) -> None:
    """Suspend and resume a writer twice with 32-byte chunks."""
    _continue_stream_append(ctx, 32)


@case(writes=False)
def test_read_nonexistent_stream(ctx: Context) -> None:
    """reader of a missing path is PathNotFoundError, at offset 0 and 64."""
    path = ctx.random_path(32)
    for offset in (0, 64):
        error = expect_error(PathNotFoundError, partial(ctx.driver.reader, path, offset), f"reader(missing, {offset})")
        check_name(ctx, error)


def _zero_byte_then_append(ctx: Context, create: Callable[[str], None]) -> None:
    path = ctx.cleanup(ctx.random_path(32))
    create(path)
    with ctx.driver.reader(path, 0) as stream:
        check_equal(stream.read(), b"", "content of the empty file")
    data = ctx.random_bytes(32)
    writer = ctx.driver.writer(path, append=True)
    check_equal(writer.size, 0, "size when appending to the empty file")
    writer.write(data)
    writer.commit()
    writer.close()
    check_equal(writer.size, 32, "size after append")
    check_equal(read_all(ctx, path), data, "content after append")


@case()
def test_write_zero_byte_stream_then_append(ctx: Context) -> None:
    """A committed empty stream can be appended to."""

    def create(path: str) -> None:
        writer = ctx.driver.writer(path, append=False)
        writer.commit()
        writer.close()
        check_equal(writer.size, 0, "size of the empty stream")

    _zero_byte_then_append(ctx, create)


@case()
def test_write_zero_byte_content_then_append(ctx: Context) -> None:
    """An empty file made by put_content can be appended to."""
    _zero_byte_then_append(ctx, lambda path: ctx.driver.put_content(path, b""))
