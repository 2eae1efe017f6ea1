"""The S3 :class:`~distfs.engine.seam.Store`: one bucket, configured by an ``S3FileSystem``.

The store is built from an s3fs instance (:meth:`S3Store.from_filesystem`) and keeps it
alive. It does not use the instance's client (made on fsspec's loop): it makes its own
aiobotocore client, one per event loop, from the instance's configuration -- its session
(or one made with its ``profile``), credentials or ``anon``, ``endpoint_url``,
``client_kwargs`` and ``config_kwargs`` -- and sends the instance's
``s3_additional_kwargs`` and requester-pays argument with every call whose operation
takes them (SSE-C keys also as the copy source's keys of copies).

Every primitive is one S3 call (two for paged listings of parts and uploads). Version
tokens are ETags, pinned with ``IfMatch`` / ``CopySourceIfMatch``. Retries of requests
are botocore's (``standard`` mode, ``maxretries``); the only failures reported as
:class:`~distfs.engine.seam.Transient` are bodies broken after botocore handed over the
response, which botocore never retries. :func:`~.client.mapped` is the one place botocore's
errors become the seam's; their messages show every ``storage_options`` value as ``***``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import os
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ...capabilities import NOT_XML, OBJECT_STORE
from ...engine import seam
from ...engine.loop import exit_all, release_on
from ...engine.strategies import copy_in_parts
from .client import _DENIED, client_arguments, log_call, mapped, new_session
from .settings import CONTENT_TYPE, NAME, S3Settings

__all__ = ["S3Store"]

#: Calls that change the bucket: refused up front with ``anon`` (unsigned requests).
_WRITES = {
    "put_object",
    "copy_object",
    "delete_objects",
    "create_multipart_upload",
    "upload_part",
    "upload_part_copy",
    "complete_multipart_upload",
    "abort_multipart_upload",
}
#: SSE-C arguments and their copy-source counterparts (copies read a source written with the same key).
_SSE_C = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")


class S3Store:
    """One S3 bucket (see the module docstring)."""

    capabilities = dataclasses.replace(OBJECT_STORE, refused_characters=NOT_XML)
    native_uploads = True  # multipart uploads: nothing under the scratch prefix

    def __init__(self, fs: Any, settings: S3Settings, name: str = NAME) -> None:
        self.name = name
        self.settings = settings
        self.bucket = settings.bucket
        self.limits = seam.Limits(min_part=5 << 20, max_parts=10_000, delete_batch=1000, copy_ranges=True)
        #: The s3fs instance the store is configured by (kept alive as long as the store).
        self.fs = fs
        self.anonymous = bool(fs.anon)
        self._session = None if getattr(fs, "_session_is_owned", fs.session is None) else fs.session
        self._arguments = client_arguments(fs)
        self._extras = dict(fs.s3_additional_kwargs) | dict(fs.req_kw)
        self._extras |= {"CopySource" + key: self._extras[key] for key in _SSE_C if key in self._extras}
        self._secrets = tuple(settings.storage_options.values())
        self._per_method: dict[str, dict[str, Any]] = {}
        self._client: Any = None
        self._presigner: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._contexts: list[Any] = []
        self._release: weakref.finalize[Any, Any] | None = None
        self._opening: asyncio.Task[None] | None = None

    @classmethod
    def from_filesystem(cls, fs: Any, settings: S3Settings, name: str = NAME) -> S3Store:
        """The store of ``settings.bucket`` configured by the ``S3FileSystem`` ``fs``."""
        return cls(fs, settings, name)

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r})"

    def header_secrets(self) -> set[str]:
        """Secret values botocore may log as request headers (session token, SSE-C key)."""
        found = {str(self.fs.token)} if self.fs.token else set()
        key = self._extras.get("SSECustomerKey")
        if isinstance(key, str | bytes) and key:
            raw = key.encode() if isinstance(key, str) else key
            found |= {raw.decode("latin-1"), base64.b64encode(raw).decode()}
        return found

    # -- the client -------------------------------------------------------------------

    async def client(self) -> Any:
        """The aiobotocore client of the running loop (made on first use in each loop).

        Concurrent first calls share one client: the first starts making it, the others
        wait for that. Public for instrumentation: ``client.meta.events`` takes botocore
        event handlers.
        """
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            opening = self._opening
            if opening is None or opening.get_loop() is not loop:
                opening = self._opening = loop.create_task(self._open(loop))
            await asyncio.shield(opening)
        return self._client

    async def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        settings = self.settings
        try:
            session = self._session or new_session(**self.fs.kwargs)
            contexts = [session.create_client("s3", **self._arguments)]
            if settings.redirectendpoint:  # signs only (sends nothing): the redirect endpoint as host
                contexts.append(
                    session.create_client("s3", **(self._arguments | {"endpoint_url": settings.redirectendpoint}))
                )
            clients = []
            with mapped(self.bucket, self._secrets):
                for context in contexts:
                    clients.append(await context.__aenter__())
            if settings.loglevel != "off":
                clients[0].meta.events.register("after-call.s3", log_call)
            self._contexts, self._client, self._presigner, self._loop = contexts, clients[0], clients[-1], loop
            self._release = weakref.finalize(self, release_on, loop, contexts, os.getpid())
            self._per_method = {}
        finally:
            self._opening = None

    def _extras_of(self, method: str) -> dict[str, Any]:
        """The extra arguments (``s3_additional_kwargs``, requester pays) operation ``method`` takes."""
        extras = self._per_method.get(method)
        if extras is None:
            meta = self._client.meta
            shape = meta.service_model.operation_model(meta.method_to_api_mapping[method]).input_shape
            extras = self._per_method[method] = {k: v for k, v in self._extras.items() if k in shape.members}
        return extras

    async def _call(self, method: str, **arguments: Any) -> Any:
        if self.anonymous and method in _WRITES:
            raise seam.Denied("AnonymousAccess", f"anonymous access (anon) cannot change the bucket ({method})")
        client = await self.client()
        extras = self._extras_of(method) if self._extras else {}
        with mapped(self.bucket, self._secrets):
            return await getattr(client, method)(Bucket=self.bucket, **(extras | arguments))

    async def close(self) -> None:
        if self._release is not None:  # the finalizer of a store dropped without close()
            self._release.detach()
        if self._loop is asyncio.get_running_loop():
            await exit_all(self._contexts)
        self._client = self._presigner = None
        self._contexts = []

    # -- objects ----------------------------------------------------------------------

    async def head(self, key: str) -> seam.ObjectInfo:
        response = await self._call("head_object", Key=key)
        stamp = str(response.get("Metadata", {}).get(seam.ORIGIN, ""))
        return seam.ObjectInfo(
            key, int(response["ContentLength"]), response["LastModified"], str(response["ETag"]), stamp
        )

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, seam.ObjectInfo]:
        arguments: dict[str, Any] = {"Key": key, "Range": f"bytes={start}-{end - 1}"}
        if version is not None:
            arguments["IfMatch"] = version
        response = await self._call("get_object", **arguments)
        size = int(str(response.get("ContentRange", "")).rpartition("/")[2] or response["ContentLength"])
        info = seam.ObjectInfo(key, size, response["LastModified"], str(response["ETag"]))
        try:
            async with response["Body"] as body:
                data: bytes = await body.read()
        except Exception as exc:  # a reset or a cut body: botocore does not retry these
            raise seam.Transient(type(exc).__name__, str(exc)) from exc
        expected = int(response["ContentLength"])
        if len(data) != expected:
            raise seam.Transient("IncompleteBody", f"{len(data)} of {expected} bytes")
        return data, info

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        condition = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            await self._call(
                "put_object",
                Key=key,
                Body=data,
                ContentType=CONTENT_TYPE,
                **condition,
            )
        except seam.StoreError as exc:
            if if_absent and exc.code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise seam.Exists(exc.code, exc.message) from exc
            raise

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> seam.Page:
        arguments: dict[str, Any] = {"Prefix": prefix}
        if delimiter:
            arguments["Delimiter"] = "/"
        if start_after:
            arguments["StartAfter"] = start_after
        if token:
            arguments["ContinuationToken"] = token
        listing = await self._call("list_objects_v2", **arguments)
        objects = [
            seam.ObjectInfo(o["Key"], int(o["Size"]), o["LastModified"], str(o.get("ETag", "")))
            for o in listing.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in listing.get("CommonPrefixes", [])]
        return seam.Page(
            objects, prefixes, listing.get("NextContinuationToken") if listing.get("IsTruncated") else None
        )

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        if not keys:
            return []
        objects = [{"Key": key} for key in keys]
        response = await self._call("delete_objects", Delete={"Objects": objects, "Quiet": True})
        errors = response.get("Errors", [])
        for error in errors:  # per-key refusals come in a 200 answer: the same Denied as a 403
            if str(error.get("Code", "")) in _DENIED:
                raise seam.Denied(str(error["Code"]), str(error.get("Message", "")))
        return [(e.get("Key", ""), f"{e.get('Code')} {e.get('Message', '')}".strip()) for e in errors]

    async def copy(self, source: seam.ObjectInfo, dest: str) -> None:
        copy_source = {"Bucket": self.bucket, "Key": source.key}
        if source.size <= self.settings.multipartcopythresholdsize:
            await self._call(
                "copy_object",
                Key=dest,
                CopySource=copy_source,
                CopySourceIfMatch=source.version,
                ContentType=CONTENT_TYPE,
                MetadataDirective="REPLACE",
            )
            return
        await copy_in_parts(
            self,
            source,
            dest,
            chunk=self.settings.multipartcopychunksize,
            concurrency=self.settings.multipartcopymaxconcurrency,
        )

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        client_method = {"GET": "get_object", "HEAD": "head_object"}[method]
        await self.client()
        params = {"Bucket": self.bucket, "Key": key}  # no extras: SSE-C keys never go into a URL
        url: str = await self._presigner.generate_presigned_url(client_method, Params=params, ExpiresIn=seconds)
        return url

    # -- multipart uploads ------------------------------------------------------------

    async def create_upload(self, key: str, scratch: str) -> seam.Upload:
        stamp = seam.origin(scratch)
        response = await self._call(
            "create_multipart_upload",
            Key=key,
            ContentType=CONTENT_TYPE,
            **({"Metadata": {seam.ORIGIN: stamp}} if stamp else {}),
        )
        return seam.Upload(key, str(response["UploadId"]), scratch)

    async def upload_part(self, upload: seam.Upload, number: int, data: bytes) -> seam.Part:
        response = await self._call("upload_part", Key=upload.key, UploadId=upload.id, PartNumber=number, Body=data)
        return seam.Part(str(response["ETag"]), len(data))

    async def copy_part(
        self, upload: seam.Upload, number: int, source: seam.ObjectInfo, start: int, end: int
    ) -> seam.Part:
        response = await self._call(
            "upload_part_copy",
            Key=upload.key,
            UploadId=upload.id,
            PartNumber=number,
            CopySource={"Bucket": self.bucket, "Key": source.key},
            CopySourceRange=f"bytes={start}-{end - 1}",
            CopySourceIfMatch=source.version,
        )
        return seam.Part(str(response["CopyPartResult"]["ETag"]), end - start)

    async def list_parts(self, upload: seam.Upload) -> dict[int, seam.Part]:
        parts = {}
        async for listing in self._paged(
            "list_parts", "NextPartNumberMarker", "PartNumberMarker", Key=upload.key, UploadId=upload.id
        ):
            for part in listing.get("Parts", []):
                parts[int(part["PartNumber"])] = seam.Part(str(part["ETag"]), int(part["Size"]))
        return parts

    async def persist_parts(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        return None  # S3 keeps the parts of an unfinished upload until it is aborted

    async def complete_upload(self, upload: seam.Upload, parts: Sequence[seam.Part]) -> None:
        done = [{"PartNumber": number, "ETag": part.token} for number, part in enumerate(parts, 1)]
        await self._call(
            "complete_multipart_upload", Key=upload.key, UploadId=upload.id, MultipartUpload={"Parts": done}
        )

    async def abort_upload(self, upload: seam.Upload) -> None:
        with contextlib.suppress(seam.NotFound):  # already completed or aborted
            await self._call("abort_multipart_upload", Key=upload.key, UploadId=upload.id)

    async def list_uploads(self, prefix: str) -> list[seam.Upload]:
        uploads = []
        async for listing in self._paged("list_multipart_uploads", "", "", Prefix=prefix):
            uploads += [seam.Upload(u["Key"], u["UploadId"], "") for u in listing.get("Uploads", [])]
        return uploads

    async def _paged(self, method: str, next_field: str, marker: str, **arguments: Any) -> AsyncIterator[Any]:
        while True:
            listing = await self._call(method, **arguments)
            yield listing
            if not listing.get("IsTruncated"):
                return
            if next_field:
                arguments[marker] = listing[next_field]
            else:  # list_multipart_uploads: two markers
                arguments["KeyMarker"] = listing.get("NextKeyMarker", "")
                arguments["UploadIdMarker"] = listing.get("NextUploadIdMarker", "")
