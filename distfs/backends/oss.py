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

Writers (:class:`MultipartWriter`) keep the design of the s3 driver: equal parts of
``chunksize``, the short tail and the upload id in a small state object under the
driver's hidden directory, bounded bytes per resume, ``cancel()`` leaves nothing.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar

# ossfs and oss2 are imported by the functions that use them, so that
# ``import distfs.backends.oss`` works (and fails clearly) without the extra.
from ..base import Base
from ..driver import FileWriter
from ..errors import DriverError, InvalidParameterError, PathNotFoundError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from ..writers import ChunkedWriter, decode_upload_id, encode_upload_id

__all__ = ["MultipartWriter", "OSSBackend", "OSSSettings", "factory", "settings_from"]

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
    )


def _not_found(exc: BaseException) -> bool:
    import oss2

    return isinstance(exc, oss2.exceptions.NotFound) or (
        isinstance(exc, oss2.exceptions.ServerError) and getattr(exc, "status", 0) == 404
    )


def _filesystem(settings: OSSSettings, call: Callable[..., Any]) -> Any:
    """An ossfs filesystem whose ``info`` is one HEAD (plus one single-key listing for directories)."""
    from ossfs import OSSFileSystem

    class _OSSFileSystem(OSSFileSystem):  # type: ignore[misc]
        def ls(self, path: str, detail: bool = True, **kwargs: Any) -> Any:
            # ossfs 2025.5 reads its listing back from the dircache, so with
            # use_listings_cache=False every ls raises KeyError: keep the cache on and
            # empty it before each listing (never serve a stale one).
            self.dircache.clear()
            return super().ls(path, detail=detail, **kwargs)

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

    def __init__(self, settings: OSSSettings, name: str = NAME) -> None:
        import oss2

        self.settings = settings
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
        super().__init__(name, _filesystem(settings, self.call), root)

    def __repr__(self) -> str:
        return f"OSSBackend(bucket={self.settings.bucket!r}, root={self.root!r})"

    # -- plumbing ---------------------------------------------------------------------

    def name_of(self, key: str) -> str:
        """The object name of a backend key (``bucket/a/b`` -> ``a/b``)."""
        return key.partition("/")[2]

    def call(self, method: str, *arguments: Any, **keywords: Any) -> Any:
        """One oss2 ``Bucket`` call; not-found becomes FileNotFoundError, other failures DriverError."""
        import oss2

        try:
            return getattr(self.bucket, method)(*arguments, **keywords)
        except oss2.exceptions.OssError as exc:
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

    def discard_uploads(self, key: str, state_key: str) -> None:
        self.delete_names(self.abort_uploads(self.name_of(key), state_key))

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
        return MultipartWriter(self, driver, path, append)

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


