"""The conformance suite: a port of distribution's ``testsuites.go`` and ``walk_test.go``.

Each test is a function of a :class:`~distfs.testing.context.Context`, registered in
:data:`CASES` in the order of the Go suite. Sizes follow Go's short mode unless the
context is ``long`` (5 GiB stream, 128 MiB concurrent reads, 32 x 32 MiB streams, the
full 10 s + 5 s wait of ``TestStatCall``).
"""

from __future__ import annotations

import hashlib
import http.client
import threading
import time
import urllib.parse
from collections.abc import Callable
from functools import partial

from ..base import Base
from ..driver import FileInfo, SkipDir, StopWalk, StorageDriver
from ..errors import (
    InvalidOffsetError,
    InvalidPathError,
    ObjectChangedError,
    PathNotFoundError,
    StorageDriverError,
    UnsupportedMethodError,
    WriterConflictError,
)
from .context import Case, Context, check, check_equal, expect_error

__all__ = ["CASES", "READ_ONLY_TREE", "case_names", "read_only_tree"]

CASES: list[Case] = []

MiB = 1 << 20
GiB = 1 << 30


def case(
    *, long_only: bool = False, two_instances: bool = False, requires: tuple[str, ...] = (), writes: bool = True
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    def register(fn: Callable[[Context], None]) -> Callable[[Context], None]:
        name = fn.__name__.removeprefix("test_")
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        CASES.append(Case(name, fn, doc, long_only, two_instances=two_instances, requires=requires, writes=writes))
        return fn

    return register


def case_names() -> list[str]:
    """Names of all conformance tests, in run order."""
    return [c.name for c in CASES]


# -- helpers ported from testsuites.go ------------------------------------------------


def _write_read_compare(ctx: Context, path: str, data: bytes) -> None:
    ctx.cleanup(path)
    ctx.driver.put_content(path, data)
    check_equal(ctx.driver.get_content(path), data, f"get_content({path})")


def _write_read_compare_streams(ctx: Context, path: str, data: bytes) -> None:
    ctx.cleanup(path)
    writer = ctx.driver.writer(path, append=False)
    check_equal(writer.write(data), len(data), "bytes written")
    writer.commit()
    writer.close()
    with ctx.driver.reader(path, 0) as stream:
        check_equal(stream.read(), data, f"reader({path}, 0).read()")


def _read_all(ctx: Context, path: str, offset: int = 0) -> bytes:
    with ctx.driver.reader(path, offset) as stream:
        return stream.read()


def _check_name(ctx: Context, error: BaseException) -> None:
    check(ctx.driver.name in str(error), f"error message {str(error)!r} does not name driver {ctx.driver.name!r}")


def _file_streams(ctx: Context, size: int) -> None:
    """Copy ``size`` random bytes from a local temp file into a writer and read them back."""
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(size)
    source = ctx.workdir / f"stream-{threading.get_ident()}-{ctx.rng.random()}"
    source.write_bytes(data)
    try:
        writer = ctx.driver.writer(path, append=False)
        with source.open("rb") as stream:
            while chunk := stream.read(MiB):
                writer.write(chunk)
        check_equal(writer.size, size, "writer.size")
        writer.commit()
        writer.close()
    finally:
        source.unlink()
    check_equal(_read_all(ctx, path), data, f"content of {path}")


# -- TestRootExists ... TestWriteReadNonUTF8 ------------------------------------------


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
        _write_read_compare(ctx, path, ctx.random_bytes(64))


INVALID_PATHS = ["", "/", "abc", "123.abc", "//bcd", "/abc_123/", "/a/../b", "/a/./b", "/..", "/a*b"]


@case(writes=False)
def test_invalid_paths(ctx: Context) -> None:
    """Invalid paths are InvalidPathError naming the driver, for put and get."""
    for path in INVALID_PATHS:
        error = expect_error(InvalidPathError, partial(ctx.driver.put_content, path, b"x"), f"put_content({path!r})")
        _check_name(ctx, error)
        error = expect_error(InvalidPathError, partial(ctx.driver.get_content, path), f"get_content({path!r})")
        _check_name(ctx, error)


# Go's TestWriteRead1..4 and TestWriteReadNonUTF8, and their streaming twins.
_ROUND_TRIPS: list[tuple[str, str, Callable[[Context], bytes]]] = [
    ("1", '"a"', lambda ctx: b"a"),
    ("2", 'UTF-8 "\\xc3\\x9f"', lambda ctx: "\u00df".encode()),
    ("3", "32 random bytes", lambda ctx: ctx.random_bytes(32)),
    ("4", "1 MiB", lambda ctx: ctx.random_bytes(MiB)),
    ("_non_utf8", "bytes 80 80 80 80", lambda ctx: b"\x80\x80\x80\x80"),
]


def _round_trip_cases(prefix: str, how: str, compare: Callable[[Context, str, bytes], None]) -> None:
    for suffix, what, data in _ROUND_TRIPS:

        def run(ctx: Context, data: Callable[[Context], bytes] = data) -> None:
            compare(ctx, ctx.random_path(32), data(ctx))

        CASES.append(Case(prefix + suffix, run, f"{how} of {what}."))


_round_trip_cases("write_read", "put_content/get_content round trip", _write_read_compare)


@case()
def test_truncate(ctx: Context) -> None:
    """put_content of 1 KiB over 1 MiB leaves exactly the 1 KiB."""
    path = ctx.random_path(32)
    _write_read_compare(ctx, path, ctx.random_bytes(MiB))
    _write_read_compare(ctx, path, ctx.random_bytes(1024))


@case(writes=False)
def test_read_nonexistent(ctx: Context) -> None:
    """get_content of a missing path is PathNotFoundError naming the driver."""
    path = ctx.random_path(32)
    error = expect_error(PathNotFoundError, lambda: ctx.driver.get_content(path), "get_content(missing)")
    _check_name(ctx, error)


_round_trip_cases("write_read_streams", "writer/reader round trip", _write_read_compare_streams)


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
    check_equal(_read_all(ctx, path, 0), content, "reader(0)")
    check_equal(_read_all(ctx, path, 32), chunk2 + chunk3, "reader(32)")
    check_equal(_read_all(ctx, path, 64), chunk3, "reader(64)")
    error = expect_error(InvalidOffsetError, lambda: ctx.driver.reader(path, -1), "reader(-1)")
    check_equal((error.path, error.offset), (path, -1), "InvalidOffsetError path and offset")  # type: ignore[attr-defined]
    _check_name(ctx, error)
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
        _check_name(ctx, error)


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
    check_equal(_read_all(ctx, path), data, "content after append")


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


@case()
def test_list(ctx: Context) -> None:
    """list returns the direct children as absolute paths; a missing path is PathNotFoundError."""
    root = ctx.cleanup("/" + ctx.random_filename(ctx.rng.randint(8, 15)))
    missing = root + "/nonexistent"
    error = expect_error(PathNotFoundError, lambda: ctx.driver.list(missing), "list(missing)")
    check_equal((error.path, error.driver_name), (missing, ctx.driver.name), "PathNotFoundError fields")  # type: ignore[attr-defined]
    parent = root + "/" + ctx.random_filename(ctx.rng.randint(8, 15))
    children = sorted(parent + "/" + ctx.random_filename(ctx.rng.randint(8, 15)) for _ in range(50))
    children = sorted(set(children))
    for child in children:
        ctx.driver.put_content(child, ctx.random_bytes(32))
    check_equal(ctx.driver.list("/"), [root], 'list("/")')
    check_equal(ctx.driver.list(root), [parent], f"list({root})")
    check_equal(sorted(ctx.driver.list(parent)), children, f"list({parent})")


@case()
def test_move(ctx: Context) -> None:
    """move puts the content at the destination and removes the source."""
    source, dest = ctx.cleanup(ctx.random_path(32)), ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(32)
    ctx.driver.put_content(source, data)
    ctx.driver.move(source, dest)
    check_equal(ctx.driver.get_content(dest), data, "destination content")
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(source), "get_content(source)")


