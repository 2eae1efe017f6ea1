"""The GCS :class:`~distfs.engine.seam.Store`: one bucket through the JSON API, over aiohttp.

Every primitive is one or a few JSON API requests (an ``aiohttp`` session per event loop,
google-auth bearer tokens; anonymous against an ``endpoint`` when no credentials are
given). Version tokens are generations, pinned with ``generation=`` on media downloads
and ``sourceGeneration=`` on rewrites (fake-gcs-server ignores ``ifGenerationMatch`` on
reads). Nothing below the engine retries: 5xx, 408, 429, connection failures and cut
bodies are :class:`~distfs.engine.seam.Transient`, retried by the engine ``maxretries``
times. Uploads are composes (:mod:`.uploads`); :func:`_mapped` is the one error mapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import json
import urllib.parse
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...capabilities import OBJECT_STORE
from ...driver import EPOCH
from ...engine import seam
from .settings import (
    CONTENT_TYPE,
    DEFAULT_ENDPOINT,
    DELETE_BATCH,
    LIST_PAGE,
    NAME,
    GCSSettings,
    credentials_of,
    default_credentials,
)
from .uploads import ComposeUploads

__all__ = ["GCSStore"]

#: Single deletes in flight within one :meth:`GCSStore.delete_many` call (fake-gcs answers
#: every part of a batch request 400, so deletes are single requests everywhere).
DELETE_FANOUT = 16
_FIELDS = "items(name,size,updated,generation),prefixes,nextPageToken"


class _Status(Exception):
    """An HTTP answer that is not a success (mapped by :func:`_mapped`)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class GCSStore(ComposeUploads):
    """One GCS bucket (see the module docstring)."""

    limits = seam.Limits(min_part=0, max_parts=10_000, delete_batch=DELETE_BATCH, copy_ranges=False)

    def __init__(self, settings: GCSSettings, name: str = NAME) -> None:
        self.name = name
        self.settings = settings
        self.bucket = settings.bucket
        self._endpoint = settings.endpoint or DEFAULT_ENDPOINT
        self._credentials: Any = credentials_of(settings.service_account) if settings.service_account else None
        self._anonymous = not settings.service_account and bool(settings.endpoint)
        credentials = self._credentials
        signs = hasattr(credentials, "sign_bytes") and bool(getattr(credentials, "service_account_email", None))
        self._signer: Any = credentials if signs else None
        self.capabilities = dataclasses.replace(OBJECT_STORE, presign_get=signs, presign_head=signs)
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refreshing: asyncio.Lock | None = None
        self._signing_client: Any = None

    def __repr__(self) -> str:
        return f"GCSStore(bucket={self.bucket!r})"

    # -- requests ---------------------------------------------------------------------

    async def _http(self) -> Any:
        """The aiohttp session of the running loop (made on first use in each loop)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=max(100, self.settings.maxconcurrency)),
                timeout=aiohttp.ClientTimeout(total=None, sock_read=300),
            )
            self._loop = loop
            weakref.finalize(self, _close_later, self._session, loop)
            self._refreshing = asyncio.Lock()
        return self._session

    async def _authorization(self, headers: dict[str, str]) -> None:
        """Add the bearer token (refreshed in a thread when needed); nothing when anonymous."""
        if self._anonymous:
            return
        assert self._refreshing is not None
        async with self._refreshing:
            if self._credentials is None:
                self._credentials = await asyncio.to_thread(default_credentials)
                if self._credentials is None:
                    self._anonymous = True
                    return
            if not self._credentials.valid:
                from google.auth.transport.requests import Request

                await asyncio.to_thread(self._credentials.refresh, Request())
        self._credentials.apply(headers)

    def _url(self, path: str, query: Mapping[str, str | int] | None = None) -> str:
        """An encoded URL of the JSON API (``path`` is already quoted)."""
        text = f"{self._endpoint}{path}"
        return text + "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else text

    def _object(self, key: str, suffix: str = "") -> str:
        return f"/storage/v1/b/{_quote(self.bucket)}/o/{_quote(key)}{suffix}"

    async def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str | int] | None = None,
        *,
        body: bytes | None = None,
        document: Any = None,
        headers: Mapping[str, str] | None = None,
        listing: bool = False,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One request; its status, headers and whole body (failures as seam errors)."""
        import yarl

        session = await self._http()
        sent = dict(headers or {})
        if self.settings.useragent:
            sent["User-Agent"] = self.settings.useragent
        if document is not None:
            body = json.dumps(document).encode()
            sent["Content-Type"] = "application/json"
        url = yarl.URL(self._url(path, query), encoded=True)
        with _mapped(self.bucket, listing):
            await self._authorization(sent)
            async with session.request(method, url, data=body, headers=sent) as response:
                data: bytes = await response.read()
                if response.status >= 300:
                    raise _Status(response.status, data)
                expected = response.headers.get("Content-Length")
                if method != "HEAD" and expected is not None and int(expected) != len(data):
                    raise seam.Transient("IncompleteBody", f"{len(data)} of {expected} bytes")
                return response.status, response.headers, data

    async def _json(self, method: str, path: str, query: Mapping[str, str | int] | None = None, **kw: Any) -> Any:
        _, _, data = await self._send(method, path, query, **kw)
        try:
            return json.loads(data) if data else {}
        except ValueError:
            raise seam.StoreError("InvalidResponse", f"{method} answered with a body that is not JSON") from None

    async def close(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None

    # -- objects ----------------------------------------------------------------------

    async def head(self, key: str) -> seam.ObjectInfo:
        resource = await self._json("GET", self._object(key), {"fields": "name,size,updated,generation,metadata"})
        return _info(resource)

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, seam.ObjectInfo]:
        query: dict[str, str | int] = {"alt": "media"}
        if version is not None:
            query["generation"] = version  # 404 once that generation is gone
        path = "/download" + self._object(key)
        status, headers, data = await self._send("GET", path, query, headers={"Range": f"bytes={start}-{end - 1}"})
        total = headers.get("Content-Range", "").rpartition("/")[2]
        if status == 200:  # the whole object (a store that ignores ranges)
            size, data = len(data), data[start:end]
        else:
            size = int(total) if total.isdigit() else start + len(data)
        modified = email.utils.parsedate_to_datetime(headers["Last-Modified"]) if "Last-Modified" in headers else None
        info = seam.ObjectInfo(key, size, _utc(modified), str(headers.get("X-Goog-Generation", "")))
        if version is not None and info.version and info.version != version:
            raise seam.Changed("generation", "the object changed")
        return data, info

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        await self.put_object(key, data, if_absent=if_absent)

    async def put_object(self, key: str, data: bytes, *, if_absent: bool = False) -> str:
        """:meth:`put`, returning the generation written.

        A simple media upload; with ``if_absent`` a multipart one with ``ifGenerationMatch=0``
        (412 if an object is there: fake-gcs-server ignores the condition on media uploads).
        """
        path = f"/upload/storage/v1/b/{_quote(self.bucket)}/o"
        if not if_absent:
            query = {"uploadType": "media", "name": key}
            resource = await self._json("POST", path, query, body=data, headers={"Content-Type": CONTENT_TYPE})
            return str(resource.get("generation", ""))
        boundary = uuid.uuid4().hex
        metadata = json.dumps({"name": key, "contentType": CONTENT_TYPE})
        head = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n--{boundary}\r\n\r\n"
        body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
        query = {"uploadType": "multipart", "ifGenerationMatch": "0"}
        headers = {"Content-Type": f"multipart/related; boundary={boundary}"}
        try:
            resource = await self._json("POST", path, query, body=body, headers=headers)
        except seam.Changed as exc:
            raise seam.Exists(exc.code, exc.message) from exc
        return str(resource.get("generation", ""))

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> seam.Page:
        query: dict[str, str | int] = {"prefix": prefix, "maxResults": LIST_PAGE, "fields": _FIELDS}
        if delimiter:
            query["delimiter"] = "/"
        if start_after:
            query["startOffset"] = start_after  # inclusive: the exact match is dropped below
        if token:
            query["pageToken"] = token
        listing = await self._json("GET", f"/storage/v1/b/{_quote(self.bucket)}/o", query, listing=True)
        objects = [_info(o) for o in listing.get("items", []) if o["name"] != start_after]
        return seam.Page(objects, list(listing.get("prefixes", [])), listing.get("nextPageToken") or None)

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        slots = asyncio.Semaphore(DELETE_FANOUT)

        async def one(key: str) -> tuple[str, str] | None:
            async with slots:
                try:
                    await self._send("DELETE", self._object(key))
                except seam.NotFound:
                    return None  # already gone
                except seam.Transient:
                    raise
                except seam.StoreError as exc:
                    return key, str(exc)
            return None

        results = await asyncio.gather(*(one(k) for k in keys))
        return [r for r in results if r is not None]

    async def copy(self, source: seam.ObjectInfo, dest: str) -> None:
        await self.copy_object(source, dest)

    async def copy_object(self, source: seam.ObjectInfo, dest: str) -> str:
        """:meth:`copy`, returning the generation written.

        ``rewriteTo`` of generation ``source.version``, repeated until done (no data passes through here).
        """
        query: dict[str, str | int] = {"sourceGeneration": source.version} if source.version else {}
        path = self._object(source.key, "/rewriteTo/b/" + _quote(self.bucket) + "/o/" + _quote(dest))
        while True:
            try:
                answer = await self._json("POST", path, query, document={"contentType": CONTENT_TYPE})
            except seam.NotFound as exc:  # that generation is gone: replaced or deleted
                raise seam.Changed(exc.code, "the source changed") from exc
            if answer.get("done", True):
                return str((answer.get("resource") or {}).get("generation", ""))
            query["rewriteToken"] = str(answer["rewriteToken"])

    async def compose(self, sources: Sequence[str], dest: str, origin: str = "") -> None:
        """Concatenate up to 32 objects of the bucket onto ``dest`` server-side (atomic).

        A source ``name#generation`` is that generation only (NotFound once it is
        replaced); ``origin`` is stamped on ``dest`` as its :data:`~distfs.engine.seam.ORIGIN`.
        """
        destination: dict[str, Any] = {"contentType": CONTENT_TYPE}
        if origin:
            destination["metadata"] = {seam.ORIGIN: origin}
        document = {"sourceObjects": [_source(name) for name in sources], "destination": destination}
        await self._send("POST", self._object(dest, "/compose"), document=document)

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        if self._signer is None:
            return None
        from datetime import timedelta

        from google.cloud.storage import Client

        if self._signing_client is None:
            self._signing_client = Client.create_anonymous_client()  # signs locally, sends nothing
        blob = self._signing_client.bucket(self.bucket).blob(key)
        url: str = blob.generate_signed_url(
            version="v4",
            expiration=timedelta(seconds=seconds),
            method=method,
            credentials=self._signer,
            api_access_endpoint=self._endpoint,
        )
        return url


