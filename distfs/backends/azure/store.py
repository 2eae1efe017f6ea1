"""The Azure :class:`~distfs.engine.seam.Store`: one container through ``azure.storage.blob.aio``.

The store stands on an ``adlfs.AzureBlobFileSystem`` (kept alive as long as the store:
adlfs closes its credential when the filesystem is collected) and makes its own clients,
one per event loop, from that filesystem's configuration (:mod:`.client`).

Versions are ETags, pinned with ``If-Match`` (reads) and ``x-ms-source-if-match`` (copies).
Request retries are the SDK's, one policy from ``max_retries`` and ``retry_delay``; only a
body cut short (the SDK's downloader tries a body 3 times, whatever the policy) is
Transient. :func:`_mapped` is the one place the SDK's errors become the seam's.

Uploads are blocks staged on a hidden *staging blob* below ``scratch`` (:mod:`.blocks`),
committed empty at once (``list_parts``: the blob exists while the upload does), then with
the parts (``persist_parts``; uncommitted blocks expire in 7 days), copied onto the key
and deleted with its blocks by ``complete_upload``: one delete ends the upload.
``list_page`` sends ``start_from`` (inclusive; Azurite ignores it) and drops names ``<=
start_after`` itself. Deletes: Blob Batch on a host-style URL (``https://<account>.``),
single deletes on a path-style one (an emulator; Azurite's batch deletes nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import urllib.parse
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ...capabilities import BACKSLASH, NOT_XML, OBJECT_STORE
from ...engine import seam
from ...engine.loop import release_on
from ...engine.seam import ObjectInfo, Page, Part, StoreError, Upload
from ...errors import InvalidParameterError
from ..options import redact
from .blocks import STAGING, block_id, part_number
from .client import account_url, service_client
from .settings import CONTENT_TYPE, DELETE_BATCH, LIST_PAGE, NAME, AzureSettings, filesystem_options

__all__ = ["AzureStore"]

_CHANGED = {"ConditionNotMet", "SourceConditionNotMet", "TargetConditionNotMet"}


class AzureStore:
    """One container of ``fs`` (an ``AzureBlobFileSystem``); ``page_size``: names a listing
    request; ``client_options``: more SDK client options. :meth:`from_filesystem` and
    :meth:`from_settings` make one."""

    capabilities = dataclasses.replace(OBJECT_STORE, refused_characters=BACKSLASH + NOT_XML)

    def __init__(
        self,
        fs: Any,
        settings: AzureSettings,
        *,
        page_size: int = LIST_PAGE,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = NAME
        self.fs = fs
        self.settings = settings
        self.bucket = settings.container
        self.limits = seam.Limits(min_part=0, max_parts=50_000, delete_batch=DELETE_BATCH, copy_ranges=True)
        self.page_size = page_size
        self.url = account_url(fs, settings)
        host = urllib.parse.urlsplit(self.url).hostname or ""
        self.batch_deletes = host.startswith(settings.accountname.lower() + ".")
        self._options = dict(client_options or {})
        self._secrets = tuple(settings.storage_options.values())
        self._service: Any = None
        self._client: Any = None
        self._blobs: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: weakref.finalize[Any, Any] | None = None

    @classmethod
    def from_filesystem(cls, fs: Any, settings: AzureSettings, **options: Any) -> AzureStore:
        """The store of ``settings.container`` on ``fs``, an ``AzureBlobFileSystem``."""
        return cls(fs, settings, **options)

    @classmethod
    def from_settings(cls, settings: AzureSettings, **options: Any) -> AzureStore:
        """The store on a new ``AzureBlobFileSystem`` made from ``settings`` (:func:`filesystem_options`)."""
        from adlfs import AzureBlobFileSystem

        arguments = filesystem_options(settings)
        try:
            fs = AzureBlobFileSystem(**arguments)
        except (ValueError, TypeError) as exc:  # adlfs's "unable to connect to account for ..."
            message = redact(str(exc), [*settings.storage_options.values(), *arguments.values()])
            raise InvalidParameterError(NAME, "storage_options", message) from None
        return cls(fs, settings, **options)

    def __repr__(self) -> str:
        return f"AzureStore(container={self.bucket!r})"

    def _mapped(self) -> contextlib.AbstractContextManager[None]:
        """:func:`_mapped` for this store (its container, service URL and secrets)."""
        return _mapped(self.bucket, self.url, self._secrets)

    async def _container(self) -> Any:
        """The container client of the running loop (made on first use in each loop)."""
        loop = asyncio.get_running_loop()
        if self._service is None or self._loop is not loop:
            self._service = service_client(self.fs, self.settings, self._options)
            self._loop, self._client, self._blobs = loop, self._service.get_container_client(self.bucket), {}
            # a store dropped unclosed closes its client (and aiohttp session) on its loop
            self._release = weakref.finalize(self, release_on, loop, [self._service], os.getpid())
        return self._client

    async def _blob(self, key: str) -> Any:
        """The blob client of ``key``: the SDK takes 0.3 ms to make one, so the last 256 are kept."""
        container = await self._container()
        blob = self._blobs.pop(key, None) or container.get_blob_client(key)
        self._blobs[key] = blob
        if len(self._blobs) > 256:
            del self._blobs[next(iter(self._blobs))]
        return blob

    async def close(self) -> None:
        if self._service is not None and self._loop is asyncio.get_running_loop():
            if self._release is not None:
                self._release.detach()
            await self._service.close()  # the credential is the filesystem's: adlfs closes it
        self._service = self._client = None

    # -- objects ----------------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo:
        with self._mapped():
            properties = await (await self._blob(key)).get_blob_properties()
        stamp = str((properties.metadata or {}).get(seam.ORIGIN, ""))
        return ObjectInfo(key, int(properties.size), properties.last_modified, str(properties.etag), stamp)

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, ObjectInfo]:
        from azure.core import MatchConditions

        blob = await self._blob(key)
        length = end - start if end < 1 << 62 else None
        offset = start if start or length is not None else None  # a whole read of an empty blob is no 416
        arguments: dict[str, Any] = {"offset": offset, "length": length}
        if version is not None:
            arguments.update(etag=version, match_condition=MatchConditions.IfNotModified)
        with self._mapped():
            downloader = await blob.download_blob(max_concurrency=1, **arguments)
            data: bytes = await downloader.readall()
        properties = downloader.properties
        size = int(str(properties.content_range or "").rpartition("/")[2] or downloader.size)
        if len(data) != downloader.size:
            raise seam.Transient("IncompleteBody", f"{len(data)} of {downloader.size} bytes")
        return data, ObjectInfo(key, size, properties.last_modified, str(properties.etag))

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        from azure.storage.blob import ContentSettings

        blob = await self._blob(key)
        try:
            with self._mapped():
                await blob.upload_blob(
                    data, overwrite=not if_absent, content_settings=ContentSettings(content_type=CONTENT_TYPE)
                )
        except StoreError as exc:
            if if_absent and exc.code == "BlobAlreadyExists":
                raise seam.Exists(exc.code, exc.message) from exc
            raise

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> Page:
        from azure.storage.blob import BlobProperties

        container = await self._container()
        arguments: dict[str, Any] = {"name_starts_with": prefix or None, "results_per_page": self.page_size}
        arguments.update(include=["metadata"], start_from=start_after if start_after and token is None else None)
        listing = container.walk_blobs(delimiter="/", **arguments) if delimiter else container.list_blobs(**arguments)
        pages = listing.by_page(continuation_token=token)
        page = Page()
        with self._mapped():
            first = await anext(pages, None)
            items = [item async for item in first] if first is not None else []
        for item in items:
            name = str(item.name)
            is_prefix = not isinstance(item, BlobProperties)  # walk_blobs yields BlobPrefix items too
            if name <= start_after and not (is_prefix and start_after.startswith(name)):
                continue
            if is_prefix:
                page.prefixes.append(name)
            elif str((item.metadata or {}).get("hdi_isfolder", "")).lower() != "true":  # a folder marker
                page.objects.append(ObjectInfo(name, int(item.size), item.last_modified, str(item.etag)))
        page.token = pages.continuation_token or None
        return page

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        if not keys:
            return []
        container = await self._container()
        failures: list[tuple[str, str]] = []
        if self.batch_deletes and len(keys) > 1:
            with self._mapped():
                responses = await container.delete_blobs(*keys, delete_snapshots="include", raise_on_any_failure=False)
                names = iter(keys)  # the answers come in request order
                async for response in responses:
                    key = next(names, "?")
                    if response.status_code not in (200, 202, 404):
                        code = response.headers.get("x-ms-error-code", "") or response.reason or ""
                        failures.append((key, f"{response.status_code} {code}".strip()))
            return failures + [(key, "no answer in the batch response") for key in names]
        slots = asyncio.Semaphore(16)  # single deletes in flight

        async def delete(key: str) -> None:
            try:
                async with slots:
                    with self._mapped():
                        await container.delete_blob(key, delete_snapshots="include")
            except (seam.StoreMissing, seam.Denied):
                raise
            except StoreError as exc:
                if not isinstance(exc, seam.NotFound):  # a missing key is no failure
                    failures.append((key, str(exc)))

        await asyncio.gather(*(delete(key) for key in keys))
        return sorted(failures)

    async def copy(self, source: ObjectInfo, dest: str) -> None:
        await self._copy(source.key, source.version, dest)

    async def _copy(self, source: str, version: str, dest: str) -> None:
        """Copy ``source`` (version ``version``) onto ``dest``: polled ``max_retries`` times (-1: no bound)."""
        from azure.core import MatchConditions

        target, source_url, limit = await self._blob(dest), (await self._blob(source)).url, self.settings.max_retries
        with self._mapped():
            copy = await target.start_copy_from_url(
                source_url, source_etag=version, source_match_condition=MatchConditions.IfNotModified
            )
            status, copy_id, attempt = copy.get("copy_status"), copy.get("copy_id"), 0
            while status == "pending":
                attempt += 1
                if 0 <= limit < attempt:
                    with contextlib.suppress(Exception):
                        await target.abort_copy(copy_id)
                    raise StoreError("CopyPending", f"copy still pending after {limit} polls, aborted")
                await asyncio.sleep(self.settings.retry_delay * attempt)
                status = (await target.get_blob_properties()).copy.status
        if status != "success":
            raise StoreError("CopyFailed", f"copy {status}")

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        """A read-only blob SAS, by the credential kind: an account key signs a service SAS, a
        token credential a user delegation SAS (one request for the key); a SAS or none: None."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        await self._container()
        service = self._service
        credential = service.credential
        now = datetime.now(UTC)
        start, expiry = now - timedelta(seconds=10), now + timedelta(seconds=seconds)
        arguments: dict[str, Any] = {}
        if getattr(credential, "account_key", None):
            arguments["account_key"] = credential.account_key
        elif hasattr(credential, "get_token"):
            with self._mapped():
                arguments["user_delegation_key"] = await service.get_user_delegation_key(start, expiry)
        else:
            return None  # a SAS cannot sign another; anonymous access signs nothing
        arguments.update(permission=BlobSasPermissions(read=True), start=start, expiry=expiry)
        sas = generate_blob_sas(service.account_name or self.settings.accountname, self.bucket, key, **arguments)
        url: str = (await self._blob(key)).url
        return f"{url}?{sas}"

    # -- uploads (staged blocks on a staging blob) --------------------------------------

    async def create_upload(self, key: str, scratch: str) -> Upload:
        upload = Upload(key, uuid.uuid4().hex, scratch)
        await self._commit(upload, [])
        return upload

    async def upload_part(self, upload: Upload, number: int, data: bytes) -> Part:
        block = block_id(number)
        if data:  # an empty part is never staged (nor committed)
            staging = await self._blob(upload.scratch + STAGING)
            with self._mapped():
                await staging.stage_block(block, data, length=len(data))
        return Part(block, len(data))

    async def copy_part(self, upload: Upload, number: int, source: ObjectInfo, start: int, end: int) -> Part:
        data, _ = await self.get_range(source.key, start, end, source.version)  # at most one part
        return await self.upload_part(upload, number, data)

    async def list_parts(self, upload: Upload) -> dict[int, Part]:
        staging = await self._blob(upload.scratch + STAGING)
        with self._mapped():
            _, (committed, uncommitted) = await asyncio.gather(
                staging.get_blob_properties(), staging.get_block_list("all")
            )
        numbered = [(part_number(str(b.id)), b) for b in [*uncommitted, *committed]]  # a committed block wins
        return {n: Part(str(b.id), int(b.size)) for n, b in numbered if n is not None}

    async def persist_parts(self, upload: Upload, parts: Sequence[Part]) -> None:
        await self._commit(upload, parts)

    async def complete_upload(self, upload: Upload, parts: Sequence[Part]) -> None:
        try:
            etag = await self._commit(upload, parts)
        except StoreError as exc:
            if exc.code == "InvalidBlockList":  # the staging blob and its blocks are gone
                raise seam.NotFound(exc.code, "the upload is gone") from exc
            raise
        await self._copy(upload.scratch + STAGING, etag, upload.key)
        await self.abort_upload(upload)

    async def _commit(self, upload: Upload, parts: Sequence[Part]) -> str:
        """Commit ``parts`` on the staging blob (``Latest``: staged or committed; ids are unique); its ETag.

        The staging blob carries the upload's origin, which the copy onto the key keeps.
        """
        from azure.storage.blob import BlobBlock, BlockState, ContentSettings

        staging = await self._blob(upload.scratch + STAGING)
        blocks = [BlobBlock(part.token, BlockState.LATEST) for part in parts if part.size]
        stamp = seam.origin(upload.scratch)
        with self._mapped():
            result = await staging.commit_block_list(
                blocks,
                content_settings=ContentSettings(content_type=CONTENT_TYPE),
                metadata={seam.ORIGIN: stamp} if stamp else None,
            )
        return str(result["etag"])

    async def abort_upload(self, upload: Upload) -> None:
        for key, error in await self.delete_many([upload.scratch + STAGING]):
            raise StoreError("DeleteFailed", f"{key}: {error}")

    async def list_uploads(self, prefix: str) -> list[Upload]:
        return []  # uploads live below scratch prefixes, which deleting a path removes


