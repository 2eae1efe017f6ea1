"""``gcs``: Google Cloud Storage (and its emulators), on gcsfs.

Parameters are distribution's (``docs/content/storage-drivers/gcs.md``) plus ``endpoint``;
see :class:`GCSSettings` for each key and its rule. Keys of the driver path ``/a/b`` are
``<rootdirectory>/a/b`` in ``bucket``.

What this backend does natively instead of through fsspec's generic calls:

* writers are compose-based (:class:`ComposeWriter`): bytes are uploaded as hidden
  *segment* objects below the upload's hidden directory, whose names carry their byte
  range; ``close()`` records the persisted size in the name of an empty marker object, so a
  resume costs one listing and no data, whatever the upload's size. Segments are composed
  server-side (at most 32 sources a call) when they pile up and onto the final name on
  ``commit()``. fsspec's ``"ab"`` mode (which silently overwrites on GCS) is never used;
* ``move`` copies server-side (``rewriteTo``) then deletes the source; a failed copy keeps
  the source;
* ``delete`` lists the object and everything below ``key/`` and deletes them (batches of
  100 on Google, concurrent single deletes on emulators), reporting per-object failures;
* ``walk`` reads one flat listing (1000 keys a request, ``startOffset`` to skip ahead);
* ``redirect_url`` signs V4 URLs for GET and HEAD for 20 minutes when service-account
  credentials are configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

# gcsfs's default class probes a gRPC control API (long timeouts against emulators)
# unless this is set before gcsfs is first imported; gcsfs is imported lazily below.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

from ..base import Base
from ..capabilities import Capabilities
from ..driver import FileWriter
from ..errors import DriverError, InvalidParameterError, PathNotFoundError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from ..retry import DEFAULT_RETRIES, backoff, retry_parameter
from ..writers import ChunkedWriter

__all__ = ["ComposeWriter", "GCSBackend", "GCSSettings", "factory", "raw_filesystem", "settings_from"]

NAME = "gcs"
KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30
CHUNK_UNIT = 256 * KiB
DEFAULT_CHUNK = 16 * MiB
MAX_CHUNK = 5 * GiB
MAX_COMPOSE = 32
LIST_PAGE = 1000
DELETE_BATCH = 100
REDIRECT_SECONDS = 20 * 60
CONTENT_TYPE = "application/octet-stream"
SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
DEFAULT_SIGNING_ENDPOINT = "https://storage.googleapis.com"

KNOWN = (
    "bucket",
    "rootdirectory",
    "chunksize",
    "keyfile",
    "credentials",
    "useragent",
    "maxconcurrency",
    "endpoint",
    "maxretries",
)
SECRET = ("credentials",)


@dataclass(frozen=True)
class GCSSettings:
    """The gcs driver's parameters, checked and typed (credentials never shown in ``repr``).

    ``service_account`` holds the credential fields read from ``keyfile`` or
    ``credentials`` (empty: anonymous with ``endpoint``, else Application Default
    Credentials).
    """

    bucket: str
    rootdirectory: str = ""
    chunksize: int = DEFAULT_CHUNK
    keyfile: str = ""
    useragent: str = ""
    maxconcurrency: int = 50
    endpoint: str = ""
    maxretries: int = DEFAULT_RETRIES
    service_account: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k != "service_account"}
        shown["credentials"] = "<set>" if self.service_account else "<none>"
        return f"GCSSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def settings_from(parameters: Mapping[str, Any]) -> GCSSettings:
    """Check and type the gcs parameters the way distribution's driver does.

    Errors are ``InvalidParameterError`` naming the key; credential contents are never
    quoted.
    """
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    bucket = params.string("bucket")
    if not bucket:
        raise params.error("bucket", "no bucket parameter provided")
    chunksize = params.integer("chunksize", DEFAULT_CHUNK, CHUNK_UNIT, MAX_CHUNK)
    if chunksize % CHUNK_UNIT:
        raise params.error("chunksize", f"chunksize should be a multiple of {CHUNK_UNIT}")
    endpoint = params.string("endpoint").rstrip("/")
    if endpoint:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise params.error("endpoint", "must be an http or https URL")
        if parts.query or parts.fragment:
            raise params.error("endpoint", "must not have a query or a fragment")
    keyfile = params.string("keyfile")
    raw = parameters.get("credentials")
    if keyfile and raw is not None:
        raise InvalidParameterError(NAME, "credentials", "give keyfile or credentials, not both")
    info: dict[str, Any] = {}
    if keyfile:
        info = _read_keyfile(keyfile)
    elif raw is not None:
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
            raise InvalidParameterError(NAME, "credentials", "the credentials were not specified in the correct format")
        info = dict(raw)
        _check_credentials(info, "credentials")
    return GCSSettings(
        bucket=bucket,
        rootdirectory=params.string("rootdirectory").strip("/"),
        chunksize=chunksize,
        keyfile=keyfile,
        useragent=params.string("useragent"),
        maxconcurrency=params.limit("maxconcurrency", default=50, minimum=25),
        endpoint=endpoint,
        maxretries=retry_parameter(params),
        service_account=info,
    )


def _read_keyfile(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as stream:
            text = stream.read()
    except OSError as exc:
        raise InvalidParameterError(NAME, "keyfile", f"cannot read {path}: {exc.strerror}") from None
    try:
        info = json.loads(text)
    except ValueError:
        raise InvalidParameterError(NAME, "keyfile", f"{path} is not a JSON credentials file") from None
    if not isinstance(info, dict):
        raise InvalidParameterError(NAME, "keyfile", f"{path} is not a JSON credentials file")
    _check_credentials(info, "keyfile")
    return info


def _check_credentials(info: dict[str, Any], key: str) -> None:
    """Load ``info`` once to reject it early (the message names the type only, never content)."""
    _credentials(info, key)


def _credentials(info: Mapping[str, Any], key: str = "credentials") -> Any:
    """Google credentials of a ``service_account`` or ``authorized_user`` JSON mapping."""
    import google.auth.exceptions
    from google.oauth2 import credentials as user
    from google.oauth2 import service_account

    kind = info.get("type")
    try:
        if kind == "service_account":
            return service_account.Credentials.from_service_account_info(dict(info), scopes=[SCOPE])  # type: ignore[no-untyped-call]
        if kind == "authorized_user":
            return user.Credentials.from_authorized_user_info(dict(info), scopes=[SCOPE])  # type: ignore[no-untyped-call]
    except (google.auth.exceptions.GoogleAuthError, ValueError, TypeError, KeyError) as exc:
        raise InvalidParameterError(NAME, key, f"not usable credentials ({type(exc).__name__})") from None
    raise InvalidParameterError(NAME, key, "not usable credentials (type must be service_account or authorized_user)")


def _gcsfs_class() -> Any:
    """A GCSFileSystem whose ``info`` reports a directory-marker object as a directory."""
    from gcsfs.core import GCSFileSystem

    class DistfsGCSFileSystem(GCSFileSystem):  # type: ignore[misc]
        #: Retries of one HTTP request (gcsfs's own loop makes 6 attempts, 1 s to 32 s apart).
        distfs_retries = DEFAULT_RETRIES

        async def _request(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            # gcsfs's request without its fixed retry loop, retried ``distfs_retries`` times
            # (5xx, 408, 429, connection failures, truncated bodies; never 404).
            from gcsfs.retry import is_retriable

            request = GCSFileSystem._request.__wrapped__
            attempt = 0
            while True:
                try:
                    return await request(self, method, path, *args, **kwargs)
                except Exception as exc:
                    transient = is_retriable(exc) or isinstance(exc, asyncio.TimeoutError | ConnectionError)
                    if attempt >= self.distfs_retries or not transient:
                        raise
                await asyncio.sleep(backoff(attempt))
                attempt += 1

        async def _info(self, path: str, generation: Any = None, **kwargs: Any) -> dict[str, Any]:
            info: dict[str, Any] = await super()._info(path, generation=generation, **kwargs)
            if str(info.get("name", "")).endswith("/") and info.get("type") != "directory":
                return {"name": path.rstrip("/"), "size": 0, "type": "directory"}
            return info

        async def _ls(self, path: str, detail: bool = False, **kwargs: Any) -> list[Any]:
            # gcsfs turns a marker object "dir/" into an entry for "dir" itself: drop it.
            own = self._strip_protocol(path).rstrip("/")
            entries = await super()._ls(path, detail=True, **kwargs)
            kept = [e for e in entries if not (e.get("type") == "directory" and e["name"].rstrip("/") == own)]
            return kept if detail else [e["name"] for e in kept]

    return DistfsGCSFileSystem


class GCSBackend(Backend):
    """gcsfs with compose writers, rewrite copies, batched deletes, flat walks and signing."""

    flat_listing = True

    def __init__(self, settings: GCSSettings, name: str = NAME) -> None:
        self.settings = settings
        self.retries = settings.maxretries
        self.chunksize = settings.chunksize
        self.read_block = min(settings.chunksize, 16 * MiB)
        self.signer: Any = None
        self._signing_client: Any = None
        token: Any
        if settings.service_account:
            token = _credentials(settings.service_account)
            if hasattr(token, "sign_bytes") and getattr(token, "service_account_email", None):
                self.signer = token
        else:
            token = "anon" if settings.endpoint else None
        fs = _gcsfs_class()(
            token=token,
            endpoint_url=settings.endpoint or None,
            use_listings_cache=False,
            skip_instance_cache=True,
            default_block_size=settings.chunksize,
        )
        fs.distfs_retries = settings.maxretries
        if settings.useragent:
            headers = fs._get_headers
            agent = settings.useragent

            def with_agent(extra: Any, *args: Any, **kwargs: Any) -> Any:
                return headers({**(extra or {}), "User-Agent": agent}, *args, **kwargs)

            fs._get_headers = with_agent
        root = settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
        super().__init__(name, fs, root)

    def __repr__(self) -> str:
        return f"GCSBackend(bucket={self.settings.bucket!r}, root={self.root!r})"

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        """Presigning needs service-account credentials (``credentials`` or ``keyfile``)."""
        signs = self.signer is not None
        return Capabilities(
            append="emulated",
            server_side_copy=True,
            presign_get=signs,
            presign_head=signs,
            listing_consistency="strong",
        )

    # -- plumbing ---------------------------------------------------------------------

    def split(self, key: str) -> tuple[str, str]:
        """Bucket and object name of a backend key (``bucket/a/b``)."""
        bucket, _, name = key.partition("/")
        return bucket, name

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on gcsfs's event loop, with HTTP 404 as FileNotFoundError."""
        from fsspec.asyn import sync
        from gcsfs.retry import HttpError

        try:
            return sync(self.fs.loop, lambda: coroutine)
        except HttpError as exc:
            if getattr(exc, "code", None) == 404:
                raise FileNotFoundError(str(exc)) from exc
            raise

    def call(self, method: str, path: str, *args: str, **kwargs: Any) -> Any:
        """One JSON API call through gcsfs (its retries and its error translation)."""
        return self.run(self.fs._call(method, path, *args, **kwargs))

    def upload(self, key: str, data: bytes | bytearray | memoryview) -> None:
        """Store ``data`` as the object ``key`` (one atomic upload)."""
        self.fs.pipe_file(key, bytes(data), content_type=CONTENT_TYPE)

    def compose(self, sources: list[str], dest: str) -> None:
        """Concatenate up to 32 objects of the bucket onto ``dest`` server-side (atomic)."""
        if not 0 < len(sources) <= MAX_COMPOSE:
            raise ValueError(f"compose takes 1 to {MAX_COMPOSE} sources, not {len(sources)}")
        bucket, name = self.split(dest)
        self.call(
            "POST",
            "b/{}/o/{}/compose",
            bucket,
            name,
            json={
                "sourceObjects": [{"name": self.split(s)[1]} for s in sources],
                "destination": {"name": name, "bucket": bucket, "contentType": CONTENT_TYPE},
            },
        )

    # -- primitives -------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        self.upload(key, data)

    def copy(self, source: str, dest: str) -> None:
        """Server-side ``rewriteTo`` (looped until done); never gcsfs's ``moveTo`` dance."""
        self.run(self.fs._cp_file(source, dest))

    def remove(self, key: str, is_dir: bool) -> None:
        bucket, name = self.split(key)
        keys = [] if is_dir else [key]
        keys += [f"{bucket}/{e['name']}" for page in self.pages(bucket, name + "/") for e in page]
        self.delete_keys(keys)

    def delete(self, key: str, state_key: str) -> bool:
        bucket, name = self.split(key)
        keys = [f"{bucket}/{e['name']}" for page in self.pages(bucket, name + "/") for e in page]
        found = bool(keys)
        try:
            self.call("GET", "b/{}/o/{}", bucket, name, json_out=True)
            keys.insert(0, key)
            found = True
        except FileNotFoundError:
            pass
        _, state_name = self.split(state_key)
        keys += [f"{bucket}/{e['name']}" for page in self.pages(bucket, state_name + "/") for e in page]
        self.delete_keys(keys)
        return found

    def delete_keys(self, keys: list[str]) -> None:
        """Delete objects (missing ones are fine); per-object failures raise one DriverError."""
        if not keys:
            return
        results: list[Any] = self.run(self._delete_all(keys))
        failures = [
            f"{key}: {result}"
            for key, result in zip(keys, results, strict=True)
            if isinstance(result, BaseException) and not isinstance(result, FileNotFoundError)
        ]
        if failures:
            raise DriverError("errors:\n" + "\n".join(failures) + "\n", NAME)

    async def _delete_all(self, keys: list[str]) -> list[Any]:
        """One result per key: None or the exception (Google: batch requests of 100)."""
        if self.fs.on_google:
            results: list[Any] = []
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                try:
                    out = await self.fs._rm_files(batch)
                except Exception as exc:  # the whole batch request failed
                    out = [exc] * len(batch)
                results += [r if isinstance(r, BaseException) else None for r in out]
            return results
        slots = asyncio.Semaphore(16)

        async def one(key: str) -> Any:
            async with slots:
                await self.fs._rm_file(key)

        return list(await asyncio.gather(*(one(k) for k in keys), return_exceptions=True))

    # -- listings ---------------------------------------------------------------------

    def pages(self, bucket: str, prefix: str, start_offset: str = "") -> Iterator[list[dict[str, Any]]]:
        """Pages (up to 1000) of raw object resources named ``prefix...``, from ``start_offset`` (inclusive)."""
        arguments: dict[str, Any] = {"prefix": prefix, "maxResults": LIST_PAGE}
        if start_offset:
            arguments["startOffset"] = start_offset
        while True:
            listing = self.call("GET", "b/{}/o", bucket, json_out=True, **arguments)
            yield list(listing.get("items", []))
            token = listing.get("nextPageToken")
            if not token:
                return
            arguments["pageToken"] = token

    def file_pages(self, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        bucket, name = self.split(prefix)
        _, after = self.split(start_after) if start_after else ("", "")
        for page in self.pages(bucket, name, after):
            yield [
                {
                    "name": f"{bucket}/{e['name']}",
                    "size": int(e.get("size", 0)),
                    "updated": e.get("updated"),
                    "type": "file",
                }
                for e in page
                if not e["name"].endswith("/") and e["name"] != after  # startOffset is inclusive
            ]

    # -- writers and redirects --------------------------------------------------------

    def open_writer(self, driver: FsspecDriver, path: str, append: bool) -> FileWriter:
        return ComposeWriter(self, driver, path, append)

    def redirect_url(self, key: str, method: str) -> str | None:
        if method not in ("GET", "HEAD") or self.signer is None:
            return None
        from google.cloud.storage import Client

        if self._signing_client is None:
            self._signing_client = Client.create_anonymous_client()  # signs locally, sends nothing
        bucket, name = self.split(key)
        blob = self._signing_client.bucket(bucket).blob(name)
        url: str = blob.generate_signed_url(
            version="v4",
            expiration=timedelta(seconds=REDIRECT_SECONDS),
            method=method,
            credentials=self.signer,
            api_access_endpoint=self.settings.endpoint or DEFAULT_SIGNING_ENDPOINT,
        )
        return url


def _segment(start: int, end: int) -> str:
    return f"seg-{start:020d}-{end:020d}"


def _marker(size: int) -> str:
    return f"closed-{size:020d}"


class ComposeWriter(ChunkedWriter):
    """A resumable writer on compose: segments plus a size marker in a hidden directory.

    The upload of ``path`` lives below ``driver.upload_keys(path)[0]`` (``U``):

    * ``U/seg-<start>-<end>``: a segment holding bytes ``[start, end)`` of the upload
      (20-digit offsets, so names sort by start). A segment is uploaded whenever the
      buffer reaches ``chunksize`` and on ``close()``; memory stays under one chunk.
    * ``U/closed-<size>``: an empty marker; its name is the size as of the last
      ``close()``.

    A resume lists ``U`` (one request, no data) and follows the chain of segments from 0
    to the largest marker, taking the longest segment at each step; segments off that
    chain (left by a writer that died after its last ``close()``, or by an interrupted
    compose) are deleted, so the size is always that of the last ``close()``.
    ``close()`` composes the segments into one once there are 32 (server-side, no data
    sent again); ``commit()`` composes them (in rounds of at most 32) onto the final
    name, atomically, then deletes ``U``. ``cancel()`` deletes ``U``.
    """

    def __init__(self, backend: GCSBackend, driver: FsspecDriver, path: str, append: bool) -> None:
        super().__init__(path, driver.name, backend.chunksize)
        self._backend = backend
        self._key = driver._key(path)
        self._bucket, _ = backend.split(self._key)
        self._dir = driver.upload_keys(path)[0]
        self._segments: list[tuple[int, int]] = []
        self._markers: list[int] = []
        self._persisted = 0
        listing = self._list()
        if append and listing is not None:
            self._resume(listing)
        elif append:
            self._continue_committed()
        elif listing:
            backend.delete_keys([self._dir + "/" + n for n in listing])
        self._size = self._persisted

    # -- setup ------------------------------------------------------------------------

    def _list(self) -> list[str] | None:
        """Names in the upload directory, or None if there is no upload."""
        _, prefix = self._backend.split(self._dir + "/")
        names = [e["name"][len(prefix) :] for page in self._backend.pages(self._bucket, prefix) for e in page]
        return names or None

    def _resume(self, names: list[str]) -> None:
        ranges: dict[int, list[int]] = {}
        closed = 0
        try:
            for name in names:
                kind, _, rest = name.partition("-")
                if kind == "seg":
                    start, end = (int(n) for n in rest.split("-"))
                    ranges.setdefault(start, []).append(end)
                elif kind == "closed":
                    closed = max(closed, int(rest))
                    self._markers.append(int(rest))
        except ValueError:
            raise DriverError(f"upload state of {self._path} is damaged", self._name) from None
        position = 0
        while position < closed:
            ends = [e for e in ranges.get(position, []) if position < e <= closed]
            if not ends:
                raise DriverError(f"upload of {self._path} lost the bytes from {position}", self._name)
            self._segments.append((position, max(ends)))
            position = max(ends)
        chain = {_segment(s, e) for s, e in self._segments}
        stale = [n for n in names if n.startswith("seg-") and n not in chain]
        stale += [_marker(m) for m in self._markers if m != closed]
        self._markers = [m for m in self._markers if m == closed]
        self._backend.delete_keys([self._dir + "/" + n for n in stale])
        self._persisted = closed

    def _continue_committed(self) -> None:
        """Start an upload holding the committed object (composed server-side, no data read)."""
        try:
            info = self._backend.fs.info(self._key)
        except FileNotFoundError:
            raise PathNotFoundError(self._path, self._name) from None
        if info.get("type") != "file":
            raise PathNotFoundError(self._path, self._name)
        size = int(info.get("size") or 0)
        if size:
            self._backend.compose([self._key], self._dir + "/" + _segment(0, size))
            self._segments.append((0, size))
            self._persisted = size
            self._save_marker()

    # -- state ------------------------------------------------------------------------

    def _flush_chunk(self, data: bytes | bytearray | memoryview) -> None:
        start = self._segments[-1][1] if self._segments else 0
        end = start + len(data)
        self._backend.upload(self._dir + "/" + _segment(start, end), data)
        self._segments.append((start, end))

    def _save_marker(self) -> None:
        """Record the persisted size (the new marker first, then drop the old ones)."""
        size = self._segments[-1][1] if self._segments else 0
        if self._markers == [size]:
            return
        self._backend.upload(self._dir + "/" + _marker(size), b"")
        old = [self._dir + "/" + _marker(m) for m in self._markers if m != size]
        self._markers = [size]
        self._backend.delete_keys(old)

    def _compact(self, limit: int) -> None:
        """Compose runs of segments (32 a call) until at most ``limit`` remain; sources deleted after."""
        while len(self._segments) > limit:
            merged: list[tuple[int, int]] = []
            dropped: list[str] = []
            for first in range(0, len(self._segments), MAX_COMPOSE):
                run = self._segments[first : first + MAX_COMPOSE]
                if len(run) == 1:
                    merged += run
                    continue
                names = [self._dir + "/" + _segment(s, e) for s, e in run]
                whole = (run[0][0], run[-1][1])
                self._backend.compose(names, self._dir + "/" + _segment(*whole))
                merged.append(whole)
                dropped += names
            self._segments = merged
            self._backend.delete_keys(dropped)

    def _all_names(self) -> list[str]:
        names = [self._dir + "/" + _segment(s, e) for s, e in self._segments]
        return names + [self._dir + "/" + _marker(m) for m in self._markers]

    # -- FileWriter -------------------------------------------------------------------

    def _suspend(self) -> None:
        if self._buffer:
            self._flush_chunk(self._buffer)
            self._buffer = bytearray()
        self._save_marker()
        if len(self._segments) >= MAX_COMPOSE:
            self._compact(1)

    def commit(self) -> None:
        self._require_open()
        try:
            if not self._segments:
                self._backend.upload(self._key, self._buffer)
            else:
                if self._buffer:
                    self._flush_chunk(self._buffer)
                self._buffer = bytearray()
                self._compact(MAX_COMPOSE)
                self._backend.compose([self._dir + "/" + _segment(s, e) for s, e in self._segments], self._key)
        except BaseException:
            self._state = "closed"  # keep the upload suspended at this writer's size
            with contextlib.suppress(Exception):
                if self._buffer:
                    self._flush_chunk(self._buffer)
                self._save_marker()
            raise
        self._state = "committed"
        self._buffer = bytearray()
        self._backend.delete_keys(self._all_names())

    def cancel(self) -> None:
        self._require_open()
        self._state = "cancelled"
        self._buffer = bytearray()
        names = self._list() or []
        self._backend.delete_keys([self._dir + "/" + n for n in names])


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    from gcsfs import GCSFileSystem

    settings = settings_from(parameters)
    token: Any = _credentials(settings.service_account) if settings.service_account else None
    if token is None and settings.endpoint:
        token = "anon"
    fs = GCSFileSystem(token=token, endpoint_url=settings.endpoint or None, skip_instance_cache=True)
    return fs, settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build a ``gcs`` driver from distribution's gcs parameters (plus ``endpoint``)."""
    settings = settings_from(parameters)
    return Base(FsspecDriver(GCSBackend(settings)), max_concurrency=settings.maxconcurrency)
