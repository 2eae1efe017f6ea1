"""``oss``: Alibaba Cloud Object Storage Service, on ossfs (listings) and oss2 (the rest).

Parameters are distribution's (``docs/storage-drivers/oss.md`` of the removed Go driver);
see :class:`OSSSettings`. Keys of the driver path ``/a/b`` are ``<rootdirectory>/a/b``
in ``bucket``.

ossfs is used where it is right: directory listings (``ls``) and ``cat_file`` of whole
objects. Everything it gets wrong goes to oss2 directly:

* ranged reads: ossfs passes ``cat_file``'s exclusive end to oss2's inclusive
  ``byte_range``; :meth:`OSSBackend.open_read` sends its own ``Range`` (with
  ``x-oss-range-behavior: standard``) and never trusts a 200 answer to a ranged GET
  (OSS answers an invalid range with the whole object);
* writes: ossfs ``open("wb")`` deletes the object, then appends chunk by chunk (not
  atomic); ``put_content`` is one PutObject, writers are multipart uploads;
* ``info``: fsspec's generic ``info`` lists the whole parent directory; here it is one
  HeadObject, then one single-key listing for directories;
* ``delete`` lists ``key/`` flat, so it never stops at a sibling such as ``key-b`` (Go
  stopped at the first key that was not a subpath) and reports every batch failure or key
  missing from the DeleteMultipleObjects answer as a ``DriverError`` (Go swallowed them).

Writers (:class:`~distfs.writers.PartsWriter` over :class:`OSSPartStore`) keep the s3
design: equal parts of ``chunksize``, the short tail and the upload id in a small state object under the
driver's hidden directory, bounded bytes per resume, ``cancel()`` leaves nothing.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar

# ossfs and oss2 are imported by the functions that use them, so that
# ``import distfs.backends.oss`` works (and fails clearly) without the extra.
from ..base import Base
from ..capabilities import NOT_XML, Capabilities
from ..driver import FileWriter
from ..errors import DriverError, InvalidParameterError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from ..retry import DEFAULT_RETRIES, backoff, retry_parameter
from ..writers import PartsWriter

__all__ = ["OSSBackend", "OSSPartStore", "OSSSettings", "factory", "raw_filesystem", "settings_from"]

logger = logging.getLogger("distfs.oss")

NAME = "oss"
MiB = 1 << 20
GiB = 1 << 30
MIN_CHUNK = 5 * MiB
MAX_CHUNK = 5 * GiB
MAX_SINGLE_PUT = 5 * GiB
COPY_THRESHOLD = 1 * GiB  # CopyObject takes objects up to 1 GB; larger ones are copied in parts
REDIRECT_SECONDS = 20 * 60
DELETE_BATCH = 1000
CONTENT_TYPE = "application/octet-stream"
KNOWN = (
    "accesskeyid",
    "accesskeysecret",
    "region",
    "bucket",
    "endpoint",
    "internal",
    "encrypt",
    "encryptionkeyid",
    "secure",
    "chunksize",
    "rootdirectory",
    "maxretries",
)
SECRET = ("accesskeysecret",)

T = TypeVar("T")


@dataclass(frozen=True)
class OSSSettings:
    """The oss driver's parameters, checked and typed (the secret never shown in ``repr``)."""

    accesskeyid: str
    accesskeysecret: str
    region: str
    bucket: str
    endpoint: str
    internal: bool = False
    encrypt: bool = False
    encryptionkeyid: str = ""
    secure: bool = True
    chunksize: int = 10 * MiB
    rootdirectory: str = ""
    maxretries: int = DEFAULT_RETRIES

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k not in SECRET}
        return f"OSSSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def default_endpoint(self) -> bool:
        return self.endpoint == _default_endpoint(self.bucket, self.region, self.internal)

    def url(self) -> str:
        """The endpoint URL given to oss2, and whether it already names the bucket (a CNAME)."""
        scheme = "https://" if self.secure else "http://"
        if self.default_endpoint:  # oss2 puts the bucket in front of the region endpoint itself
            return scheme + self.region + ("-internal" if self.internal else "") + ".aliyuncs.com"
        return self.endpoint if "://" in self.endpoint else scheme + self.endpoint

    @property
    def is_cname(self) -> bool:
        """A custom endpoint that starts with ``<bucket>.`` already addresses the bucket."""
        host = self.url().split("://", 1)[1]
        return not self.default_endpoint and host.startswith(self.bucket + ".")

    def object_headers(self) -> dict[str, str]:
        """Headers every object write carries: content type and server-side encryption."""
        headers = {"Content-Type": CONTENT_TYPE}
        if self.encrypt:
            headers["x-oss-server-side-encryption"] = "KMS" if self.encryptionkeyid else "AES256"
            if self.encryptionkeyid:
                headers["x-oss-server-side-encryption-key-id"] = self.encryptionkeyid
        return headers


