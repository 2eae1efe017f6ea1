"""Content round trips (Go's TestRootExists ... TestWriteReadNonUTF8, TestTruncate, TestReadNonexistent,
TestPutContentMultipleTimes): valid and invalid paths, put_content/get_content of every kind of bytes."""

from __future__ import annotations

from functools import partial

from ...errors import InvalidPathError, PathNotFoundError
from ..context import Case, Context, expect_error
from .helpers import MiB, check_name, round_trip_cases, write_read_compare
from .registry import Registrar

__all__ = ["CASES", "INVALID_PATHS", "VALID_PATHS"]

CASES: list[Case] = []
case = Registrar(CASES)


@case(writes=False)
def test_root_exists(ctx: Context) -> None:
    """list("/") succeeds on any store, even an empty one."""
    ctx.driver.list("/")


VALID_PATHS = [
    "/a",
    "/2",
    "/aa",
    "/a.a",
    "/0-9/abcdefg",
    "/abcdefg/z.75",
    "/abc/1.2.3.4.5-6_zyx/123.z/4",
    "/docker/docker-registry",
    "/123.abc",
    "/abc./abc",
    "/.abc",
    "/a--b",
    "/a-.b",
    "/_.abc",
    "/Docker/docker-registry",
    "/Abc/Cba",
]


@case()
def test_valid_paths(ctx: Context) -> None:
    """Every valid path round-trips 64 bytes through put_content/get_content."""
    for path in VALID_PATHS:
        write_read_compare(ctx, path, ctx.random_bytes(64))


INVALID_PATHS = ["", "/", "abc", "123.abc", "//bcd", "/abc_123/", "/a/../b", "/a/./b", "/..", "/a*b"]


@case(writes=False)
def test_invalid_paths(ctx: Context) -> None:
    """Invalid paths are InvalidPathError naming the driver, for put and get."""
    for path in INVALID_PATHS:
        error = expect_error(InvalidPathError, partial(ctx.driver.put_content, path, b"x"), f"put_content({path!r})")
        check_name(ctx, error)
        error = expect_error(InvalidPathError, partial(ctx.driver.get_content, path), f"get_content({path!r})")
        check_name(ctx, error)


round_trip_cases(CASES, "write_read", "put_content/get_content round trip", write_read_compare)


@case()
def test_truncate(ctx: Context) -> None:
    """put_content of 1 KiB over 1 MiB leaves exactly the 1 KiB."""
    path = ctx.random_path(32)
    write_read_compare(ctx, path, ctx.random_bytes(MiB))
    write_read_compare(ctx, path, ctx.random_bytes(1024))


@case(writes=False)
def test_read_nonexistent(ctx: Context) -> None:
    """get_content of a missing path is PathNotFoundError naming the driver."""
    path = ctx.random_path(32)
    error = expect_error(PathNotFoundError, lambda: ctx.driver.get_content(path), "get_content(missing)")
    check_name(ctx, error)


@case()
def test_put_content_multiple_times(ctx: Context) -> None:
    """A second put_content replaces the first, never writes over its start."""
    path = ctx.random_path(32)
    write_read_compare(ctx, path, ctx.random_bytes(4096))
    write_read_compare(ctx, path, ctx.random_bytes(2048))
