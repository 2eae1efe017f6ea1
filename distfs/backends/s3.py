"""``s3`` (alias ``s3aws``): Amazon S3 and S3-compatible stores, on s3fs.

Parameters are distribution's (``docs/content/storage-drivers/s3.md``); see
:class:`S3Settings` for each key and its rule. Keys of the driver path ``/a/b`` are
``<rootdirectory>/a/b`` in ``bucket``.

What this backend does natively instead of through fsspec's generic calls:

* writers are S3 multipart uploads (:class:`~distfs.writers.PartsWriter` over
  :class:`S3PartStore`): every part but the last
  has exactly ``chunksize`` bytes, ``close()`` keeps the upload open and stores the short
  tail (under ``chunksize``) with the upload's id in a small state object below the
  driver's hidden directory, so a resume sends at most the old tail again, never the
  whole object (Go re-uploaded or server-copied everything after a short part);
* ``move`` copies server-side (one ``CopyObject`` up to ``multipartcopythresholdsize``,
  parallel ``UploadPartCopy`` above) and deletes the source only after the copy;
* ``delete`` lists the object and everything below ``key/``, deletes in batches of 1000
  and reports per-key failures, and aborts multipart uploads below the path;
* ``walk`` reads one flat listing (1000 keys a request) and makes up the directories;
* ``reader`` takes the size, the ETag and the first block from one GET and pins later
  blocks to that ETag, so a reader never mixes two versions of a replaced object;
* ``redirect_url`` presigns GET and HEAD for 20 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

# s3fs and botocore are imported by the functions that build a driver, so that
# ``import distfs.backends.s3`` works (and fails clearly) without the extra.
from ..base import Base
from ..capabilities import NOT_XML, Capabilities
from ..driver import FileWriter
from ..errors import DriverError, InvalidParameterError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from ..retry import DEFAULT_RETRIES, backoff, retry_parameter
from ..writers import PartsWriter

__all__ = ["S3Backend", "S3PartStore", "S3Settings", "factory", "raw_filesystem", "settings_from"]

logger = logging.getLogger("distfs.s3")


class _RedactTokens(logging.Filter):
    """Blanks S3 session tokens out of botocore's DEBUG records (botocore logs request headers)."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.tokens:
            text = record.getMessage()
            if any(token in text for token in self.tokens):
                for token in self.tokens:
                    text = text.replace(token, "***")
                record.msg, record.args = text, None
        return True


_REDACT_TOKENS = _RedactTokens()
for _name in ("botocore.auth", "botocore.endpoint", "botocore.httpsession", "botocore.parsers"):
    logging.getLogger(_name).addFilter(_REDACT_TOKENS)

NAME = "s3"
MiB = 1 << 20
GiB = 1 << 30
MIN_CHUNK = 5 * MiB
MAX_CHUNK = 5 * GiB
MAX_SINGLE_PUT = 5 * GiB
REDIRECT_SECONDS = 20 * 60
DELETE_BATCH = 1000
CONTENT_TYPE = "application/octet-stream"

STORAGE_CLASSES = (
    "NONE",
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "OUTPOSTS",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
)
OBJECT_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
LOG_LEVELS = (
    "off",
    "debug",
    "debugwithsigning",
    "debugwithhttpbody",
    "debugwithrequestretries",
    "debugwithrequesterrors",
    "debugwitheventstreambody",
)
KNOWN = (
    "accesskey",
    "secretkey",
    "sessiontoken",
    "region",
    "regionendpoint",
    "forcepathstyle",
    "bucket",
    "encrypt",
    "keyid",
    "secure",
    "skipverify",
    "v4auth",
    "chunksize",
    "multipartcopychunksize",
    "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",
    "rootdirectory",
    "storageclass",
    "useragent",
    "objectacl",
    "usedualstack",
    "accelerate",
    "usefipsendpoint",
    "loglevel",
    "redirectendpoint",
    "maxretries",
)
SECRET = ("accesskey", "secretkey", "sessiontoken")