@case()
def test_move_overwrite(ctx: Context) -> None:
    """move replaces an existing destination."""
    source, dest = ctx.cleanup(ctx.random_path(32)), ctx.cleanup(ctx.random_path(32))
    data, old = ctx.random_bytes(32), ctx.random_bytes(64)
    ctx.driver.put_content(source, data)
    ctx.driver.put_content(dest, old)
    ctx.driver.move(source, dest)
    check_equal(ctx.driver.get_content(dest), data, "destination content")
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(source), "get_content(source)")


@case()
def test_move_nonexistent(ctx: Context) -> None:
    """move of a missing source is PathNotFoundError and leaves the destination untouched."""
    source, dest = ctx.random_path(32), ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(32)
    ctx.driver.put_content(dest, data)
    error = expect_error(PathNotFoundError, lambda: ctx.driver.move(source, dest), "move(missing, dest)")
    _check_name(ctx, error)
    check_equal(ctx.driver.get_content(dest), data, "destination content")


@case()
def test_move_invalid(ctx: Context) -> None:
    """move from below a file fails."""
    ctx.cleanup("/notadir")
    ctx.driver.put_content("/notadir", ctx.random_bytes(32))
    expect_error(StorageDriverError, lambda: ctx.driver.move("/notadir/foo", "/notadir/bar"), "move below a file")


@case()
def test_delete(ctx: Context) -> None:
    """delete removes a file."""
    path = ctx.cleanup(ctx.random_path(32))
    ctx.driver.put_content(path, ctx.random_bytes(32))
    ctx.driver.delete(path)
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(path), "get_content after delete")


@case()
def test_redirect_url(ctx: Context) -> None:
    """A redirect URL, if any, serves the content to GET and its length to HEAD."""
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(32)
    ctx.driver.put_content(path, data)
    url = ctx.driver.redirect_url(path, "GET")
    if url is not None:
        status, headers, body = _http(url, "GET")
        check_equal(status, 200, f"GET {url} status")
        check_equal(body, data, "GET body")
    url = ctx.driver.redirect_url(path, "HEAD")
    if url is not None:
        status, headers, _ = _http(url, "HEAD")
        check_equal(status, 200, f"HEAD {url} status")
        check_equal(headers.get("content-length"), "32", "HEAD Content-Length")


def _http(url: str, method: str) -> tuple[int, dict[str, str], bytes]:
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


@case()
def test_delete_nonexistent(ctx: Context) -> None:
    """delete of a missing path is PathNotFoundError."""
    path = ctx.random_path(32)
    error = expect_error(PathNotFoundError, lambda: ctx.driver.delete(path), "delete(missing)")
    _check_name(ctx, error)


@case()
def test_delete_folder(ctx: Context) -> None:
    """delete of one file keeps its siblings; delete of the directory removes them all."""
    directory = ctx.cleanup(ctx.random_path(32))
    names = [directory + "/" + ctx.random_path(32).lstrip("/") for _ in range(3)]
    for name in names:
        ctx.driver.put_content(name, ctx.random_bytes(32))
    ctx.driver.delete(names[0])
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(names[0]), "deleted file")
    for name in names[1:]:
        ctx.driver.get_content(name)
    ctx.driver.delete(directory)
    for name in names:
        expect_error(PathNotFoundError, partial(ctx.driver.get_content, name), f"get_content({name})")


@case()
def test_delete_only_deletes_subpaths(ctx: Context) -> None:
    """delete of /a never touches /a-suffix or /asuffix."""
    directory = ctx.cleanup(ctx.random_path(32))
    name = ctx.random_path(32).lstrip("/")
    file_path = f"{directory}/{name}"
    suffix_path = f"{directory}/{name}suffix"
    sub = ctx.random_filename(8)
    sub_file = f"{directory}/{sub}/{name}"
    sub_suffix_file = f"{directory}/{sub}suffix/{name}"
    for path in (file_path, suffix_path, sub_file, sub_suffix_file):
        ctx.driver.put_content(path, ctx.random_bytes(32))
    ctx.driver.delete(file_path)
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(file_path), "deleted file")
    ctx.driver.get_content(suffix_path)
    ctx.driver.delete(f"{directory}/{sub}")
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(sub_file), "file in deleted directory")
    ctx.driver.get_content(sub_suffix_file)