@contextlib.contextmanager
def _mapped(container: str, endpoint: str, secrets: Sequence[Any] = ()) -> Iterator[None]:
    """The SDK's errors as the seam's (the one mapping of this backend; messages: first line
    only, every string of ``secrets`` shown as ``***``; a failure without an answer names
    ``endpoint``)."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError, DecodeError, HttpResponseError

    try:
        yield
    except StoreError:
        raise
    except HttpResponseError as exc:
        status = exc.status_code or 0
        error_code = getattr(exc, "error_code", None)  # the storage SDK's x-ms-error-code (a str enum)
        code = str(getattr(error_code, "value", error_code) or status or type(exc).__name__)
        message = str(exc.reason or "") if status else str(exc.message or "").split("\n", 1)[0]
        message = redact(message, secrets)
        if not status and (isinstance(exc, DecodeError) or isinstance(exc.__cause__, DecodeError)):
            raise seam.Transient("IncompleteBody", message) from exc  # a body cut short, after the SDK's 3 tries
        if code == "ContainerNotFound":
            raise seam.StoreMissing(container, "container", code) from exc
        if status == 404:
            raise seam.NotFound(code, message) from exc
        if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            raise seam.Denied(code, message) from exc
        if code in _CHANGED or (status == 412 and not error_code):
            raise seam.Changed(code, message) from exc
        if status == 416:
            raise StoreError("InvalidRange", message) from exc
        raise StoreError(code, message) from exc
    except AzureError as exc:  # connection failures the SDK gave up retrying, bad configuration
        message = redact(str(exc.message or "").split("\n", 1)[0], secrets)
        raise StoreError(type(exc).__name__, f"{message} ({endpoint})") from exc