@dataclass(frozen=True)
class S3Settings:
    """The s3 driver's parameters, checked and typed (secrets never shown in ``repr``)."""

    bucket: str
    region: str
    endpoint: str
    rootdirectory: str = ""
    accesskey: str = ""
    secretkey: str = ""
    sessiontoken: str = ""
    forcepathstyle: bool = False
    encrypt: bool = False
    keyid: str = ""
    secure: bool = True
    skipverify: bool = False
    v4auth: bool = True
    chunksize: int = 10 * MiB
    multipartcopychunksize: int = 32 * MiB
    multipartcopymaxconcurrency: int = 100
    multipartcopythresholdsize: int = 32 * MiB
    storageclass: str = "STANDARD"
    useragent: str = ""
    objectacl: str = "private"
    usedualstack: bool = False
    accelerate: bool = False
    usefipsendpoint: bool = False
    loglevel: str = "off"
    redirectendpoint: str = ""
    maxretries: int = DEFAULT_RETRIES

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k not in SECRET}
        return f"S3Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    def object_arguments(self) -> dict[str, str]:
        """Arguments every object write carries: ACL, storage class, encryption."""
        arguments = {"ACL": self.objectacl}
        if self.storageclass != "NONE":
            arguments["StorageClass"] = self.storageclass
        if self.encrypt:
            arguments["ServerSideEncryption"] = "aws:kms" if self.keyid else "AES256"
            if self.keyid:
                arguments["SSEKMSKeyId"] = self.keyid
        return arguments


def settings_from(parameters: Mapping[str, Any]) -> S3Settings:
    """Check and type the s3 parameters the way distribution's driver does."""
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    bucket = params.string("bucket")
    if not bucket:
        raise params.error("bucket", "no bucket parameter provided")
    accesskey, secretkey = params.string("accesskey"), params.string("secretkey")
    if bool(accesskey) != bool(secretkey):
        key = "secretkey" if accesskey else "accesskey"
        raise InvalidParameterError(NAME, key, "accesskey and secretkey must be given together")
    secure = params.boolean("secure", True)
    endpoint = params.string("regionendpoint")
    if endpoint and "://" not in endpoint:
        endpoint = ("https://" if secure else "http://") + endpoint
    if endpoint:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise params.error("regionendpoint", "must be an http or https URL")
    region = params.string("region")
    if not region and not endpoint:
        raise params.error("region", "no region parameter provided")
    if region and not endpoint and region not in _aws_regions():
        raise params.error("region", "invalid region provided")
    v4auth = params.boolean("v4auth", True)
    if not v4auth and (not endpoint or _is_aws(endpoint)):
        raise params.error("v4auth", "on Amazon S3 this storage driver can only be used with v4 authentication")
    storageclass = params.string("storageclass", "STANDARD").upper()
    if storageclass not in STORAGE_CLASSES:
        raise params.error("storageclass", f"must be one of {', '.join(STORAGE_CLASSES)}")
    objectacl = params.string("objectacl", "private")
    if objectacl not in OBJECT_ACLS:
        raise params.error("objectacl", f"must be one of {', '.join(OBJECT_ACLS)}")
    loglevel = _loglevel(params, parameters.get("loglevel"))
    redirect = params.string("redirectendpoint")
    if redirect:
        parts = urllib.parse.urlsplit(redirect)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise params.error("redirectendpoint", "must be a URL with a scheme and a host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise params.error("redirectendpoint", "must not have a path, a query or a fragment")
    return S3Settings(
        bucket=bucket,
        region=region or "us-east-1",
        endpoint=endpoint,
        rootdirectory=params.string("rootdirectory").strip("/"),
        accesskey=accesskey,
        secretkey=secretkey,
        sessiontoken=params.string("sessiontoken"),
        forcepathstyle=params.boolean("forcepathstyle", False),
        encrypt=params.boolean("encrypt", False),
        keyid=params.string("keyid"),
        secure=secure,
        skipverify=params.boolean("skipverify", False),
        v4auth=v4auth,
        chunksize=params.integer("chunksize", 10 * MiB, MIN_CHUNK, MAX_CHUNK),
        multipartcopychunksize=params.integer("multipartcopychunksize", 32 * MiB, MIN_CHUNK, MAX_CHUNK),
        multipartcopymaxconcurrency=params.integer("multipartcopymaxconcurrency", 100, 1),
        multipartcopythresholdsize=params.integer("multipartcopythresholdsize", 32 * MiB, 0, MAX_CHUNK),
        storageclass=storageclass,
        useragent=params.string("useragent"),
        objectacl=objectacl,
        usedualstack=params.boolean("usedualstack", False),
        accelerate=params.boolean("accelerate", False),
        usefipsendpoint=params.boolean("usefipsendpoint", False),
        loglevel=loglevel,
        redirectendpoint=redirect.rstrip("/"),
        maxretries=retry_parameter(params),
    )


def _loglevel(params: Parameters, value: object) -> str:
    if value is None or value is False:
        return "off"
    text = params.string("loglevel").lower()
    if text not in LOG_LEVELS:
        raise params.error("loglevel", f"must be one of {', '.join(LOG_LEVELS)}")
    return text


def _aws_regions() -> set[str]:
    import botocore.session

    session = botocore.session.get_session()
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition_name=partition)
    }