@case()
def test_delete_many(ctx: Context) -> None:
    """delete_many is delete of each path; with files_only, only the objects named go."""
    directory = ctx.cleanup(ctx.random_path(32))
    files = [f"{directory}/f{i}" for i in range(3)]
    inside = f"{directory}/sub/g"
    for path in (*files, inside):
        ctx.driver.put_content(path, path.encode())
    missing = f"{directory}/missing"
    ctx.driver.delete_many([files[0], f"{directory}/sub", missing], files_only=True)
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(files[0]), "file deleted by files_only")
    check_equal(ctx.driver.get_content(inside), inside.encode(), "a directory named with files_only keeps its content")
    error = expect_error(
        PathNotFoundError, lambda: ctx.driver.delete_many([files[1], missing]), "delete_many with a missing path"
    )
    _check_name(ctx, error)
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(files[1]), "deleted before the error")
    ctx.driver.delete_many([f"{directory}/sub", files[2]])
    for path in (inside, files[2]):
        expect_error(PathNotFoundError, partial(ctx.driver.get_content, path), f"get_content({path})")
    ctx.driver.delete_many([])


@case()
def test_stat_call(ctx: Context) -> None:
    """stat of files and directories: path, size, kind, and a newer mtime after an overwrite."""
    dir_path = ctx.cleanup(ctx.random_path(32))
    file_path = dir_path + "/" + ctx.random_path(32).lstrip("/")
    for missing in (dir_path, file_path):
        error = expect_error(PathNotFoundError, partial(ctx.driver.stat, missing), f"stat({missing})")
        _check_name(ctx, error)
    ctx.driver.put_content(file_path, ctx.random_bytes(4096))
    first = ctx.driver.stat(file_path)
    check_equal((first.path, first.size, first.is_dir), (file_path, 4096, False), "file info")
    time.sleep(10 if ctx.long else 1.2)
    ctx.driver.put_content(file_path, ctx.random_bytes(4096))
    second = ctx.driver.stat(file_path)
    check_equal(second.size, 4096, "size after overwrite")
    if ctx.long:
        time.sleep(5)
    check(second.mod_time > first.mod_time, f"mod_time did not increase: {first.mod_time} then {second.mod_time}")
    check(first.mod_time.tzinfo is not None, "mod_time is timezone-aware")
    info = ctx.driver.stat(dir_path)
    check_equal((info.path, info.size, info.is_dir), (dir_path, 0, True), "directory info")
    try:
        root = ctx.driver.stat("/")
    except PathNotFoundError:
        pass
    else:
        check(root.is_dir, 'stat("/") is a directory')


@case()
def test_put_content_multiple_times(ctx: Context) -> None:
    """A second put_content replaces the first, never writes over its start."""
    path = ctx.random_path(32)
    _write_read_compare(ctx, path, ctx.random_bytes(4096))
    _write_read_compare(ctx, path, ctx.random_bytes(2048))


@case()
def test_concurrent_stream_reads(ctx: Context) -> None:
    """10 readers at random offsets read their suffix concurrently."""
    size = 128 * MiB if ctx.long else 10 * MiB
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(size)
    ctx.driver.put_content(path, data)
    offsets = [ctx.rng.randrange(size) for _ in range(10)]

    def read(offset: int) -> None:
        check_equal(_read_all(ctx, path, offset), data[offset:], f"read from {offset}")

    ctx.run_all(read, offsets)


@case()
def test_concurrent_file_streams(ctx: Context) -> None:
    """8 (long: 32) writers each stream 8 (long: 32) MiB from a file concurrently."""
    count = 32 if ctx.long else 8
    ctx.run_all(lambda _: _file_streams(ctx, count * MiB), range(count))


# -- walk_test.go ---------------------------------------------------------------------

WALK_FILES = [
    "/file1",
    "/folder1/file1",
    "/folder1-suffix/file1",
    "/folder2/file1",
    "/folder3/subfolder1/subfolder1/file1",
    "/folder3/subfolder2/subfolder1/file1",
    "/folder4/file1",
]
# Key order: a directory's key is its path plus "/", so /folder1-suffix sorts before /folder1.
WALK_ALL = [
    "/file1",
    "/folder1-suffix",
    "/folder1-suffix/file1",
    "/folder1",
    "/folder1/file1",
    "/folder2",
    "/folder2/file1",
    "/folder3",
    "/folder3/subfolder1",
    "/folder3/subfolder1/subfolder1",
    "/folder3/subfolder1/subfolder1/file1",
    "/folder3/subfolder2",
    "/folder3/subfolder2/subfolder1",
    "/folder3/subfolder2/subfolder1/file1",
    "/folder4",
    "/folder4/file1",
]


