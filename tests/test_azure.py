"""The azure driver against a real Azure Blob Storage emulator (Azurite, started by the harness)."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import types
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from cases import suspend_in_fresh_processes
from conftest import azurite_connection_string, unique_name

import distfs
from distfs.backends import azure
from distfs.backends.azure import AzureBackend, settings_from
from distfs.base import Base
from distfs.fsspec_driver import FsspecDriver
from distfs.testing import DriverSuite
from distfs.tools.servers import AZURITE_ACCOUNT, AZURITE_KEY

MiB = 1 << 20


def parameters_for(endpoint: str, container: str) -> dict[str, Any]:
    """Parameters of an azure driver on ``container`` of Azurite (shared key)."""
    return {"accountname": AZURITE_ACCOUNT, "accountkey": AZURITE_KEY, "serviceurl": endpoint, "container": container}


def new_container(endpoint: str) -> str:
    from azure.storage.blob import BlobServiceClient

    name = unique_name("distfs")
    BlobServiceClient.from_connection_string(azurite_connection_string(endpoint)).create_container(name)
    return name


class Requests:
    """Counts the requests (and request body bytes) one backend's SDK client sends."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.queries: list[dict[str, list[str]]] = []
        self.bytes = 0

    def __call__(self, request: Any) -> None:
        http = request.http_request
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(http.url).query)
        self.calls.append((http.method, ",".join(query.get("comp", [""]))))
        self.queries.append(query)
        body = http.body
        if isinstance(body, bytes | bytearray):
            self.bytes += len(body)
        elif isinstance(body, str):
            self.bytes += len(body.encode())
        elif body is not None and hasattr(body, "seek") and hasattr(body, "tell"):
            position = body.tell()
            body.seek(0, 2)
            self.bytes += body.tell() - position
            body.seek(position)

    def count(self, method: str, comp: str = "") -> int:
        return self.calls.count((method, comp))


def make(parameters: dict[str, Any], requests: Requests | None = None, **options: Any) -> Base:
    """A driver whose SDK client reports to ``requests``; ``options`` go to :class:`AzureBackend`."""
    client_options = {"raw_request_hook": requests} if requests is not None else None
    return Base(FsspecDriver(AzureBackend(settings_from(parameters), client_options=client_options, **options)))


def backend_of(driver: distfs.StorageDriver) -> AzureBackend:
    assert isinstance(driver, Base)
    inner = driver.inner
    assert isinstance(inner, FsspecDriver)
    assert isinstance(inner.backend, AzureBackend)
    return inner.backend


@pytest.fixture
def container(azurite_endpoint: str) -> str:
    return new_container(azurite_endpoint)


@pytest.fixture
def params(azurite_endpoint: str, container: str) -> dict[str, Any]:
    return parameters_for(azurite_endpoint, container)


@pytest.fixture
def az(params: dict[str, Any]) -> distfs.StorageDriver:
    return distfs.create("azure", params)


def all_blobs(driver: distfs.StorageDriver, uncommitted: bool = False) -> list[str]:
    """Every blob of the driver's container, hidden ones included."""
    include = ["uncommittedblobs"] if uncommitted else None
    return sorted(b.name for b in backend_of(driver).container.list_blobs(include=include))


# -- the conformance suite on Azurite -------------------------------------------------


class TestAzureConformance(DriverSuite):
    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        endpoint = request.getfixturevalue("azurite_endpoint")
        return distfs.create("azure", parameters_for(endpoint, new_container(endpoint)))


