"""The engine's reads and listings: content, pinned ranged reads, ``stat``, directory listings, flat pages.

:class:`EngineReads` adds them to :class:`~distfs.engine.policy.EnginePolicy`; the
:class:`~distfs.engine.core.Engine` adds the namespace changes on top.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from .. import paths
from ..driver import EPOCH, FileInfo
from ..errors import DriverError, PathNotFoundError
from ..retry import again
from .policy import _HIDDEN_PART, EnginePolicy, utc
from .seam import Changed, NotFound, ObjectInfo, Page, StoreError, Transient

__all__ = ["EngineReads"]


class _Cut(Exception):
    """A read's answer that brought no byte before the end asked for (retried like a Transient failure)."""


def _broken_read(exc: BaseException) -> bool:
    """A read to retry: an empty answer, or a Transient failure (mapped to DriverError by ``errors``)."""
    return isinstance(exc, _Cut) or (isinstance(exc, DriverError) and isinstance(exc.__cause__, Transient))


class EngineReads(EnginePolicy):
    """The reads and listings of :class:`~distfs.engine.core.Engine` (see the module docstring)."""

    # -- content ----------------------------------------------------------------------

    async def head(self, path: str) -> ObjectInfo:
        """The object at ``path`` (PathNotFoundError if there is none)."""
        key = self.key(path)
        async with self.errors(path):
            return await self.call(lambda: self.store.head(key))

    async def get_content(self, path: str) -> bytes:
        data, _ = await self.read_range(path, 0, 1 << 62, None)
        return data

    async def put_content(self, path: str, content: bytes) -> None:
        key = self.key(path)
        async with self.errors(path, "writing"):
            await self.call(lambda: self.store.put(key, content))

    async def read_range(self, path: str, start: int, end: int, version: str | None) -> tuple[bytes, ObjectInfo]:
        """Bytes ``[start, end)`` of ``path``, pinned to ``version`` when given, never short.

        The first answer pins the version when none is given. A failed or cut-short body is
        retried from the byte it reached, with the same pin, ``retries`` times; past the end
        of the object the result is ``b""``. A pinned version that is gone (replaced or
        deleted) is ObjectChangedError.
        """
        chunks: list[bytes] = []
        position = start

        async def rest() -> ObjectInfo:
            """Reads from ``position`` to the end asked for (or the object's); _Cut on an empty answer."""
            nonlocal position, version
            while True:
                async with self.errors(path, "reading"):
                    data, info = await self._get(self.key(path), position, end, version)
                version = info.version
                chunks.append(data)
                position += len(data)
                if position >= min(end, info.size):
                    return info
                if not data:
                    raise _Cut
                # a short answer: ask for the rest

        try:
            try:
                info = await rest()  # the first attempt: no retry machinery unless it fails
            except (DriverError, _Cut) as exc:
                if not self.retries or not _broken_read(exc):
                    raise
                info = await again(rest, self.retries, _broken_read)
        except _Cut:
            raise DriverError(f"reading {path} stopped at byte {position}", self.name) from None
        return b"".join(chunks), info

    async def open_file(self, path: str, offset: int) -> BinaryIO:
        """The object at ``path`` as the store's own open file, at ``offset`` (a Files store)."""
        files = self.local_files
        assert files is not None, "open_file() reads from a Files store"
        async with self.errors(path, "reading"):
            return await files.open_file(self.key(path), offset)

    async def _get(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, ObjectInfo]:
        """One ranged read; a pinned version that vanished is Changed; past the end is ``b""``."""
        try:
            return await self.store.get_range(key, start, end, version)
        except NotFound:
            if version is not None:
                raise Changed("NotFound", "the object is gone") from None
            raise
        except StoreError as exc:
            if exc.code != "InvalidRange":
                raise
        info = await self.call(lambda: self.store.head(key))
        if version is not None and info.version != version:
            raise Changed("InvalidRange", "the object changed")
        if start < info.size:
            raise StoreError("InvalidRange", f"bytes from {start} of {info.size}")
        return b"", info

    # -- metadata ---------------------------------------------------------------------

    async def stat(self, path: str) -> FileInfo:
        if path == paths.ROOT:
            # The root always exists, but ask the store: the health check relies on it.
            await self._first_page(paths.ROOT)
            return FileInfo(path, 0, EPOCH, True)
        key = self.key(path)
        try:
            async with self.errors(path):
                info = await self.call(lambda: self.store.head(key))
            return FileInfo(path, info.size, utc(info.modified), False, info.version)
        except PathNotFoundError as exc:
            directory = getattr(exc.__cause__, "directory", None)
            if directory is not None:  # a Tree store's directory
                return FileInfo(path, 0, utc(directory), True)
            if self.tree is not None:  # neither a file nor a directory: nothing to list
                raise
            page = await self._first_page(path)
            if page.objects or page.prefixes:
                return FileInfo(path, 0, EPOCH, True)
            raise

    async def _first_page(self, path: str) -> Page:
        async for page in self.pages(path, self.prefix(path), delimiter=True):
            return page
        raise AssertionError("pages() yields at least one page")  # pragma: no cover

    async def pages(self, path: str, prefix: str, *, delimiter: bool, start_after: str = "") -> AsyncIterator[Page]:
        """Every page of the listing of ``prefix`` (errors name ``path``)."""
        token: str | None = None
        while True:
            async with self.errors(path, "listing"):
                page = await self.call(
                    lambda t=token: self.store.list_page(prefix, delimiter=delimiter, start_after=start_after, token=t)  # type: ignore[misc]
                )
            yield page
            token = page.token
            if token is None:
                return

    async def list(self, path: str) -> builtins.list[str]:
        """Sorted children of ``path`` (files and directories), without markers or hidden state."""
        prefix = self.prefix(path)
        found: set[str] = set()
        exists = False  # a Tree store lists a directory's own key: an empty one exists
        async for page in self.pages(path, prefix, delimiter=True):
            names = [o.key[len(prefix) :] for o in page.objects]
            names += [p[len(prefix) :].rstrip("/") for p in page.prefixes]
            exists = exists or bool(names)
            found.update(name for name in names if name and "/" not in name and name != paths.HIDDEN)
        if not found and path != paths.ROOT and not (exists and self.tree is not None):
            raise PathNotFoundError(path, self.name)
        base = "" if path == paths.ROOT else path
        return sorted(base + "/" + name for name in found)

    async def children(self, path: str) -> builtins.list[FileInfo]:
        """The direct children of ``path`` with what one delimiter listing says of them (key order).

        Objects are files (size, time, version); common prefixes are directories (size 0, the
        epoch). A name that is both an object and a prefix comes twice, file first. Hidden
        state and directory markers are left out; a missing directory is PathNotFoundError.
        On a Tree store: :meth:`tree_children` (real directories with their times, unsorted).
        """
        if self.tree is not None:
            return await self.tree_children(path)
        prefix = self.prefix(path)
        base = "" if path == paths.ROOT else path
        infos: builtins.list[FileInfo] = []
        async for page in self.pages(path, prefix, delimiter=True):
            infos += [self.file_info(o) for o in page.objects if self._visible_key(o.key)]
            names = (p[len(prefix) :].rstrip("/") for p in page.prefixes)
            infos += [FileInfo(base + "/" + n, 0, EPOCH, True) for n in names if n and n != paths.HIDDEN]
        if not infos and path != paths.ROOT:
            raise PathNotFoundError(path, self.name)
        return infos

    async def tree_children(self, path: str) -> builtins.list[FileInfo]:
        """The infos of the children of directory ``path`` on a Tree store, unsorted, hidden
        state left out (PathNotFoundError when ``path`` is not a directory)."""
        tree = self.tree
        assert tree is not None, "tree_children() lists a Tree store"
        prefix = self.prefix(path)
        async with self.errors(path, "listing"):
            found = await tree.children(prefix)
        base, cut, hidden = "" if path == paths.ROOT else path, len(prefix), paths.HIDDEN
        infos = []
        for info in found:
            key = info.key
            if key.endswith("/"):
                name = key[cut:-1]
                if name != hidden:
                    infos.append(FileInfo(base + "/" + name, 0, utc(info.modified), True))
            else:
                infos.append(FileInfo(base + "/" + key[cut:], info.size, utc(info.modified), False, info.version))
        return infos

    async def matching(self, path: str, pattern: Sequence[str]) -> builtins.list[FileInfo]:
        """:meth:`~distfs.StorageDriver.files_matching` on a Tree store (its ``matching``)."""
        tree = self.tree
        assert tree is not None, "matching() lists a Tree store"
        async with self.errors(path, "listing"):
            found = await tree.matching(self.prefix(path), pattern)
        cut = len(self.root) + 1 if self.root else 0
        return [
            FileInfo("/" + key[cut:], size, datetime.fromtimestamp(modified, UTC), False, version)
            for key, size, modified, version in found
        ]

    async def files(self, path: str, start_after: str = "") -> AsyncIterator[builtins.list[ObjectInfo]]:
        """Pages of every object below directory ``path`` (key order), after driver path ``start_after``.

        Hidden state (any key with a ``.distfs~`` component) and directory markers are left out.
        """
        after = self.key(start_after) if start_after else ""
        async for page in self.pages(path, self.prefix(path), delimiter=False, start_after=after):
            yield [o for o in page.objects if self._visible_key(o.key)]

    def _visible_key(self, key: str) -> bool:
        return not key.endswith("/") and _HIDDEN_PART not in "/" + key and not key.endswith("/" + paths.HIDDEN)

    def file_info(self, info: ObjectInfo) -> FileInfo:
        return FileInfo(self.path(info.key), info.size, utc(info.modified), False, info.version)

    async def _all_keys(self, path: str, prefix: str) -> builtins.list[str]:
        return [o.key async for page in self.pages(path, prefix, delimiter=False) for o in page.objects]
