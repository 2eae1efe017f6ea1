"""The listings of :class:`~.store.LocalStore`: pages of a flat listing (the files below
a prefix, in key order, one directory read at a time), a directory's entries
(:class:`~distfs.engine.seam.Tree`'s ``children``) and the files at a pattern of names
(``matching``); links that lead out of the root, and dangling ones, are left out."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence

from ... import paths
from ...beneath import PATH, EscapeError
from ...driver import EPOCH
from ...engine.seam import (
    NotFound,
    ObjectInfo,
    Page,
)
from .files import _PAGE, _failure, _first, _key_of, _object, _version
from .tree import TreeCore

#: A file ``matching`` found: key, size, modification time (POSIX seconds), version (a
#: tuple, not an ObjectInfo: a registry's blobs are many thousands).
Found = tuple[str, int, float, str]
#: What a name looked up by ``matching`` may meet without failing the listing: nothing there.
_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
#: How ``matching`` opens a directory from its parent's descriptor: never through a link.
_BELOW = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _add(found: list[Found], key: str, info: os.stat_result | None) -> None:
    """Add the file ``key`` of ``info`` to ``found`` (nothing for a directory, or nothing there)."""
    if info is not None and not stat.S_ISDIR(info.st_mode):
        found.append((key, info.st_size, info.st_mtime, _version(info)))


class Listing(TreeCore):
    """:meth:`list_page`, :meth:`children` and :meth:`matching` of the store."""

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

    async def matching(self, prefix: str, pattern: Sequence[str]) -> list[Found]:
        """The files at ``prefix`` + ``pattern`` (:class:`~distfs.engine.seam.Tree`'s ``matching``).

        Only the directories where ``"*"`` stands are listed (names and kinds); a name
        after the last ``"*"`` is looked up from the listed directory's descriptor, each
        step ``O_NOFOLLOW`` (:meth:`_shard`), and any other name opened beneath the root
        as ``head`` opens a key (``O_PATH``: a FIFO is never opened for reading). On a
        registry's blobs that is an ``open``, an ``fstat`` and a ``close`` per blob, and no
        listing of the blob's own directory. Links inside the root are followed (beneath
        the root, :mod:`distfs.beneath`), links out and dangling ones left out, as are
        entries that vanish meanwhile and distfs's hidden directory; a ``prefix`` that is
        no directory is NotFound. Iterative: any depth.
        """
        start = prefix.rstrip("/")
        with self._mapped(start):
            os.close(self._beneath.open_directory(start))
        last, hidden = len(pattern) - 1, paths.HIDDEN
        found: list[Found] = []
        stack = [(start, 0)]
        while stack:
            directory, level = stack.pop()
            base = directory + "/" if directory else ""
            name = pattern[level]
            if name != "*":  # a name: nothing to list
                if level < last:
                    stack.append((base + name, level + 1))
                else:
                    _add(found, base + name, self._stat_key(base + name))
                continue
            try:
                with self._mapped(directory):
                    fd = self._beneath.open_directory(directory)
            except NotFound:
                continue  # gone meanwhile
            try:
                if level + 1 == last and pattern[last] != "*":
                    self._shard(fd, base, pattern[last], found)
                    continue
                for child, is_dir in self._kinds(fd, directory):
                    if child == hidden:
                        continue
                    if level < last:
                        if is_dir:
                            stack.append((base + child, level + 1))
                    elif not is_dir:
                        _add(found, base + child, self._stat_key(base + child))
            finally:
                os.close(fd)
        return found

    def _shard(self, fd: int, base: str, name: str, found: list[Found]) -> None:
        """Add to ``found`` the file ``name`` of each directory in directory ``fd`` (key
        ``base``): the hot loop of a registry's blobs, one ``open`` (``O_NOFOLLOW``), one
        ``fstatat`` and one ``close`` per directory, no object but a tuple per file."""
        hidden, append = paths.HIDDEN, found.append
        with os.scandir(fd) as entries:
            for entry in entries:
                child = entry.name
                key = f"{base}{child}/{name}"
                if child == hidden:
                    continue
                if not entry.is_dir(follow_symlinks=False):  # the kind from the listing: no system call
                    if entry.is_symlink():
                        _add(found, key, self._stat_key(key))  # a link: resolved beneath the root
                    continue
                try:
                    below = os.open(child, _BELOW, dir_fd=fd)
                except OSError as exc:
                    _add(found, key, self._relook(exc, key))
                    continue
                try:
                    info = os.stat(name, dir_fd=below, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno not in _GONE:
                        raise _failure(exc, key) from None
                    continue
                finally:
                    os.close(below)
                mode = info.st_mode
                if stat.S_ISREG(mode) or not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                    append((key, info.st_size, info.st_mtime, _version(info)))
                elif stat.S_ISLNK(mode):
                    _add(found, key, self._stat_key(key))

    def _stat_key(self, key: str) -> os.stat_result | None:
        """The ``fstat`` of what ``key`` names (links inside the root followed); None if nothing is there."""
        try:
            fd = self._beneath.open(key, PATH)
        except OSError as exc:
            if isinstance(exc, EscapeError) or exc.errno in _GONE:
                return None  # a link out, a dangling one, or nothing there
            raise _failure(exc, key) from None
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def _relook(self, exc: OSError, key: str) -> os.stat_result | None:
        """After ``exc`` opening a directory on the way to ``key`` without following links:
        a link (or no directory any more) is resolved beneath the root, nothing there is None."""
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            return self._stat_key(key)
        if exc.errno in _GONE:
            return None
        raise _failure(exc, key) from None

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