class MultipartWriter(ChunkedWriter):
    """A resumable writer on one OSS multipart upload (the s3 driver's design).

    Every uploaded part has exactly the upload's chunk size; bytes that do not fill a part
    stay in a buffer. ``close()`` stores that buffer (the tail, under one chunk) in the
    upload's state object with the upload id, the number of parts and the chunk size as
    ``x-oss-meta-`` headers. A resume reads the state object and lists the parts: at most
    one chunk of data again, whatever the upload's size. Parts uploaded after the last
    ``close()`` by a writer that died are ignored and overwritten.
    """

    def __init__(self, backend: OSSBackend, driver: FsspecDriver, path: str, append: bool) -> None:
        super().__init__(path, driver.name, backend.chunksize)
        self._backend = backend
        self._key = backend.name_of(driver._key(path))
        self._state_key = backend.name_of(driver.upload_keys(path)[0] + "/state")
        self._upload = ""
        self._parts: list[tuple[int, str]] = []
        if not append or not self._resume():
            if append:
                self._continue_committed()
            else:
                self._discard_previous()
                self._create()
                self._save()
        self._size = len(self._parts) * self._chunk + len(self._buffer)

    # -- setup ------------------------------------------------------------------------

    def _create(self) -> None:
        result = self._backend.call("init_multipart_upload", self._key, headers=self._backend.settings.object_headers())
        self._upload = result.upload_id

    def _save(self) -> None:
        headers = {
            "x-oss-meta-upload-id": encode_upload_id(self._upload),
            "x-oss-meta-parts": str(len(self._parts)),
            "x-oss-meta-chunksize": str(self._chunk),
            "Content-Type": CONTENT_TYPE,
        }
        self._backend.call("put_object", self._state_key, bytes(self._buffer), headers=headers)

    def _discard_previous(self) -> None:
        try:
            head = self._backend.call("head_object", self._state_key)
        except FileNotFoundError:
            return
        upload = decode_upload_id(head.headers.get("x-oss-meta-upload-id", ""))
        if upload:
            self._backend.abort(self._key, upload)

    def _resume(self) -> bool:
        """Continue the suspended upload; False if there is none."""
        try:
            result = self._backend.call("get_object", self._state_key)
            tail = result.read()
            self._upload = decode_upload_id(result.headers["x-oss-meta-upload-id"])
            count, self._chunk = int(result.headers["x-oss-meta-parts"]), int(result.headers["x-oss-meta-chunksize"])
        except FileNotFoundError:
            return False
        except (KeyError, ValueError):
            raise DriverError(f"upload state of {self._path} is damaged", self._name) from None
        try:
            sizes = self._list_parts()
        except FileNotFoundError:  # the upload was completed or aborted meanwhile
            self._backend.delete_names([self._state_key])
            return False
        for number in range(1, count + 1):
            if number not in sizes or sizes[number][1] != self._chunk:
                raise DriverError(f"upload of {self._path} lost part {number}", self._name)
            self._parts.append((number, sizes[number][0]))
        self._buffer = bytearray(tail)
        return True

    def _list_parts(self) -> dict[int, tuple[str, int]]:
        sizes = {}
        marker = ""
        while True:
            listing = self._backend.call("list_parts", self._key, self._upload, marker=marker, max_parts=1000)
            for part in listing.parts:
                sizes[int(part.part_number)] = (str(part.etag), int(part.size))
            if not listing.is_truncated:
                return sizes
            marker = listing.next_marker

    def _continue_committed(self) -> None:
        """Start an upload holding the committed object (copied server-side, tail read back)."""
        try:
            head = self._backend.call("head_object", self._key)
        except FileNotFoundError:
            raise PathNotFoundError(self._path, self._name) from None
        size = int(head.content_length or 0)
        self._create()
        full = size // self._chunk
        for number in range(1, full + 1):
            first = (number - 1) * self._chunk
            result = self._backend.call(
                "upload_part_copy",
                self._backend.settings.bucket,
                self._key,
                (first, first + self._chunk - 1),
                self._key,
                self._upload,
                number,
            )
            self._parts.append((number, result.etag))
        if size % self._chunk:
            result = self._backend.call(
                "get_object",
                self._key,
                byte_range=(full * self._chunk, size - 1),
                headers={"x-oss-range-behavior": "standard"},
            )
            self._buffer = bytearray(result.read())
        self._save()

    # -- FileWriter -------------------------------------------------------------------

    def _flush_chunk(self, data: bytes | bytearray | memoryview) -> None:
        number = len(self._parts) + 1
        body = data if isinstance(data, bytes) else bytes(data)
        result = self._backend.call("upload_part", self._key, self._upload, number, body)
        self._parts.append((number, result.etag))

    def _suspend(self) -> None:
        self._save()
        self._buffer = bytearray()

    def commit(self) -> None:
        self._require_open()
        from oss2.models import PartInfo

        parts = len(self._parts)
        try:
            if not self._parts:
                self._backend.call(
                    "put_object", self._key, bytes(self._buffer), headers=self._backend.settings.object_headers()
                )
                self._backend.abort(self._key, self._upload)
            else:
                if self._buffer:
                    self._flush_chunk(self._buffer)
                self._backend.call(
                    "complete_multipart_upload",
                    self._key,
                    self._upload,
                    [PartInfo(number, etag) for number, etag in self._parts],
                )
        except BaseException:
            del self._parts[parts:]  # keep the upload suspended at this writer's size: nothing is lost
            self._save()
            self._state = "closed"
            raise
        self._state = "committed"
        self._buffer = bytearray()
        self._backend.delete_names([self._state_key])

    def cancel(self) -> None:
        self._require_open()
        self._backend.abort(self._key, self._upload)
        self._backend.delete_names([self._state_key])
        self._state = "cancelled"
        self._buffer = bytearray()


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``oss`` driver from distribution's oss parameters."""
    return Base(FsspecDriver(OSSBackend(settings_from(parameters))))