def _default_endpoint(bucket: str, region: str, internal: bool) -> str:
    return f"{bucket}.{region}{'-internal' if internal else ''}.aliyuncs.com"


def settings_from(parameters: Mapping[str, Any]) -> OSSSettings:
    """Check and type the oss parameters the way distribution's driver does."""
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    values = {}
    for key in ("accesskeyid", "accesskeysecret", "region", "bucket"):
        values[key] = params.string(key)
        if not values[key]:
            raise params.error(key, f"No {key} parameter provided")
    internal = params.boolean("internal", False)
    endpoint = params.string("endpoint") or _default_endpoint(values["bucket"], values["region"], internal)
    if "://" in endpoint and not endpoint.startswith(("http://", "https://")):
        raise params.error("endpoint", "must be a host name or an http or https URL")
    return OSSSettings(
        accesskeyid=values["accesskeyid"],
        accesskeysecret=values["accesskeysecret"],
        region=values["region"],
        bucket=values["bucket"],
        endpoint=endpoint.rstrip("/"),
        internal=internal,
        encrypt=params.boolean("encrypt", False),
        encryptionkeyid=params.string("encryptionkeyid"),
        secure=params.boolean("secure", True),
        chunksize=params.integer("chunksize", 10 * MiB, MIN_CHUNK, MAX_CHUNK),
        rootdirectory=params.string("rootdirectory").strip("/"),
        maxretries=retry_parameter(params),
    )


def _not_found(exc: BaseException) -> bool:
    import oss2

    return isinstance(exc, oss2.exceptions.NotFound) or (
        isinstance(exc, oss2.exceptions.ServerError) and getattr(exc, "status", 0) == 404
    )


