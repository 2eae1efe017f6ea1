"""Writers beyond the Go suite (distfs states these in StorageDriver's docstrings, and every distfs driver
keeps them): state rules, cancel, restart, appends, hidden uploads, rewrites."""

from __future__ import annotations

from functools import partial

from ...errors import PathNotFoundError, StorageDriverError
from ..context import Case, Context, check, check_equal, expect_error
from .helpers import check_name
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


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
    check_name(ctx, error)


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
