"""Walks: in key order, from per-directory listings or from one flat listing.

Every distfs walk visits entries in **key order**: a file's key is its path, a
directory's key is its path plus ``/``, and keys compare as strings. This is the order of
an object store's flat listing (``/a-b/x`` comes before ``/a/x``, as ``-`` sorts before
``/``), so object stores walk with one listing request per 1000 keys, while a filesystem
reaches the same order by sorting each directory's entries by key. A directory always
comes right before its contents, and the contents of a directory are contiguous.

``start_after_hint`` skips every entry whose key sorts at or before the hint, except that
the entries *inside* a directory named by the hint are still visited (the hinted entry
itself is not). Go's fallback walk used another order (``/a`` and its contents before
``/a-b``) and Go's S3 walk re-emitted the hint's ancestors; the registry re-filters by its
own ``last`` marker, so either is fine for it, and distfs keeps one rule for all drivers.

:class:`~distfs.driver.SkipDir` on a directory skips its contents,
:class:`~distfs.driver.StopWalk` ends the whole walk, an entry deleted while the walk runs
is skipped, and a missing start path is a ``PathNotFoundError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from . import paths
from .driver import EPOCH, FileInfo, SkipDir, StopWalk, StorageDriver, WalkFn
from .errors import PathNotFoundError

__all__ = ["ListInfos", "ListPages", "key_of", "list_then_stat", "walk", "walk_flat"]

ListInfos = Callable[[str], list[FileInfo]]
"""Infos of the direct children of a directory; PathNotFoundError if it is absent."""

ListPages = Callable[[str], Iterator[list[FileInfo]]]
"""Pages of the files below the walked directory in key order, starting after a key."""


def key_of(info: FileInfo) -> str:
    """The walk order key of an entry: its path, plus ``/`` for a directory."""
    return info.path + "/" if info.is_dir else info.path


def list_then_stat(driver: StorageDriver) -> ListInfos:
    """List and stat through ``driver`` (one ``stat`` per entry, as Go's fallback does)."""

    def list_infos(directory: str) -> list[FileInfo]:
        infos = []
        for child in driver.list(directory):
            try:
                infos.append(driver.stat(child))
            except PathNotFoundError:
                continue  # deleted since the listing
        return infos

    return list_infos


def _visible(info: FileInfo, hint: str) -> bool:
    """Whether the walk calls back on ``info`` (it may still descend into it)."""
    return not hint or (key_of(info) > hint and info.path != hint and not hint.startswith(key_of(info)))


def walk(list_infos: ListInfos, path: str, fn: WalkFn, start_after_hint: str = "") -> None:
    """Walk below ``path`` with one ``list_infos`` call per directory visited.

    Iterative (any depth): a stack holds, per open directory, the children still to visit.
    The hot loop of a filesystem walk (a registry's blob directories hold one file each):
    a listing of one entry is not sorted, and without a hint no key is computed.
    """
    hint = start_after_hint
    stack = [iter(_in_key_order(list_infos(path)))]  # a missing start path raises here
    try:
        while stack:
            for info in stack[-1]:
                if hint:
                    key = key_of(info)
                    if key <= hint and not (info.is_dir and hint.startswith(key)):
                        continue  # this entry and everything below it sort before the hint
                    visible = _visible(info, hint)
                else:
                    visible = True
                if visible:
                    try:
                        fn(info)
                    except SkipDir:
                        continue
                if info.is_dir:
                    try:
                        children = list_infos(info.path)
                    except PathNotFoundError:
                        continue  # removed while the walk ran
                    stack.append(iter(_in_key_order(children)))
                    break  # into the directory; its parent's iterator resumes when it is done
            else:
                stack.pop()
    except StopWalk:
        return


def _in_key_order(infos: list[FileInfo]) -> list[FileInfo]:
    return sorted(infos, key=key_of) if len(infos) > 1 else infos


def walk_flat(
    pages: ListPages,
    path: str,
    fn: WalkFn,
    start_after_hint: str = "",
    *,
    exists: Callable[[str], object],
    hidden: Iterable[str] = (),
) -> None:
    """Walk below ``path`` from a flat, key-ordered listing of its files.

    Directories are made up from the files' paths (an object store has no others).
    ``pages(start_after)`` lists the files below ``path`` whose key sorts after
    ``start_after``; when a skipped directory's files fill the rest of a page, the listing
    restarts past that directory instead of paging through it. Directories in ``hidden``
    are skipped from the start. ``exists(path)`` is called when the listing is empty, to
    tell an empty walk from a missing start path (it raises ``PathNotFoundError``).
    """
    walker = _FlatWalk(path, fn, start_after_hint, set(hidden))
    try:
        seen_any = walker.run(pages)
    except StopWalk:
        return
    if not seen_any:
        exists(path)


class _FlatWalk:
    """The state of one flat walk: the directories around the current file, the skips."""

    def __init__(self, start: str, fn: WalkFn, hint: str, skipped: set[str]) -> None:
        self.base = "" if start == paths.ROOT else start
        self.fn = fn
        self.hint = hint
        self.skipped = skipped
        self.open_dirs: list[str] = []  # outermost first

    def run(self, pages: ListPages) -> bool:
        """Walk every page; returns whether the listing held anything at all."""
        seen_any = False
        start_after = self.hint
        while True:
            restart = None
            for page in pages(start_after):
                seen_any = seen_any or bool(page)
                for info in page:
                    if self._skipped(info.path) is None:
                        self._enter_dirs(info.path)
                    if self._skipped(info.path) is None and _visible(info, self.hint):
                        with contextlib.suppress(SkipDir):  # SkipDir on a file is a no-op
                            self.fn(info)
                jump = self._skipped(page[-1].path) if page else None
                if jump is not None:
                    restart = jump + "/\U0010ffff"  # past every key below the skipped directory
                    break
            if restart is None:
                return seen_any
            start_after = restart

    def _skipped(self, path: str) -> str | None:
        """The outermost skipped directory holding ``path``, if any: one set look-up per
        ancestor, so a walk skipping many directories stays linear."""
        if not self.skipped:
            return None
        end = path.find("/", 1)
        while end != -1:
            if path[:end] in self.skipped:
                return path[:end]
            end = path.find("/", end + 1)
        return None

    def _enter_dirs(self, path: str) -> None:
        """Call back on the directories between the start and ``path`` not entered yet."""
        parents = []
        directory = paths.parent(path)
        while directory != paths.ROOT and len(directory) > len(self.base):
            parents.append(directory)
            directory = paths.parent(directory)
        parents.reverse()
        while self.open_dirs and self.open_dirs[-1] not in parents:
            self.open_dirs.pop()
        for directory in parents[len(self.open_dirs) :]:
            self.open_dirs.append(directory)
            info = FileInfo(directory, 0, EPOCH, True)
            if not _visible(info, self.hint):
                continue
            try:
                self.fn(info)
            except SkipDir:
                self.skipped.add(directory)
                return