def _transient(exc: BaseException) -> bool:
    """A failure worth a retry: 5xx and 429 answers, connection failures, broken bodies."""
    import oss2
    import requests
    import urllib3

    seen: BaseException | None = exc
    while seen is not None:  # ossfs re-raises oss2's errors as OSError: look at the cause too
        if isinstance(seen, oss2.exceptions.RequestError):
            return True
        if isinstance(seen, oss2.exceptions.OssError):
            status = int(getattr(seen, "status", 0) or 0)
            return status >= 500 or status == 429
        if isinstance(seen, requests.exceptions.RequestException | urllib3.exceptions.HTTPError | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _filesystem(settings: OSSSettings, call: Callable[..., Any], retrying: Callable[..., Any]) -> Any:
    """An ossfs filesystem whose ``info`` is one HEAD (plus one single-key listing for directories).

    Its listings and whole-object reads are retried like every other call (``retrying``).
    """
    from ossfs import OSSFileSystem

    class _OSSFileSystem(OSSFileSystem):  # type: ignore[misc]
        def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
            # ossfs 2025.5 reads its listing back from the dircache, so with
            # use_listings_cache=False every ls raises KeyError: keep the cache on and
            # empty it before each listing (never serve a stale one).
            self.dircache.clear()
            return retrying("ls", lambda: OSSFileSystem.ls(self, path, detail=detail, **kwargs))

        def cat_file(self, path: str, start: Any = None, end: Any = None, **kwargs: Any) -> Any:
            return retrying("cat_file", lambda: OSSFileSystem.cat_file(self, path, start=start, end=end, **kwargs))

        def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
            bucket, name = self.split_path(path)
            if not name:  # the bucket: ask the store anyway (health checks rely on it)
                call("list_objects", max_keys=1)
                return {"name": bucket, "size": 0, "type": "directory"}
            try:
                head = call("head_object", name)
                return {
                    "name": f"{bucket}/{name}",
                    "size": int(head.content_length or 0),
                    "type": "file",
                    "mtime": head.last_modified,
                }
            except FileNotFoundError:
                pass
            listing = call("list_objects", prefix=name + "/", max_keys=1)
            if listing.object_list or listing.prefix_list:
                return {"name": f"{bucket}/{name}", "size": 0, "type": "directory"}
            raise FileNotFoundError(path)

    return _OSSFileSystem(
        endpoint=settings.url(),
        key=settings.accesskeyid,
        secret=settings.accesskeysecret,
        skip_instance_cache=True,
        default_block_size=settings.chunksize,
    )


class OSSBackend(Backend):
    """ossfs for listings, oss2 for objects, multipart writers, deletes, flat walks, signing."""

    flat_listing = True
    capabilities = Capabilities(
        append="emulated",
        server_side_copy=True,
        presign_get=True,
        presign_head=True,
        listing_consistency="strong",
        refused_characters=NOT_XML,
    )

    def __init__(self, settings: OSSSettings, name: str = NAME) -> None:
        import oss2

        self.settings = settings
        self.retries = settings.maxretries
        self.chunksize = settings.chunksize
        self.copy_threshold = COPY_THRESHOLD
        try:
            self.bucket = oss2.Bucket(
                oss2.Auth(settings.accesskeyid, settings.accesskeysecret),
                settings.url(),
                settings.bucket,
                is_cname=settings.is_cname,
                app_name="distfs",
            )
        except oss2.exceptions.ClientError as exc:  # an invalid bucket name or endpoint
            raise InvalidParameterError(NAME, "bucket", str(getattr(exc, "details", exc))) from None
        root = settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
        super().__init__(name, _filesystem(settings, self.call, self.retrying), root)

    def __repr__(self) -> str:
        return f"OSSBackend(bucket={self.settings.bucket!r}, root={self.root!r})"

    # -- plumbing ---------------------------------------------------------------------

    def name_of(self, key: str) -> str:
        """The object name of a backend key (``bucket/a/b`` -> ``a/b``)."""
        return key.partition("/")[2]

    def call(self, method: str, *arguments: Any, **keywords: Any) -> Any:
        """One oss2 ``Bucket`` call; not-found becomes FileNotFoundError, other failures DriverError.

        Transient failures (:func:`_transient`) are retried up to ``maxretries`` times with
        exponential backoff and jitter (oss2 itself does not retry requests).
        """
        return self.retrying(method, lambda: getattr(self.bucket, method)(*arguments, **keywords))

    def retrying(self, method: str, function: Callable[[], T]) -> T:
        """``function()`` (one or more oss2 calls named ``method``) with retries and error mapping."""
        import oss2

        attempt = 0
        while True:
            try:
                return function()
            except Exception as exc:
                if attempt >= self.settings.maxretries or not _transient(exc):
                    if isinstance(exc, oss2.exceptions.OssError):
                        self._raise(method, exc)
                    if isinstance(exc, DriverError | FileNotFoundError):
                        raise
                    raise DriverError(f"{method}: {type(exc).__name__}: {exc}", self.name) from exc
            time.sleep(backoff(attempt))
            attempt += 1

    def _raise(self, method: str, exc: Any) -> None:
        """Raise the distfs form of the oss2 error ``exc``."""
        if _not_found(exc):
            raise FileNotFoundError(f"{method}: {getattr(exc, 'code', '') or 'not found'}") from exc
        status, code = getattr(exc, "status", "?"), getattr(exc, "code", "")
        message = getattr(exc, "message", "") or str(getattr(exc, "body", ""))[:200]
        raise DriverError(f"{method}: {status} {code} {message}".strip(), self.name) from exc

    # -- primitives -------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        if len(data) > MAX_SINGLE_PUT:
            raise DriverError(f"put_content takes at most 5 GiB; use a writer for {key}", self.name)
        self.call("put_object", self.name_of(key), data, headers=self.settings.object_headers())

    def open_read(self, key: str, offset: int) -> BinaryIO:
        name = self.name_of(key)
        head = self.call("head_object", name)
        size = int(head.content_length or 0)
        if offset >= size:
            return io.BytesIO(b"")
        result = self.call("get_object", name, byte_range=(offset, None), headers={"x-oss-range-behavior": "standard"})
        if offset and result.status != 206:  # OSS answers an invalid range with the whole object
            result.close()
            raise DriverError(f"ranged read of {name} from {offset} was answered with {result.status}", self.name)
        return io.BufferedReader(_Stream(result), buffer_size=min(self.chunksize, MiB))

    def copy(self, source: str, dest: str) -> None:
        source_name, name = self.name_of(source), self.name_of(dest)
        size = int(self.call("head_object", source_name).content_length or 0)
        bucket = self.settings.bucket
        if size <= self.copy_threshold:
            self.call("copy_object", bucket, source_name, name, headers=self.settings.object_headers())
            return
        upload = self.call("init_multipart_upload", name, headers=self.settings.object_headers()).upload_id
        try:
            from oss2.models import PartInfo

            parts = []
            chunk = max(self.chunksize, 32 * MiB)
            for number, first in enumerate(range(0, size, chunk), start=1):
                last = min(first + chunk, size) - 1
                result = self.call("upload_part_copy", bucket, source_name, (first, last), name, upload, number)
                parts.append(PartInfo(number, result.etag))
            self.call("complete_multipart_upload", name, upload, parts)
        except BaseException:
            self.abort(name, upload)
            raise

    def rename(self, source: str, dest: str) -> None:
        source_name = self.name_of(source)
        try:
            self.call("head_object", source_name)
            self.copy(source, dest)
            self.delete_names([source_name])
            return
        except FileNotFoundError:
            pass
        names = [entry.key for page in self.pages(source_name + "/", "") for entry in page]
        if not names:
            raise FileNotFoundError(source)
        for name in names:
            self.copy(source + name[len(source_name) :], dest + name[len(source_name) :])
        self.delete_names(names)

    def remove(self, key: str, is_dir: bool) -> None:
        name = self.name_of(key)
        names = [] if is_dir else [name]
        names += [entry.key for page in self.pages(name + "/", "") for entry in page]
        self.delete_names(names)

    def delete(self, key: str, state_key: str) -> bool:
        name = self.name_of(key)
        names = [entry.key for page in self.pages(name + "/", "") for entry in page]
        with contextlib.suppress(FileNotFoundError):
            self.call("head_object", name)
            names.insert(0, name)
        names += self.abort_uploads(name, state_key)
        self.delete_names(names)
        return any(n == name or n.startswith(name + "/") for n in names)

    def abort_uploads(self, name: str, state_key: str) -> list[str]:
        """Abort the multipart uploads of ``name`` and below; returns their state object names."""
        states = [entry.key for page in self.pages(self.name_of(state_key) + "/", "") for entry in page]
        key_marker, id_marker = "", ""
        while True:
            listing = self.call(
                "list_multipart_uploads",
                prefix=name,
                key_marker=key_marker,
                upload_id_marker=id_marker,
                max_uploads=1000,
            )
            for upload in listing.upload_list:
                if upload.key == name or upload.key.startswith(name + "/"):
                    self.abort(upload.key, upload.upload_id)
            if not listing.is_truncated:
                return states
            key_marker, id_marker = listing.next_key_marker, listing.next_upload_id_marker

    def abort(self, name: str, upload: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # already completed or aborted
            self.call("abort_multipart_upload", name, upload)

    def delete_names(self, names: list[str]) -> None:
        """DeleteMultipleObjects in batches of 1000; any failure or unconfirmed key is a DriverError."""
        failures = []
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            try:
                result = self.call("batch_delete_objects", batch)
            except DriverError as exc:
                failures += [f"{n}: {exc.detail}" for n in batch]
                continue
            deleted = set(result.deleted_keys)
            failures += [f"{n}: not confirmed deleted" for n in batch if n not in deleted]
        if failures:
            raise DriverError("errors:\n" + "\n".join(failures) + "\n", self.name)

    # -- listings ---------------------------------------------------------------------

    def pages(self, prefix: str, marker: str) -> Iterator[list[Any]]:
        """Flat ListObjects pages (1000 keys, no delimiter) of object names below ``prefix``."""
        while True:
            listing = self.call("list_objects", prefix=prefix, marker=marker, max_keys=1000)
            yield list(listing.object_list)
            if not listing.is_truncated:
                return
            marker = listing.next_marker

    def file_pages(self, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        bucket = self.settings.bucket
        after = self.name_of(start_after) if start_after else ""
        for page in self.pages(self.name_of(prefix), after):
            yield [
                {
                    "name": f"{bucket}/{e.key}",
                    "size": e.size,
                    "mtime": datetime.fromtimestamp(e.last_modified, UTC),
                    "type": "file",
                }
                for e in page
                if not e.key.endswith("/")
            ]

    # -- writers and redirects --------------------------------------------------------

    def open_writer(self, driver: FsspecDriver, path: str, append: bool) -> FileWriter:
        name = self.name_of(driver._key(path))
        state = self.name_of(driver.upload_keys(path)[0] + "/state")
        return PartsWriter(
            OSSPartStore(self), name, state, path=path, driver_name=driver.name, chunk=self.chunksize, append=append
        )

    def redirect_url(self, key: str, method: str) -> str | None:
        if method not in ("GET", "HEAD"):
            return None
        url: str = self.bucket.sign_url(method, self.name_of(key), REDIRECT_SECONDS, slash_safe=True)
        return url


class _Stream(io.RawIOBase):
    """A raw stream over an oss2 GetObjectResult (memory bounded by the read size)."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data: bytes = self._result.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._result.close()
        super().close()


class OSSPartStore:
    """The :class:`~distfs.writers.PartStore` of the driver's bucket: OSS multipart uploads via oss2."""

    def __init__(self, backend: OSSBackend) -> None:
        self._backend = backend

    def create_upload(self, name: str) -> str:
        result = self._backend.call("init_multipart_upload", name, headers=self._backend.settings.object_headers())
        return str(result.upload_id)

    def upload_part(self, name: str, upload: str, number: int, data: bytes | bytearray) -> str:
        return str(self._backend.call("upload_part", name, upload, number, bytes(data)).etag)

    def copy_part(self, name: str, upload: str, number: int, first: int, last: int) -> str:
        bucket = self._backend.settings.bucket
        return str(self._backend.call("upload_part_copy", bucket, name, (first, last), name, upload, number).etag)

    def list_parts(self, name: str, upload: str) -> dict[int, tuple[str, int]]:
        sizes = {}
        marker = ""
        while True:
            listing = self._backend.call("list_parts", name, upload, marker=marker, max_parts=1000)
            for part in listing.parts:
                sizes[int(part.part_number)] = (str(part.etag), int(part.size))
            if not listing.is_truncated:
                return sizes
            marker = listing.next_marker

    def complete_upload(self, name: str, upload: str, parts: list[tuple[int, str]]) -> None:
        from oss2.models import PartInfo

        self._backend.call("complete_multipart_upload", name, upload, [PartInfo(n, etag) for n, etag in parts])

    def abort_upload(self, name: str, upload: str) -> None:
        self._backend.abort(name, upload)

    def put_object(self, name: str, data: bytes) -> None:
        self._backend.call("put_object", name, data, headers=self._backend.settings.object_headers())

    def put_state(self, name: str, data: bytes, metadata: dict[str, str]) -> None:
        headers = {f"{_META}{key}": value for key, value in metadata.items()}
        headers["Content-Type"] = CONTENT_TYPE
        self._backend.call("put_object", name, data, headers=headers)

    def get_object(self, name: str, first: int = 0, last: int | None = None) -> tuple[bytes, dict[str, str]]:
        bucket = self._backend.bucket

        def read() -> tuple[bytes, dict[str, str]]:
            if first or last is not None:
                headers = {"x-oss-range-behavior": "standard"}
                result = bucket.get_object(name, byte_range=(first, last), headers=headers)
            else:
                result = bucket.get_object(name)
            return result.read(), _metadata(result.headers)

        return self._backend.retrying("get_object", read)

    def head_object(self, name: str) -> tuple[int, dict[str, str]]:
        head = self._backend.call("head_object", name)
        return int(head.content_length or 0), _metadata(head.headers)

    def delete_objects(self, names: list[str]) -> None:
        self._backend.delete_names(names)


_META = "x-oss-meta-"


def _metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """User metadata from OSS response headers, without the ``x-oss-meta-`` prefix."""
    return {key[len(_META) :].lower(): value for key, value in headers.items() if key.lower().startswith(_META)}


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``oss`` driver from distribution's oss parameters."""
    return Base(FsspecDriver(OSSBackend(settings_from(parameters))))


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    from ossfs import OSSFileSystem

    settings = settings_from(parameters)
    fs = OSSFileSystem(
        endpoint=settings.url(), key=settings.accesskeyid, secret=settings.accesskeysecret, skip_instance_cache=True
    )
    return fs, settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