class TestAzureSmallBlockConformance(DriverSuite):
    """Every writer block 64 KiB, listings 7 names a page, keys below a root directory."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        endpoint = request.getfixturevalue("azurite_endpoint")
        parameters = parameters_for(endpoint, new_container(endpoint))
        parameters["rootdirectory"] = "/registry/v2/"
        return make(parameters, block_size=64 << 10, list_page_size=7)


# -- parameters -------------------------------------------------------------------------

BASE = {"accountname": "acct", "accountkey": "a2V5", "container": "registry"}

# key, value, the AzureSettings field it sets, its expected value
ACCEPTED: list[tuple[str, Any, str, Any]] = [
    ("accountname", "other", "accountname", "other"),
    ("accountname", "other", "serviceurl", "https://other.blob.core.windows.net"),
    ("accountkey", "c2VjcmV0", "accountkey", "c2VjcmV0"),
    ("accountkey", "c2VjcmV0", "credentials", "shared_key"),
    ("container", "blobs", "container", "blobs"),
    ("realm", "core.chinacloudapi.cn", "serviceurl", "https://acct.blob.core.chinacloudapi.cn"),
    ("realm", "core.chinacloudapi.cn", "realm", "core.chinacloudapi.cn"),
    ("serviceurl", "http://127.0.0.1:10000/acct/", "serviceurl", "http://127.0.0.1:10000/acct"),
    ("rootdirectory", "/docker/registry/", "rootdirectory", "docker/registry"),
    ("credentials", {"type": "shared_key"}, "credentials", "shared_key"),
    ("credentials", {"type": "default_credentials"}, "credentials", "default_credentials"),
    (
        "credentials",
        {"type": "client_secret", "clientid": "c", "tenantid": "t", "secret": "s"},
        "clientid",
        "c",
    ),
    ("connectionstring", "AccountName=acct;AccountKey=a2V5", "connectionstring", "AccountName=acct;AccountKey=a2V5"),
    ("max_retries", "3", "max_retries", 3),
    ("max_retries", 0, "max_retries", 5),
    ("max_retries", -1, "max_retries", -1),
    ("retry_delay", "250ms", "retry_delay", 0.25),
    ("retry_delay", "1m30s", "retry_delay", 90.0),
    ("retry_delay", "0", "retry_delay", 0.0),
    ("skipverify", "true", "skipverify", True),
    ("skipverify", False, "skipverify", False),
]

# key, value, words the error must contain
REJECTED: list[tuple[str, Any, str]] = [
    ("accountname", "", "no accountname"),
    ("accountname", ["a"], "string"),
    ("container", "", "no container"),
    ("realm", "", "empty"),
    ("serviceurl", "ftp://host", "http or https"),
    ("serviceurl", "https://host/?q=1", "http or https"),
    ("rootdirectory", {"a": 1}, "string"),
    ("credentials", "shared_key", "map"),
    ("credentials", {"type": "password"}, "invalid credentials type"),
    ("credentials", {"type": ""}, "invalid credentials type"),
    ("credentials", {"type": "client_secret", "tenantid": "t", "secret": "s"}, "needs"),
    ("credentials", {"type": "shared_key", "user": "x"}, "unknown key"),
    ("connectionstring", "not a connection string", "Name=Value"),
    ("max_retries", "many", "integer"),
    ("max_retries", -2, "between"),
    ("retry_delay", "100", "duration"),
    ("retry_delay", 100, "duration"),
    ("skipverify", "sometimes", "boolean"),
    ("accountkey", ["k"], "string"),
    ("accountkeys", "x", "unknown parameter"),
]


@pytest.mark.parametrize(("key", "value", "field", "expected"), ACCEPTED, ids=[f"{a[0]}={a[1]!r}" for a in ACCEPTED])
def test_parameter_accepted(key: str, value: Any, field: str, expected: Any) -> None:
    settings = settings_from({**BASE, key: value})
    assert getattr(settings, field) == expected


@pytest.mark.parametrize(("key", "value", "words"), REJECTED, ids=[f"{r[0]}={r[1]!r}" for r in REJECTED])
def test_parameter_rejected(key: str, value: Any, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, key: value})
    assert info.value.parameter.split(".")[0] == key
    assert info.value.driver == "azure"
    assert words in str(info.value)


def test_every_known_key_is_covered() -> None:
    covered = {a[0] for a in ACCEPTED} | {r[0] for r in REJECTED}
    assert set(azure.KNOWN) <= covered


def test_required_parameters_and_defaults() -> None:
    with pytest.raises(distfs.InvalidParameterError, match="no accountname"):
        settings_from({})
    with pytest.raises(distfs.InvalidParameterError, match="no container"):
        settings_from({"accountname": "a"})
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({"accountname": "a", "container": "c"})
    assert info.value.parameter == "credentials"
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({"accountname": "a", "container": "c", "credentials": {"type": "shared_key"}})
    assert info.value.parameter == "accountkey"
    settings = settings_from(BASE)
    assert (settings.realm, settings.serviceurl) == ("core.windows.net", "https://acct.blob.core.windows.net")
    assert (settings.max_retries, settings.retry_delay, settings.credentials) == (5, 0.1, "shared_key")
    only_string = settings_from(
        {"container": "c", "connectionstring": "AccountName=x;AccountKey=eQ==;BlobEndpoint=http://127.0.0.1:1/x"}
    )
    assert (only_string.accountname, only_string.credentials) == ("x", "connectionstring")
    assert only_string.serviceurl == "http://127.0.0.1:1/x"


def test_secrets_are_never_shown() -> None:
    key = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVl"
    secret = "client-secret-value"
    conn = f"AccountName=acct;AccountKey={key}"
    settings = settings_from(
        {
            **BASE,
            "accountkey": key,
            "connectionstring": conn,
            "credentials": {"type": "client_secret", "clientid": "c", "tenantid": "t", "secret": secret},
        }
    )
    assert key not in repr(settings)
    assert secret not in repr(settings)
    driver = distfs.create("azure", {**BASE, "accountkey": key})
    assert key not in repr(driver)
    for bad in (
        {"accountkey": {"v": key}},
        {"connectionstring": f"{key}"},
        {"credentials": {"type": secret}},
        {"credentials": {"type": "client_secret", "clientid": "c", "tenantid": "t", "secret": [secret]}},
    ):
        with pytest.raises(distfs.InvalidParameterError) as info:
            settings_from({**BASE, **bad})
        assert key not in str(info.value)
        assert secret not in str(info.value)


def test_parameters_reach_the_clients() -> None:
    settings = settings_from({**BASE, "skipverify": True, "serviceurl": "http://127.0.0.1:1/acct"})
    backend = AzureBackend(settings)
    assert backend.client.url.startswith("http://127.0.0.1:1/acct")
    assert backend.fs.service_client.url.startswith("http://127.0.0.1:1/acct")  # adlfs: the same service URL
    for client in (backend.client, backend.fs.service_client):
        assert client._pipeline._transport.connection_config.verify is False
    assert backend.root == "registry"


# -- reading and listing ---------------------------------------------------------------


def test_put_content_is_a_block_blob(az: distfs.StorageDriver) -> None:
    az.put_content("/a/b", b"data")
    properties = backend_of(az).blob("a/b").get_blob_properties()
    assert properties.blob_type == "BlockBlob"
    assert properties.content_settings.content_type == "application/octet-stream"


def test_list_is_one_level_and_drops_markers(az: distfs.StorageDriver, params: dict[str, Any]) -> None:
    backend = backend_of(az)
    for name in ("a/b/c", "a/b/d", "a/e", "ab/x"):
        backend.blob(name).upload_blob(b"x")
    backend.blob("a/marker/").upload_blob(b"")
    backend.blob("a/folder").upload_blob(b"", metadata={"hdi_isfolder": "true"})
    # the hdi_isfolder blob is dropped; a "dir/" blob makes a delimiter prefix, as on S3
    assert az.list("/a") == ["/a/b", "/a/e", "/a/marker"]
    assert az.list("/") == ["/a", "/ab"]
    assert az.stat("/a").is_dir
    with pytest.raises(distfs.PathNotFoundError):
        az.list("/a/e")
    az.delete("/ab")
    with pytest.raises(distfs.PathNotFoundError):
        az.stat("/ab")
    assert az.stat("/a").is_dir  # the prefix boundary: /a is not /ab
    files: list[str] = []
    az.walk("/a", lambda info: None if info.is_dir else files.append(info.path))
    assert files == ["/a/b/c", "/a/b/d", "/a/e"]


def test_list_is_one_delimiter_request(params: dict[str, Any]) -> None:
    requests = Requests()
    driver = make(params, requests)
    container = backend_of(driver).container
    for index in range(30):
        container.upload_blob(f"r/deep/{index}/x/y", b"")
    container.upload_blob("r/file", b"")
    requests.calls.clear()
    requests.queries.clear()
    assert driver.list("/r") == ["/r/deep", "/r/file"]
    listings = [q for q in requests.queries if q.get("comp") == ["list"]]
    assert len(listings) <= 2  # adlfs looks at "r" then lists "r/": one level each, never the subtree
    assert all(q["delimiter"] == ["/"] for q in listings)
    assert listings[-1]["prefix"] == ["r/"]


def test_another_process_writes_are_visible(params: dict[str, Any]) -> None:
    first, second = distfs.create("azure", params), distfs.create("azure", params)
    assert first.list("/") == []
    second.put_content("/seen/now", b"1")
    assert first.list("/") == ["/seen"]
    second.delete("/seen")
    assert first.list("/") == []


# -- writers ----------------------------------------------------------------------------


def test_hundred_chunk_upload_is_linear(params: dict[str, Any]) -> None:
    """100 PATCH-like sessions of 1 MiB: traffic stays linear, blocks stay full."""
    requests = Requests()
    driver = make(params, requests)
    chunk = os.urandom(MiB)
    digest = hashlib.sha256()
    w = driver.writer("/uploads/u1/data")
    w.close()
    for index in range(100):
        w = driver.writer("/uploads/u1/data", append=True)
        assert w.size == index * MiB
        piece = chunk[index:] + chunk[:index]
        w.write(piece)
        digest.update(piece)
        w.close()
    backend = backend_of(driver)
    staging = [n for n in all_blobs(driver) if n.startswith(".distfs~")]
    assert len(staging) == 1
    committed, _ = backend.blob(staging[0]).get_block_list("committed")
    assert [b.size for b in committed] == [4 * MiB] * 25
    w = driver.writer("/uploads/u1/data", append=True)
    assert w.size == 100 * MiB
    w.commit()
    w.close()
    total = 100 * MiB
    block = backend.block_size
    assert requests.bytes <= 1.2 * total + 100 * block, requests.bytes
    print(f"\n100 x 1 MiB resumable upload: {requests.bytes / MiB:.1f} MiB sent for {total / MiB:.0f} MiB")
    with driver.reader("/uploads/u1/data") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == digest.hexdigest()
    assert all_blobs(driver, uncommitted=True) == ["uploads/u1/data"]


def test_resume_in_a_fresh_process(params: dict[str, Any]) -> None:
    data = os.urandom(9 * MiB + 11)
    suspend_in_fresh_processes("azure", params, data, (0, 3 * MiB, 6 * MiB + 5, len(data)))
    driver = distfs.create("azure", params)
    assert driver.list("/") == []
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/p/data")
    w = driver.writer("/p/data", append=True)
    assert w.size == len(data)
    w.commit()
    assert driver.get_content("/p/data") == data
    assert all_blobs(driver, uncommitted=True) == ["p/data"]


def test_resume_ignores_blocks_after_the_last_close(az: distfs.StorageDriver) -> None:
    """A writer that died after staging blocks but before close() resumes at its last close."""
    first = os.urandom(3 * MiB)
    w = az.writer("/d")
    w.write(first)
    w.close()
    w = az.writer("/d", append=True)
    w.write(os.urandom(9 * MiB))  # stages two blocks, then dies without close()
    w = az.writer("/d", append=True)
    assert w.size == 3 * MiB
    rest = os.urandom(2 * MiB)
    w.write(rest)
    w.close()
    w = az.writer("/d", append=True)
    assert w.size == 5 * MiB
    w.commit()
    assert az.get_content("/d") == first + rest


def test_cancel_leaves_nothing(az: distfs.StorageDriver) -> None:
    w = az.writer("/c/data")
    w.write(os.urandom(5 * MiB))
    w.close()
    assert all_blobs(az)
    w = az.writer("/c/data", append=True)
    w.write(os.urandom(5 * MiB))  # staged, uncommitted
    w.cancel()
    assert all_blobs(az, uncommitted=True) == []
    assert az.list("/") == []


def test_hidden_state_never_shows(az: distfs.StorageDriver) -> None:
    w = az.writer("/h/data")
    w.write(b"abc")
    w.close()
    assert az.list("/") == []
    with pytest.raises(distfs.PathNotFoundError):
        az.stat("/h")
    with pytest.raises(distfs.PathNotFoundError):
        az.reader("/h/data")
    seen: list[str] = []
    az.walk("/", lambda info: seen.append(info.path))
    assert seen == []
    w = az.writer("/h/data", append=True)
    w.cancel()


def test_append_to_committed_blobs(az: distfs.StorageDriver) -> None:
    az.put_content("/empty", b"")
    w = az.writer("/empty", append=True)
    assert w.size == 0
    w.write(b"now")
    w.commit()
    assert az.get_content("/empty") == b"now"
    data = os.urandom(9 * MiB + 3)
    az.put_content("/full", data)
    w = az.writer("/full", append=True)
    assert w.size == len(data)
    w.write(b"more")
    w.close()
    assert az.get_content("/full") == data  # not published before commit
    w = az.writer("/full", append=True)
    assert w.size == len(data) + 4
    w.commit()
    assert az.get_content("/full") == data + b"more"
    with pytest.raises(distfs.PathNotFoundError):
        az.writer("/missing", append=True)


def test_writer_memory_is_bounded(az: distfs.StorageDriver) -> None:
    import tracemalloc

    piece = os.urandom(MiB)
    w = az.writer("/big")
    tracemalloc.start()
    try:
        for _ in range(24):
            w.write(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    w.cancel()
    assert peak < 3 * backend_of(az).block_size, peak


# -- delete, move, walk ---------------------------------------------------------------


def test_delete_in_batches(params: dict[str, Any]) -> None:
    requests = Requests()
    driver = make(params, requests)
    backend = backend_of(driver)
    for index in range(300):
        backend.blob(f"many/{index:04d}").upload_blob(b"")
    backend.blob("many-kept").upload_blob(b"")
    requests.calls.clear()
    driver.delete("/many")
    assert requests.count("POST", "batch") == 2
    assert all_blobs(driver) == ["many-kept"]
    with pytest.raises(distfs.PathNotFoundError):
        driver.delete("/many")


def test_delete_reports_per_blob_failures(az: distfs.StorageDriver) -> None:
    backend = backend_of(az)
    az.put_content("/f/a", b"a")
    az.put_content("/f/b", b"b")
    lease = backend.blob("f/b").acquire_lease()
    with pytest.raises(distfs.DriverError) as info:
        az.delete("/f")
    assert "f/b: 412" in str(info.value)
    assert str(info.value).startswith("azure: errors:\n")
    lease.release()
    az.delete("/f")


def test_move_is_a_server_side_copy(params: dict[str, Any]) -> None:
    requests = Requests()
    driver = make(params, requests)
    data = os.urandom(6 * MiB)
    driver.put_content("/src", data)
    requests.bytes = 0
    requests.calls.clear()
    driver.move("/src", "/dst/one")
    assert requests.count("PUT") == 1  # Copy Blob
    assert requests.bytes < MiB
    assert driver.get_content("/dst/one") == data
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/src")
    with pytest.raises(distfs.PathNotFoundError):
        driver.move("/src", "/dst/one")
    assert driver.get_content("/dst/one") == data


def test_failed_copy_keeps_the_source(params: dict[str, Any]) -> None:
    driver = make(params)
    driver.put_content("/keep", b"keep")
    backend = backend_of(driver)

    def failing(*_: Any, **__: Any) -> dict[str, str]:
        return {"copy_status": "failed", "copy_id": "x"}

    original = backend.blob

    class Target:
        def __init__(self, name: str) -> None:
            self._client = original(name)

        def __getattr__(self, attribute: str) -> Any:
            return failing if attribute == "start_copy_from_url" else getattr(self._client, attribute)

    backend.blob = Target  # type: ignore[method-assign]
    with pytest.raises(distfs.DriverError, match="failed to move blob"):
        driver.move("/keep", "/moved")
    backend.blob = original  # type: ignore[method-assign]
    assert driver.get_content("/keep") == b"keep"


@pytest.mark.parametrize("page", [5000, 100])
def test_walk_lists_pages_of_names(params: dict[str, Any], page: int) -> None:
    count = 1200
    requests = Requests()
    driver = make(params, requests, list_page_size=page)
    container = backend_of(driver).container
    for index in range(count):
        container.upload_blob(f"blobs/sha256/{index % 7:02x}/{index:05d}/data", b"x")
    requests.calls.clear()
    files: list[str] = []
    driver.walk("/blobs", lambda info: None if info.is_dir else files.append(info.path))
    assert len(files) == count
    assert sorted(files) == files
    lists = sum(1 for method, comp in requests.calls if method == "GET" and comp == "list")
    assert lists <= math.ceil(count / page) + 1, lists
    assert requests.count("HEAD") == 0


def test_walk_of_a_missing_path(az: distfs.StorageDriver) -> None:
    with pytest.raises(distfs.PathNotFoundError):
        az.walk("/missing", lambda info: None)
    az.walk("/", lambda info: None)


# -- redirects --------------------------------------------------------------------------


def test_redirect_urls_are_read_only_sas(az: distfs.StorageDriver) -> None:
    az.put_content("/blob", b"0123456789")
    get = az.redirect_url("/blob", "GET")
    head = az.redirect_url("/blob", "HEAD")
    assert get
    assert head
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(get).query)
    assert query["sp"] == ["r"]
    assert AZURITE_KEY not in get
    assert urllib.request.urlopen(get).read() == b"0123456789"
    response = urllib.request.urlopen(urllib.request.Request(head, method="HEAD"))
    assert response.headers["Content-Length"] == "10"
    for method in ("PUT", "DELETE", "POST"):
        assert az.redirect_url("/blob", method) is None
    put = urllib.request.Request(get, data=b"x", method="PUT", headers={"x-ms-blob-type": "BlockBlob"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(put)
    assert refused.value.code == 403  # read-only
    tampered = get.replace("sig=", "sig=AAAA")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered)
    assert refused.value.code == 403


def test_expired_redirect_url_is_refused(az: distfs.StorageDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    az.put_content("/blob", b"x")
    monkeypatch.setattr(azure, "REDIRECT_SECONDS", -60)
    url = az.redirect_url("/blob", "GET")
    assert url
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url)
    assert refused.value.code == 403


def test_pending_copy_is_polled_then_aborted(params: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    driver = make({**params, "max_retries": 2, "retry_delay": "1ms"})
    driver.put_content("/keep", b"keep")
    backend = backend_of(driver)
    original = backend.blob
    aborted: list[str] = []

    class Pending:
        def __init__(self, name: str) -> None:
            self._client = original(name)

        @property
        def url(self) -> str:
            url: str = self._client.url
            return url

        def start_copy_from_url(self, *_: Any, **__: Any) -> dict[str, str]:
            return {"copy_status": "pending", "copy_id": "copy-1"}

        def get_blob_properties(self) -> Any:
            if self._client.blob_name == "keep":
                return self._client.get_blob_properties()
            return types.SimpleNamespace(copy=types.SimpleNamespace(status="pending"))

        def abort_copy(self, copy_id: str) -> None:
            aborted.append(copy_id)

    monkeypatch.setattr(backend, "blob", Pending)
    with pytest.raises(distfs.DriverError, match="max retries for copy polling reached"):
        driver.move("/keep", "/moved")
    monkeypatch.undo()
    assert aborted == ["copy-1"]
    assert driver.get_content("/keep") == b"keep"


def test_put_content_replaces_a_legacy_append_blob(az: distfs.StorageDriver) -> None:
    legacy = backend_of(az).blob("legacy")
    legacy.create_append_blob()
    legacy.append_block(b"old")
    az.put_content("/legacy", b"new")
    assert az.get_content("/legacy") == b"new"
    assert legacy.get_blob_properties().blob_type == "BlockBlob"


def test_walk_skips_directories(params: dict[str, Any]) -> None:
    requests = Requests()
    driver = make(params, requests, list_page_size=50)
    container = backend_of(driver).container
    for index in range(120):
        container.upload_blob(f"a/skipped/{index:04d}", b"")
    container.upload_blob("a/z", b"")
    requests.calls.clear()
    seen: list[str] = []

    def fn(info: distfs.FileInfo) -> None:
        seen.append(info.path)
        if info.path == "/a/skipped":
            raise distfs.SkipDir

    driver.walk("/", fn)
    assert seen == ["/a", "/a/skipped", "/a/z"]
    # no StartAfter on Azure: the restart continues from the last page's token, never from the start
    assert requests.count("GET", "list") == 3


@pytest.mark.parametrize(
    "credentials",
    [{"type": "client_secret", "clientid": "c", "tenantid": "t", "secret": "s"}, {"type": "default_credentials"}],
)
def test_token_credentials_build_offline(credentials: dict[str, str]) -> None:
    settings = settings_from({"accountname": "acct", "container": "c", "credentials": credentials})
    backend = AzureBackend(settings)  # no request is sent until the driver is used
    assert backend.client.url == "https://acct.blob.core.windows.net/"
    assert backend.fs.service_client.url == "https://acct.blob.core.windows.net/"


def test_distfs_check_against_azurite(azurite_endpoint: str) -> None:
    container = new_container(azurite_endpoint)
    arguments = [f"{k}={v}" for k, v in parameters_for(azurite_endpoint, container).items()]
    command = [sys.executable, "-m", "distfs.tools.cli", "check", "azure", "-k", "move"]
    for argument in arguments:
        command += ["-p", argument]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "check: 5 passed, 0 failed, 0 skipped"
    assert AZURITE_KEY not in result.stdout + result.stderr