def _walk_tree(ctx: Context) -> str:
    """The Go walk fixture below a random top-level directory; returns that directory."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    for name in WALK_FILES:
        ctx.driver.put_content(top + name, ctx.random_bytes(8))
    return top


def _walked(ctx: Context, start: str, *, hint: str = "", stop_at: str = "", skip: str = "") -> list[FileInfo]:
    seen: list[FileInfo] = []

    def fn(info: FileInfo) -> None:
        seen.append(info)
        if info.path == stop_at:
            raise StopWalk
        if info.path == skip:
            raise SkipDir

    ctx.driver.walk(start, fn, start_after_hint=hint)
    return seen


class _WalkFailureError(Exception):
    pass


def _check_walk(ctx: Context, top: str, seen: list[FileInfo], expected: list[str], what: str) -> None:
    check_equal([info.path for info in seen], [top + p for p in expected], what)
    for info in seen:
        is_dir = not any(top + name == info.path for name in WALK_FILES)
        check_equal(info.is_dir, is_dir, f"is_dir of {info.path}")


@case()
def test_walk(ctx: Context) -> None:
    """A walk visits every entry once, in key order, each directory right before its contents."""
    top = _walk_tree(ctx)
    _check_walk(ctx, top, _walked(ctx, top), WALK_ALL, "walk all")
    for info in _walked(ctx, top):
        if not info.is_dir:
            check_equal(info.size, 8, f"size of {info.path}")


@case()
def test_walk_skip_dir(ctx: Context) -> None:
    """SkipDir on a directory leaves out its contents."""
    top = _walk_tree(ctx)
    expected = [p for p in WALK_ALL if p != "/folder1/file1"]
    _check_walk(ctx, top, _walked(ctx, top, skip=top + "/folder1"), expected, "skip /folder1")


@case()
def test_walk_start_after_hint(ctx: Context) -> None:
    """Hints resume a walk after a file, after a deep file, and inside a subtree."""
    top = _walk_tree(ctx)
    after = WALK_ALL.index("/folder1/file1") + 1
    _check_walk(ctx, top, _walked(ctx, top, hint=top + "/folder1/file1"), WALK_ALL[after:], "hint /folder1/file1")
    deep = top + "/folder3/subfolder1/subfolder1/file1"
    expected = ["/folder3/subfolder2", "/folder3/subfolder2/subfolder1", "/folder3/subfolder2/subfolder1/file1"]
    _check_walk(ctx, top, _walked(ctx, top, hint=deep), [*expected, "/folder4", "/folder4/file1"], "deep hint")
    _check_walk(ctx, top, _walked(ctx, top + "/folder3", hint=deep), expected, "deep hint from /folder3")


@case()
def test_walk_hint_outside_or_at_start(ctx: Context) -> None:
    """Hints outside the start compare by key; a hint at the start or a missing path inside it walks all."""
    top = _walk_tree(ctx)
    _check_walk(ctx, top, _walked(ctx, top + "/folder1", hint=top + "/folder1-suffix"), ["/folder1/file1"], "before")
    check_equal(_walked(ctx, top + "/folder1-suffix", hint=top + "/folder1/file1"), [], "hint after the start")
    folder3 = [p for p in WALK_ALL if p.startswith("/folder3/")]
    _check_walk(ctx, top, _walked(ctx, top + "/folder3", hint=top + "/folder3"), folder3, "hint == start")
    missing = top + "/folder3/notafolder/notafile"
    _check_walk(ctx, top, _walked(ctx, top + "/folder3", hint=missing), folder3, "hint at a missing path")
    _check_walk(ctx, top, _walked(ctx, top, hint=top), WALK_ALL, "hint == top")


@case()
def test_walk_stop(ctx: Context) -> None:
    """StopWalk ends the walk at once, also inside a hinted walk (a Go quirk fixed)."""
    top = _walk_tree(ctx)
    seen = _walked(ctx, top, stop_at=top + "/folder1/file1")
    expected = ["/file1", "/folder1-suffix", "/folder1-suffix/file1", "/folder1", "/folder1/file1"]
    _check_walk(ctx, top, seen, expected, "stop at /folder1/file1")
    hint = top + "/folder3/subfolder1/subfolder1/file1"
    seen = _walked(ctx, top, hint=hint, stop_at=top + "/folder3/subfolder2/subfolder1")
    _check_walk(ctx, top, seen, ["/folder3/subfolder2", "/folder3/subfolder2/subfolder1"], "stop inside hinted walk")


@case()
def test_walk_error(ctx: Context) -> None:
    """An error raised by the callback stops the walk and reaches the caller."""
    top = _walk_tree(ctx)
    seen: list[FileInfo] = []

    def fn(info: FileInfo) -> None:
        seen.append(info)
        raise _WalkFailureError("foo")

    try:
        ctx.driver.walk(top, fn)
    except Exception as exc:
        check("foo" in str(exc), f"walk error {exc!r} does not carry the callback's message")
    else:
        raise AssertionError("walk swallowed the callback's error")
    check_equal([info.path for info in seen], [top + "/file1"], "entries visited before the error")


@case()
def test_walk_subtree_and_missing(ctx: Context) -> None:
    """A walk from a directory covers only it; a walk of a missing path is PathNotFoundError."""
    top = _walk_tree(ctx)
    _check_walk(ctx, top, _walked(ctx, top + "/folder1"), ["/folder1/file1"], "walk /folder1")
    expect_error(PathNotFoundError, lambda: _walked(ctx, top + "/missing"), "walk(missing)")


@case()
def test_walk_file_removed(ctx: Context) -> None:
    """Entries deleted while the walk runs cause no error, and the walk goes on."""
    top = _walk_tree(ctx)
    seen: list[str] = []

    def fn(info: FileInfo) -> None:
        seen.append(info.path)
        if info.path == top + "/folder1":
            ctx.driver.delete(top + "/folder2")
            ctx.driver.delete(top + "/folder3/subfolder1")

    ctx.driver.walk(top, fn)
    check(top + "/folder4/file1" in seen, "walk stopped after a deletion")


# -- the distfs contract beyond the Go suite ------------------------------------------
# Go's suite leaves these open; distfs states them in StorageDriver's docstrings, and
# every distfs driver keeps them.


@case()
def test_writer_state_rules(ctx: Context) -> None:
    """Writes and commits after close, commit or cancel fail; close after commit succeeds."""
    driver = ctx.driver
    path = ctx.cleanup(ctx.random_path(32))
    committed = driver.writer(path)
    committed.write(b"x")
    committed.commit()
    committed.close()
    closed = driver.writer(ctx.cleanup(ctx.random_path(32)))
    closed.close()
    cancelled = driver.writer(ctx.cleanup(ctx.random_path(32)))
    cancelled.cancel()
    for state, writer in (("committed", committed), ("closed", closed), ("cancelled", cancelled)):
        check(writer.closed, f"a {state} writer reports closed")
        expect_error(StorageDriverError, partial(writer.write, b"x"), f"write after {state}")
        expect_error(StorageDriverError, writer.commit, f"commit after {state}")
        expect_error(StorageDriverError, writer.close, f"close after {state} and close")


@case()
def test_writer_cancel(ctx: Context) -> None:
    """cancel discards a suspended upload: nothing to resume, nothing visible, content kept."""
    path = ctx.cleanup(ctx.random_path(32))
    writer = ctx.driver.writer(path)
    writer.write(ctx.random_bytes(64))
    writer.close()
    writer = ctx.driver.writer(path, append=True)
    writer.write(ctx.random_bytes(64))
    writer.cancel()
    expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "resume after cancel")
    expect_error(PathNotFoundError, partial(ctx.driver.stat, path), "stat after cancel")
    old = ctx.random_bytes(32)
    ctx.driver.put_content(path, old)
    writer = ctx.driver.writer(path)
    writer.write(ctx.random_bytes(16))
    writer.cancel()
    check_equal(ctx.driver.get_content(path), old, "committed content after a cancelled rewrite")


@case()
def test_writer_restart_discards_upload(ctx: Context) -> None:
    """writer(path, append=False) starts over, dropping a suspended upload of path."""
    path = ctx.cleanup(ctx.random_path(32))
    writer = ctx.driver.writer(path)
    writer.write(ctx.random_bytes(100))
    writer.close()
    data = ctx.random_bytes(10)
    writer = ctx.driver.writer(path, append=False)
    check_equal(writer.size, 0, "size of a restarted writer")
    writer.write(data)
    writer.commit()
    writer.close()
    check_equal(ctx.driver.get_content(path), data, "content after restart")


@case()
def test_writer_append_to_nothing(ctx: Context) -> None:
    """writer(path, append=True) with no upload and no object is PathNotFoundError."""
    path = ctx.random_path(32)
    error = expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "append to nothing")
    _check_name(ctx, error)


@case()
def test_uploads_stay_hidden(ctx: Context) -> None:
    """A suspended upload shows in no list, stat, walk or reader until its commit."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    visible = top + "/visible"
    ctx.driver.put_content(visible, b"v")
    pending = top + "/pending/data"
    writer = ctx.driver.writer(pending)
    writer.write(ctx.random_bytes(32))
    writer.close()
    check_equal(ctx.driver.list(top), [visible], f"list({top})")
    expect_error(PathNotFoundError, partial(ctx.driver.stat, pending), "stat of a pending upload")
    expect_error(PathNotFoundError, partial(ctx.driver.reader, pending, 0), "reader of a pending upload")
    seen: list[str] = []
    ctx.driver.walk(top, lambda info: seen.append(info.path))
    check_equal(seen, [visible], "walk")
    ctx.driver.writer(pending, append=True).cancel()


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
        check_equal(_read_all(ctx, path, offset), b"", f"reader({offset})")