def _is_aws(endpoint: str) -> bool:
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


def _client_config(settings: S3Settings) -> dict[str, Any]:
    s3: dict[str, Any] = {}
    if settings.forcepathstyle:
        s3["addressing_style"] = "path"
    if settings.usedualstack:
        s3["use_dualstack_endpoint"] = True
    if settings.accelerate:
        s3["use_accelerate_endpoint"] = True
    config: dict[str, Any] = {"s3": s3}
    if settings.usefipsendpoint:
        config["use_fips_endpoint"] = True
    config["signature_version"] = "s3v4" if settings.v4auth else "s3"
    if settings.useragent:
        config["user_agent_extra"] = settings.useragent
    # botocore retries 5xx, throttling (SlowDown) and connection errors with exponential backoff
    config["retries"] = {"mode": "standard", "total_max_attempts": settings.maxretries + 1}
    return config


class S3Backend(Backend):
    """s3fs with native multipart writers, copies, deletes, flat walks and presigning."""

    flat_listing = True
    capabilities = Capabilities(
        append="emulated",
        server_side_copy=True,
        presign_get=True,
        presign_head=True,
        listing_consistency="strong",
        refused_characters=NOT_XML,
    )

    def __init__(self, settings: S3Settings, name: str = NAME) -> None:
        from s3fs import S3FileSystem

        if settings.sessiontoken:
            _REDACT_TOKENS.tokens.add(settings.sessiontoken)
        fs = S3FileSystem(
            key=settings.accesskey or None,
            secret=settings.secretkey or None,
            token=settings.sessiontoken or None,
            endpoint_url=settings.endpoint or None,
            use_ssl=settings.secure,
            client_kwargs={"region_name": settings.region, "verify": not settings.skipverify},
            config_kwargs=_client_config(settings),
            s3_additional_kwargs=settings.object_arguments(),
            use_listings_cache=False,
            skip_instance_cache=True,
            default_block_size=settings.chunksize,
        )
        root = settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
        # s3fs retries what botocore hands back: truncated bodies, SlowDown (attempts, not retries)
        fs.retries = settings.maxretries + 1
        super().__init__(name, fs, root)
        self.settings = settings
        self.retries = settings.maxretries
        self.chunksize = settings.chunksize
        self.read_block = min(settings.chunksize, 16 * MiB)
        self._presigner: Any = None
        if settings.loglevel != "off":
            fs.s3.meta.events.register("after-call.s3", _log_call)

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.settings.bucket!r}, root={self.root!r})"

    # -- plumbing ---------------------------------------------------------------------

    def split(self, key: str) -> tuple[str, str]:
        """Bucket and object key of a backend key (``bucket/a/b``)."""
        bucket, _, name = key.partition("/")
        return bucket, name

    def call(self, method: str, **arguments: Any) -> Any:
        """One S3 API call through s3fs (its retries and its error translation)."""
        return self.fs.call_s3(method, **arguments)

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on s3fs's event loop."""
        from fsspec.asyn import sync

        return sync(self.fs.loop, lambda: coroutine)

    async def _get_object(self, **arguments: Any) -> tuple[Any, bytes]:
        """One GetObject and its whole body; a body broken on the way (s3fs's retryable
        errors, which its own retries never see here) is fetched again, ``maxretries`` times."""
        from s3fs.core import S3_RETRYABLE_ERRORS

        attempt = 0
        while True:
            response = await self.fs._call_s3("get_object", **arguments)
            try:
                async with response["Body"] as body:
                    return response, await body.read()
            except S3_RETRYABLE_ERRORS:
                if attempt >= self.settings.maxretries:
                    raise
            await asyncio.sleep(backoff(attempt))
            attempt += 1

    async def _get(self, bucket: str, key: str, byte_range: str = "") -> tuple[bytes, dict[str, str]]:
        arguments = {"Range": byte_range} if byte_range else {}
        response, data = await self._get_object(Bucket=bucket, Key=key, **arguments)
        return data, dict(response.get("Metadata") or {})

    def get(self, bucket: str, key: str, byte_range: str = "") -> tuple[bytes, dict[str, str]]:
        """Content and user metadata of one object (FileNotFoundError if missing)."""
        result: tuple[bytes, dict[str, str]] = self.run(self._get(bucket, key, byte_range))
        return result

    # -- primitives -------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        if len(data) > MAX_SINGLE_PUT:
            raise DriverError(f"put_content takes at most 5 GiB; use a writer for {key}", NAME)
        bucket, name = self.split(key)
        self.call("put_object", Bucket=bucket, Key=name, Body=data, ContentType=CONTENT_TYPE)

    def open_read(self, key: str, offset: int) -> BinaryIO:
        """A read-ahead stream of one version of the object.

        The first block comes from one ranged GET, whose answer also gives the object's
        size and ETag: size and bytes always belong to the same version (a HEAD followed
        by GETs could mix two versions of an object replaced in between). Later blocks
        carry ``If-Match: <ETag>``; if the object was replaced meanwhile the read fails
        with a ``DriverError`` (typed, so a resuming reader does not go on in the new
        version) instead of returning bytes of two versions.
        """
        from s3fs.utils import FileExpired

        bucket, name = self.split(key)
        try:
            data, size, etag = self.run(self._get_range(bucket, name, offset, offset + self.read_block - 1))
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            return super().open_read(key, offset)  # InvalidRange: at or past the end, nothing to mix
        stream: Any = self.fs.open(key, "rb", block_size=self.read_block, cache_type="readahead", size=size)
        stream.read_kw = {**stream.read_kw, "IfMatch": etag}
        cache = stream.cache
        cache.cache, cache.start, cache.end = data, offset, offset + len(data)
        stream.seek(offset)
        fetch = cache.fetcher

        def pinned(start: int, end: int) -> bytes:
            try:
                block: bytes = fetch(start, end)
            except FileExpired as exc:
                raise DriverError(f"object {key} changed while it was read", self.name) from exc
            return block

        cache.fetcher = pinned
        result: BinaryIO = stream
        return result

    async def _get_range(self, bucket: str, key: str, first: int, last: int) -> tuple[bytes, int, str]:
        """Bytes ``first..last`` of an object, its full size and its ETag, from one GET."""
        response, data = await self._get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
        size = int(str(response["ContentRange"]).rpartition("/")[2])
        return data, size, str(response["ETag"])

    def copy(self, source: str, dest: str) -> None:
        source_bucket, source_name = self.split(source)
        bucket, name = self.split(dest)
        size = int(self.call("head_object", Bucket=source_bucket, Key=source_name)["ContentLength"])
        copy_source = {"Bucket": source_bucket, "Key": source_name}
        if size <= self.settings.multipartcopythresholdsize:
            self.call("copy_object", Bucket=bucket, Key=name, CopySource=copy_source, ContentType=CONTENT_TYPE)
            return
        upload = self.call("create_multipart_upload", Bucket=bucket, Key=name, ContentType=CONTENT_TYPE)["UploadId"]
        try:
            parts = self.run(self._copy_parts(bucket, name, upload, copy_source, size))
            self.call(
                "complete_multipart_upload",
                Bucket=bucket,
                Key=name,
                UploadId=upload,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self.call("abort_multipart_upload", Bucket=bucket, Key=name, UploadId=upload)
            raise

    async def _copy_parts(
        self, bucket: str, name: str, upload: str, source: dict[str, str], size: int
    ) -> list[dict[str, Any]]:
        chunk = self.settings.multipartcopychunksize
        slots = asyncio.Semaphore(self.settings.multipartcopymaxconcurrency)

        async def copy_part(number: int) -> dict[str, Any]:
            first = (number - 1) * chunk
            last = min(first + chunk, size) - 1
            async with slots:
                response = await self.fs._call_s3(
                    "upload_part_copy",
                    Bucket=bucket,
                    Key=name,
                    UploadId=upload,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={first}-{last}",
                )
            return {"PartNumber": number, "ETag": response["CopyPartResult"]["ETag"]}

        count = -(-size // chunk)
        return list(await asyncio.gather(*(copy_part(n) for n in range(1, count + 1))))

    def remove(self, key: str, is_dir: bool) -> None:
        bucket, name = self.split(key)
        keys = [name] if not is_dir else []
        keys += [entry["Key"] for page in self._pages(bucket, name + "/", "") for entry in page]
        self._delete_keys(bucket, keys)

    def delete(self, key: str, state_key: str) -> bool:
        bucket, name = self.split(key)
        keys = [entry["Key"] for page in self._pages(bucket, name + "/", "") for entry in page]
        try:
            self.call("head_object", Bucket=bucket, Key=name)
            keys.insert(0, name)
        except FileNotFoundError:
            pass
        keys += self._abort_uploads(bucket, name, state_key)
        self._delete_keys(bucket, keys)
        return any(k == name or k.startswith(name + "/") for k in keys)

    def _abort_uploads(self, bucket: str, name: str, state_key: str) -> list[str]:
        """Abort the multipart uploads of ``name`` and below; returns their state keys."""
        _, state_name = self.split(state_key)
        states = [entry["Key"] for page in self._pages(bucket, state_name + "/", "") for entry in page]
        arguments: dict[str, Any] = {"Bucket": bucket, "Prefix": name}
        while True:
            listing = self.call("list_multipart_uploads", **arguments)
            for upload in listing.get("Uploads", []):
                if upload["Key"] == name or upload["Key"].startswith(name + "/"):
                    self._abort(bucket, upload["Key"], upload["UploadId"])
            if not listing.get("IsTruncated"):
                return states
            arguments["KeyMarker"] = listing.get("NextKeyMarker", "")
            arguments["UploadIdMarker"] = listing.get("NextUploadIdMarker", "")

    def _abort(self, bucket: str, name: str, upload: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # already completed or aborted
            self.call("abort_multipart_upload", Bucket=bucket, Key=name, UploadId=upload)

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        failures = []
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": k} for k in keys[start : start + DELETE_BATCH]]
            response = self.call("delete_objects", Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            failures += [
                f"{e.get('Key')}: {e.get('Code')} {e.get('Message', '')}".strip() for e in response.get("Errors", [])
            ]
        if failures:
            raise DriverError("errors:\n" + "\n".join(failures) + "\n", NAME)

    # -- listings ---------------------------------------------------------------------

    def _pages(self, bucket: str, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        arguments: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if start_after:
            arguments["StartAfter"] = start_after
        while True:
            listing = self.call("list_objects_v2", **arguments)
            yield list(listing.get("Contents", []))
            if not listing.get("IsTruncated"):
                return
            arguments["ContinuationToken"] = listing["NextContinuationToken"]

    def file_pages(self, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        bucket, name = self.split(prefix)
        _, after = self.split(start_after) if start_after else ("", "")
        for page in self._pages(bucket, name, after):
            yield [
                {"name": f"{bucket}/{e['Key']}", "size": e["Size"], "LastModified": e["LastModified"], "type": "file"}
                for e in page
                if not e["Key"].endswith("/")
            ]

    # -- writers and redirects --------------------------------------------------------

    def open_writer(self, driver: FsspecDriver, path: str, append: bool) -> FileWriter:
        bucket, name = self.split(driver._key(path))
        _, state = self.split(driver.upload_keys(path)[0] + "/state")
        store = S3PartStore(self, bucket)
        return PartsWriter(store, name, state, path=path, driver_name=driver.name, chunk=self.chunksize, append=append)

    def redirect_url(self, key: str, method: str) -> str | None:
        client_method = {"GET": "get_object", "HEAD": "head_object"}.get(method)
        if client_method is None:
            return None
        bucket, name = self.split(key)
        url: str = self._presign_client().generate_presigned_url(
            client_method, Params={"Bucket": bucket, "Key": name}, ExpiresIn=REDIRECT_SECONDS
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
                config=botocore.config.Config(**_client_config(settings)),
            )
        return self._presigner


def _log_call(http_response: Any = None, model: Any = None, **_: Any) -> None:
    """Log one S3 call (operation and status only: never headers, signatures or bodies)."""
    status = getattr(http_response, "status_code", "?")
    logger.debug("s3 %s -> %s", getattr(model, "name", "?"), status)


class S3PartStore:
    """The :class:`~distfs.writers.PartStore` of one bucket: multipart uploads through s3fs."""

    def __init__(self, backend: S3Backend, bucket: str) -> None:
        self._backend = backend
        self._bucket = bucket

    def create_upload(self, name: str) -> str:
        response = self._backend.call(
            "create_multipart_upload", Bucket=self._bucket, Key=name, ContentType=CONTENT_TYPE
        )
        return str(response["UploadId"])

    def upload_part(self, name: str, upload: str, number: int, data: bytes | bytearray) -> str:
        arguments = {"Bucket": self._bucket, "Key": name, "UploadId": upload, "PartNumber": number}
        return str(self._backend.call("upload_part", Body=data, **arguments)["ETag"])

    def copy_part(self, name: str, upload: str, number: int, first: int, last: int) -> str:
        response = self._backend.call(
            "upload_part_copy",
            Bucket=self._bucket,
            Key=name,
            UploadId=upload,
            PartNumber=number,
            CopySource={"Bucket": self._bucket, "Key": name},
            CopySourceRange=f"bytes={first}-{last}",
        )
        return str(response["CopyPartResult"]["ETag"])

    def list_parts(self, name: str, upload: str) -> dict[int, tuple[str, int]]:
        arguments: dict[str, Any] = {"Bucket": self._bucket, "Key": name, "UploadId": upload}
        sizes = {}
        while True:
            listing = self._backend.call("list_parts", **arguments)
            for part in listing.get("Parts", []):
                sizes[int(part["PartNumber"])] = (str(part["ETag"]), int(part["Size"]))
            if not listing.get("IsTruncated"):
                return sizes
            arguments["PartNumberMarker"] = listing["NextPartNumberMarker"]

    def complete_upload(self, name: str, upload: str, parts: list[tuple[int, str]]) -> None:
        self._backend.call(
            "complete_multipart_upload",
            Bucket=self._bucket,
            Key=name,
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]},
        )

    def abort_upload(self, name: str, upload: str) -> None:
        self._backend._abort(self._bucket, name, upload)

    def put_object(self, name: str, data: bytes) -> None:
        self._backend.call("put_object", Bucket=self._bucket, Key=name, Body=data, ContentType=CONTENT_TYPE)

    def put_state(self, name: str, data: bytes, metadata: dict[str, str]) -> None:
        self._backend.call("put_object", Bucket=self._bucket, Key=name, Body=data, Metadata=metadata)

    def get_object(self, name: str, first: int = 0, last: int | None = None) -> tuple[bytes, dict[str, str]]:
        byte_range = f"bytes={first}-{'' if last is None else last}" if first or last is not None else ""
        return self._backend.get(self._bucket, name, byte_range)

    def head_object(self, name: str) -> tuple[int, dict[str, str]]:
        head = self._backend.call("head_object", Bucket=self._bucket, Key=name)
        return int(head["ContentLength"]), dict(head.get("Metadata") or {})

    def delete_objects(self, names: list[str]) -> None:
        self._backend._delete_keys(self._bucket, names)


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``s3`` driver from distribution's s3 parameters."""
    return Base(FsspecDriver(S3Backend(settings_from(parameters))))


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    from s3fs import S3FileSystem

    settings = settings_from(parameters)
    fs = S3FileSystem(
        key=settings.accesskey or None,
        secret=settings.secretkey or None,
        token=settings.sessiontoken or None,
        endpoint_url=settings.endpoint or None,
        client_kwargs={"region_name": settings.region},
        skip_instance_cache=True,
    )
    return fs, settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")


def factory_s3aws(parameters: Mapping[str, Any]) -> Base:
    """The same driver under Go's other registration name (``s3aws``, also its name)."""
    return Base(FsspecDriver(S3Backend(settings_from(parameters), name="s3aws")))


def bucket_key(driver: Any, path: str) -> str | None:
    """The S3 object key of driver path ``path``, or ``None`` if ``driver`` is not s3.

    Looks through middleware (``.wrapped``) and the base wrapper (``.inner``); this is
    Go's ``S3BucketKey``, which the cloudfront middleware signs URLs for.
    """
    seen = driver
    while not isinstance(seen, FsspecDriver):
        seen = getattr(seen, "wrapped", None) or getattr(seen, "inner", None)
        if seen is None:
            return None
    if not isinstance(seen.backend, S3Backend):
        return None
    return seen.backend.split(seen.backend.key(path))[1]
