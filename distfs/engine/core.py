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

import builtins
import errno
import os
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from .. import paths
from ..errors import DriverError, PathNotFoundError
from .policy import _HIDDEN_PART, _STATE, _UPLOADS
from .reads import EngineReads
from .seam import ObjectInfo, Upload

__all__ = ["REDIRECT_SECONDS", "Engine"]

T = TypeVar("T")

#: How long a redirect URL is valid (Go's 20 minutes).
REDIRECT_SECONDS = 20 * 60
#: Requests in flight at once within one operation (deletes, copies of a tree).
FANOUT = 16


class Engine(EngineReads):
    """The contract over ``store``: ``root`` is the key prefix of driver path ``/`` (``""`` or ``"a/b"``).

    ``retries`` is how often the engine retries a :class:`~distfs.engine.seam.Transient`
    failure (with exponential backoff and jitter); ``read_block`` is the size of one ranged
    read; ``chunk`` the part size of writers. Keys, errors and retries: :mod:`distfs.engine.policy`;
    reads and listings: :mod:`distfs.engine.reads`; here, the namespace changes.
    """

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

        import asyncio  # imported on first use (see distfs.engine.loop): a Tree store never gets here

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

        import asyncio

        keys, hidden, native = await asyncio.gather(
            candidates(), self._hidden(common), self._uploads(common, prefix.rstrip("/"))
        )
        await self._remove(ordered, keys, hidden, native)

    async def delete_files(self, targets: Sequence[str]) -> None:
        """Delete the object at each path of ``targets`` and the suspended upload of that path.

        Nothing below a path is touched, and a path holding no object is no error, so no
        lookup comes first: the objects' batch deletes, the listing of the hidden upload
        state and the listing of the store's unfinished uploads go at once (one round
        trip); a second one deletes suspended uploads, where any were found. On a
        ``native_uploads`` store the paths' journals (their whole hidden upload state
        there) go in the objects' batches, unlisted: two requests for one file.
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
        import asyncio

        states = {self.key(self.upload_dir(path)) + "/" for path in ordered}
        uploads = self._uploads(common, self.prefix(common).rstrip("/"))
        exact = set(keys)
        if getattr(self.store, "native_uploads", False):  # a path's upload state is its journal alone:
            journals = [state + _STATE for state in sorted(states)]  # deleted with the objects, unlisted
            deleted, listed = await asyncio.gather(
                self._delete_keys(where, keys + journals), uploads, return_exceptions=True
            )
            _settled(deleted)
            await self._abort(where, [u for u in _settled(listed) if u.key in exact])
            return
        outcome = await asyncio.gather(
            self._delete_keys(where, keys), self._hidden(common), uploads, return_exceptions=True
        )
        _settled(outcome[0])
        hidden, native = _settled(outcome[1]), _settled(outcome[2])
        # a path's upload state is the directory up to the last reserved name of its keys
        doomed = [k for k in hidden if k[: k.rfind(_HIDDEN_PART) + len(_HIDDEN_PART)] in states]
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


async def _bounded(coroutines: Sequence[Awaitable[T]], limit: int = FANOUT) -> list[T]:
    """Await ``coroutines`` with at most ``limit`` in flight; the first error is raised after all ended."""
    import asyncio

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
