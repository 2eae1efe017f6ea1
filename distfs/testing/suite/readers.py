"""Readers beyond the Go suite: directories are not objects, offsets past the end and huge, the stream API."""

from __future__ import annotations

from functools import partial

from ...errors import InvalidOffsetError, PathNotFoundError
from ..context import Case, Context, check_equal, expect_error
from .helpers import check_name, read_all
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


@case()
def test_directory_is_not_an_object(ctx: Context) -> None:
    """get_content and reader of a directory, and list of a file, are PathNotFoundError."""
    directory = ctx.cleanup("/" + ctx.random_filename(12))
    file_path = directory + "/file"
    ctx.driver.put_content(file_path, b"x")
    expect_error(PathNotFoundError, partial(ctx.driver.get_content, directory), "get_content(directory)")
    expect_error(PathNotFoundError, partial(ctx.driver.reader, directory, 0), "reader(directory)")
    expect_error(PathNotFoundError, partial(ctx.driver.list, file_path), "list(file)")


@case()
def test_reader_past_end(ctx: Context) -> None:
    """A reader at any offset past the end is empty, not an error."""
    path = ctx.cleanup(ctx.random_path(32))
    ctx.driver.put_content(path, ctx.random_bytes(10))
    for offset in (11, 1000, 1 << 40):
        check_equal(read_all(ctx, path, offset), b"", f"reader({offset})")


@case()
def test_reader_stream_api(ctx: Context) -> None:
    """reader is a seekable binary stream: tell is absolute, seek 0/1/2, read, readinto, readline."""
    path = ctx.cleanup(ctx.random_path(32))
    lines = [b"first line\n", b"second\n", b"\n", b"last, no newline"]
    data = b"".join(lines)
    ctx.driver.put_content(path, data)
    with ctx.driver.reader(path, 0) as stream:
        check_equal(list(stream), lines, "iteration over lines")
    with ctx.driver.reader(path, 0) as stream:
        check_equal([stream.readline() for _ in lines], lines, "readline")
        check_equal(stream.readline(), b"", "readline at the end")
    with ctx.driver.reader(path, 10) as stream:
        check_equal(stream.tell(), 10, "tell right after reader(path, 10)")
        check_equal(stream.read(3), data[10:13], "read(3) from 10")
        check_equal(stream.tell(), 13, "tell after read(3)")
        check_equal(stream.seek(2), 2, "seek(2)")
        check_equal(stream.read(4), data[2:6], "read after a backward seek")
        check_equal(stream.seek(5, 1), 11, "seek(5, SEEK_CUR)")
        check_equal(stream.read(2), data[11:13], "read after a relative seek")
        check_equal(stream.seek(-4, 2), len(data) - 4, "seek(-4, SEEK_END)")
        check_equal(stream.read(), data[-4:], "read() to the end")
        check_equal(stream.read(), b"", "read() at the end")
        check_equal(stream.seek(0), 0, "seek back to the start")
        buffer = bytearray(8)
        # typing.BinaryIO lacks readinto; the contract promises io.BufferedReader behaviour.
        check_equal(stream.readinto(buffer), 8, "readinto a buffer of 8")  # type: ignore[attr-defined]
        check_equal(bytes(buffer), data[:8], "bytes of readinto")
        check_equal(stream.read(-1), data[8:], "read(-1)")
        check_equal(stream.tell(), len(data), "tell at the end")
        check_equal(stream.seek(len(data) + 10), len(data) + 10, "seek past the end")
        check_equal(stream.read(5), b"", "read past the end")


@case()
def test_reader_huge_offsets(ctx: Context) -> None:
    """Offsets at and beyond 2**63 give an empty stream; negative ones are InvalidOffsetError."""
    path = ctx.cleanup(ctx.random_path(32))
    ctx.driver.put_content(path, ctx.random_bytes(10))
    for offset in (10, (1 << 63) - 1, 1 << 63, 1 << 64, 1 << 100):
        check_equal(read_all(ctx, path, offset), b"", f"reader({offset})")
    error = expect_error(InvalidOffsetError, partial(ctx.driver.reader, path, -1), "reader(-1)")
    check_name(ctx, error)
