"""The object-store engine: the StorageDriver contract over a :class:`~distfs.engine.seam.Store`, as coroutines.

:class:`Engine` holds every rule of the contract once, for every object store: how driver
paths become keys below ``rootdirectory``, what a directory is (a prefix with something
below it), listings without markers, duplicates or distfs's hidden state, deletes that
look everything up concurrently and then delete in batches, moves that copy a pinned
version before deleting the source, reads pinned to one version, one retry policy, and
one error mapping (a missing bucket, refused credentials and a missing path are told
apart on every call). The synchronous driver (:mod:`distfs.engine.driver`) and
``distfs.aio`` both run these coroutines.

distfs's own state lives below the reserved name :data:`distfs.paths.HIDDEN` at the root
(``/.distfs~/uploads/<path>/.distfs~/``: the journal ``state`` of a suspended upload, and
the scratch keys a store may use for it). The hidden name never shows in a listing or a
walk, at any depth, so roots nested in one bucket never see each other's state.
"""

from __future__ import annotations

import asyncio
import builtins
import errno
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import BinaryIO, TypeVar

from .. import paths
from ..driver import EPOCH, FileInfo
from ..errors import (
    AccessDeniedError,
    DriverError,
    InvalidParameterError,
    InvalidPathError,
    ObjectChangedError,
    PathNotFoundError,
    StorageDriverError,
    StoreNotFoundError,
    WriterConflictError,
)
from ..retry import again
from .loop import track
from .seam import (
    Busy,
    Changed,
    Denied,
    Files,
    Invalid,
    NotFound,
    ObjectInfo,
    Page,
    Store,
    StoreError,
    StoreMissing,
    Transient,
    Tree,
    Upload,
)

__all__ = ["REDIRECT_SECONDS", "Engine"]

T = TypeVar("T")

#: How long a redirect URL is valid (Go's 20 minutes).
REDIRECT_SECONDS = 20 * 60
#: Requests in flight at once within one operation (deletes, copies of a tree).
FANOUT = 16
_HIDDEN_PART = "/" + paths.HIDDEN + "/"
_UPLOADS = "/" + paths.HIDDEN + "/uploads"


class _Cut(Exception):
    """A read's answer that brought no byte before the end asked for (retried like a Transient failure)."""


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, Transient)


def _broken_read(exc: BaseException) -> bool:
    """A read to retry: an empty answer, or a Transient failure (mapped to DriverError by ``errors``)."""
    return isinstance(exc, _Cut) or (isinstance(exc, DriverError) and isinstance(exc.__cause__, Transient))