@case()
def test_list_sorted_and_unique(ctx: Context) -> None:
    """list returns sorted, distinct absolute paths; files and directories mixed."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    names = ["b", "a-1", "a.1", "a", "c", "_x", "0"]
    for name in names:
        ctx.driver.put_content(f"{top}/{name}/inner" if name in ("a", "0") else f"{top}/{name}", b"")
    listed = ctx.driver.list(top)
    check_equal(listed, sorted(f"{top}/{name}" for name in names), f"list({top})")


@case()
def test_writer_replaces_committed(ctx: Context) -> None:
    """A new writer committed over a longer object replaces it whole (the streaming TestTruncate)."""
    path = ctx.cleanup(ctx.random_path(32))
    ctx.driver.put_content(path, ctx.random_bytes(4096))
    data = ctx.random_bytes(100)
    writer = ctx.driver.writer(path, append=False)
    check_equal(writer.size, 0, "size of a new writer over committed content")
    writer.write(data)
    writer.commit()
    writer.close()
    check_equal(ctx.driver.get_content(path), data, "content after the rewrite")
    check_equal(ctx.driver.stat(path).size, 100, "size after the rewrite")


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
        check_equal(_read_all(ctx, path, offset), b"", f"reader({offset})")
    error = expect_error(InvalidOffsetError, partial(ctx.driver.reader, path, -1), "reader(-1)")
    _check_name(ctx, error)


@case()
def test_concurrent_writers_one_path(ctx: Context) -> None:
    """Writers, put_content and move racing on one path leave exactly one writer's content."""
    path = ctx.cleanup(ctx.random_path(32))
    size = 1000
    contents = [bytes([65 + i]) * size for i in range(6)]
    sources = [ctx.cleanup(ctx.random_path(32)) for _ in contents]
    start = ctx.barrier(len(contents))
    outcomes: list[str] = []

    def stream(i: int) -> None:
        start.wait()
        try:
            writer = ctx.driver.writer(path)
        except WriterConflictError:
            outcomes.append("refused")  # the driver allows one open writer per path
            return
        for piece in range(0, size, 100):
            writer.write(contents[i][piece : piece + 100])
            time.sleep(0)
        writer.commit()
        writer.close()
        outcomes.append("committed")

    def put(i: int) -> None:
        start.wait()
        ctx.driver.put_content(path, contents[i])
        outcomes.append("put")

    def move(i: int) -> None:
        ctx.driver.put_content(sources[i], contents[i])
        start.wait()
        ctx.driver.move(sources[i], path)
        outcomes.append("moved")

    jobs = [stream, stream, stream, put, move, move]

    def job(i: int) -> None:
        jobs[i](i)

    for _ in range(3):
        ctx.run_all(job, range(len(jobs)))
        content = ctx.driver.get_content(path)
        check(content in contents, f"published {len(content)} bytes that no single writer wrote")
        check_equal(ctx.driver.stat(path).size, size, "size of the published object")
    check("committed" in outcomes, "no writer committed")
    # The path is free again: every writer finished.
    writer = ctx.driver.writer(path)
    writer.cancel()


