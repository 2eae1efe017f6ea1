"""The two walks agree: per-directory listings and one flat listing give the same visits."""

from __future__ import annotations

import time
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

import distfs
from distfs import paths
from distfs.driver import EPOCH, FileInfo, SkipDir, StopWalk
from distfs.walk import key_of, list_then_stat, walk, walk_flat

NAMES = st.sampled_from(["a", "a-b", "a.b", "ab", "b", "_x", "a0"])
TREES = st.sets(st.lists(NAMES, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts)), max_size=25)


def files_of(tree: set[str]) -> list[str]:
    """Drop paths that would be both a file and a directory; keep the deeper one."""
    return sorted(p for p in tree if not any(q.startswith(p + "/") for q in tree))


def list_infos_of(files: list[str]) -> distfs.walk.ListInfos:  # type: ignore[name-defined]
    def list_infos(directory: str) -> list[FileInfo]:
        prefix = "" if directory == "/" else directory
        children: dict[str, FileInfo] = {}
        for f in files:
            if f.startswith(prefix + "/"):
                name = f[len(prefix) + 1 :].split("/", 1)
                child = paths.join(directory, name[0])
                children[child] = FileInfo(child, 0 if len(name) > 1 else len(f), EPOCH, len(name) > 1)
        if not children and directory != "/":
            raise distfs.PathNotFoundError(directory)
        return list(children.values())

    return list_infos


def pages_of(files: list[str], start: str, page_size: int, requests: list[str]) -> distfs.walk.ListPages:  # type: ignore[name-defined]
    prefix = "" if start == "/" else start

    def pages(start_after: str) -> Iterator[list[FileInfo]]:
        rows = [FileInfo(f, len(f), EPOCH, False) for f in files if f.startswith(prefix + "/") and f > start_after]
        for i in range(0, len(rows), page_size):
            requests.append(start_after)
            yield rows[i : i + page_size]
        if not rows:
            requests.append(start_after)
            yield []

    return pages


def visits(run: object, skip: set[str], stop: str) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []

    def fn(info: FileInfo) -> None:
        seen.append((info.path, info.is_dir))
        if info.path == stop:
            raise StopWalk
        if info.path in skip:
            raise SkipDir

    try:
        run(fn)  # type: ignore[operator]
    except distfs.PathNotFoundError:
        seen.append(("missing", False))
    return seen


@settings(max_examples=300, deadline=None)
@given(
    tree=TREES,
    start=st.sampled_from(["/", "/a", "/a-b", "/a/a"]),
    hint=st.one_of(st.just(""), TREES.map(lambda t: min(t) if t else "")),
    skip=st.sets(TREES.map(lambda t: min(t) if t else "/none"), max_size=3),
    stop=st.one_of(st.just(""), NAMES.map(lambda n: "/a/" + n)),
    page_size=st.integers(1, 4),
)
def test_flat_walk_matches_listing_walk(
    tree: set[str], start: str, hint: str, skip: set[str], stop: str, page_size: int
) -> None:
    files = files_of(tree)
    by_listing = visits(lambda fn: walk(list_infos_of(files), start, fn, hint), skip, stop)
    requests: list[str] = []

    def exists(path: str) -> None:
        list_infos_of(files)(path)

    by_flat = visits(
        lambda fn: walk_flat(pages_of(files, start, page_size, requests), start, fn, hint, exists=exists), skip, stop
    )
    assert by_flat == by_listing
    # key order, each directory right before its contents
    keys = [p + "/" if d else p for p, d in by_listing if p != "missing"]
    assert keys == sorted(keys)
    for path, is_dir in by_listing:
        if path != "missing" and paths.parent(path) not in (start, "/"):
            assert (
                (paths.parent(path), True) in by_listing[: by_listing.index((path, is_dir))]
                or (hint and hint.startswith(paths.parent(path) + "/"))
                or paths.parent(path) == hint
            )


def test_skipped_directory_is_jumped_over() -> None:
    files = [f"/big/{i:04d}" for i in range(50)] + ["/c/1"]
    requests: list[str] = []
    seen: list[str] = []

    def fn(info: FileInfo) -> None:
        seen.append(info.path)
        if info.path == "/big":
            raise SkipDir

    walk_flat(pages_of(files, "/", 5, requests), "/", fn, exists=lambda p: None)
    assert seen == ["/big", "/c", "/c/1"]
    assert len(requests) == 2  # the first page, then a restart past /big


def test_skipping_many_directories_stays_linear() -> None:
    """gc's look at the ``_layers`` links skips the directory of every marked blob: tens of
    thousands of skipped directories in one walk. Each file was checked against every
    directory skipped so far (about 4e8 prefix tests here, a minute); now a set look-up
    per ancestor (a fraction of a second)."""
    count = 20_000
    files = [f"/l/{i:05d}/link" for i in range(count)]
    seen: list[str] = []

    def fn(info: FileInfo) -> None:
        seen.append(info.path)
        if info.is_dir and info.path != "/l" and int(info.path[3:]) % 2:
            raise SkipDir

    began = time.perf_counter()
    walk_flat(pages_of(files, "/", 1000, []), "/", fn, exists=lambda p: None)
    assert time.perf_counter() - began < 10
    assert len(seen) == 1 + count + count // 2  # /l, every directory, the links of the even ones
    assert "/l/00001/link" not in seen
    assert "/l/00002/link" in seen


def test_hidden_directories_are_never_visited() -> None:
    files = ["/.distfs~/uploads/a/.distfs~/state", "/a/b"]
    seen: list[str] = []
    walk_flat(
        pages_of(files, "/", 10, []), "/", lambda i: seen.append(i.path), exists=lambda p: None, hidden=["/.distfs~"]
    )
    assert seen == ["/a", "/a/b"]


def test_order_key() -> None:
    assert key_of(FileInfo("/a", 0, EPOCH, True)) == "/a/"
    assert key_of(FileInfo("/a", 0, EPOCH, False)) == "/a"


def test_list_then_stat_skips_entries_deleted_after_the_listing() -> None:
    """Go's TestWalkFileRemoved: the listing names an entry that stat no longer finds."""
    driver = distfs.create("inmemory")
    driver.put_content("/zoidberg", b"z")

    class Lying(distfs.StorageDriver):
        name = "lying"  # type: ignore[assignment]

        def list(self, path: str) -> list[str]:
            return ["/zoidberg", "/bender"]

        def stat(self, path: str) -> FileInfo:
            return driver.stat(path)

        def __getattr__(self, name: str) -> object:
            raise AssertionError(name)

    for method in ("get_content", "put_content", "reader", "writer", "move", "delete", "walk"):
        setattr(Lying, method, None)
    Lying.__abstractmethods__ = frozenset()  # type: ignore[misc]
    seen: list[str] = []
    walk(list_then_stat(Lying()), "/", lambda info: seen.append(info.path))
    assert seen == ["/zoidberg"]
