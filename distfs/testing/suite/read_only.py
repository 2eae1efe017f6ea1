"""A read-only driver.

A driver that declares capabilities.read_only (a zip archive, an HTTP server) is run
over a fixture holding :data:`READ_ONLY_TREE`; the cases that write are skipped there.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ...errors import PathNotFoundError, UnsupportedMethodError
from ..context import Case, Context, check, check_equal, expect_error
from .helpers import check_name, read_all
from .registry import Registrar

__all__ = ["CASES", "READ_ONLY_TREE", "read_only_tree"]

CASES: list[Case] = []
case = Registrar(CASES)


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
        check_equal(read_all(ctx, path, len(data) // 2), data[len(data) // 2 :], f"reader({path}, middle)")
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
        check_name(ctx, error)
        check(path in str(error), f"{what}: error {error} does not name {path}")
    check_equal(ctx.driver.get_content(path), READ_ONLY_TREE[path], "content after the refused writes")