@case()
def test_second_writer_of_a_path(ctx: Context) -> None:
    """A second writer(path) while one is open: refused (WriterConflictError) or independent.

    Either way the first writer's bytes are not disturbed, and what is published is one
    writer's content whole.
    """
    path = ctx.cleanup(ctx.random_path(32))
    first = ctx.driver.writer(path)
    first.write(b"a" * 100)
    try:
        second = ctx.driver.writer(path)
    except WriterConflictError as error:
        _check_name(ctx, error)
        check(path in str(error), f"error {error} does not name {path}")
        first.write(b"a" * 100)
        first.commit()
        first.close()
        check_equal(ctx.driver.get_content(path), b"a" * 200, "the first writer's content")
        return
    second.write(b"b" * 50)
    first.write(b"a" * 100)
    second.commit()
    second.close()
    check_equal(ctx.driver.get_content(path), b"b" * 50, "the second writer's content")
    first.commit()
    first.close()
    check_equal(ctx.driver.get_content(path), b"a" * 200, "the last committed writer's content")


@case()
def test_errors_name_driver_paths(ctx: Context) -> None:
    """Errors name the driver and the driver path, never where the store keeps it."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    ctx.driver.put_content(top + "/file", b"x")
    root = _store_root(ctx.driver)
    calls: list[tuple[str, Callable[[], object]]] = [
        ("get_content", partial(ctx.driver.get_content, top + "/missing")),
        ("stat", partial(ctx.driver.stat, top + "/missing")),
        ("list", partial(ctx.driver.list, top + "/missing")),
        ("reader", partial(ctx.driver.reader, top + "/missing", 0)),
        ("delete", partial(ctx.driver.delete, top + "/missing")),
        ("move", partial(ctx.driver.move, top + "/missing", top + "/other")),
        ("put_content below a file", partial(ctx.driver.put_content, top + "/file/below", b"y")),
        ("writer append", partial(ctx.driver.writer, top + "/missing", True)),
    ]
    for what, call in calls:
        try:
            call()
        except StorageDriverError as error:
            _check_name(ctx, error)
            if root:
                check(root not in str(error), f"{what}: error {error} shows where the store lives")
        else:
            check(what == "put_content below a file", f"{what} did not fail")


def _store_root(driver: StorageDriver) -> str:
    """Where the store keeps driver path ``/``, where it can be seen: a directory, or the
    bucket and root prefix of an engine store (``bucket/prefix``, a generic store's root)."""
    inner = driver.inner if isinstance(driver, Base) else driver
    backend, engine = getattr(inner, "backend", None), getattr(inner, "engine", None)
    if backend is not None:
        root = str(getattr(backend, "root", ""))
    elif engine is not None:
        root = "/".join(part for part in (str(engine.store.bucket).strip("/"), engine.root) if part)
    else:
        root = ""
    return root if len(root) > 1 else ""


# -- two instances on one store -------------------------------------------------------
# A second instance (``ctx.other``) is what another process or machine sees: hidden
# upload state is judged through it, never only through the instance that made it.


def _suspend(driver: StorageDriver, path: str, data: bytes, *, append: bool = False) -> None:
    writer = driver.writer(path, append)
    writer.write(data)
    writer.close()


@case(two_instances=True)
def test_resume_from_other_instance(ctx: Context) -> None:
    """An upload suspended on one instance resumes on the other with its size and bytes, and back."""
    path = ctx.cleanup(ctx.random_path(32))
    first, second, third = (ctx.random_bytes(n) for n in (100, 37, 5))
    _suspend(ctx.driver, path, first)
    writer = ctx.other.writer(path, append=True)
    check_equal(writer.size, len(first), "size when the other instance resumes")
    writer.write(second)
    writer.close()
    check_equal(writer.size, len(first + second), "size after the other instance's close")
    writer = ctx.driver.writer(path, append=True)
    check_equal(writer.size, len(first + second), "size when the first instance resumes again")
    writer.write(third)
    writer.commit()
    writer.close()
    check_equal(ctx.other.get_content(path), first + second + third, "content seen by the other instance")


@case(two_instances=True)
def test_writer_conflict_across_instances(ctx: Context) -> None:
    """A writer of a path on the other instance is refused or independent, never sharing the upload."""
    path = ctx.cleanup(ctx.random_path(32))
    first = ctx.driver.writer(path)
    first.write(b"a" * 100)
    try:
        second = ctx.other.writer(path)
    except WriterConflictError as error:
        check(path in str(error), f"error {error} does not name {path}")
        first.write(b"a" * 100)
        first.commit()
        first.close()
        check_equal(ctx.other.get_content(path), b"a" * 200, "the first writer's content")
        return
    second.write(b"b" * 50)
    first.write(b"a" * 100)
    second.commit()
    second.close()
    check_equal(ctx.driver.get_content(path), b"b" * 50, "the second instance's writer's content")
    first.commit()
    first.close()
    check_equal(ctx.other.get_content(path), b"a" * 200, "the last committed writer's content")


@case(two_instances=True)
def test_commit_and_cancel_leave_no_upload(ctx: Context) -> None:
    """After commit or cancel, no instance can resume the old upload (its bytes never come back)."""
    path = ctx.cleanup(ctx.random_path(32))
    _suspend(ctx.driver, path, ctx.random_bytes(64))
    writer = ctx.driver.writer(path, append=True)
    writer.write(ctx.random_bytes(64))
    writer.commit()
    writer.close()
    fresh = ctx.random_bytes(10)
    ctx.driver.put_content(path, fresh)
    writer = ctx.other.writer(path, append=True)
    check_equal(writer.size, len(fresh), "size of an append after commit and put_content (an old upload resumed?)")
    writer.commit()
    writer.close()
    check_equal(ctx.other.get_content(path), fresh, "content after an empty append on the other instance")
    ctx.other.delete(path)
    expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "append after commit and delete")
    _suspend(ctx.driver, path, ctx.random_bytes(64))
    ctx.other.writer(path, append=True).cancel()
    expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "append after the other's cancel")
    _suspend(ctx.other, path, ctx.random_bytes(64))
    ctx.other.writer(path, append=False).cancel()
    expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "append after restart and cancel")


