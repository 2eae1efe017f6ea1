"""The OSS :class:`~distfs.engine.seam.Store`: one bucket through oss2, in threads.

oss2 is synchronous: every primitive runs its one or two oss2 calls in a thread
(``asyncio.to_thread``). oss2 retries nothing, so 5xx and 429 answers, network failures
and bodies cut short are reported as :class:`~distfs.engine.seam.Transient` and the
engine retries them ``maxretries`` times. Version tokens are ETags (unquoted, as oss2
returns them), pinned with ``If-Match`` on reads and ``x-oss-copy-source-if-match`` on
copies. Ranged reads send ``x-oss-range-behavior: standard``, so a range past the end is
416 ``InvalidRange``, never the whole object with 200. :func:`_mapped` is the one place
oss2's errors become the seam's.

The store is built from an ossfs ``OSSFileSystem`` (:meth:`OSSStore.from_filesystem`) and
keeps it alive. It signs with that instance's own oss2 auth object (``Auth``, ``StsAuth``
with the security token, or ``AnonymousAuth``: what ossfs made of ``key``, ``secret`` and
``token``) and talks to its endpoint, through oss2 ``Bucket`` clients of its own, one per
event loop (ossfs's shared session is not used).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from ...capabilities import NOT_XML, OBJECT_STORE
from ...engine import seam
from ...engine.strategies import copy_in_parts
from ...errors import InvalidParameterError
from ...parameters import MiB
from ..options import redact
from .settings import COPY_THRESHOLD, DELETE_BATCH, MAX_SINGLE_PUT, MIN_PART, NAME, OSSSettings, is_cname

__all__ = ["OSSStore"]

T = TypeVar("T")
#: seam.Part size of a multipart copy of an object above ``copy_threshold``, and parts in flight.
COPY_CHUNK = 32 * MiB
COPY_CONCURRENCY = 4
_ORIGIN_HEADER = "x-oss-meta-" + seam.ORIGIN


class OSSStore:
    """One OSS bucket (see the module docstring)."""

    capabilities = dataclasses.replace(OBJECT_STORE, refused_characters=NOT_XML)
    native_uploads = True  # multipart uploads: nothing under the scratch prefix

    def __init__(self, settings: OSSSettings, fs: Any = None, name: str = NAME) -> None:
        """The store of ``settings.bucket`` through ``fs`` (an ``OSSFileSystem``; by default
        ``settings.filesystem()``)."""
        from oss2.utils import is_valid_bucket_name, is_valid_endpoint

        if fs is None:
            fs = settings.filesystem()
        #: The ossfs instance the store stands on, kept alive as long as the store.
        self.fs = fs
        self.endpoint: str = fs._endpoint or ""  # ossfs keeps its endpoint and auth private
        self._auth = fs._auth
        if not is_valid_bucket_name(settings.bucket):
            raise InvalidParameterError(name, "bucket", "is not a valid OSS bucket name")
        if not is_valid_endpoint(self.endpoint):
            raise InvalidParameterError(name, "endpoint", "is not a valid OSS endpoint")
        self.name = name
        self.settings = settings
        self.bucket = settings.bucket
        self.limits = seam.Limits(min_part=MIN_PART, max_parts=10_000, delete_batch=DELETE_BATCH, copy_ranges=True)
        #: Objects up to this size are copied with one CopyObject, larger ones in parts.
        self.copy_threshold = COPY_THRESHOLD
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_filesystem(cls, fs: Any, settings: OSSSettings, name: str = NAME) -> OSSStore:
        """The store of ``settings.bucket`` through the ``OSSFileSystem`` ``fs``.

        Credentials and endpoint are ``fs``'s; ``settings`` gives the bucket and the
        engine's parameters (encryption headers, chunk size, retries).
        """
        return cls(settings, fs, name)

    def __repr__(self) -> str:
        return f"OSSStore(bucket={self.bucket!r})"

    # -- the client -------------------------------------------------------------------

    def _oss(self) -> Any:
        """The oss2 ``Bucket`` of the running loop (made on first use in each loop)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import oss2

            session = oss2.Session()
            self._client = oss2.Bucket(
                self._auth,
                self.endpoint,
                self.bucket,
                is_cname=is_cname(self.endpoint, self.bucket),
                session=session,
                app_name="distfs",
            )
            self._loop = loop
            weakref.finalize(self, session.session.close)  # a store dropped unclosed closes its connections
        return self._client

    async def _run(self, work: Callable[[Any], T]) -> T:
        """``work(bucket)`` in a thread, its oss2 errors mapped (the body of a GET is read there too)."""
        bucket = self._oss()

        def run() -> T:
            with _mapped(self.bucket, self.endpoint, self.settings.storage_options.values()):
                return work(bucket)

        return await asyncio.to_thread(run)

    async def _call(self, method: str, *arguments: Any, **keywords: Any) -> Any:
        return await self._run(lambda bucket: getattr(bucket, method)(*arguments, **keywords))

    async def close(self) -> None:
        if self._client is not None:
            self._client.session.session.close()
        self._client = None

    # -- objects ----------------------------------------------------------------------

    async def head(self, key: str) -> seam.ObjectInfo:
        result = await self._call("head_object", key)
        stamp = str(result.headers.get(_ORIGIN_HEADER, ""))
        return seam.ObjectInfo(
            key, int(result.content_length or 0), _time(result.last_modified), str(result.etag), stamp
        )

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, seam.ObjectInfo]:
        headers = {"x-oss-range-behavior": "standard"}
        if version is not None:
            headers["If-Match"] = f'"{version}"'

        def read(bucket: Any) -> tuple[bytes, Any]:
            result = bucket.get_object(key, byte_range=(start, end - 1), headers=headers)
            try:
                return result.read(), result
            finally:
                result.close()

        data, result = await self._run(read)
        expected = int(result.content_length or 0)
        if len(data) != expected:
            raise seam.Transient("IncompleteBody", f"{len(data)} of {expected} bytes")
        if result.content_range:
            size = int(str(result.content_range).rpartition("/")[2])
        else:  # a 200 with the whole object: an answer to a range of all of it
            size, data = len(data), data[start:end]
        return data, seam.ObjectInfo(key, size, _time(result.last_modified), str(result.etag))

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        if len(data) > MAX_SINGLE_PUT:
            raise seam.StoreError("EntityTooLarge", f"PutObject takes at most 5 GiB ({len(data)} bytes)")
        headers = self.settings.object_headers()
        if if_absent:
            headers = {**headers, "x-oss-forbid-overwrite": "true"}
        try:
            await self._call("put_object", key, data, headers=headers)
        except seam.StoreError as exc:
            if if_absent and exc.code == "FileAlreadyExists":
                raise seam.Exists(exc.code, exc.message) from exc
            raise

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> seam.Page:
        listing = await self._call(
            "list_objects",
            prefix=prefix,
            delimiter="/" if delimiter else "",
            marker=token or start_after,
            max_keys=1000,
        )
        objects = [
            seam.ObjectInfo(o.key, int(o.size), _time(o.last_modified), str(o.etag or "")) for o in listing.object_list
        ]
        return seam.Page(objects, list(listing.prefix_list), listing.next_marker if listing.is_truncated else None)

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """DeleteMultipleObjects; oss2 parses only the keys deleted, so any other key failed."""
        if not keys:
            return []
        result = await self._call("batch_delete_objects", list(keys))
        deleted = set(result.deleted_keys)
        return [(key, "not confirmed deleted") for key in keys if key not in deleted]

    async def copy(self, source: seam.ObjectInfo, dest: str) -> None:
        if source.size <= self.copy_threshold:
            headers = {**self.settings.object_headers(), "x-oss-copy-source-if-match": f'"{source.version}"'}
            await self._call("copy_object", self.bucket, source.key, dest, headers=headers)
            return
        await copy_in_parts(self, source, dest, chunk=COPY_CHUNK, concurrency=COPY_CONCURRENCY)

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        url: str = self._oss().sign_url(method, key, seconds, slash_safe=True)
        return url

    # -- multipart uploads ------------------------------------------------------------

    async def create_upload(self, key: str, scratch: str) -> seam.Upload:
        headers = dict(self.settings.object_headers())
        if seam.origin(scratch):
            headers[_ORIGIN_HEADER] = seam.origin(scratch)
        result = await self._call("init_multipart_upload", key, headers=headers)
        return seam.Upload(key, str(result.upload_id), scratch)

    async def upload_part(self, upload: seam.Upload, number: int, data: bytes) -> seam.Part:
        result = await self._call("upload_part", upload.key, upload.id, number, data)
        return seam.Part(str(result.etag), len(data))

    async def copy_part(
        self, upload: seam.Upload, number: int, source: seam.ObjectInfo, start: int, end: int
    ) -> seam.Part:
        headers = {"x-oss-copy-source-if-match": f'"{source.version}"'}
        span = (start, end - 1)  # oss2's byte ranges are inclusive
        result = await self._call(
            "upload_part_copy", self.bucket, source.key, span, upload.key, upload.id, number, headers=headers
        )
        return seam.Part(str(result.etag), end - start)

    async def list_parts(self, upload: seam.Upload) -> dict[int, seam.Part]:
        parts: dict[int, seam.Part] = {}
        marker = ""
        while True:
            listing = await self._call("list_parts", upload.key, upload.id, marker=marker, max_parts=1000)
            for part in listing.parts:
                parts[int(part.part_number)] = seam.Part(str(part.etag), int(part.size))
            if not listing.is_truncated:
                return parts
            marker = listing.next_marker

    async def persist_parts(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        return None  # OSS keeps the parts of an unfinished upload until it is aborted

    async def complete_upload(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        from oss2.models import PartInfo

        done = [PartInfo(number, part.token) for number, part in enumerate(parts, 1)]
        await self._call("complete_multipart_upload", upload.key, upload.id, done)

    async def abort_upload(self, upload: seam.Upload) -> None:
        with contextlib.suppress(seam.NotFound):  # already completed or aborted
            await self._call("abort_multipart_upload", upload.key, upload.id)

    async def list_uploads(self, prefix: str) -> list[seam.Upload]:
        uploads: list[seam.Upload] = []
        key_marker = id_marker = ""
        while True:
            listing = await self._call(
                "list_multipart_uploads",
                prefix=prefix,
                key_marker=key_marker,
                upload_id_marker=id_marker,
                max_uploads=1000,
            )
            uploads += [seam.Upload(u.key, str(u.upload_id), "") for u in listing.upload_list]
            if not listing.is_truncated:
                return uploads
            key_marker, id_marker = listing.next_key_marker, listing.next_upload_id_marker


def _time(value: int | float | None) -> datetime:
    """oss2's modification times (whole Unix seconds) as aware UTC."""
    return datetime.fromtimestamp(value or 0, UTC)


@contextlib.contextmanager
def _mapped(bucket: str, endpoint: str, secrets: Iterable[Any] = ()) -> Iterator[None]:
    """oss2's errors as the seam's (the one mapping of this backend).

    oss2 retries nothing: 5xx and 429 answers, network failures (``RequestError``, and
    resets or cut bodies while a body is read) and CRC mismatches are seam.Transient; a
    network failure names ``endpoint``. Messages show every value of ``secrets`` (the
    storage_options) as ``***``.
    """
    import http.client

    import oss2
    import requests
    import urllib3

    try:
        yield
    except oss2.exceptions.RequestError as exc:
        failure = type(getattr(exc, "exception", exc)).__name__
        raise seam.Transient("RequestError", f"{failure}: cannot reach {endpoint}") from exc
    except oss2.exceptions.InconsistentError as exc:
        raise seam.Transient("InconsistentError", "the CRC of the data does not match") from exc
    except oss2.exceptions.ClientError as exc:  # refused by oss2 before sending (an invalid name...)
        raise seam.StoreError("ClientError", redact(str(exc.body).removeprefix("ClientError: "), secrets)) from exc
    except oss2.exceptions.OssError as exc:
        status = int(exc.status or 0)
        code = str(exc.code or "") or str(status)
        message = redact(str(exc.message or ""), secrets)
        if status == 404 and code == "NoSuchBucket":
            raise seam.StoreMissing(bucket) from exc
        if status == 404:
            raise seam.NotFound(code, message) from exc
        if status == 403:
            raise seam.Denied(code, message) from exc
        if status == 412:
            raise seam.Changed(code, message) from exc
        if status == 416:
            raise seam.StoreError("InvalidRange", message) from exc
        if status >= 500 or status == 429:
            raise seam.Transient(code, message) from exc
        raise seam.StoreError(code, message) from exc
    except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException) as exc:
        raise seam.Transient(type(exc).__name__, f"the connection to {endpoint} failed") from exc
    except (ConnectionError, TimeoutError) as exc:
        raise seam.Transient(type(exc).__name__, f"the connection to {endpoint} failed") from exc