class Engine:
    """The contract over ``store``: ``root`` is the key prefix of driver path ``/`` (``""`` or ``"a/b"``).

    ``retries`` is how often the engine retries a :class:`~distfs.engine.seam.Transient`
    failure (with exponential backoff and jitter); ``read_block`` is the size of one ranged
    read; ``chunk`` the part size of writers.
    """

    def __init__(
        self, store: Store, *, root: str = "", retries: int = 5, chunk: int, read_block: int = 8 << 20
    ) -> None:
        self.store = store
        self.name = store.name
        self.root = root.strip("/")
        if paths.HIDDEN in self.root.split("/"):
            reason = f"must not lie inside another root's {paths.HIDDEN} (distfs's own state)"
            raise InvalidParameterError(self.name, "rootdirectory", reason)
        self.retries = retries
        self.chunk = chunk
        self.read_block = read_block
        #: The store's :class:`~distfs.engine.seam.Tree` (real directories), or None.
        self.tree: Tree | None = store if getattr(store, "remove_tree", None) is not None else None  # type: ignore[assignment]
        #: The store's :class:`~distfs.engine.seam.Files` (readers are local files), or None.
        self.local_files: Files | None = store if getattr(store, "open_file", None) is not None else None  # type: ignore[assignment]
        track(store)

    def __repr__(self) -> str:
        return f"Engine({self.name}, bucket={self.store.bucket!r}, root={self.root!r})"

    # -- keys -------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The store key of driver path ``path`` (``/`` is the root's prefix, ``""`` or ``"a/b/"``)."""
        if path == paths.ROOT:
            return self.root + "/" if self.root else ""
        return self.root + path if self.root else path[1:]

    def path(self, key: str) -> str:
        """The driver path of a store key below the root."""
        return "/" + key[len(self.root) + 1 :] if self.root else "/" + key

    def prefix(self, path: str) -> str:
        """The key prefix of everything below directory ``path``."""
        return self.key(path) if path == paths.ROOT else self.key(path) + "/"

    def upload_dir(self, path: str) -> str:
        """The hidden directory of ``path``'s suspended upload (a driver path)."""
        return _UPLOADS + path + "/" + paths.HIDDEN

    # -- errors and retries -----------------------------------------------------------

    def failure(self, exc: StoreError, path: str, doing: str = "") -> StorageDriverError:
        """The distfs error for store error ``exc`` met while working on ``path``."""
        if isinstance(exc, NotFound):
            return PathNotFoundError(path, self.name)
        if isinstance(exc, StoreMissing):
            return StoreNotFoundError(exc.store, self.name, exc.kind)
        if isinstance(exc, Denied):
            detail = f"access denied ({exc.code})" + (f": {exc.message}" if exc.message else "")
            return AccessDeniedError(detail, self.name)
        if isinstance(exc, Changed):
            return ObjectChangedError(path, self.name)
        if isinstance(exc, Busy):
            return WriterConflictError(path, self.name)
        if isinstance(exc, Invalid):  # a key of distfs's own state stands for the caller's path
            key = exc.key.rstrip("/")
            own = paths.HIDDEN in key.split("/") or key == self.key(path).rstrip("/") or not key.startswith(self.root)
            return InvalidPathError(path if own else self.path(key), self.name)
        what = f"{doing} {path}".strip()
        error = DriverError(f"{what} failed: {exc}", self.name)
        error.path = path  # the driver path of the call (the fsspec face names it, with errno)
        return error

    def errors(self, path: str, doing: str = "") -> _Mapped:
        """``async with``/``with`` block turning store errors into distfs errors about ``path``."""
        return _Mapped(self, path, doing)

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()``, retrying Transient failures ``retries`` times with backoff (:mod:`distfs.retry`)."""
        try:
            return await make()  # the first attempt: no retry machinery unless it fails
        except Transient:
            if not self.retries:
                raise
        return await again(make, self.retries, _transient)

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

    # -- namespace changes ------------------------------------------------------------

    async def move(self, source: str, dest: str) -> None:
        if source == dest:
            await self.stat(source)
            return
        tree = self.tree
        if tree is not None:
            await self.stat(source)
            if dest.startswith(source + "/"):
                raise DriverError(f"cannot move {source} into itself ({dest})", self.name)
            source_key, dest_key = self.key(source), self.key(dest)
            async with self.errors(source, "moving"):
                await self.call(lambda: tree.rename(source_key, dest_key))
            return
        try:
            objects = [await self.head(source)]
        except PathNotFoundError:
            objects = [o async for page in self.files(source) for o in page]
            if not objects:
                raise
            if dest.startswith(source + "/"):
                raise DriverError(f"cannot move {source} into itself ({dest})", self.name) from None
        source_key, dest_key = self.key(source), self.key(dest)

        async def move_one(info: ObjectInfo) -> None:
            target = dest_key + info.key[len(source_key) :]
            async with self.errors(source, "moving"):
                await self.call(lambda: self.store.copy(info, target))
                failures = await self.call(lambda: self.store.delete_many([info.key]))
            self._raise_failures(failures)

        await _bounded([move_one(info) for info in objects])

    async def copy(self, source: str, dest: str) -> None:
        """Copy the object at ``source`` to ``dest`` inside the store: no byte passes the client.

        Not part of the driver contract: what ``distfs://``'s ``cp`` uses. One HEAD (a missing
        ``source`` is PathNotFoundError, a directory too) and the store's copy.
        """
        info = await self.head(source)
        async with self.errors(source, "copying"):
            await self.call(lambda: self.store.copy(info, self.key(dest)))

    async def delete(self, path: str) -> None:
        """Remove ``path``, everything below it and the suspended uploads there.

        The object, the keys below it, the hidden upload state below it and the store's
        own unfinished uploads are looked up concurrently (one round trip), then deleted
        in concurrent batches (one more).
        """
        key = self.key(path)
        tree = self.tree
        if tree is not None:
            state = self.key(_UPLOADS + path)
            async with self.errors(path, "deleting"):
                await self.call(lambda: tree.remove_tree(state))
                found = await self.call(lambda: tree.remove_tree(key))
            if not found:
                raise PathNotFoundError(path, self.name)
            return

        async def exact() -> builtins.list[str]:
            try:
                await self.head(path)
            except PathNotFoundError:
                return []
            return [key]

        own, below, hidden, native = await asyncio.gather(
            exact(),
            self._all_keys(path, key + "/"),
            self._all_keys(path, self.key(_UPLOADS + path) + "/"),
            self._uploads(path, key),
        )
        await self._remove([path], own + below, hidden, native)

    async def delete_many(self, targets: Sequence[str], *, files_only: bool = False) -> None:
        """``delete`` every path of ``targets`` with a few listings and batch deletes.

        One flat listing of the common parent (from the first path's key to past the
        last's), one of its hidden upload state and one of the store's unfinished uploads
        find everything at and below every path; then keys go in batches of the store's
        delete limit. Paths that held nothing raise PathNotFoundError (the first) after
        every other path was deleted. ``files_only``: see :meth:`delete_files`.
        """
        if files_only:
            await self.delete_files(targets)
            return
        if len(targets) == 1 or self.tree is not None:
            missing: PathNotFoundError | None = None
            for target in sorted(set(targets)):  # a Tree removes a whole directory in one call: no listing to share
                try:
                    await self.delete(target)
                except PathNotFoundError as exc:
                    missing = missing or exc
            if missing is not None:
                raise missing
            return
        ordered = sorted(set(targets))
        common = _common_parent(ordered)
        first, last = self.key(ordered[0]), self.key(ordered[-1]) + "/\U0010ffff"
        prefix = self.prefix(common)

        async def candidates() -> builtins.list[str]:
            found = []
            async for page in self.pages(common, prefix, delimiter=False, start_after=first[:-1]):
                found += [o.key for o in page.objects if o.key <= last]
                if page.objects and page.objects[-1].key > last:
                    break
            return found

        keys, hidden, native = await asyncio.gather(
            candidates(), self._hidden(common), self._uploads(common, prefix.rstrip("/"))
        )
        await self._remove(ordered, keys, hidden, native)

    async def delete_files(self, targets: Sequence[str]) -> None:
        """Delete the object at each path of ``targets`` and the suspended upload of that path.

        Nothing below a path is touched, and a path holding no object is no error, so no
        lookup comes first: the objects' batch deletes, the listing of the hidden upload
        state and the listing of the store's unfinished uploads go at once (one round
        trip); a second one deletes suspended uploads, where any were found.
        """
        ordered = sorted(set(targets))
        if not ordered:
            return
        common = _common_parent(ordered)
        keys = [self.key(path) for path in ordered]
        where = ordered[0]
        tree = self.tree
        if tree is not None:  # one call per batch and per path, nothing to look up (nor to wait on)
            batch = self.store.limits.delete_batch
            async with self.errors(where, "deleting"):
                failures = []
                for start in range(0, len(keys), batch):
                    failures += await self.store.delete_many(keys[start : start + batch])
                for path in ordered:  # the path's own upload only, not those below it
                    await tree.remove_tree(self.key(self.upload_dir(path)))
            self._raise_failures(failures)
            return
        outcome = await asyncio.gather(
            self._delete_keys(where, keys),
            self._hidden(common),
            self._uploads(common, self.prefix(common).rstrip("/")),
            return_exceptions=True,
        )
        _settled(outcome[0])
        hidden, native = _settled(outcome[1]), _settled(outcome[2])
        states = {self.key(self.upload_dir(path)) + "/" for path in ordered}
        # a path's upload state is the directory up to the last reserved name of its keys
        doomed = [k for k in hidden if k[: k.rfind(_HIDDEN_PART) + len(_HIDDEN_PART)] in states]
        exact = set(keys)
        await _bounded([self._delete_keys(where, doomed), self._abort(where, [u for u in native if u.key in exact])])

    async def _hidden(self, path: str) -> builtins.list[str]:
        """Every key of the hidden upload state at and below ``path``."""
        return await self._all_keys(path, self.key(_UPLOADS + ("" if path == paths.ROOT else path)) + "/")

    async def _uploads(self, path: str, key: str) -> builtins.list[Upload]:
        """The store's unfinished uploads at and below ``key`` (the key of ``path``)."""
        async with self.errors(path, "listing uploads of"):
            found = await self.call(lambda: self.store.list_uploads(key))
        return [u for u in found if not key or u.key == key or u.key.startswith(key + "/")]

    async def _remove(
        self, targets: Sequence[str], keys: Sequence[str], hidden: Sequence[str], native: Sequence[Upload]
    ) -> None:
        """Delete what of ``keys``, ``hidden`` and ``native`` lies at or below ``targets``; then
        PathNotFoundError for the first path that held no visible key."""
        doomed: builtins.list[str] = []
        aborted: builtins.list[Upload] = []
        missing = []
        for path in targets:
            key, state = self.key(path), self.key(_UPLOADS + path)
            mine = [k for k in keys if k == key or k.startswith(key + "/")]
            doomed += mine
            doomed += [k for k in hidden if k.startswith(state + "/")]
            aborted += [u for u in native if u.key == key or u.key.startswith(key + "/")]
            if not any(self._visible_key(k[len(self.root) :]) for k in mine):
                missing.append(path)
        where = targets[0]
        await _bounded([self._delete_keys(where, sorted(set(doomed))), self._abort(where, aborted)])
        if missing:  # suspended uploads alone do not make a path exist (they are gone now)
            raise PathNotFoundError(missing[0], self.name)

    async def _delete_keys(self, where: str, keys: Sequence[str]) -> None:
        """Delete ``keys`` in concurrent batches of the store's limit (errors name ``where``)."""
        batch = self.store.limits.delete_batch

        async def delete_batch(part: Sequence[str]) -> builtins.list[tuple[str, str]]:
            async with self.errors(where, "deleting"):
                return await self.call(lambda: self.store.delete_many(part))

        results = await _bounded([delete_batch(keys[i : i + batch]) for i in range(0, len(keys), batch)])
        self._raise_failures([failure for result in results for failure in result])

    async def _abort(self, where: str, uploads: Sequence[Upload]) -> None:
        """Abort the store's unfinished ``uploads`` (errors name ``where``)."""

        async def abort(upload: Upload) -> None:
            async with self.errors(where, "deleting"):
                await self.call(lambda: self.store.abort_upload(upload))

        await _bounded([abort(upload) for upload in uploads])

    def _raise_failures(self, failures: builtins.list[tuple[str, str]]) -> None:
        """One DriverError for a batch's ``(key, error)`` failures; failures with one errno code
        (a local store's ``EROFS: ...``) chain that ``OSError``, so its kind is not lost."""
        if failures:
            lines = "\n".join(f"{self.path(k)}: {error}" for k, error in failures)
            error = DriverError("errors:\n" + lines + "\n", self.name)
            error.path = self.path(failures[0][0])
            codes = {text.partition(":")[0] for _, text in failures}
            number = getattr(errno, codes.pop(), None) if len(codes) == 1 else None
            if isinstance(number, int):
                raise error from OSError(number, os.strerror(number))
            raise error

    async def redirect_url(self, path: str, method: str, expires: int | None = None) -> str | None:
        """A URL signed for ``method`` (GET, HEAD), valid ``expires`` seconds (default REDIRECT_SECONDS)."""
        if method not in ("GET", "HEAD") and self.tree is None:  # a Tree store is asked for every method
            return None
        key = self.key(path)
        async with self.errors(path, "signing"):
            return await self.store.sign(key, method, expires or REDIRECT_SECONDS)

    async def close(self) -> None:
        await self.store.close()