@case(two_instances=True)
def test_delete_removes_uploads_below(ctx: Context) -> None:
    """delete(d) removes the suspended uploads below d (never those of d-suffix), for every instance."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    ctx.driver.put_content(top + "/a/file", b"x")
    ctx.driver.put_content(top + "/ab/file", b"y")
    below, sibling, own = top + "/a/b/upload", top + "/ab/upload", top + "/a"
    _suspend(ctx.driver, below, ctx.random_bytes(40))
    _suspend(ctx.driver, sibling, ctx.random_bytes(30))
    _suspend(ctx.other, own + "/file", ctx.random_bytes(20))
    ctx.driver.delete(own)
    for instance, name in ((ctx.other, "other"), (ctx.driver, "same")):
        for path in (below, own + "/file"):
            expect_error(PathNotFoundError, partial(instance.writer, path, True), f"append to {path} ({name})")
    writer = ctx.other.writer(sibling, append=True)
    check_equal(writer.size, 30, f"size of the upload of {sibling} after delete({own})")
    writer.cancel()


@case(two_instances=True)
def test_other_instance_sees_changes(ctx: Context) -> None:
    """list, stat, walk and reads of the other instance see every write, move and delete."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    for name, size in (("b", 3), ("a/inner", 5), ("c", 7)):
        ctx.driver.put_content(f"{top}/{name}", ctx.random_bytes(size))
    check_equal(ctx.other.list(top), [f"{top}/a", f"{top}/b", f"{top}/c"], f"list({top}) on the other instance")
    mine, theirs = ctx.driver.stat(f"{top}/c"), ctx.other.stat(f"{top}/c")
    check_equal((theirs.size, theirs.is_dir), (7, False), "stat on the other instance")
    check_equal(theirs.mod_time, mine.mod_time, "mod_time seen by both instances")
    check(ctx.other.stat(f"{top}/a").is_dir, "a directory seen by the other instance")
    ctx.other.move(f"{top}/b", f"{top}/d")
    ctx.other.delete(f"{top}/c")
    ctx.other.put_content(f"{top}/a/inner", b"new")
    check_equal(ctx.driver.list(top), [f"{top}/a", f"{top}/d"], f"list({top}) after the other's changes")
    check_equal(ctx.driver.get_content(f"{top}/a/inner"), b"new", "content after the other's put_content")
    check_equal(ctx.driver.stat(f"{top}/a/inner").size, 3, "size after the other's put_content")
    expect_error(PathNotFoundError, partial(ctx.driver.stat, f"{top}/c"), "stat after the other's delete")
    seen: list[str] = []
    ctx.driver.walk(top, lambda info: seen.append(info.path))
    check_equal(seen, [f"{top}/a", f"{top}/a/inner", f"{top}/d"], "walk after the other's changes")


@case()
def test_move_directory(ctx: Context) -> None:
    """move of a directory moves everything below it (a second instance sees the same)."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    files = {"/d/f": ctx.random_bytes(8), "/d/e/g": ctx.random_bytes(9), "/d-x/h": ctx.random_bytes(3)}
    for name, data in files.items():
        ctx.driver.put_content(top + name, data)
    ctx.driver.move(top + "/d", top + "/n")
    for instance in ctx.instances:
        check_equal(instance.list(top), [top + "/d-x", top + "/n"], f"list({top}) after the move")
        check_equal(instance.list(top + "/n"), [top + "/n/e", top + "/n/f"], "list of the moved directory")
        check_equal(instance.get_content(top + "/n/e/g"), files["/d/e/g"], "a moved file's content")
        check_equal(instance.get_content(top + "/d-x/h"), files["/d-x/h"], "a sibling with the prefix")
        expect_error(PathNotFoundError, partial(instance.stat, top + "/d"), "stat of the moved directory")


# -- declared capabilities ------------------------------------------------------------
# ``driver.capabilities`` says how a backend keeps the contract; a case gated on a
# capability is skipped, with the reason, where it is not declared, and fails where the
# behaviour contradicts the declaration.


@case(requires=("presign_get",))
def test_presigned_urls(ctx: Context) -> None:
    """A declared presign_get (and presign_head) gives URLs that serve the object."""
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(32)
    ctx.driver.put_content(path, data)
    capabilities = ctx.driver.capabilities
    for method, declared in (("GET", capabilities.presign_get), ("HEAD", capabilities.presign_head)):
        if not declared:
            continue
        url = ctx.driver.redirect_url(path, method)
        if url is None:
            what = f"capabilities.presign_{method.lower()} is declared"
            raise AssertionError(f"{what}, but redirect_url({path}, {method!r}) returned None")
        status, headers, body = _http(url, method)
        check_equal(status, 200, f"{method} of the presigned URL: status")
        if method == "GET":
            check_equal(body, data, "GET body of the presigned URL")
        else:
            check_equal(headers.get("content-length"), "32", "HEAD Content-Length of the presigned URL")


@case(requires=("atomic_move",))
def test_move_keeps_identity(ctx: Context) -> None:
    """A declared atomic_move is one rename: the moved object keeps its modification time."""
    source, dest = ctx.cleanup(ctx.random_path(32)), ctx.cleanup(ctx.random_path(32))
    ctx.driver.put_content(source, ctx.random_bytes(16))
    before = ctx.driver.stat(source).mod_time
    time.sleep(0.05)  # a copy made now would get a later time
    ctx.driver.move(source, dest)
    after = ctx.driver.stat(dest).mod_time
    check_equal(after, before, "mod_time after a move (capabilities.atomic_move is declared: a rename keeps it)")


@case()
def test_empty_directories_as_declared(ctx: Context) -> None:
    """A directory whose last child is deleted stays (empty) if capabilities.empty_directories, else is gone."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    ctx.driver.put_content(top + "/d/f", b"x")
    ctx.driver.put_content(top + "/g", b"y")
    ctx.driver.delete(top + "/d/f")
    if ctx.driver.capabilities.empty_directories:
        check_equal(ctx.driver.list(top + "/d"), [], "list of the emptied directory (empty_directories is declared)")
        return
    what = "list of the emptied directory (capabilities.empty_directories is not declared)"
    expect_error(PathNotFoundError, partial(ctx.driver.list, top + "/d"), what)
    check_equal(ctx.driver.list(top), [top + "/g"], f"list({top}) after its directory was emptied")


