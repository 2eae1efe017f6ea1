"""Multipart uploads on GCS, which has none: part objects under the upload's scratch prefix, then compose.

An upload that becomes ``key`` lives below the hidden ``scratch`` prefix the engine
reserves for it (``S``):

* ``S/upload``: an empty marker that says the upload exists (:meth:`~ComposeUploads.list_parts`
  is NotFound without it);
* ``S/part-00001`` ...: part ``n`` as an object of its own (a repeat replaces it); its
  token is ``name#generation``, so a part object rewritten after a journal named it no
  longer matches the journal (the resume refuses it) and is never composed;
* ``S/round-01-00000`` ...: intermediate composes of :meth:`~ComposeUploads.complete_upload`
  (a compose takes at most 32 sources, so more parts are composed in rounds).

Completing composes the parts onto ``key`` (one atomic publish, stamped with the upload's
origin; a part that is gone or rewritten is NotFound), then deletes the marker
first and the other objects after, so a clean-up cut short reads as "upload gone", never
as "lost part". Copies of committed objects are whole-object rewrites (``copy_ranges`` is
False). The store's own primitives do the requests; nothing here talks HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...engine.seam import NotFound, ObjectInfo, Page, Part, StoreError, Upload, origin
from .settings import DELETE_BATCH, MAX_COMPOSE

__all__ = ["ComposeUploads"]

MARKER = "upload"
PART = "part-"
ROUND = "round-"
#: Composes in flight at once within one round.
COMPOSE_FANOUT = 8


class ComposeUploads:
    """The upload primitives of :class:`~distfs.engine.seam.Store` on put, copy, compose, list and delete."""

    if TYPE_CHECKING:

        async def head(self, key: str) -> ObjectInfo: ...
        async def put(self, key: str, data: bytes) -> None: ...
        async def put_object(self, key: str, data: bytes) -> str: ...
        async def copy_object(self, source: ObjectInfo, dest: str) -> str: ...
        async def compose(self, sources: Sequence[str], dest: str, origin: str = "") -> None: ...
        async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]: ...
        async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> Page: ...

    async def create_upload(self, key: str, scratch: str) -> Upload:
        await self.put(scratch + MARKER, b"")
        return Upload(key, scratch, scratch)

    async def upload_part(self, upload: Upload, number: int, data: bytes) -> Part:
        name = _part(upload, number)
        return Part(_token(name, await self.put_object(name, data)), len(data))

    async def copy_part(self, upload: Upload, number: int, source: ObjectInfo, start: int, end: int) -> Part:
        """Part ``number`` as a server-side copy of the whole of ``source`` (no other range)."""
        if (start, end) != (0, source.size):
            raise StoreError("NotImplemented", f"only whole objects are copied into parts, not bytes {start}-{end}")
        name = _part(upload, number)
        return Part(_token(name, await self.copy_object(source, name)), end - start)

    async def list_parts(self, upload: Upload) -> dict[int, Part]:
        objects = await self._scratch_objects(upload)
        if not any(o.key == upload.scratch + MARKER for o in objects):
            raise NotFound("NoSuchUpload", "the upload was completed or aborted")
        parts: dict[int, Part] = {}
        for info in objects:
            rest = info.key[len(upload.scratch) :]
            if rest.startswith(PART) and rest[len(PART) :].isdigit():
                parts[int(rest[len(PART) :])] = Part(_token(info.key, info.version), info.size)
        return parts

    async def persist_parts(self, upload: Upload, parts: Sequence[Part]) -> None:
        return None  # part objects never expire

    async def complete_upload(self, upload: Upload, parts: Sequence[Part]) -> None:
        stored = await self.list_parts(upload)  # NotFound: completed or aborted already
        for number, part in enumerate(parts, 1):  # the compose pins generations too (GCS; not fake-gcs)
            if stored.get(number) != part:
                raise NotFound("NoSuchPart", f"part {number} is gone or was rewritten")
        sources = [part.token for part in parts]
        depth = 0
        while len(sources) > MAX_COMPOSE:
            depth += 1
            groups = [sources[i : i + MAX_COMPOSE] for i in range(0, len(sources), MAX_COMPOSE)]
            names = [f"{upload.scratch}{ROUND}{depth:02d}-{index:05d}" for index in range(len(groups))]
            for first in range(0, len(groups), COMPOSE_FANOUT):
                pairs = zip(groups[first : first + COMPOSE_FANOUT], names[first : first + COMPOSE_FANOUT], strict=True)
                await asyncio.gather(*(self.compose(group, name) for group, name in pairs))
            sources = names
        await self.compose(sources, upload.key, origin(upload.scratch))
        await self.abort_upload(upload)

    async def abort_upload(self, upload: Upload) -> None:
        """Delete the marker, then every other object of the upload (an upload already gone is fine)."""
        await self._delete([upload.scratch + MARKER])
        await self._delete([o.key for o in await self._scratch_objects(upload)])

    async def list_uploads(self, prefix: str) -> list[Upload]:
        return []  # uploads live under the engine's scratch prefixes, deleted with them

    async def _scratch_objects(self, upload: Upload) -> list[ObjectInfo]:
        objects: list[ObjectInfo] = []
        token: str | None = None
        while True:
            page = await self.list_page(upload.scratch, delimiter=False, start_after="", token=token)
            objects += page.objects
            token = page.token
            if token is None:
                return objects

    async def _delete(self, keys: Sequence[str]) -> None:
        batches = [keys[i : i + DELETE_BATCH] for i in range(0, len(keys), DELETE_BATCH)]
        for batch in batches:
            failures = await self.delete_many(batch)
            if failures:
                key, error = failures[0]
                raise StoreError("DeleteFailed", f"{len(failures)} objects not deleted, first {key}: {error}")


def _part(upload: Upload, number: int) -> str:
    return f"{upload.scratch}{PART}{number:05d}"


def _token(name: str, generation: str) -> str:
    """A part's token: its object name and the generation written (see the module docstring)."""
    return f"{name}#{generation}"
