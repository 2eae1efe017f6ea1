"""A toy store: the objects of each bucket in a dict of this process (docs/contributing.md).

The store of ``docs/contributing.md``'s walk-through: the primitives of
:class:`distfs.engine.seam.Store` over a dict, and a factory that hands the store to the
engine (:func:`distfs.engine.build`), which keeps the whole contract over it: paths, listings,
pinned reads, moves, deletes, the journaled resumable writer, retries and error naming.
Every instance with the same ``bucket`` sees the same objects (as two processes would see
one bucket), so the conformance suite's cases on two instances run too.

The module is also all a built-in store is (docs/contributing.md): ``KEYS`` declares its
parameters (read by :func:`factory`, documented by ``python -m distfs.tools.parameters_doc``)
and :func:`local_parameters` gives the tests and ``distfs probe --local`` a fresh store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from distfs.base import Base
from distfs.capabilities import OBJECT_STORE
from distfs.engine import build, seam
from distfs.parameters import Key, KeyTable

NAME = "toydict"
#: Its parameters, declared once: read by :func:`factory`, shown in docs/parameters.md.
KEYS = KeyTable(
    NAME,
    (
        Key("bucket", "string", "the dict of this process holding the objects", shown="required"),
        Key("rootdirectory", "string", "key prefix of the driver's `/`"),
    ),
    about="A toy store: the objects of each bucket in a dict of this process (docs/examples/dict_store.py).",
)
#: bucket -> key -> (bytes, info); bucket -> upload id -> (key, part number -> (part, bytes)).
_OBJECTS: dict[str, dict[str, tuple[bytes, seam.ObjectInfo]]] = {}
_UPLOADS: dict[str, dict[str, tuple[str, dict[int, tuple[seam.Part, bytes]]]]] = {}
_versions = itertools.count(1)


class DictStore:
    """The seam's primitives over one bucket's dict (nothing awaits: each call is atomic on the loop)."""

    name = NAME
    # what the engine gives every object store, but URLs (nothing to sign) and surviving the process
    capabilities = dataclasses.replace(OBJECT_STORE, presign_get=False, presign_head=False, crash_resume=False)
    limits = seam.Limits()

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.objects = _OBJECTS.setdefault(bucket, {})
        self.uploads = _UPLOADS.setdefault(bucket, {})

    def _object(self, key: str, version: str | None = None) -> tuple[bytes, seam.ObjectInfo]:
        if key not in self.objects:
            raise seam.NotFound("NoSuchKey", key)
        data, info = self.objects[key]
        if version is not None and info.version != version:
            raise seam.Changed("PreconditionFailed", key)
        return data, info

    def _publish(self, key: str, data: bytes, origin: str = "") -> None:
        info = seam.ObjectInfo(key, len(data), datetime.now(UTC), str(next(_versions)), origin)
        self.objects[key] = (data, info)

    async def head(self, key: str) -> seam.ObjectInfo:
        return self._object(key)[1]

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, seam.ObjectInfo]:
        data, info = self._object(key, version)
        return data[start:end], info

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        if if_absent and key in self.objects:
            raise seam.Exists("Exists", key)
        self._publish(key, bytes(data))

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> seam.Page:
        page = seam.Page()
        for key in sorted(k for k in self.objects if k.startswith(prefix) and k > start_after):
            below, slash, _ = key[len(prefix) :].partition("/")
            if delimiter and slash:
                if prefix + below + "/" not in page.prefixes:
                    page.prefixes.append(prefix + below + "/")
            else:
                page.objects.append(self.objects[key][1])
        return page  # one page holds everything

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        for key in keys:
            self.objects.pop(key, None)
        return []

    async def copy(self, source: seam.ObjectInfo, dest: str) -> None:
        data, _ = self._object(source.key, source.version)
        self._publish(dest, data)

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        return None

    async def create_upload(self, key: str, scratch: str) -> seam.Upload:
        upload = seam.Upload(key, uuid.uuid4().hex, scratch)
        self.uploads[upload.id] = (key, {})
        return upload

    def _parts(self, upload: seam.Upload) -> dict[int, tuple[seam.Part, bytes]]:
        if upload.id not in self.uploads:
            raise seam.NotFound("NoSuchUpload", upload.key)
        return self.uploads[upload.id][1]

    def _store_part(self, upload: seam.Upload, number: int, data: bytes) -> seam.Part:
        part = seam.Part(f"{number}-{hashlib.sha256(data).hexdigest()[:16]}-{next(_versions)}", len(data))
        self._parts(upload)[number] = (part, data)
        return part

    async def upload_part(self, upload: seam.Upload, number: int, data: bytes) -> seam.Part:
        return self._store_part(upload, number, bytes(data))

    async def copy_part(
        self, upload: seam.Upload, number: int, source: seam.ObjectInfo, start: int, end: int
    ) -> seam.Part:
        data, _ = self._object(source.key, source.version)
        return self._store_part(upload, number, data[start:end])

    async def list_parts(self, upload: seam.Upload) -> dict[int, seam.Part]:
        return {number: part for number, (part, _) in self._parts(upload).items()}

    async def persist_parts(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        return None  # nothing expires here

    async def complete_upload(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        stored = {part.token: data for part, data in self._parts(upload).values()}
        if any(part.token not in stored for part in parts):
            raise seam.NotFound("InvalidPart", upload.key)
        del self.uploads[upload.id]
        self._publish(upload.key, b"".join(stored[part.token] for part in parts), seam.origin(upload.scratch))

    async def abort_upload(self, upload: seam.Upload) -> None:
        self.uploads.pop(upload.id, None)

    async def list_uploads(self, prefix: str) -> list[seam.Upload]:
        return [seam.Upload(key, id, "") for id, (key, _) in self.uploads.items() if key.startswith(prefix)]

    async def close(self) -> None:
        return None


def factory(parameters: Mapping[str, Any]) -> Base:
    """The ``toydict`` driver: ``bucket`` (required) and ``rootdirectory`` (a key prefix)."""
    values = KEYS.parse(parameters)
    if not values["bucket"]:
        raise values.error("bucket", "must be set")
    return build(DictStore(values["bucket"]), root=values["rootdirectory"], retries=0, chunk=256 << 10)


def local_parameters(workdir: str) -> dict[str, Any]:
    """The parameters of a new, empty store (``workdir``: a fresh directory, unused here)."""
    return {"bucket": uuid.uuid4().hex}