@case(requires=("pinned_reads",))
def test_pinned_reader_sees_one_version(ctx: Context) -> None:
    """A declared pinned_reads: a reader of an object replaced meanwhile returns its first
    version whole or raises ObjectChangedError, never bytes of two versions."""
    path = ctx.cleanup(ctx.random_path(32))
    size = 17 * MiB  # more than one read block of every built-in driver
    old, new = ctx.random_bytes(size), ctx.random_bytes(size)
    ctx.driver.put_content(path, old)
    with ctx.driver.reader(path, 0) as stream:
        first = stream.read(1)
        ctx.driver.put_content(path, new)
        try:
            rest = stream.read()
        except ObjectChangedError as error:
            _check_name(ctx, error)
            return
    what = "content read across a replacement (capabilities.pinned_reads is declared)"
    check_equal(first + rest, old, what)


@case(requires=("atomic_put",))
def test_puts_are_atomic(ctx: Context) -> None:
    """A declared atomic_put: readers racing put_content and commit see one whole object each time."""
    path = ctx.cleanup(ctx.random_path(32))
    contents = [ctx.random_bytes(MiB + 1), ctx.random_bytes(MiB + 1)]
    ctx.driver.put_content(path, contents[0])
    done = threading.Event()

    def replace(_: int) -> None:
        try:
            for round_ in range(10):
                data = contents[round_ % 2]
                if round_ % 4 == 1:
                    writer = ctx.driver.writer(path)
                    writer.write(data)
                    writer.commit()
                    writer.close()
                else:
                    ctx.driver.put_content(path, data)
        finally:
            done.set()

    def read(_: int) -> None:
        while not done.is_set():
            seen = ctx.driver.get_content(path)
            check(seen in contents, f"read {len(seen)} bytes that no put wrote (capabilities.atomic_put is declared)")

    ctx.run_all(lambda i: (replace if i == 0 else read)(i), range(3))


@case(requires=("crash_resume",), two_instances=True)
def test_resume_after_a_crash(ctx: Context) -> None:
    """A declared crash_resume: after a writer dies unclosed, the other instance resumes at the last close."""
    path = ctx.cleanup(ctx.random_path(32))
    kept, lost, more = ctx.random_bytes(3000), ctx.random_bytes(6 * MiB), ctx.random_bytes(50)
    _suspend(ctx.driver, path, kept)
    crashed = ctx.driver.writer(path, append=True)
    crashed.write(lost)  # never closed: its process died here (parts it sent may be in the store)
    writer = ctx.other.writer(path, append=True)
    check_equal(writer.size, len(kept), "size when the other instance resumes after a crash")
    writer.write(more)
    writer.commit()
    writer.close()
    for instance in ctx.instances:
        check_equal(instance.get_content(path), kept + more, "content after a crash and a resume")


# -- a read-only driver ---------------------------------------------------------------
# A driver that declares capabilities.read_only (a zip archive, an HTTP server) is run
# over a fixture holding READ_ONLY_TREE; the cases that write are skipped there.

#: What the fixture of a read-only driver holds (build it with :func:`read_only_tree`).
READ_ONLY_TREE = {
    "/docker/registry/v2/blobs/sha256/ab/abcdef/data": bytes(range(256)) * 64,
    "/docker/registry/v2/repositories/r/_layers/link": b"sha256:abcdef",
    "/docker/registry/v2/repositories/r-x/_manifests/tags/latest/current/link": b"sha256:0123",
    "/empty": b"",
    "/top": b"top level",
}


def read_only_tree() -> dict[str, bytes]:
    """The driver paths and contents a read-only driver's fixture must hold."""
    return dict(READ_ONLY_TREE)


@case(requires=("read_only",), writes=False)
def test_read_only_reads(ctx: Context) -> None:
    """A read-only driver reads its fixture: contents, sizes, ranged readers, missing paths."""
    for path, data in READ_ONLY_TREE.items():
        check_equal(ctx.driver.get_content(path), data, f"get_content({path})")
        info = ctx.driver.stat(path)
        check_equal((info.path, info.size, info.is_dir), (path, len(data), False), f"stat({path})")
        check_equal(_read_all(ctx, path, len(data) // 2), data[len(data) // 2 :], f"reader({path}, middle)")
    check(ctx.driver.stat("/docker/registry").is_dir, "stat of a directory")
    expect_error(PathNotFoundError, partial(ctx.driver.get_content, "/docker/missing"), "get_content(missing)")


@case(requires=("read_only",), writes=False)
def test_read_only_listings(ctx: Context) -> None:
    """A read-only driver lists and walks its fixture like any other driver."""
    check_equal(ctx.driver.list("/"), ["/docker", "/empty", "/top"], 'list("/")')
    repositories = "/docker/registry/v2/repositories"
    check_equal(ctx.driver.list(repositories), [repositories + "/r", repositories + "/r-x"], "list(repositories)")
    seen: list[str] = []
    ctx.driver.walk("/", lambda info: seen.append(info.path) if not info.is_dir else None)
    check_equal(seen, sorted(READ_ONLY_TREE), "files walked (in key order)")


@case(requires=("read_only",), writes=False)
def test_read_only_refuses_writes(ctx: Context) -> None:
    """Every write to a read-only driver is UnsupportedMethodError naming the driver and the path."""
    path = "/top"
    calls: list[tuple[str, Callable[[], object]]] = [
        ("put_content", partial(ctx.driver.put_content, path, b"x")),
        ("writer", partial(ctx.driver.writer, path)),
        ("writer append", partial(ctx.driver.writer, path, True)),
        ("move", partial(ctx.driver.move, path, "/moved")),
        ("delete", partial(ctx.driver.delete, path)),
        ("delete_many", partial(ctx.driver.delete_many, [path])),
    ]
    for what, call in calls:
        error = expect_error(UnsupportedMethodError, call, what)
        _check_name(ctx, error)
        check(path in str(error), f"{what}: error {error} does not name {path}")
    check_equal(ctx.driver.get_content(path), READ_ONLY_TREE[path], "content after the refused writes")
