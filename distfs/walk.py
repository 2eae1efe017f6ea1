"""The generic walk: one listing per directory, in component-wise order.

This is Go's ``WalkFallback`` with its quirks fixed:

* a directory is listed with its entries' infos (:data:`ListInfos`); drivers whose
  listing carries size and time need no ``stat`` per entry, and :func:`list_then_stat`
  adapts any other driver;
* entries are visited in sorted order per directory, so ``/a`` and everything below it
  come before ``/a-b``;
* ``start_after_hint`` skips everything up to and including the hint in that order: the
  hinted directory is finished, then each ancestor's later entries, up to ``path``;
* :class:`~distfs.driver.StopWalk` stops the whole walk, also inside a hinted walk (Go
  went on with the ancestors' remaining entries);
* an entry deleted while the walk runs is skipped, and so is a listed directory that
  vanished before its turn; a missing ``path`` is a ``PathNotFoundError``.
"""

from __future__ import annotations

from collections.abc import Callable

from . import paths
from .driver import FileInfo, SkipDir, StopWalk, StorageDriver, WalkFn
from .errors import PathNotFoundError

__all__ = ["ListInfos", "list_then_stat", "walk"]

ListInfos = Callable[[str], list[FileInfo]]
"""Infos of the direct children of a directory, sorted by path; PathNotFoundError if absent."""


def list_then_stat(driver: StorageDriver) -> ListInfos:
    """List and stat through ``driver`` (one ``stat`` per entry, as Go's fallback does)."""

    def list_infos(directory: str) -> list[FileInfo]:
        infos = []
        for child in sorted(driver.list(directory)):
            try:
                infos.append(driver.stat(child))
            except PathNotFoundError:
                continue  # deleted since the listing
        return infos

    return list_infos


def walk(list_infos: ListInfos, path: str, fn: WalkFn, start_after_hint: str = "") -> None:
    """Walk below ``path`` calling ``fn`` (see :meth:`StorageDriver.walk`)."""
    try:
        _walk(list_infos, path, fn, start_after_hint)
    except StopWalk:
        return


def _walk(list_infos: ListInfos, start: str, fn: WalkFn, hint: str) -> None:
    if not hint or not _inside(hint, start):
        if _order_key(hint) < _order_key(start):
            _walk_dir(list_infos, start, fn, "", top=True)
        else:
            list_infos(start)  # the hint is past everything: only check that start exists
        return
    # Finish the hinted directory, then each ancestor's entries after the hinted one.
    directory = hint
    while True:
        try:
            _walk_dir(list_infos, directory, fn, hint, top=directory == start)
        except PathNotFoundError:
            if directory == start:
                raise
        if directory == start:
            return
        hint, directory = directory, paths.parent(directory)


def _walk_dir(list_infos: ListInfos, directory: str, fn: WalkFn, hint: str, *, top: bool) -> None:
    try:
        children = list_infos(directory)
    except PathNotFoundError:
        if top:
            raise
        return  # removed while the walk ran
    for info in children:
        if info.path <= hint:
            continue
        try:
            fn(info)
        except SkipDir:
            continue
        if info.is_dir:
            _walk_dir(list_infos, info.path, fn, hint, top=False)


def _inside(path: str, directory: str) -> bool:
    return directory in (paths.ROOT, path) or path.startswith(directory + "/")


def _order_key(path: str) -> str:
    """Component-wise order: every ``/`` sorts before any character of a name."""
    return path.replace("/", "\x00")
