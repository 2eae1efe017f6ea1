"""The GCS :class:`~distfs.engine.seam.Store`: one bucket through the JSON API, over aiohttp, configured by gcsfs.

The store is built from a gcsfs ``GCSFileSystem`` (:meth:`GCSStore.from_filesystem`), kept
alive as long as the store, and takes from it what the user configured: the credentials
(gcsfs's ``GoogleCredentials``: its bearer token on every request, refreshed in a thread
when stale; none when anonymous), the endpoint, ``requester_pays`` (``userProject`` on
every request), ``session_kwargs`` and ``consistency``. It does not use the instance's
own session, which belongs to fsspec's loop: every primitive is one or a few JSON API
requests on an ``aiohttp`` session of the running loop (made on first use in each loop).
Version tokens are generations, pinned with ``generation=`` on media downloads and
``sourceGeneration=`` on rewrites (fake-gcs-server ignores ``ifGenerationMatch`` on
reads). Nothing below the engine retries: 5xx, 408, 429, connection failures and cut
bodies are :class:`~distfs.engine.seam.Transient`, retried by the engine ``maxretries``
times. Uploads are composes (:mod:`.uploads`), signed URLs :mod:`.signing`;
:func:`.errors.mapped` is the one error mapping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import urllib.parse
import uuid
import weakref
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...capabilities import OBJECT_STORE
from ...driver import EPOCH
from ...engine import seam
from . import signing
from .errors import Status, mapped
from .settings import CONTENT_TYPE, DELETE_BATCH, LIST_PAGE, NAME, SESSION_OWN, GCSSettings
from .uploads import ComposeUploads

__all__ = ["GCSStore"]

#: Single deletes in flight within one :meth:`GCSStore.delete_many` call (fake-gcs answers
#: every part of a batch request 400, so deletes are single requests everywhere).
DELETE_FANOUT = 16
_FIELDS = "items(name,size,updated,generation),prefixes,nextPageToken"


class GCSStore(ComposeUploads):
    """One GCS bucket (see the module docstring); build it with :meth:`from_filesystem`."""

    limits = seam.Limits(min_part=0, max_parts=10_000, delete_batch=DELETE_BATCH, copy_ranges=False)

    def __init__(self, fs: Any, settings: GCSSettings, name: str = NAME) -> None:
        self.name = name
        self.settings = settings
        self.bucket = settings.bucket
        self.fs = fs  # the configuration: kept alive as long as the store
        self._endpoint = str(fs.base).rstrip("/").removesuffix("/storage/v1")
        self._google: Any = fs.credentials  # gcsfs's GoogleCredentials (.credentials None: anonymous)
        pays = fs.requester_pays
        self._user_project: str = pays if isinstance(pays, str) else (str(fs.project) if pays else "")
        own = SESSION_OWN  # a connector belongs to one loop: each session gets the store's own
        self._session_kwargs = {k: v for k, v in (fs.session_kwargs or {}).items() if k not in own}
        self._consistency: str = str(fs.consistency or "none")
        self.read_only = settings.read_only
        self._secrets = [*settings.storage_options.values(), *settings.credentials.values()]
        #: The IAM Credentials API, for signed URLs when the credentials cannot sign locally.
        self.iam_endpoint = signing.IAM_ENDPOINT
        signs = signing.can_sign(self._google.credentials)
        self.capabilities = dataclasses.replace(OBJECT_STORE, presign_get=signs, presign_head=signs)
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refreshing: asyncio.Lock | None = None

    @classmethod
    def from_filesystem(cls, fs: Any, settings: GCSSettings, name: str = NAME) -> GCSStore:
        """The store of ``settings.bucket`` configured by the gcsfs ``GCSFileSystem`` ``fs``."""
        return cls(fs, settings, name)

    def __repr__(self) -> str:
        return f"GCSStore(bucket={self.bucket!r})"

    # -- requests ---------------------------------------------------------------------

    async def _http(self) -> Any:
        """The aiohttp session of the running loop (made on first use in each loop)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            import aiohttp

            self._session = aiohttp.ClientSession(
                **self._session_kwargs,
                connector=aiohttp.TCPConnector(limit=max(100, self.settings.maxconcurrency)),
                timeout=aiohttp.ClientTimeout(total=None, sock_read=300),
            )
            self._loop = loop
            weakref.finalize(self, _close_later, self._session, loop)
            self._refreshing = asyncio.Lock()
        return self._session

    async def _authorization(self, headers: dict[str, str]) -> None:
        """Add the instance's credentials' headers (refreshed in a thread when stale); nothing when anonymous."""
        credentials = self._google.credentials
        if credentials is None:
            return
        if not credentials.valid:
            assert self._refreshing is not None
            async with self._refreshing:  # one refresh at a time in this loop
                await asyncio.to_thread(self._google.maybe_refresh)
        credentials.apply(headers)

    def _url(self, path: str, query: Mapping[str, str | int] | None = None) -> str:
        """An encoded URL of the JSON API (``path`` is already quoted), with ``userProject`` when requester pays."""
        if self._user_project:
            query = {**(query or {}), "userProject": self._user_project}
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
        endpoint: str = "",
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One request; its status, headers and whole body (failures as seam errors).

        ``endpoint``: another API than the store's (IAM); ``userProject`` only goes to the store's.
        """
        import yarl

        if method != "GET" and not endpoint:
            self._writable()
        session = await self._http()
        sent = dict(headers or {})
        if self.settings.useragent:
            sent["User-Agent"] = self.settings.useragent
        if document is not None:
            body = json.dumps(document).encode()
            sent["Content-Type"] = "application/json"
        url = yarl.URL(self._url(path, query) if not endpoint else endpoint + path, encoded=True)
        with mapped(self.bucket, listing, endpoint or self._endpoint, self._secrets):
            await self._authorization(sent)
            async with session.request(method, url, data=body, headers=sent) as response:
                data: bytes = await response.read()
                if response.status >= 300:
                    raise Status(response.status, data)
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

    def _writable(self) -> None:
        if self.read_only:
            raise seam.Denied("AnonymousWrite", "token='anon' is read-only access: writes need credentials")

    def _check_upload(self, data: bytes, answer: bytes) -> None:
        """gcsfs's ``consistency`` check of an upload against the object resource GCS answered."""
        if self._consistency == "none":
            return
        from gcsfs.checkers import get_consistency_checker
        from gcsfs.retry import ChecksumError

        checker = get_consistency_checker(self._consistency)
        checker.update(data)
        try:
            checker.validate_json_response(json.loads(answer))
        except (ChecksumError, ValueError, KeyError, AssertionError) as exc:
            raise seam.StoreError("ChecksumMismatch", f"{self._consistency} check failed: {exc}") from None

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
            _, _, answer = await self._send("POST", path, query, body=data, headers={"Content-Type": CONTENT_TYPE})
            self._check_upload(data, answer)
            return _generation(answer)
        boundary = uuid.uuid4().hex
        metadata = json.dumps({"name": key, "contentType": CONTENT_TYPE})
        head = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n--{boundary}\r\n\r\n"
        body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
        query = {"uploadType": "multipart", "ifGenerationMatch": "0"}
        headers = {"Content-Type": f"multipart/related; boundary={boundary}"}
        try:
            _, _, answer = await self._send("POST", path, query, body=body, headers=headers)
        except seam.Changed as exc:
            raise seam.Exists(exc.code, exc.message) from exc
        self._check_upload(data, answer)
        return _generation(answer)

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
        self._writable()  # refused as a whole, not object by object
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
        """A V4 signed URL, signed locally (a service-account key) or by IAM ``signBlob``; None if neither can."""
        credentials = self._google.credentials
        if not signing.can_sign(credentials):
            return None
        extra = {"userProject": self._user_project} if self._user_project else {}
        target = signing.Target(self._endpoint, self.bucket, key, method, seconds, extra)
        if signing.signs_locally(credentials):
            return signing.signed_url(credentials, target)
        headers: dict[str, str] = {}
        await self._http()
        await self._authorization(headers)  # refreshed: the service account's e-mail is known now
        email = signing.email_of(credentials)
        if not email:
            return None

        async def sign_blob(payload: bytes) -> bytes:
            path, document = signing.sign_blob_request(email, payload)
            answer = await self._json("POST", path, document=document, endpoint=self.iam_endpoint)
            return signing.signature_of(answer)

        return await signing.signed_url_remotely(sign_blob, email, target)


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


def _generation(answer: bytes) -> str:
    """The generation of the object resource GCS answered an upload with ("" if none)."""
    try:
        resource = json.loads(answer) if answer else {}
    except ValueError:
        raise seam.StoreError("InvalidResponse", "an upload answered with a body that is not JSON") from None
    return str(resource.get("generation", "")) if isinstance(resource, dict) else ""
