"""Two instances on one store.

A second instance (``ctx.other``) is what another process or machine sees: hidden
upload state is judged through it, never only through the instance that made it.
"""

from __future__ import annotations

from functools import partial

from ...errors import PathNotFoundError, WriterConflictError
from ..context import Case, Context, check, check_equal, expect_error
from .helpers import suspend
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


@case(two_instances=True)
def test_resume_from_other_instance(ctx: Context) -> None:
    """An upload suspended on one instance resumes on the other with its size and bytes, and back."""
    path = ctx.cleanup(ctx.random_path(32))
    first, second, third = (ctx.random_bytes(n) for n in (100, 37, 5))
    suspend(ctx.driver, path, first)
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
    suspend(ctx.driver, path, ctx.random_bytes(64))
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
    suspend(ctx.driver, path, ctx.random_bytes(64))
    ctx.other.writer(path, append=True).cancel()
    expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "append after the other's cancel")
    suspend(ctx.other, path, ctx.random_bytes(64))
    ctx.other.writer(path, append=False).cancel()
    expect_error(PathNotFoundError, partial(ctx.driver.writer, path, True), "append after restart and cancel")


@case(two_instances=True)
def test_delete_removes_uploads_below(ctx: Context) -> None:
    """delete(d) removes the suspended uploads below d (never those of d-suffix), for every instance."""
    top = ctx.cleanup("/" + ctx.random_filename(12))
    ctx.driver.put_content(top + "/a/file", b"x")
    ctx.driver.put_content(top + "/ab/file", b"y")
    below, sibling, own = top + "/a/b/upload", top + "/ab/upload", top + "/a"
    suspend(ctx.driver, below, ctx.random_bytes(40))
    suspend(ctx.driver, sibling, ctx.random_bytes(30))
    suspend(ctx.other, own + "/file", ctx.random_bytes(20))
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
