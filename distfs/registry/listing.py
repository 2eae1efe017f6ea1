"""The listings of a registry store that gc, fsck and migrate run as tasks.

Each function is a task of a :class:`~.runner.Runner` (a thread pool, or dask workers)
or runs them: the blobs as one flat walk or as key ranges, the repositories found by
listing directories, one repository part at a time. None reads a file's content.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Collection

from ..driver import FileInfo, SkipDir, StopWalk, StorageDriver
from ..errors import PathNotFoundError
from .pool import DEFAULT_WORKERS, Pace, run_all
from .runner import Runner
from .storage_paths import BLOBS, REPOSITORIES

__all__ = [
    "BLOB_DATA",
    "blob_ranges",
    "files_between",
    "list_blobs",
    "part_files",
    "repository_parts",
    "scan_files",
    "stat_files",
]


def repository_parts(
    driver: StorageDriver, workers: int = DEFAULT_WORKERS, pace: Pace | None = None
) -> dict[str, set[str]]:
    """Every repository directory and the parts it holds (``_manifests``, ``_layers``, ``_uploads``).

    Found by listing the tree level by level (concurrently, one request per directory,
    never entering a part): far fewer keys than a walk of every link when repositories
    hold many layers. With a ``pace`` the listings run in the calling thread while the
    store's calls are fast (:class:`~.pool.Pace`).
    """
    found: dict[str, set[str]] = {}
    frontier = [REPOSITORIES]
    while frontier:
        level, frontier = frontier, []
        for directory, children in run_all(driver.list, level, workers, pace=pace):
            if isinstance(children, PathNotFoundError):
                continue  # gone, or a file
            if isinstance(children, BaseException):
                raise children
            for child in children:
                name = child.rsplit("/", 1)[1]
                if name.startswith("_"):
                    if directory != REPOSITORIES:
                        found.setdefault(directory[len(REPOSITORIES) + 1 :], set()).add(name)
                else:
                    frontier.append(child)
    return found


def part_files(driver: StorageDriver, path: str, layers: Collection[str] | None = None) -> list[FileInfo]:
    """The files of one repository part ``path`` (a task of :func:`scan_parts`): of a
    ``_layers`` part only the links of ``layers`` (all if None). Where directories are real
    (``capabilities.empty_directories``: a filesystem, one listing per directory) those are
    found by listing ``_layers/<algorithm>`` (names only) and a ``stat`` of each wanted link,
    not by listing every link's directory; elsewhere by one walk (a flat listing) that skips
    the others."""
    if layers is not None and path.endswith("/_layers") and driver.capabilities.empty_directories:
        return _layer_links(driver, path, layers)

    def skip_layers(info: FileInfo) -> None:
        if layers is not None and info.is_dir:
            digest = _layer_dir_digest(info.path)
            if digest is not None and digest not in layers:
                raise SkipDir

    return scan_files(driver, path, on_dir=skip_layers if path.endswith("/_layers") else None)


def _layer_links(driver: StorageDriver, path: str, layers: Collection[str]) -> list[FileInfo]:
    """The ``link`` files of the ``_layers`` part ``path`` that name a digest of ``layers``."""
    links: list[FileInfo] = []
    for directory in _children(driver, path):
        algorithm = directory.rpartition("/")[2]
        for linked in _children(driver, directory):
            if f"{algorithm}:{linked.rpartition('/')[2]}" in layers:
                with contextlib.suppress(PathNotFoundError):  # unlinked since the listing
                    info = driver.stat(linked + "/link")
                    if not info.is_dir:
                        links.append(info)
    return links


def stat_files(driver: StorageDriver, paths: tuple[str, ...]) -> list[FileInfo]:
    """The infos of the files among ``paths`` (a task: those missing, or directories, are left out)."""
    infos: list[FileInfo] = []
    for path in paths:
        with contextlib.suppress(PathNotFoundError):
            info = driver.stat(path)
            if not info.is_dir:
                infos.append(info)
    return infos


def _children(driver: StorageDriver, path: str) -> list[str]:
    """The entries of directory ``path`` (none if it is missing or a file)."""
    try:
        return driver.list(path)
    except PathNotFoundError:
        return []


#: Where a blob's content lies below ``blobs/``: ``<algorithm>/<first two hex>/<hex>/data``.
BLOB_DATA = ("*", "*", "*", "data")


def list_blobs(runner: Runner, on_file: Callable[[FileInfo], None] | None = None) -> list[FileInfo]:
    """The blobs' ``data`` files below ``blobs/`` (:data:`BLOB_DATA`; other files there are
    left out: :func:`~.layout.scan` finds them): one
    :meth:`~distfs.StorageDriver.files_matching` (one flat listing per 1000 keys on object
    stores; on a filesystem a listing of each ``<first two hex>`` directory and a ``stat``
    of each blob's data), or on a ``spread`` runner one task per key range of
    :func:`blob_ranges`, as many ranges as the runner has threads (a few listings each,
    not one per directory)."""
    if not runner.spread:
        try:
            found = runner.driver.files_matching(BLOBS, BLOB_DATA)
        except PathNotFoundError:
            return []
        if on_file is not None:
            for info in found:
                on_file(info)
        return found
    files: list[FileInfo] = []
    for _, infos in runner.map(files_between, blob_ranges(runner.parallelism)):
        if isinstance(infos, BaseException):
            raise infos
        files.extend(infos)
        if on_file is not None:
            for info in infos:
                on_file(info)
    return files


def blob_ranges(count: int) -> list[tuple[str, str]]:
    """``count`` key ranges ``(after, until)`` (at most 256) that together hold every path
    below ``blobs/`` exactly once: a path belongs to the range with ``after < path <=
    until`` (``""``: unbounded). They are cut at the two-hex-digit directories of
    ``sha256``, so the ranges of a store's (uniformly spread) digests are of one size;
    other algorithms fall in the first or the last range."""
    count = max(1, min(count, 256))
    cuts = [f"{BLOBS}/sha256/{i * 256 // count:02x}" for i in range(1, count)]
    bounds = ["", *cuts, ""]
    return list(itertools.pairwise(bounds))


def files_between(driver: StorageDriver, span: tuple[str, str]) -> list[FileInfo]:
    """The files below ``blobs/`` in the key range ``span`` of :func:`blob_ranges` (a task
    of :func:`list_blobs`): one walk started after ``span[0]`` and stopped at the first
    entry past ``span[1]`` (walks run in key order): on an object store one listing per
    1000 keys of the range, on a filesystem the listings of the range's directories."""
    after, until = span
    files: list[FileInfo] = []

    def visit(info: FileInfo) -> None:
        if until and (info.path + "/" if info.is_dir else info.path) > until:
            raise StopWalk
        if not info.is_dir and info.path > after:
            files.append(info)

    with contextlib.suppress(PathNotFoundError):
        driver.walk(BLOBS, visit, start_after_hint=after)
    return files


def scan_files(
    driver: StorageDriver,
    under: str,
    on_file: Callable[[FileInfo], None] | None = None,
    *,
    on_dir: Callable[[FileInfo], None] | None = None,
) -> list[FileInfo]:
    """The files below ``under`` (none if it is missing), from one walk; ``on_dir`` may
    raise :class:`~distfs.driver.SkipDir` on a directory not to enter."""
    files: list[FileInfo] = []

    def visit(info: FileInfo) -> None:
        if info.is_dir:
            if on_dir is not None:
                on_dir(info)
            return
        files.append(info)
        if on_file is not None:
            on_file(info)

    with contextlib.suppress(PathNotFoundError):
        driver.walk(under, visit)
    return files


def _layer_dir_digest(path: str) -> str | None:
    """The digest of ``.../_layers/<algorithm>/<hex>`` (None for any other directory, e.g.
    ``.../_layers/<algorithm>``, which the walk must enter)."""
    head, _, hex_ = path.rpartition("/")
    algorithm = head.rpartition("/")[2]
    if head.rpartition("/")[0].endswith("/_layers") and algorithm in ("sha256", "sha384", "sha512"):
        return f"{algorithm}:{hex_}"
    return None
