"""The generic :class:`~distfs.engine.seam.Store`: any fsspec filesystem below one root path.

Keys are paths below ``root`` (``bucket[/prefix]`` on an object store, a directory
elsewhere); distfs's own state lives below ``<root>/.distfs~`` (the engine's journals and
scratch keys, and the store's temporary objects under ``.distfs~/tmp``). What the
backend lacks the store emulates on what it has (:mod:`.traits` says which):

* **atomic put**: straight ``pipe_file`` where the backend publishes atomically (object
  stores, memory); else a hidden temporary object renamed into place (``mv``); else a
  plain ``pipe_file``, and ``capabilities.atomic_put`` is not declared;
* **ranged reads**: ``cat_file(path, start, end)``, or ``open``/``seek``/``read`` where the
  backend ignores the range (declared, or detected on the first answer longer than asked);
* **versions**: the backend's ETag, generation or version id, else modification time,
  size and inode (:func:`.entries.version`); a read checks the version after it read,
  so a pinned read of a replaced object is Changed, and an unpinned one never returns
  bytes of two versions;
* **listings**: ``ls`` (with a delimiter) and ``find`` (flat), names made relative to
  the root, directory markers and the root itself dropped, sorted by code point; the
  backend's listings cache is invalidated before every call;
* **directories**: where they are real, the ones a delete (or a rename's source) leaves
  empty are removed, up to (never including) the root;
* **uploads**: parts are hidden objects under the engine's scratch prefix
  (:mod:`.uploads`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from fsspec import AbstractFileSystem

from ... import paths
from ...capabilities import Capabilities
from ...engine import seam
from . import entries
from .calls import Caller
from .traits import Traits, protocol_of, traits_of
from .uploads import Uploads

__all__ = ["FsspecStore", "with_origins"]

#: Keys deleted per ``delete_many`` call, and backend calls in flight within one.
DELETE_BATCH = 256
FANOUT = 16
_TMP = paths.HIDDEN + "/tmp/"
#: The engine's journal of an upload (its name in the path's upload directory).
_JOURNAL = "/" + paths.HIDDEN + "/state"


def with_origins(keys: Sequence[str]) -> list[str]:
    """``keys`` and, beside each upload journal among them, the origin recorded there (it
    goes with the journal: see :func:`.uploads.origin_key`)."""
    return [*keys, *(key[: -len("state")] + "origin" for key in keys if key.endswith(_JOURNAL))]


class FsspecStore(Uploads):
    """The store of ``fs`` below ``root`` (see the module docstring).

    ``name`` is the driver name errors carry; ``timeout`` bounds every backend call (in
    seconds); ``secrets`` are values never shown in a message (the ``storage_options``).
    """

    def __init__(
        self,
        fs: AbstractFileSystem,
        root: str = "",
        *,
        name: str = "",
        timeout: float = 60.0,
        chunk: int = 8 << 20,
        secrets: Iterable[Any] = (),
        traits: Traits | None = None,
        inline: bool = False,
    ) -> None:
        self.fs = fs
        self.traits = traits or traits_of(fs)
        self.protocol = protocol_of(fs)
        self.name = name or "fsspec+" + self.protocol
        stripped = fs._strip_protocol(root) if root else ""
        self.base = "" if stripped in ("", "/", fs.root_marker) and not root.strip("/") else stripped.rstrip("/")
        self.bucket = root or fs.root_marker or "/"
        self.limits = seam.Limits(min_part=0, max_parts=100_000, delete_batch=DELETE_BATCH, copy_ranges=False)
        self.chunk = chunk
        self.call = Caller(fs, timeout=timeout, root=self.base, secrets=secrets, inline=inline)
        self._ranged = self.traits.ranged_cat
        self._copies = self.traits.copy
        traits = self.traits
        self.capabilities = Capabilities(
            append="emulated",
            server_side_copy=traits.server_side_copy,
            listing_consistency="strong",
            pinned_reads=traits.fine_versions,
            atomic_put=traits.atomic_write or traits.rename,
            crash_resume=self.protocol != "memory",
            read_only=traits.read_only,
        )

    def __repr__(self) -> str:
        return f"FsspecStore({self.protocol}, root={self.bucket!r})"

    # -- names ------------------------------------------------------------------------

    def full(self, key: str) -> str:
        """The backend path of ``key`` (``""``: the root)."""
        if not key:
            return self.base or self.fs.root_marker
        if self.base:
            return self.base + "/" + key
        return self.fs.root_marker.rstrip("/") + "/" + key if self.fs.root_marker else key

    def key_of(self, name: str) -> str | None:
        return entries.relative(self.fs._strip_protocol(name), self.base)

    def _fresh(self, path: str) -> None:
        """Forget what the backend's listings cache holds for ``path`` (never served stale)."""
        if getattr(self.fs, "dircache", None):
            self.fs.invalidate_cache(path)

    def _tmp(self) -> str:
        return self.full(_TMP + uuid.uuid4().hex)

    # -- objects ----------------------------------------------------------------------

    async def info(self, key: str) -> seam.ObjectInfo:
        """The object at ``key`` without its origin (NotFound for a directory)."""
        path = self.full(key)
        self._fresh(path)
        found = await self.call("info", path)
        if not entries.is_file(found):
            raise seam.NotFound("NotAFile", f"{key} is a directory")
        return seam.ObjectInfo(key, int(found.get("size") or 0), entries.modified(found), entries.version(found))

    async def head(self, key: str) -> seam.ObjectInfo:
        info = await self.info(key)
        if paths.HIDDEN in key.split("/"):
            return info
        return await self.with_origin(info)

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, seam.ObjectInfo]:
        """Bytes of one version: an unpinned read looks the version up first and, unless it
        reached the end, again after; a pinned read checks it after (see the module docstring)."""
        before = None if version is not None else await self.info(key)
        if before is not None and start >= before.size:
            return b"", before
        stop = end if before is None else min(end, before.size)
        data = await self._read(key, start, stop)
        if before is not None and start + len(data) == before.size == stop:
            return data, before  # one read of the object's whole tail: one version
        after = await self.info(key)
        if version is not None and after.version != version:
            raise seam.Changed("Changed", "the object was replaced")
        if before is not None and after.version != before.version:
            raise seam.Transient("Changed", "the object was replaced while it was read")
        if len(data) != max(min(end, after.size) - start, 0):
            raise seam.Transient("Short", f"{len(data)} bytes from {start} of {after.size}")
        return data, after

    async def _read(self, key: str, start: int, end: int) -> bytes:
        path = self.full(key)
        if self._ranged:
            data: bytes = await self.call("cat_file", path, start=start, end=end)
            if len(data) <= end - start:
                return data
            self._ranged = False  # the backend ignored the range: it sent the whole object
            return data[start:end]

        def read() -> bytes:
            with self.fs.open(path, "rb") as stream:
                stream.seek(start)
                result: bytes = stream.read(end - start)
                return result

        return await self.call.thread(read)

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        if if_absent:
            with contextlib.suppress(seam.NotFound):
                await self.info(key)
                raise seam.Exists("Exists", f"{key} exists")
        await self.publish(key, lambda path: self.call("pipe_file", path, data))

    async def publish(self, key: str, write: Any, *, streamed: bool = False) -> None:
        """Run ``write(path)`` so that ``key`` holds what it wrote at once, or is untouched.

        Straight to ``key`` where the backend writes atomically (``streamed``: through a
        file object) or cannot rename; else to a temporary object renamed onto ``key``.
        """
        path = self.full(key)
        traits = self.traits
        if (traits.atomic_stream if streamed else traits.atomic_write) or not traits.rename:
            await self._beneath(path, lambda: write(path))
            return
        tmp = self._tmp()
        try:
            await self._beneath(tmp, lambda: write(tmp))
            await self._beneath(path, lambda: self.call("mv", tmp, path))
        except BaseException:
            with contextlib.suppress(Exception):
                await self.call("rm_file", tmp)
            raise

    async def _beneath(self, path: str, work: Any) -> Any:
        """``await work()``; where directories are real, make ``path``'s parent when missing
        (again, if a concurrent clean-up removed it meanwhile)."""
        for attempt in range(3):
            try:
                return await work()
            except seam.NotFound:
                if not self.traits.directories or attempt == 2:
                    raise
                await self.call("makedirs", self.fs._parent(path), exist_ok=True)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- listings ---------------------------------------------------------------------

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> seam.Page:
        directory = prefix.rpartition("/")[0]
        path = self.full(directory)
        self._fresh(path)
        try:
            if delimiter:
                found = await self.call("ls", path, detail=True)
            else:
                found = list((await self.call("find", path, detail=True)).values())
        except seam.NotFound:
            found = []
        objects, prefixes = [], set()
        for entry in found:
            key = self.key_of(str(entry.get("name", "")))
            if key is None or not key.startswith(prefix) or key == prefix.rstrip("/") or key <= start_after:
                continue
            if entries.is_file(entry):
                size = int(entry.get("size") or 0)
                objects.append(seam.ObjectInfo(key, size, entries.modified(entry), entries.version(entry)))
            elif entries.is_directory(entry) and delimiter:
                prefixes.add(key.rstrip("/") + "/")
        objects.sort(key=lambda o: o.key)
        return seam.Page(objects, sorted(prefixes))

    # -- deletes and copies -----------------------------------------------------------

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        slots = asyncio.Semaphore(FANOUT)
        failures: list[tuple[str, str]] = []

        async def remove(key: str) -> None:
            async with slots:
                try:
                    await self.call("rm_file", self.full(key))
                except seam.NotFound:
                    pass
                except seam.StoreError as exc:
                    if not await self._no_object(key):  # a directory (sshfs: SFTPFailure) is no object
                        failures.append((key, str(exc)))

        doomed = with_origins(keys)
        await asyncio.gather(*(remove(key) for key in doomed))
        await self.prune(doomed)
        return failures

    async def _no_object(self, key: str) -> bool:
        try:
            await self.info(key)
        except seam.NotFound:
            return True
        except seam.StoreError:
            return False
        return False

    async def prune(self, keys: Iterable[str]) -> None:
        """Remove the directories ``keys`` left empty, deepest first, never the root."""
        if not self.traits.directories:
            return
        pending = {key.rpartition("/")[0] for key in keys} - {""}
        while pending:
            directory = max(pending, key=lambda d: (d.count("/"), d))
            pending.discard(directory)
            try:
                await self.call("rmdir", self.full(directory))
            except seam.StoreError:
                continue  # not empty (or gone already): its parents are not empty either
            parent = directory.rpartition("/")[0]
            if parent:
                pending.add(parent)

    async def copy(self, source: seam.ObjectInfo, dest: str) -> None:
        """Copy ``source`` onto ``dest`` atomically; Changed if the source was replaced meanwhile."""
        await self.publish(dest, lambda path: self._copy_to(source, path), streamed=not self._copies)

    async def _copy_to(self, source: seam.ObjectInfo, path: str) -> None:
        origin = self.full(source.key)
        if self._copies:
            try:
                await self.call("cp_file", origin, path)
            except seam.NotFound:
                raise
            except seam.StoreError:
                self._copies = False  # e.g. sshfs runs `cp`, which a plain SFTP server has not
            else:
                await self._check(source)
                return
        await self.stream([(source.key, source.size)], path)
        await self._check(source)

    async def _check(self, source: seam.ObjectInfo) -> None:
        if (await self.info(source.key)).version != source.version:
            raise seam.Changed("Changed", f"{source.key} was replaced while it was copied")

    async def stream(self, sources: Sequence[tuple[str, int]], path: str) -> None:
        """Write the objects ``sources`` (key, size), one after another, to ``path``.

        Through a file object, one block of at most the chunk size in memory at a time;
        the file is discarded, never published, when any step fails.
        """
        fs, block = self.fs, max(self.chunk, 1 << 20)
        out = await self.call.thread(lambda: fs.open(path, "wb"))
        try:
            for key, size in sources:
                for start in range(0, size, block):
                    data = await self._read(key, start, min(start + block, size))
                    if len(data) != min(block, size - start):
                        raise seam.NotFound("Short", f"{key} is shorter than {size} bytes")
                    await self.call.thread(lambda data=data: out.write(data))  # type: ignore[misc]
            await self.call.thread(out.close)
        except BaseException:
            discard = getattr(out, "discard", None)
            with contextlib.suppress(Exception):
                await self.call.thread(discard if callable(discard) else out.close)
            raise

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        return None

    async def close(self) -> None:
        self.call.close()
