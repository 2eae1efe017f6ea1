"""The listings of :class:`~.store.LocalStore`: pages of a flat listing (the files below
a prefix, in key order, one directory read at a time) and a directory's entries
(:class:`~distfs.engine.seam.Tree`'s ``children``); links that lead out of the root, and
dangling ones, are left out."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ... import paths
from ...driver import EPOCH
from ...engine.seam import (
    NotFound,
    ObjectInfo,
    Page,
)
from .files import _PAGE, _first, _key_of, _object
from .tree import TreeCore


class Listing(TreeCore):
    """:meth:`list_page` and :meth:`children` of the store."""

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> Page:
        if not delimiter:
            return self._flat_page(prefix, max(start_after, token or ""), token)
        directory, _, part = prefix.rpartition("/")
        page = Page()
        try:
            with self._mapped(prefix):
                fd = self._beneath.open_directory(directory)
                try:
                    if not part and directory:  # the directory's own key: it exists (Tree)
                        page.objects.append(ObjectInfo(prefix, 0, EPOCH, ""))
                    kinds = self._kinds(fd, directory)
                finally:
                    os.close(fd)
        except NotFound:
            return page
        base = directory + "/" if directory else ""
        for name, is_dir in kinds:
            key = base + name
            if not name.startswith(part) or key <= start_after:
                continue
            if is_dir:
                page.prefixes.append(key + "/")
            else:  # names and kinds only (see the Tree extension): no stat per file
                page.objects.append(ObjectInfo(key, 0, EPOCH, ""))
        page.objects.sort(key=_key_of)
        page.prefixes.sort()
        return page

    async def children(self, prefix: str) -> list[ObjectInfo]:
        entries = self._directory(prefix.rstrip("/"))
        return [
            _object(prefix + name + "/" if stat.S_ISDIR(info.st_mode) else prefix + name, info)
            for name, info in entries
        ]

    def _kinds(self, fd: int, directory: str) -> list[tuple[str, bool]]:
        """The names in directory ``fd`` (relative path ``directory``) and whether each is a
        directory; links inside the root followed, links out and dangling ones left out."""
        found = []
        base = directory + "/" if directory else ""
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_symlink():
                        is_dir = stat.S_ISDIR(self._beneath.stat(base + entry.name).st_mode)
                    else:
                        is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:  # a link out of the store, a dangling one, or gone
                    continue
                found.append((entry.name, is_dir))
        return found

    def _directory(self, directory: str) -> list[tuple[str, os.stat_result]]:
        """The entries of ``directory`` (``""``: the root) with their stat results."""
        with self._mapped(directory):
            fd = self._beneath.open_directory(directory)
            try:
                return self._entries(fd, directory)
            finally:
                os.close(fd)

    def _entries(self, fd: int, directory: str) -> list[tuple[str, os.stat_result]]:
        """The names in directory ``fd`` (relative path ``directory``) with their ``stat``;
        links inside the root followed; links out, dangling ones and vanished names left out."""
        found = []
        base = directory + "/" if directory else ""
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_symlink():
                        info = self._beneath.stat(base + entry.name)
                    else:
                        info = entry.stat(follow_symlinks=False)
                except OSError:  # a link out of the store, a dangling one, or gone
                    continue
                found.append((entry.name, info))
        return found

    def _flat_page(self, prefix: str, start_after: str, token: str | None) -> Page:
        """A page of every file below ``prefix`` in key order: continued from the generator
        that made the page ``token`` ends, else walked afresh, skipping what sorts before."""
        objects = self._listings.pop(token, None) if token else None
        if objects is None:
            objects = self._files(prefix, start_after)
        page = Page()
        for info in objects:
            page.objects.append(info)
            if len(page.objects) == _PAGE:
                page.token = info.key
                if len(self._listings) > 64:  # listings abandoned half-way
                    self._listings.clear()
                self._listings[info.key] = objects
                break
        return page

    def _files(self, prefix: str, start_after: str) -> Iterator[ObjectInfo]:
        """Every file below ``prefix`` after ``start_after``, in key order (depth first, each
        directory sorted by its keys: a directory ``d`` sorts as ``d/``); distfs's hidden
        directories are left out unless ``prefix`` lies in one."""
        directory, _, part = prefix.rpartition("/")
        return self._files_in(directory, part, start_after, paths.HIDDEN not in prefix.split("/"))

    def _files_in(self, directory: str, part: str, start_after: str, hide: bool) -> Iterator[ObjectInfo]:
        try:
            entries = self._directory(directory)
        except NotFound:
            return
        base = directory + "/" if directory else ""
        ordered: list[tuple[str, os.stat_result | None]] = []
        for name, info in entries:
            if not name.startswith(part):
                continue
            if stat.S_ISDIR(info.st_mode):
                below = base + name + "/"
                if not (hide and name == paths.HIDDEN) and (start_after < below or start_after.startswith(below)):
                    ordered.append((below, None))
            elif base + name > start_after:
                ordered.append((base + name, info))
        ordered.sort(key=_first)
        for key, found in ordered:
            if found is None:
                yield from self._files_in(key[:-1], "", start_after, hide)
            else:
                yield _object(key, found)