def _close_later(session: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Close the session of a store no longer used, on its loop (if that still runs)."""
    if not session.closed and loop.is_running():
        asyncio.run_coroutine_threadsafe(session.close(), loop)


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _source(token: str) -> dict[str, str]:
    """A compose source: ``name#generation`` (a part) pins that generation, anything else is a name."""
    name, mark, generation = token.rpartition("#")
    if mark and generation.isdigit():
        return {"name": name, "generation": generation}
    return {"name": token}


def _info(resource: Mapping[str, Any]) -> seam.ObjectInfo:
    updated = datetime.fromisoformat(str(resource["updated"]).replace("Z", "+00:00")) if "updated" in resource else None
    stamp = str((resource.get("metadata") or {}).get(seam.ORIGIN, ""))
    return seam.ObjectInfo(
        str(resource["name"]), int(resource.get("size", 0)), _utc(updated), str(resource["generation"]), stamp
    )


def _utc(value: datetime | None) -> datetime:
    return value.astimezone(UTC) if value is not None else EPOCH


@contextlib.contextmanager
def _mapped(bucket: str, listing: bool) -> Iterator[None]:
    """aiohttp's, google-auth's and the JSON API's failures as the seam's (the one mapping of this backend).

    A 404 of a listing is the bucket; of an object call, the object unless the message says
    the bucket does not exist (as GCS does; fake-gcs-server answers both with one body).
    """
    import aiohttp
    import google.auth.exceptions

    try:
        yield
    except _Status as exc:
        status = exc.status
        code, message = _error(exc.body, status)
        if status == 404 and (listing or "bucket does not exist" in message.lower()):
            raise seam.StoreMissing(bucket, "bucket", code) from None
        if status == 404:
            raise seam.NotFound(code, message) from None
        if status in (401, 403):
            raise seam.Denied(code, message) from None
        if status == 412:
            raise seam.Changed(code, message) from None
        if status == 416:
            raise seam.StoreError("InvalidRange", message) from None
        if status >= 500 or status in (408, 429):
            raise seam.Transient(code, message) from None
        raise seam.StoreError(code, message) from None
    except google.auth.exceptions.RefreshError as exc:
        raise seam.Denied("RefreshError", "the credentials were refused") from exc
    except google.auth.exceptions.TransportError as exc:
        raise seam.Transient("TransportError", "the token endpoint could not be reached") from exc
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise seam.Transient(type(exc).__name__, str(exc)) from exc


def _error(body: bytes, status: int) -> tuple[str, str]:
    """The code (the JSON error's reason, else the status) and message of an error answer."""
    try:
        error = json.loads(body)["error"]
        reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
        return (reasons[0] if reasons and reasons[0] else str(status)), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return str(status), body[:200].decode("utf-8", "replace").strip()
