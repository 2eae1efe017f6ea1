"""Declared capabilities.

``driver.capabilities`` says how a backend keeps the contract; a case gated on a
capability is skipped, with the reason, where it is not declared, and fails where the
behaviour contradicts the declaration.
"""

from __future__ import annotations

import threading
import time
from functools import partial

from ...errors import ObjectChangedError, PathNotFoundError
from ..context import Case, Context, check, check_equal, expect_error
from .helpers import MiB, check_name, http_request, suspend
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


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
        status, headers, body = http_request(url, method)
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
            check_name(ctx, error)
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
    suspend(ctx.driver, path, kept)
    crashed = ctx.driver.writer(path, append=True)
    crashed.write(lost)  # never closed: its process died here (parts it sent may be in the store)
    writer = ctx.other.writer(path, append=True)
    check_equal(writer.size, len(kept), "size when the other instance resumes after a crash")
    writer.write(more)
    writer.commit()
    writer.close()
    for instance in ctx.instances:
        check_equal(instance.get_content(path), kept + more, "content after a crash and a resume")
