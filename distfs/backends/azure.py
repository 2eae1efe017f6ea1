"""``azure``: Azure Blob Storage, on adlfs and azure-storage-blob.

Parameters are distribution's (``docs/content/storage-drivers/azure.md``); see
:class:`AzureSettings` for each key and its rule. Keys of the driver path ``/a/b`` are
``<container>/<rootdirectory>/a/b``.

Reads, ``stat`` and one-level ``list`` go through adlfs (listings never cached, one
delimiter listing per ``list``). What this backend does natively, with a synchronous
``BlobServiceClient`` built from the same settings:

* writers stage block blobs (:class:`BlockWriter`): blocks are staged on a hidden staging
  blob below the driver's hidden directory and ``close()`` commits them there, so a fresh
  process resumes from the staging blob's committed block list (exactly the last
  ``close()``), never re-sending committed data; ``commit()`` copies the staging blob onto
  the path server-side (atomic for readers) and deletes it; fsspec's ``"ab"`` is never used;
* ``put_content`` is one block-blob upload (atomic replace);
* ``move`` copies server-side (waiting until the copy succeeded) and deletes the source
  only afterwards;
* ``delete`` lists the path flat and deletes in batches of 256, reporting per-blob failures;
* ``walk`` reads one flat listing (``list_page_size`` names a request);
* ``redirect_url`` signs a read-only blob SAS for GET and HEAD, valid 20 minutes.
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

# adlfs and the azure SDK are imported by the functions that build a driver, so that
# ``import distfs.backends.azure`` works (and fails clearly) without the extra.
from ..base import Base
from ..capabilities import BACKSLASH, NOT_XML, Capabilities
from ..driver import FileWriter
from ..errors import DriverError, InvalidParameterError, PathNotFoundError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from ..retry import backoff
from ..writers import ChunkedWriter

__all__ = ["AzureBackend", "AzureSettings", "BlockWriter", "factory", "raw_filesystem", "settings_from"]

NAME = "azure"
MiB = 1 << 20
BLOCK_SIZE = 4 * MiB
MAX_BLOCK = 4000 * MiB
MAX_SINGLE_PUT = 5000 * MiB
REDIRECT_SECONDS = 20 * 60
DELETE_BATCH = 256
LIST_PAGE = 5000
CONTENT_TYPE = "application/octet-stream"
CREDENTIAL_TYPES = ("shared_key", "client_secret", "default_credentials")

KNOWN = (
    "accountname",
    "accountkey",
    "container",
    "realm",
    "serviceurl",
    "rootdirectory",
    "credentials",
    "connectionstring",
    "max_retries",
    "retry_delay",
    "skipverify",
)
SECRET = ("accountkey", "connectionstring", "credentials")
CREDENTIAL_KEYS = ("type", "clientid", "tenantid", "secret")

_DURATION = re.compile(r"^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class AzureSettings:
    """The azure driver's parameters, checked and typed (secrets never shown in ``repr``).

    ``credentials`` is the credential type: ``shared_key`` (``accountkey``),
    ``client_secret`` (``clientid``, ``tenantid``, ``secret``), ``default_credentials``
    (azure-identity's chain) or ``connectionstring`` (only ``connectionstring`` given).
    ``max_retries`` bounds the retries of each request (negative: none, like Go's azcore
    ``MaxRetries``) and the polling of a server-side copy (``-1``: no bound);
    ``retry_delay`` is the base of the requests' exponential backoff and the linear step
    of copy polls, in seconds.
    """

    accountname: str
    container: str
    credentials: str
    serviceurl: str
    accountkey: str = ""
    realm: str = "core.windows.net"
    rootdirectory: str = ""
    clientid: str = ""
    tenantid: str = ""
    secret: str = ""
    connectionstring: str = ""
    max_retries: int = 5
    retry_delay: float = 0.1
    skipverify: bool = False

    def __repr__(self) -> str:
        hidden = ("accountkey", "secret", "connectionstring")
        shown = {k: v for k, v in self.__dict__.items() if k not in hidden}
        return f"AzureSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def settings_from(parameters: Mapping[str, Any]) -> AzureSettings:
    """Check and type the azure parameters (distribution's names and defaults)."""
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    connectionstring = params.string("connectionstring")
    from_string = _parse_connection_string(connectionstring) if connectionstring else {}
    accountname = params.string("accountname") or from_string.get("accountname", "")
    if not accountname:
        raise params.error("accountname", "no accountname parameter provided")
    if not re.fullmatch(r"[A-Za-z0-9]+", accountname):
        raise params.error("accountname", "must hold only letters and digits")
    container = params.string("container")
    if not container:
        raise params.error("container", "no container parameter provided")
    if not re.fullmatch(r"\$?[A-Za-z0-9-]+", container):
        raise params.error("container", "must hold only letters, digits and '-' (after an optional '$')")
    realm = params.string("realm", "core.windows.net")
    if not realm:
        raise params.error("realm", "must not be empty")
    serviceurl = params.string("serviceurl") or from_string.get("blobendpoint", "")
    if serviceurl:
        parts = urllib.parse.urlsplit(serviceurl)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise params.error("serviceurl", "must be an http or https URL without query")
    else:
        serviceurl = f"https://{accountname}.blob.{realm}"
    accountkey = params.string("accountkey")
    kind, clientid, tenantid, secret = _credentials(parameters.get("credentials"), accountkey, connectionstring)
    max_retries = params.integer("max_retries", 5, -1, 10_000)
    return AzureSettings(
        accountname=accountname,
        container=container,
        credentials=kind,
        serviceurl=serviceurl.rstrip("/"),
        accountkey=accountkey,
        realm=realm,
        rootdirectory=params.string("rootdirectory").strip("/"),
        clientid=clientid,
        tenantid=tenantid,
        secret=secret,
        connectionstring=connectionstring,
        max_retries=5 if max_retries == 0 else max_retries,
        retry_delay=_duration(params, parameters.get("retry_delay")),
        skipverify=params.boolean("skipverify", False),
    )


def _parse_connection_string(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise InvalidParameterError(NAME, "connectionstring", "must be Name=Value pairs separated by ';'")
        fields[name.strip().lower()] = value.strip()
    return fields


def _credentials(value: object, accountkey: str, connectionstring: str) -> tuple[str, str, str, str]:
    """Type, client id, tenant id and secret of the ``credentials`` map (values never quoted)."""
    if value is None:
        if accountkey:
            return "shared_key", "", "", ""
        if connectionstring:
            return "connectionstring", "", "", ""
        raise InvalidParameterError(
            NAME, "credentials", "no credentials: give accountkey, credentials or connectionstring"
        )
    if not isinstance(value, Mapping):
        raise InvalidParameterError(NAME, "credentials", "must be a map with a type")
    unknown = sorted(str(k) for k in value if k not in CREDENTIAL_KEYS)
    if unknown:
        raise InvalidParameterError(
            NAME, f"credentials.{unknown[0]}", f"unknown key; known: {', '.join(CREDENTIAL_KEYS)}"
        )
    fields = {}
    for key in CREDENTIAL_KEYS:
        item = value.get(key, "")
        if not isinstance(item, str):
            raise InvalidParameterError(NAME, f"credentials.{key}", "must be a string")
        fields[key] = item
    kind = fields["type"]
    if kind not in CREDENTIAL_TYPES:
        # the value is never quoted: a secret pasted into the wrong field must not leak
        raise InvalidParameterError(
            NAME, "credentials.type", f"invalid credentials type; one of {', '.join(CREDENTIAL_TYPES)}"
        )
    if kind == "shared_key" and not accountkey:
        raise InvalidParameterError(NAME, "accountkey", "credentials type shared_key needs accountkey")
    if kind == "client_secret":
        for key in ("clientid", "tenantid", "secret"):
            if not fields[key]:
                raise InvalidParameterError(NAME, f"credentials.{key}", "credentials type client_secret needs it")
    return kind, fields["clientid"], fields["tenantid"], fields["secret"]


def _duration(params: Parameters, value: object) -> float:
    """A Go duration string (``100ms``, ``1.5s``, ``1m30s``) in seconds; default 100 ms."""
    if value is None:
        return 0.1
    if not isinstance(value, str):
        raise params.error("retry_delay", "must be a duration such as 100ms")
    text = value.strip()
    if text == "0":
        return 0.0
    if not _DURATION.fullmatch(text):
        raise params.error("retry_delay", "must be a duration such as 100ms")
    return sum(
        float(number) * _UNIT[unit] for number, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
    )


def _not_found() -> tuple[type[BaseException], ...]:
    from azure.core.exceptions import ResourceNotFoundError

    return (ResourceNotFoundError,)


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    """Turn the SDK's not-found errors into ``FileNotFoundError`` (the generic driver maps those)."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        yield
    except ResourceNotFoundError as exc:
        raise FileNotFoundError(str(exc).splitlines()[0] if str(exc) else "not found") from exc


class AzureBackend(Backend):
    """adlfs with native block-blob writers, copies, batched deletes, flat walks and SAS.

    ``block_size`` is the writers' block size (4 MiB by default, Go's chunk size);
    ``list_page_size`` the number of names one flat listing request returns.
    """

    flat_listing = True
    capabilities = Capabilities(
        append="emulated",
        server_side_copy=True,
        presign_get=True,
        presign_head=True,
        listing_consistency="strong",
        refused_characters=BACKSLASH + NOT_XML,
    )

    def __init__(
        self,
        settings: AzureSettings,
        *,
        block_size: int = BLOCK_SIZE,
        list_page_size: int = LIST_PAGE,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        from adlfs import AzureBlobFileSystem
        from azure.storage.blob import BlobServiceClient
        from azure.storage.blob.aio import BlobServiceClient as AsyncBlobServiceClient

        if not 1 <= block_size <= MAX_BLOCK:
            raise ValueError(f"block_size must be between 1 and {MAX_BLOCK}")
        options: dict[str, Any] = {"connection_verify": not settings.skipverify, **(client_options or {})}
        fs_arguments: dict[str, Any] = {
            "account_name": settings.accountname,
            "skip_instance_cache": True,
            "use_listings_cache": False,
        }
        sync_retry, async_retry = _retry_policies(settings)
        if settings.credentials == "connectionstring":
            self.client = BlobServiceClient.from_connection_string(
                settings.connectionstring, retry_policy=sync_retry, **options
            )
            async_client = AsyncBlobServiceClient.from_connection_string(
                settings.connectionstring, retry_policy=async_retry, **options
            )
            fs_arguments["connection_string"] = settings.connectionstring
        else:
            self.client = BlobServiceClient(
                settings.serviceurl, credential=_credential(settings), retry_policy=sync_retry, **options
            )
            async_credential = _credential(settings, asynchronous=True)
            async_client = AsyncBlobServiceClient(
                settings.serviceurl, credential=async_credential, retry_policy=async_retry, **options
            )
            fs_arguments["credential"] = async_credential
        fs = AzureBlobFileSystem(**fs_arguments)
        # adlfs builds its client from account name and host only (https, no path, no TLS
        # option): give it one on the exact service URL with the same options as ours.
        fs.service_client = async_client
        root = settings.container + ("/" + settings.rootdirectory if settings.rootdirectory else "")
        super().__init__(NAME, fs, root)
        self.settings = settings
        self.retries = max(settings.max_retries, 0)
        self.block_size = block_size
        self.list_page_size = list_page_size
        self._resume_point: tuple[str, str, str] | None = None  # prefix, last name, continuation token
        self.container = self.client.get_container_client(settings.container)

    def __repr__(self) -> str:
        return f"AzureBackend(container={self.settings.container!r}, root={self.root!r})"

    # -- plumbing ---------------------------------------------------------------------

    def name_of(self, key: str) -> str:
        """The blob name of a backend key (``container/a/b`` -> ``a/b``)."""
        return key.partition("/")[2]

    def blob(self, name: str) -> Any:
        """The SDK client of blob ``name`` in the driver's container."""
        return self.container.get_blob_client(name)

    def names(self, prefix: str) -> Iterator[str]:
        """Names of the blobs below ``prefix`` (directory markers dropped)."""
        for page in self._pages(prefix, ""):
            yield from (str(b["name"]) for b in page)

    def _pages(self, prefix: str, start_after: str) -> Iterator[list[Any]]:
        """Pages of the blobs below ``prefix`` named after ``start_after`` (markers dropped).

        Azure has no ``StartAfter``: names are skipped client-side, but a listing that
        restarts past the last name of an earlier page of the same prefix continues from
        that page's continuation token instead of listing from the start again.
        """
        token = None
        resume = self._resume_point
        if start_after and resume is not None and resume[0] == prefix and resume[1] <= start_after:
            token = resume[2]
        pages: Any = self.container.list_blobs(
            name_starts_with=prefix, include=["metadata"], results_per_page=self.list_page_size
        ).by_page(continuation_token=token)
        for page in pages:
            blobs = list(page)
            if blobs and pages.continuation_token:
                self._resume_point = (prefix, str(blobs[-1].name), str(pages.continuation_token))
            yield [
                b
                for b in blobs
                if not b.name.endswith("/")
                and str((b.metadata or {}).get("hdi_isfolder", "")).lower() != "true"
                and b.name > start_after
            ]

    def entry(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """Hide adlfs's ``hdi_isfolder`` marker blobs (a real directory also has its prefix entry)."""
        if str((entry.get("metadata") or {}).get("hdi_isfolder", "")).lower() == "true":
            return None
        return entry

    # -- primitives -------------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        from azure.storage.blob import ContentSettings

        if len(data) > MAX_SINGLE_PUT:
            raise DriverError(f"content size exceeds max allowed limit ({MAX_SINGLE_PUT}): {len(data)}", NAME)
        self.blob(self.name_of(key)).upload_blob(
            data, overwrite=True, content_settings=ContentSettings(content_type=CONTENT_TYPE)
        )

    def open_read(self, key: str, offset: int) -> BinaryIO:
        info = self.fs.info(key)
        if info.get("type") != "file":
            raise IsADirectoryError(key)
        size = int(info["size"])
        stream: BinaryIO = self.fs.open(key, "rb", block_size=self.block_size, cache_type="readahead")
        stream.seek(min(offset, size))
        return stream

    def copy(self, source: str, dest: str) -> None:
        self.copy_blob(self.name_of(source), self.name_of(dest))

    def copy_blob(self, source: str, dest: str) -> None:
        """Copy blob ``source`` onto ``dest`` server-side and wait until the copy succeeded.

        A copy still pending after ``max_retries`` polls (linear backoff of ``retry_delay``)
        is aborted; a failed or aborted copy raises ``DriverError``. ``FileNotFoundError``
        if ``source`` is missing.
        """
        target = self.blob(dest)
        with _mapped():
            self.blob(source).get_blob_properties()
            copy = target.start_copy_from_url(self.blob(source).url)
        status, copy_id = copy.get("copy_status"), copy.get("copy_id")
        attempt = 0
        while status == "pending":
            attempt += 1
            if 0 <= self.settings.max_retries < attempt:
                with contextlib.suppress(Exception):
                    target.abort_copy(copy_id)
                raise DriverError("max retries for copy polling reached, aborting copy", NAME)
            time.sleep(self.settings.retry_delay * attempt)
            properties = target.get_blob_properties()
            status = properties.copy.status
        if status != "success":
            raise DriverError(f"failed to move blob: copy {status}", NAME)

    def rename(self, source: str, dest: str) -> None:
        name, target = self.name_of(source), self.name_of(dest)
        try:
            with _mapped():
                self.blob(name).get_blob_properties()
        except FileNotFoundError:
            moved = list(self.names(name + "/"))
            if not moved:
                raise
            for item in moved:
                self.copy_blob(item, target + item[len(name) :])
            self.delete_names(moved)
            return
        self.copy_blob(name, target)
        self.delete_names([name])

    def remove(self, key: str, is_dir: bool) -> None:
        name = self.name_of(key)
        names = [] if is_dir else [name]
        self.delete_names(names + list(self.names(name + "/")))

    def delete(self, key: str, state_key: str) -> bool:
        name = self.name_of(key)
        names = list(self.names(name + "/"))
        with contextlib.suppress(FileNotFoundError), _mapped():
            self.blob(name).get_blob_properties()
            names.insert(0, name)
        found = bool(names)
        self.delete_names(names + list(self.names(self.name_of(state_key) + "/")))
        return found

    def delete_names(self, names: list[str]) -> None:
        """Delete blobs (and their uncommitted blocks) in batches of 256; missing ones are fine."""
        failures = []
        for start in range(0, len(names), DELETE_BATCH):
            batch = names[start : start + DELETE_BATCH]
            responses = self.container.delete_blobs(*batch, delete_snapshots="include", raise_on_any_failure=False)
            for name, response in zip(batch, responses, strict=False):
                status = getattr(response, "status_code", 202)
                if status not in (200, 202, 404):
                    reason = getattr(response, "reason", "") or ""
                    code = ""
                    headers = getattr(response, "headers", None)
                    if headers is not None:
                        code = headers.get("x-ms-error-code", "") or ""
                    failures.append(f"{name}: {status} {code or reason}".strip())
        if failures:
            raise DriverError("errors:\n" + "\n".join(failures) + "\n", NAME)

    # -- listings ---------------------------------------------------------------------

    def listing(self, key: str) -> list[dict[str, Any]]:
        """One delimiter listing through the SDK (adlfs reports a ``dir/`` marker blob as a
        file ``dir`` and then lists nothing below it)."""
        from azure.storage.blob import BlobPrefix

        container = self.settings.container
        name = self.name_of(key)
        prefix = name + "/" if name else ""
        entries: list[dict[str, Any]] = []
        with _mapped():
            for item in self.container.walk_blobs(name_starts_with=prefix, include=["metadata"], delimiter="/"):
                if isinstance(item, BlobPrefix):
                    entries.append({"name": f"{container}/{item.name}", "type": "directory", "size": 0})
                elif item.name != prefix:
                    entries.append(
                        {
                            "name": f"{container}/{item.name}",
                            "type": "file",
                            "size": item.size,
                            "last_modified": item.last_modified,
                            "metadata": item.metadata,
                        }
                    )
        if not entries:
            raise FileNotFoundError(key)
        return entries

    def file_pages(self, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        container = self.settings.container
        name = self.name_of(prefix)
        after = self.name_of(start_after) if start_after else ""
        for page in self._pages(name, after):
            yield [
                {"name": f"{container}/{b.name}", "size": b.size, "last_modified": b.last_modified, "type": "file"}
                for b in page
            ]

    # -- writers and redirects --------------------------------------------------------

    def open_writer(self, driver: FsspecDriver, path: str, append: bool) -> FileWriter:
        return BlockWriter(self, driver, path, append)

    def redirect_url(self, key: str, method: str) -> str | None:
        """A read-only blob SAS URL for GET and HEAD (20 minutes); ``None`` for other methods."""
        if method not in ("GET", "HEAD"):
            return None
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        name = self.name_of(key)
        now = datetime.now(UTC)
        start, expiry = now - timedelta(seconds=10), now + timedelta(seconds=REDIRECT_SECONDS)
        arguments: dict[str, Any] = {}
        if self.settings.credentials in ("shared_key", "connectionstring") and self._account_key():
            arguments["account_key"] = self._account_key()
        else:
            arguments["user_delegation_key"] = self.client.get_user_delegation_key(start, expiry)
        sas = generate_blob_sas(
            self.settings.accountname,
            self.settings.container,
            name,
            permission=BlobSasPermissions(read=True),
            start=start,
            expiry=expiry,
            **arguments,
        )
        url: str = self.blob(name).url
        return f"{url}?{sas}"

    def _account_key(self) -> str:
        if self.settings.accountkey:
            return self.settings.accountkey
        fields = _parse_connection_string(self.settings.connectionstring) if self.settings.connectionstring else {}
        return fields.get("accountkey", "")


def _retry_policies(settings: AzureSettings) -> tuple[Any, Any]:
    """The SDK retry policies (sync, async): ``max_retries`` retries, backoff ``retry_delay * 2**n`` with jitter.

    Like Go's azcore ``MaxRetries``, a negative ``max_retries`` means no request retries.
    The SDK retries 408, 429, 500, 502, 503, 504, connection and read failures.
    """
    from azure.storage.blob import ExponentialRetry
    from azure.storage.blob.aio import ExponentialRetry as AsyncExponentialRetry

    retries = max(settings.max_retries, 0)
    delay = settings.retry_delay

    class Retry(ExponentialRetry):
        def get_backoff_time(self, state: dict[str, Any]) -> float:
            return backoff(max(int(state.get("count", 1)) - 1, 0), delay)

    class AsyncRetry(AsyncExponentialRetry):
        def get_backoff_time(self, state: dict[str, Any]) -> float:
            return backoff(max(int(state.get("count", 1)) - 1, 0), delay)

    return (
        Retry(retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries),
        AsyncRetry(retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries),
    )


def _credential(settings: AzureSettings, asynchronous: bool = False) -> Any:
    """The SDK credential of ``settings`` (``None`` for a connection string)."""
    if settings.credentials == "shared_key":
        from azure.core.credentials import AzureNamedKeyCredential

        return AzureNamedKeyCredential(settings.accountname, settings.accountkey)
    if settings.credentials == "connectionstring":
        return None
    if asynchronous:
        from azure.identity import aio

        if settings.credentials == "client_secret":
            return aio.ClientSecretCredential(settings.tenantid, settings.clientid, settings.secret)
        return aio.DefaultAzureCredential()
    from azure import identity

    if settings.credentials == "client_secret":
        return identity.ClientSecretCredential(settings.tenantid, settings.clientid, settings.secret)
    return identity.DefaultAzureCredential()


class BlockWriter(ChunkedWriter):
    """A resumable writer on block blobs, staged on a hidden staging blob.

    The staging blob is ``<upload directory>/data`` below the driver's hidden directory
    (:meth:`FsspecDriver.upload_keys`). Full blocks (``block_size`` bytes) are staged on it
    as they fill; ``close()`` stages the rest of the buffer as a (short) block and commits
    the block list on the staging blob, so the staging blob's *committed* block list is
    the upload's state as of the last ``close()``. A resume lists it (one request): the
    size is exact, and blocks staged after that ``close()`` by a writer that died are
    uncommitted, hence ignored and dropped by the next commit. The first write after a
    resume reads a short last block back into the buffer (at most one block a resume), so
    every block but the last stays full and the 50,000-block limit holds.

    ``commit()`` commits the staging blob, copies it onto the path server-side (readers
    see the old object or the whole new one) and deletes it. ``cancel()`` deletes the
    staging blob, which discards its uncommitted blocks too. Memory is bounded by one
    block. A commit of an upload that holds no block (the whole object is in the buffer)
    puts the object directly and deletes the staging blob: two requests, not four.
    """

    def __init__(self, backend: AzureBackend, driver: FsspecDriver, path: str, append: bool) -> None:
        super().__init__(path, driver.name, backend.block_size)
        self._backend = backend
        self._key = backend.name_of(driver._key(path))
        self._staging = backend.name_of(driver.upload_keys(path)[0] + "/data")
        self._blob = backend.blob(self._staging)
        self._blocks: list[tuple[str, int, bool]] = []  # id, size, committed
        self._put_key = driver._key(path)
        if not append or not self._resume():
            if append:
                self._continue_committed()
            else:
                self._backend.delete_names([self._staging])
                self._commit_list()
        self._size = sum(size for _, size, _ in self._blocks) + len(self._buffer)

    # -- setup ------------------------------------------------------------------------

    def _resume(self) -> bool:
        """Continue the suspended upload; False if there is none."""
        try:
            with _mapped():
                committed, _ = self._blob.get_block_list("committed")
        except FileNotFoundError:
            return False
        self._blocks = [(str(b.id), int(b.size), True) for b in committed]
        return True

    def _continue_committed(self) -> None:
        """Start an upload holding the committed object, read back one block at a time."""
        source = self._backend.blob(self._key)
        try:
            with _mapped():
                size = int(source.get_blob_properties().size)
        except FileNotFoundError:
            raise PathNotFoundError(self._path, self._name) from None
        for offset in range(0, size, self._chunk):
            length = min(self._chunk, size - offset)
            with _mapped():
                data = source.download_blob(offset=offset, length=length).readall()
            if len(data) != length:
                raise DriverError(f"{self._path} changed while it was being continued", self._name)
            self._flush_chunk(data)
        self._commit_list()

    # -- blocks -----------------------------------------------------------------------

    def _flush_chunk(self, data: bytes | bytearray | memoryview) -> None:
        block_id = base64.b64encode(uuid.uuid4().bytes).decode()
        self._blob.stage_block(block_id, bytes(data), length=len(data))
        self._blocks.append((block_id, len(data), False))

    def _commit_list(self) -> None:
        """Commit the block list on the staging blob: the upload's durable state."""
        from azure.storage.blob import BlobBlock, BlockState, ContentSettings

        # LATEST, not UNCOMMITTED: a commit retried after its answer was lost finds these
        # blocks committed already (block ids are unique, so LATEST is never ambiguous).
        blocks = [
            BlobBlock(block_id, BlockState.COMMITTED if committed else BlockState.LATEST)
            for block_id, _, committed in self._blocks
        ]
        self._blob.commit_block_list(blocks, content_settings=ContentSettings(content_type=CONTENT_TYPE))
        self._blocks = [(block_id, size, True) for block_id, size, _ in self._blocks]

    def _before_write(self) -> None:
        """Move a short last block back into the buffer (before appending to it)."""
        if self._buffer or not self._blocks or self._blocks[-1][1] >= self._chunk:
            return
        _, length, _ = self._blocks[-1]
        offset = sum(size for _, size, _ in self._blocks[:-1])
        with _mapped():
            data = self._blob.download_blob(offset=offset, length=length).readall()
        self._blocks.pop()
        self._buffer = bytearray(data)

    def _flush(self) -> None:
        if self._buffer:
            self._flush_chunk(self._buffer)
            self._buffer = bytearray()

    # -- FileWriter -------------------------------------------------------------------

    def _suspend(self) -> None:
        changed = bool(self._buffer) or any(not committed for _, _, committed in self._blocks)
        self._flush()
        if changed:
            self._commit_list()

    def commit(self) -> None:
        self._require_open()
        if not self._blocks:  # the whole object is in the buffer (under a block): put it
            try:
                self._backend.put(self._put_key, bytes(self._buffer))
            except BaseException:
                self._suspend()  # a failed publish leaves the upload suspended, not lost
                self._state = "closed"
                raise
            self._state = "committed"
            self._buffer = bytearray()
            self._backend.delete_names([self._staging])
            return
        self._state = "closed"  # a failed publish leaves the upload suspended, not lost
        self._flush()
        self._commit_list()
        self._backend.copy_blob(self._staging, self._key)
        self._state = "committed"
        self._backend.delete_names([self._staging])

    def cancel(self) -> None:
        self._require_open()
        self._state = "cancelled"
        self._buffer = bytearray()
        self._backend.delete_names([self._staging])


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``azure`` driver from distribution's azure parameters."""
    return Base(FsspecDriver(AzureBackend(settings_from(parameters))))


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    from adlfs import AzureBlobFileSystem

    settings = settings_from(parameters)
    arguments: dict[str, Any] = {"account_name": settings.accountname, "skip_instance_cache": True}
    if settings.credentials == "connectionstring":
        arguments["connection_string"] = settings.connectionstring
    elif settings.credentials == "shared_key":
        # adlfs reaches a custom service URL (an emulator) only through a connection string.
        arguments["connection_string"] = (
            f"DefaultEndpointsProtocol={settings.serviceurl.partition(':')[0]};AccountName={settings.accountname};"
            f"AccountKey={settings.accountkey};BlobEndpoint={settings.serviceurl};"
        )
    else:
        arguments["credential"] = _credential(settings, asynchronous=True)
    fs = AzureBlobFileSystem(**arguments)
    return fs, settings.container + ("/" + settings.rootdirectory if settings.rootdirectory else "")
