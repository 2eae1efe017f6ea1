"""The journal of a writer's upload and the writer's requests to its store (see :mod:`distfs.engine.writer`).

:class:`JournaledUpload` holds one writer's state (its upload, its parts, its buffer, its
claim) and the requests it makes: reading and deleting the journal, creating, uploading,
copying, completing and aborting the parts of its upload, releasing its claim, and asking
whether the object at the path is the one an upload published.
:class:`~distfs.engine.writer.Session` decides when each happens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import DriverError, PathNotFoundError
from .core import Engine
from .policy import _STATE
from .seam import ObjectInfo, Part, Upload, origin

__all__ = ["JournaledUpload"]


@dataclass
class _Journal:
    """What the ``state`` object holds."""

    upload: Upload | None
    parts: list[Part] = field(default_factory=list)
    tail: bytes = b""
    #: The writer's scratch prefix, also before its upload exists (Tree stores journal it).
    scratch: str = ""

    def dump(self) -> bytes:
        import hashlib  # OpenSSL's set-up: paid by the first writer, not by every driver

        header = {
            "upload": self.upload.id if self.upload else "",
            "scratch": self.upload.scratch if self.upload else self.scratch,
            "parts": [[p.token, p.size] for p in self.parts],
            "tail": [len(self.tail), hashlib.sha256(self.tail).hexdigest()],
        }
        return json.dumps(header, separators=(",", ":")).encode() + b"\n" + self.tail

    @classmethod
    def load(cls, key: str, data: bytes) -> _Journal:
        import hashlib

        header, _, tail = data.partition(b"\n")
        value = json.loads(header)
        upload = Upload(key, str(value["upload"]), str(value["scratch"])) if value["upload"] else None
        parts = [Part(str(token), int(size)) for token, size in value["parts"]]
        length, digest = value["tail"]
        if len(tail) != length or hashlib.sha256(tail).hexdigest() != digest:
            raise ValueError("the journal's tail is torn")
        return cls(upload, parts, tail, str(value["scratch"]))


class _Damaged(DriverError):
    """The journal of an upload cannot be read (torn, or of an older format)."""


def _same_token(stored: str, journaled: str) -> bool:
    """Whether two part tokens name the same part (ETags compare without their quotes)."""
    return stored.strip('"') == journaled.strip('"')


class JournaledUpload:
    """One writer's upload of ``path``: its state and its store requests (see the module docstring)."""

    def __init__(self, engine: Engine, path: str) -> None:
        self._engine = engine
        self._store = engine.store
        self._path = path
        self._key = engine.key(path)
        directory = engine.upload_dir(path)
        self._state_path = directory + "/" + _STATE
        self._state_key = engine.key(self._state_path)
        import uuid  # with platform: imported by the first writer, not by every driver

        self._scratch = engine.key(directory) + "/" + uuid.uuid4().hex + "/"
        self._chunk = engine.chunk
        self._upload: Upload | None = None
        self._parts: list[Part] = []
        self._buffer = bytearray()
        self._journaled = False  # a journal of this upload exists in the store
        self._named: Upload | None = None  # the upload the stored journal names
        self._kept = 0  # bytes of the buffer the stored journal holds as its tail
        self._dirty = False  # accepted bytes since the last journal
        self._published: int | None = None  # the size committed
        self._claim: object | None = None  # the store's claim on the upload (Claims stores)

    @property
    def size(self) -> int:
        if self._published is not None:
            return self._published
        return sum(p.size for p in self._parts) + len(self._buffer)

    async def _release(self, *, finished: bool) -> None:
        """Release the claim on the upload, if this writer holds one."""
        claim, self._claim = self._claim, None
        if claim is not None:
            async with self._engine.errors(self._path, "releasing the writer of"):
                await self._store.release_upload(claim, finished)  # type: ignore[attr-defined]

    async def _read_journal(self) -> _Journal | None:
        engine = self._engine
        try:
            async with engine.errors(self._path, "reading the upload state of"):
                data, _ = await engine.call(lambda: self._store.get_range(self._state_key, 0, 1 << 62, None))
        except PathNotFoundError:
            return None
        try:
            return _Journal.load(self._key, data)
        except (ValueError, KeyError, TypeError):
            detail = f"upload state of {self._path} is damaged (a new writer of the path replaces it)"
            raise _Damaged(detail, engine.name) from None

    async def _committed(self, scratch: str) -> bool:
        """Whether the object at the path is the one the upload with ``scratch`` published."""
        stamp = origin(scratch)
        return bool(stamp) and await self._origin() == stamp

    async def _origin(self) -> str:
        """The origin stamped on the object at the path (``""``: none, or no object)."""
        engine = self._engine
        try:
            info = await engine.head(self._path)
        except PathNotFoundError:
            return ""
        if info.origin or engine.tree is None:
            return info.origin
        async with engine.errors(self._path, "reading the origin of"):
            return await engine.tree.stamp(info)

    async def _copy_part(self, upload: Upload, number: int, source: ObjectInfo, start: int, end: int) -> Part:
        engine = self._engine
        async with engine.errors(self._path, "copying"):
            return await engine.call(lambda: self._store.copy_part(upload, number, source, start, end))

    async def _create_upload(self) -> Upload:
        if self._upload is None:
            engine = self._engine
            async with engine.errors(self._path, "starting an upload of"):
                self._upload = await engine.call(lambda: self._store.create_upload(self._key, self._scratch))
        return self._upload

    async def _name_upload(self) -> None:
        """Create this writer's upload and name it in the journal before any part goes into it.

        The journal keeps describing the last ``close()`` (no parts: it named no upload, and
        the first ``_kept`` bytes of the buffer as its tail); only the upload is new. So a
        writer that dies after uploading parts leaves an upload its journal names: the next
        writer of the path resumes it (and its commit discards the dead writer's parts), a
        new writer or ``cancel`` aborts it, and nothing of it outlives them.
        """
        upload = await self._create_upload()
        engine = self._engine
        data = _Journal(upload, [], bytes(self._buffer[: self._kept])).dump()
        async with engine.errors(self._path, "starting an upload of"):
            await engine.call(lambda: self._store.put(self._state_key, data))
        self._named, self._journaled = upload, True

    async def _upload_part(self, data: bytes) -> None:
        upload = await self._create_upload()
        number = len(self._parts) + 1
        engine = self._engine
        try:
            async with engine.errors(self._path, "uploading a part of"):
                part = await engine.call(lambda: self._store.upload_part(upload, number, data))
        except PathNotFoundError:  # the upload is gone (aborted, or expired)
            raise DriverError(f"upload of {self._path} was lost", engine.name) from None
        self._parts.append(part)

    async def _complete(self, upload: Upload) -> None:
        """Complete the upload; a retry whose first attempt succeeded (the answer was lost) is fine."""
        engine = self._engine
        parts = list(self._parts)
        try:
            async with engine.errors(self._path, "committing"):
                await engine.call(lambda: self._store.complete_upload(upload, parts))
        except PathNotFoundError:
            await self._check_published(upload)

    async def _check_published(self, upload: Upload) -> None:
        """``upload`` is gone: fine if the object at the path is the one it published, else DriverError.

        Decided by identity (the upload's :func:`~distfs.engine.seam.origin`, which the
        store stamps on the object it publishes), never by size: an older object of the
        same size is no proof that the upload completed.
        """
        engine = self._engine
        stamp = origin(upload.scratch)
        if not stamp or await self._origin() != stamp:
            detail = f"upload of {self._path} was lost: the object there (if any) is not the one it published"
            raise DriverError(detail, engine.name) from None

    async def _delete_journal(self) -> None:
        engine = self._engine
        async with engine.errors(self._path, "cleaning up the upload of"):
            failures = await engine.call(lambda: self._store.delete_many([self._state_key]))
        engine._raise_failures(failures)
        self._journaled = False

    async def _abort(self, upload: Upload) -> None:
        engine = self._engine
        async with engine.errors(self._path, "cleaning up the upload of"):
            await engine.call(lambda: self._store.abort_upload(upload))

    async def _discard(self, journal: _Journal, *, journal_too: bool) -> None:
        if journal.upload is not None:
            await self._abort(journal.upload)
        if journal_too:
            await self._delete_journal()
