"""The S3 :class:`~distfs.engine.seam.Store`: one bucket through an aiobotocore client.

Every primitive is one S3 call (two for paged listings of parts and uploads). Version
tokens are ETags, pinned with ``IfMatch`` / ``CopySourceIfMatch``. Retries of requests
are botocore's (``standard`` mode, ``maxretries``); the only failures reported as
:class:`~distfs.engine.seam.Transient` are bodies broken after botocore handed over the
response, which botocore never retries. :func:`_mapped` is the one place botocore's
errors become the seam's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from ...capabilities import NOT_XML, OBJECT_STORE
from ...engine import seam
from ...engine.strategies import copy_in_parts
from .settings import CONTENT_TYPE, NAME, S3Settings, client_config

__all__ = ["S3Store"]

logger = logging.getLogger("distfs.s3")

_NOT_FOUND = {"NoSuchKey", "404", "seam.NotFound", "NoSuchUpload", "NoSuchVersion"}
_DENIED = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
    "TokenRefreshRequired",
}
_CHANGED = {"PreconditionFailed", "412"}


class S3Store:
    """One S3 bucket (see the module docstring)."""

    capabilities = dataclasses.replace(OBJECT_STORE, refused_characters=NOT_XML)

    def __init__(self, settings: S3Settings, name: str = NAME) -> None:
        self.name = name
        self.settings = settings
        self.bucket = settings.bucket
        self.limits = seam.Limits(min_part=5 << 20, max_parts=10_000, delete_batch=1000, copy_ranges=True)
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: Any = None
        self._opening: asyncio.Task[None] | None = None
        self._presigner: Any = None

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r})"

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
        from aiobotocore.config import AioConfig
        from aiobotocore.session import AioSession

        settings = self.settings
        try:
            context = AioSession().create_client(
                "s3",
                region_name=settings.region,
                endpoint_url=settings.endpoint or None,
                aws_access_key_id=settings.accesskey or None,
                aws_secret_access_key=settings.secretkey or None,
                aws_session_token=settings.sessiontoken or None,
                use_ssl=settings.secure,
                verify=not settings.skipverify,
                config=AioConfig(**client_config(settings)),
            )
            client = await context.__aenter__()
            if settings.loglevel != "off":
                client.meta.events.register("after-call.s3", _log_call)
            self._context, self._client, self._loop = context, client, loop
        finally:
            self._opening = None

    async def _call(self, method: str, **arguments: Any) -> Any:
        client = await self.client()
        with _mapped(self.bucket):
            return await getattr(client, method)(Bucket=self.bucket, **arguments)

    async def close(self) -> None:
        if self._context is not None and self._loop is asyncio.get_running_loop():
            await self._context.__aexit__(None, None, None)
        self._client = self._context = None

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
                **self.settings.object_arguments(),
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
        return [
            (e.get("Key", ""), f"{e.get('Code')} {e.get('Message', '')}".strip()) for e in response.get("Errors", [])
        ]

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
                **self.settings.object_arguments(),
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
        url: str = self._presign_client().generate_presigned_url(
            client_method, Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )
        return url

    def _presign_client(self) -> Any:
        """A botocore client for signing only (no request is sent); its endpoint is the redirect one."""
        if self._presigner is None:
            import botocore.config
            import botocore.session

            settings = self.settings
            self._presigner = botocore.session.get_session().create_client(
                "s3",
                region_name=settings.region,
                endpoint_url=settings.redirectendpoint or settings.endpoint or None,
                aws_access_key_id=settings.accesskey or None,
                aws_secret_access_key=settings.secretkey or None,
                aws_session_token=settings.sessiontoken or None,
                use_ssl=settings.secure,
                config=botocore.config.Config(**client_config(settings)),
            )
        return self._presigner

    # -- multipart uploads ------------------------------------------------------------

    async def create_upload(self, key: str, scratch: str) -> seam.Upload:
        stamp = seam.origin(scratch)
        response = await self._call(
            "create_multipart_upload",
            Key=key,
            ContentType=CONTENT_TYPE,
            **({"Metadata": {seam.ORIGIN: stamp}} if stamp else {}),
            **self.settings.object_arguments(),
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


@contextlib.contextmanager
def _mapped(bucket: str) -> Any:
    """botocore's errors as the seam's (the one mapping of this backend)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        message = str(error.get("Message", ""))
        if code in _NOT_FOUND:
            raise seam.NotFound(code, message) from exc
        if code == "NoSuchBucket":
            raise seam.StoreMissing(bucket) from exc
        if code in _DENIED:
            raise seam.Denied(code, message) from exc
        if code in _CHANGED:
            raise seam.Changed(code, message) from exc
        raise seam.StoreError(code, message) from exc
    except BotoCoreError as exc:  # connection failures botocore gave up retrying, bad configuration
        raise seam.StoreError(type(exc).__name__, str(exc)) from exc


def _log_call(http_response: Any = None, model: Any = None, **_: Any) -> None:
    """Log one S3 call (operation and status only: never headers, signatures or bodies)."""
    status = getattr(http_response, "status_code", "?")
    logger.debug("s3 %s -> %s", getattr(model, "name", "?"), status)
