"""Listing, moves, deletes and stat (Go's TestList ... TestDeleteOnlyDeletesSubpaths, TestStatCall), and
distfs's sorted listings and errors that name driver paths."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from ...driver import FileInfo, StorageDriver
from ...errors import PathNotFoundError, StorageDriverError
from ..context import Case, Context, check, check_equal, expect_error
from .helpers import check_name
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


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
    check_name(ctx, error)
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
def test_delete_nonexistent(ctx: Context) -> None:
    """delete of a missing path is PathNotFoundError."""
    path = ctx.random_path(32)
    error = expect_error(PathNotFoundError, lambda: ctx.driver.delete(path), "delete(missing)")
    check_name(ctx, error)


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
    check_name(ctx, error)
    expect_error(PathNotFoundError, lambda: ctx.driver.get_content(files[1]), "deleted before the error")
    ctx.driver.delete_many([f"{directory}/sub", files[2]])
    for path in (inside, files[2]):
        expect_error(PathNotFoundError, partial(ctx.driver.get_content, path), f"get_content({path})")
    ctx.driver.delete_many([])


def _overwrite_until_newer(ctx: Context, path: str, before: datetime) -> FileInfo:
    """Overwrite ``path`` (4096 bytes) and stat it: after 10 s in the long mode (as Go's
    TestStatCall); in the short one every 0.2 s until its mod_time is after ``before``, for at
    most 1.2 s (a store keeping times in whole seconds moves within 1 s; most at once)."""
    pause, give_up = (10.0, 0.0) if ctx.long else (0.2, time.monotonic() + 1.2)
    while True:
        time.sleep(pause)
        ctx.driver.put_content(path, ctx.random_bytes(4096))
        info = ctx.driver.stat(path)
        if info.mod_time > before or time.monotonic() >= give_up:
            return info


@case()
def test_stat_call(ctx: Context) -> None:
    """stat of files and directories: path, size, kind, and a newer mtime after an overwrite."""
    dir_path = ctx.cleanup(ctx.random_path(32))
    file_path = dir_path + "/" + ctx.random_path(32).lstrip("/")
    for missing in (dir_path, file_path):
        error = expect_error(PathNotFoundError, partial(ctx.driver.stat, missing), f"stat({missing})")
        check_name(ctx, error)
    ctx.driver.put_content(file_path, ctx.random_bytes(4096))
    first = ctx.driver.stat(file_path)
    check_equal((first.path, first.size, first.is_dir), (file_path, 4096, False), "file info")
    second = _overwrite_until_newer(ctx, file_path, first.mod_time)
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
def test_list_sorted_and_unique(ctx: Context) -> None:
    """list returns sorted, distinct absolute paths; files and directories mixed."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    names = ["b", "a-1", "a.1", "a", "c", "_x", "0"]
    for name in names:
        ctx.driver.put_content(f"{top}/{name}/inner" if name in ("a", "0") else f"{top}/{name}", b"")
    listed = ctx.driver.list(top)
    check_equal(listed, sorted(f"{top}/{name}" for name in names), f"list({top})")


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
            check_name(ctx, error)
            if root:
                check(root not in str(error), f"{what}: error {error} shows where the store lives")
        else:
            check(what == "put_content below a file", f"{what} did not fail")


def _store_root(driver: StorageDriver) -> str:
    """Where the store keeps driver path ``/``, where the driver says so: the ``location`` of the
    driver below the wrappers (``unwrap()``), e.g. an engine store's ``bucket/prefix``."""
    below: StorageDriver | None = driver
    while below is not None and not hasattr(below, "location"):
        below = below.unwrap()
    root = str(getattr(below, "location", ""))
    return root if len(root) > 1 else ""
