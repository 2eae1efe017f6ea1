"""Walks (a port of Go's ``walk_test.go``): order, SkipDir, start-after hints, StopWalk, errors."""

from __future__ import annotations

from ...driver import FileInfo, SkipDir, StopWalk
from ...errors import PathNotFoundError
from ..context import Case, Context, check, check_equal, expect_error
from .registry import Registrar

__all__ = ["CASES", "WALK_ALL", "WALK_FILES"]

CASES: list[Case] = []
case = Registrar(CASES)


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


@case()
def test_files_matching(ctx: Context) -> None:
    """files_matching: the files exactly len(pattern) levels down whose names fit, "*" any one name."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    wanted = [f"{top}/ab/{'1' * 8}/data", f"{top}/cd/{'2' * 8}/data"]
    others = [
        f"{top}/ab/{'3' * 8}/other",  # last name differs
        f"{top}/ab/{'4' * 8}/data/deeper",  # a directory where the pattern names a file
        f"{top}/ab/data",  # one level short
        f"{top}/cd/{'5' * 8}/x/data",  # one level too deep
    ]
    for path in wanted + others:
        ctx.driver.put_content(path, ctx.random_bytes(8))
    found = ctx.driver.files_matching(top, ("*", "*", "data"))
    check_equal(sorted(info.path for info in found), wanted, "files_matching(top, ('*', '*', 'data'))")
    check(all(not info.is_dir and info.size == 8 for info in found), "each match is a file with its size")
    fixed = ctx.driver.files_matching(top, ("cd", "*", "data"))
    check_equal([info.path for info in fixed], wanted[1:], "a fixed name matches only itself")
    expect_error(PathNotFoundError, lambda: ctx.driver.files_matching(top + "/missing", ("*",)), "missing path")
