"""Multipart uploads emulated on hidden objects, for :class:`~.store.FsspecStore`.

An upload lives under the scratch prefix the engine gives it (below the path's hidden
upload directory): the marker ``upload`` (the upload exists while it does) and one object
``part-NNNNN`` per part, each written atomically; a part's token is its version. To
complete, the store checks every part, streams them in order into the object (through a
hidden temporary object and a rename where the backend needs one: never a partial
object), one block of at most the chunk size in memory at a time; then it records the
upload's :func:`~distfs.engine.seam.origin` beside the object's version in the sidecar
``origin`` of the path's upload directory (which :meth:`head` reads), removes the marker
(the upload is gone from then on) and finally the parts. A single part is renamed into
place rather than copied, where the backend renames.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ... import paths
from ...engine import seam

if TYPE_CHECKING:
    from .calls import Caller
    from .traits import Traits

__all__ = ["Uploads", "origin_key"]

_MARKER = "upload"
_PART = "part-"


def origin_key(key: str) -> str:
    """Where the origin of the upload that published ``key`` is recorded (the engine's
    upload directory of ``key``, which ``delete`` of the path removes)."""
    return f"{paths.HIDDEN}/uploads/{key}/{paths.HIDDEN}/origin"


class Uploads:
    """The multipart primitives of the store (see the module docstring)."""

    if TYPE_CHECKING:  # what :class:`~.store.FsspecStore` supplies
        traits: Traits
        call: Caller

        def full(self, key: str) -> str: ...
        async def info(self, key: str) -> seam.ObjectInfo: ...
        async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None: ...
        async def publish(self, key: str, write: Any, *, streamed: bool = False) -> None: ...
        async def stream(self, sources: Sequence[tuple[str, int]], path: str) -> None: ...
        async def copy(self, source: seam.ObjectInfo, dest: str) -> None: ...
        async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]: ...
        async def _read(self, key: str, start: int, end: int) -> bytes: ...
        async def _beneath(self, path: str, work: Any) -> Any: ...
        async def list_page(
            self, prefix: str, *, delimiter: bool, start_after: str, token: str | None
        ) -> seam.Page: ...

    async def with_origin(self, info: seam.ObjectInfo) -> seam.ObjectInfo:
        """``info`` with the origin recorded for its version, if any."""
        try:
            recorded = await self._read(origin_key(info.key), 0, 1 << 20)
        except seam.NotFound:
            return info
        version, _, stamp = recorded.decode(errors="replace").partition("\n")
        if version != info.version:
            return info
        return seam.ObjectInfo(info.key, info.size, info.modified, info.version, stamp)

    async def create_upload(self, key: str, scratch: str) -> seam.Upload:
        await self.put(scratch + _MARKER, key.encode())
        return seam.Upload(key, seam.origin(scratch), scratch)

    async def upload_part(self, upload: seam.Upload, number: int, data: bytes) -> seam.Part:
        key = f"{upload.scratch}{_PART}{number:05d}"
        await self.put(key, data)
        return seam.Part((await self.info(key)).version, len(data))

    async def copy_part(
        self, upload: seam.Upload, number: int, source: seam.ObjectInfo, start: int, end: int
    ) -> seam.Part:
        if (start, end) != (0, source.size):  # limits.copy_ranges is False: whole objects only
            raise seam.StoreError("InvalidRange", "the generic store copies whole objects only")
        key = f"{upload.scratch}{_PART}{number:05d}"
        await self.copy(source, key)
        return seam.Part((await self.info(key)).version, source.size)

    async def list_parts(self, upload: seam.Upload) -> dict[int, seam.Part]:
        page = await self.list_page(upload.scratch, delimiter=True, start_after="", token=None)
        names = {o.key[len(upload.scratch) :]: o for o in page.objects}
        if _MARKER not in names:
            raise seam.NotFound("NoSuchUpload", "the upload was completed or aborted")
        return {
            int(name[len(_PART) :]): seam.Part(o.version, o.size)
            for name, o in names.items()
            if name.startswith(_PART) and name[len(_PART) :].isdigit()
        }

    async def persist_parts(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        return None  # the parts are objects: they stay until they are deleted

    async def complete_upload(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        stored = await self.list_parts(upload)
        for number, part in enumerate(parts, 1):
            found = stored.get(number)
            if found is None or found.size != part.size or found.token != part.token:
                raise seam.NotFound("NoSuchPart", f"part {number} of the upload is gone")
        keys = [f"{upload.scratch}{_PART}{number:05d}" for number in range(1, len(parts) + 1)]
        if len(keys) == 1 and self.traits.rename and not self.traits.atomic_write:
            source = self.full(keys[0])
            await self._beneath(self.full(upload.key), lambda: self.call("mv", source, self.full(upload.key)))
        else:
            sources = [(key, part.size) for key, part in zip(keys, parts, strict=True)]
            await self.publish(upload.key, lambda path: self.stream(sources, path), streamed=True)
        stamp = seam.origin(upload.scratch)
        if stamp:
            version = (await self.info(upload.key)).version
            await self.put(origin_key(upload.key), f"{version}\n{stamp}".encode())
        await self._discard(upload, [*keys, *(f"{upload.scratch}{_PART}{n:05d}" for n in stored)])

    async def abort_upload(self, upload: seam.Upload) -> None:
        with contextlib.suppress(seam.NotFound):
            page = await self.list_page(upload.scratch, delimiter=False, start_after="", token=None)
            await self._discard(upload, [o.key for o in page.objects])

    async def _discard(self, upload: seam.Upload, keys: Iterable[str]) -> None:
        """Mark ``upload`` gone (its marker first), then delete ``keys`` (its parts)."""
        await self.delete_many([upload.scratch + _MARKER])
        rest = sorted(set(keys) - {upload.scratch + _MARKER})
        await self.delete_many(rest)

    async def list_uploads(self, prefix: str) -> list[seam.Upload]:
        return []  # uploads are scratch objects: deleting them discards the upload