class _Mapped:
    """The ``with`` block of :meth:`Engine.errors` (sync and async)."""

    __slots__ = ("_doing", "_engine", "_path")

    def __init__(self, engine: Engine, path: str, doing: str) -> None:
        self._engine = engine
        self._path = path
        self._doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(exc, StoreError):
            raise self._engine.failure(exc, self._path, self._doing) from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, exc, tb)


async def _bounded(coroutines: Sequence[Awaitable[T]], limit: int = FANOUT) -> list[T]:
    """Await ``coroutines`` with at most ``limit`` in flight; the first error is raised after all ended."""
    slots = asyncio.Semaphore(limit)

    async def one(coroutine: Awaitable[T]) -> T:
        async with slots:
            return await coroutine

    results = await asyncio.gather(*(one(c) for c in coroutines), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def _settled(result: T | BaseException) -> T:
    """The result of one awaitable of ``gather(..., return_exceptions=True)``, or its error raised."""
    if isinstance(result, BaseException):
        raise result
    return result


def _common_parent(ordered: Sequence[str]) -> str:
    """The deepest directory holding every path of ``ordered`` (sorted)."""
    common = ordered[0]
    for path in ordered[1:]:
        while not (path + "/").startswith(common + "/") and common != paths.ROOT:
            common = paths.parent(common)
    return common


def utc(value: datetime) -> datetime:
    """A store's modification time as ``datetime.UTC`` (botocore's ``tzutc()`` is the same instant)."""
    if value.tzinfo is UTC:
        return value
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
