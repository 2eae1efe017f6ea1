"""The gcs driver against fake-gcs-server (started by the harness)."""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cases import oauth_token_server, suspend_in_fresh_processes, two_instances_see_each_other
from conftest import unique_name

import distfs
from distfs.backends.gcs import ComposeWriter, GCSBackend, settings_from
from distfs.base import Base
from distfs.fsspec_driver import FsspecDriver
from distfs.testing import DriverSuite

KiB = 1 << 10
MiB = 1 << 20
CHUNK = 256 * KiB


def new_bucket(endpoint: str) -> str:
    name = unique_name("distfs-gcs")
    request = urllib.request.Request(
        endpoint + "/storage/v1/b?project=test",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()
    return name


def all_keys(endpoint: str, bucket: str) -> list[str]:
    names: list[str] = []
    token = ""
    while True:
        query = urllib.parse.urlencode({"pageToken": token} if token else {})
        with urllib.request.urlopen(f"{endpoint}/storage/v1/b/{bucket}/o?{query}") as response:
            listing = json.loads(response.read())
        names += [item["name"] for item in listing.get("items", [])]
        token = listing.get("nextPageToken", "")
        if not token:
            return sorted(names)


def admin_put(endpoint: str, bucket: str, name: str, data: bytes = b"") -> None:
    query = urllib.parse.urlencode({"uploadType": "media", "name": name})
    request = urllib.request.Request(
        f"{endpoint}/upload/storage/v1/b/{bucket}/o?{query}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(request).read()


def backend_of(driver: distfs.StorageDriver) -> GCSBackend:
    assert isinstance(driver, Base)
    inner = driver.inner
    assert isinstance(inner, FsspecDriver)
    assert isinstance(inner.backend, GCSBackend)
    return inner.backend


class Requests:
    """Counts the JSON/upload API calls one driver sends, and their body bytes (gcsfs ``_call``)."""

    def __init__(self, driver: distfs.StorageDriver) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.bytes = 0
        fs = backend_of(driver).fs
        original = fs._call

        async def counted(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, path, kwargs))
            data = kwargs.get("data")
            if isinstance(data, bytes | bytearray | memoryview):
                self.bytes += len(data)
            elif isinstance(data, str):
                self.bytes += len(data.encode())
            elif data is not None and hasattr(data, "seek"):
                position = data.tell()
                data.seek(0, 2)
                self.bytes += data.tell() - position
                data.seek(position)
            if kwargs.get("json") is not None:
                self.bytes += len(json.dumps(kwargs["json"]))
            return await original(method, path, *args, **kwargs)

        fs._call = counted

    def count(self, method: str, contains: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == method and contains in p)

    def lists(self) -> int:
        return sum(1 for m, p, _ in self.calls if m == "GET" and p.endswith("b/{}/o"))


def gcs_parameters_for(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {"bucket": bucket, "endpoint": endpoint, "chunksize": CHUNK, **extra}


@pytest.fixture
def gcs_bucket(gcs_endpoint: str) -> str:
    return new_bucket(gcs_endpoint)


@pytest.fixture
def gcs_parameters(gcs_endpoint: str, gcs_bucket: str) -> dict[str, Any]:
    return gcs_parameters_for(gcs_endpoint, gcs_bucket)


@pytest.fixture
def gcs(gcs_parameters: dict[str, Any]) -> distfs.StorageDriver:
    return distfs.create("gcs", gcs_parameters)


# -- the conformance suite on fake-gcs-server -----------------------------------------


class TestGCSConformance(DriverSuite):
    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        endpoint = request.getfixturevalue("gcs_endpoint")
        return distfs.create("gcs", {"bucket": new_bucket(endpoint), "endpoint": endpoint})


class TestGCSSmallChunkConformance(DriverSuite):
    """Every segment 256 KiB (many composes), keys below a root directory, and signing
    credentials, so the redirect test fetches real signed GET and HEAD URLs."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        endpoint = request.getfixturevalue("gcs_endpoint")
        parameters = gcs_parameters_for(endpoint, new_bucket(endpoint), rootdirectory="/registry/v2/")
        parameters["credentials"] = service_account_info(request.getfixturevalue("token_server"))
        driver = distfs.create("gcs", parameters)
        assert driver.redirect_url("/probe", "GET") is not None
        return driver


# -- parameters -------------------------------------------------------------------------

BASE = {"bucket": "b"}


def service_account_info(token_uri: str = "https://oauth2.googleapis.com/token") -> dict[str, str]:
    """A throwaway service account with a fresh RSA key (nothing is registered anywhere)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "distfs@test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }


SERVICE_ACCOUNT = service_account_info()


@pytest.fixture(scope="module")
def keyfile(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("keys") / "sa.json"
    path.write_text(json.dumps(SERVICE_ACCOUNT))
    return str(path)


# key, value, the GCSSettings field it sets, its expected value
ACCEPTED: list[tuple[str, Any, str, Any]] = [
    ("bucket", "registry", "bucket", "registry"),
    ("rootdirectory", "/docker/registry/", "rootdirectory", "docker/registry"),
    ("rootdirectory", "", "rootdirectory", ""),
    ("chunksize", str(256 * KiB), "chunksize", 256 * KiB),
    ("chunksize", 16 * MiB, "chunksize", 16 * MiB),
    ("chunksize", "5242880", "chunksize", 5 * MiB),
    ("useragent", "registry/3.0", "useragent", "registry/3.0"),
    ("maxconcurrency", "100", "maxconcurrency", 100),
    ("maxconcurrency", 10, "maxconcurrency", 25),
    ("maxconcurrency", 0, "maxconcurrency", 25),
    ("maxconcurrency", "0x40", "maxconcurrency", 64),
    ("endpoint", "http://127.0.0.1:4443/", "endpoint", "http://127.0.0.1:4443"),
    ("endpoint", "https://storage.example.com", "endpoint", "https://storage.example.com"),
    ("credentials", SERVICE_ACCOUNT, "service_account", SERVICE_ACCOUNT),
    ("maxretries", "0", "maxretries", 0),
    ("maxretries", 12, "maxretries", 12),
]

# key, value, words the error must contain
REJECTED: list[tuple[str, Any, str]] = [
    ("bucket", "", "no bucket"),
    ("bucket", ["b"], "string"),
    ("chunksize", str(256 * KiB - 1), "between"),
    ("chunksize", 256 * KiB + 1, "multiple of 262144"),
    ("chunksize", "ten", "integer"),
    ("chunksize", 1.5, "integer"),
    ("chunksize", str((5 << 30) + CHUNK), "between"),
    ("useragent", ["x"], "string"),
    ("rootdirectory", {"a": 1}, "string"),
    ("maxconcurrency", "many", "integer"),
    ("maxconcurrency", True, "integer"),
    ("endpoint", "ftp://host", "http or https"),
    ("endpoint", "127.0.0.1:4443", "http or https"),
    ("endpoint", "http://host/?a=b", "query"),
    ("credentials", "not-a-map", "correct format"),
    ("credentials", {"type": "service_account", "client_email": "x"}, "not usable"),
    ("keyfile", "/nonexistent/sa.json", "cannot read"),
    ("rootdir", "/x", "unknown parameter"),
    ("maxretries", 101, "between"),
    ("maxretries", 1.5, "integer"),
]


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"), ACCEPTED, ids=[f"{a[0]}={a[1]!r:.40}" for a in ACCEPTED]
)
def test_parameter_accepted(key: str, value: Any, field: str, expected: Any) -> None:
    settings = settings_from({**BASE, key: value})
    assert getattr(settings, field) == expected


@pytest.mark.parametrize(("key", "value", "words"), REJECTED, ids=[f"{r[0]}={r[1]!r:.40}" for r in REJECTED])
def test_parameter_rejected(key: str, value: Any, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, key: value})
    assert info.value.parameter == key
    assert info.value.driver == "gcs"
    assert words in str(info.value)


def test_keyfile_parameter(keyfile: str, tmp_path: Path) -> None:
    settings = settings_from({**BASE, "keyfile": keyfile})
    assert settings.keyfile == keyfile
    assert settings.service_account["client_email"] == SERVICE_ACCOUNT["client_email"]
    bad = tmp_path / "bad.json"
    bad.write_text("not json " + SERVICE_ACCOUNT["private_key"])
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, "keyfile": str(bad)})
    assert info.value.parameter == "keyfile"
    assert "PRIVATE KEY" not in str(info.value)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**SERVICE_ACCOUNT, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"}))
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, "keyfile": str(broken)})
    assert "AAAA" not in str(info.value)
    with pytest.raises(distfs.InvalidParameterError, match="not both") as info:
        settings_from({**BASE, "keyfile": keyfile, "credentials": SERVICE_ACCOUNT})


def test_every_known_key_is_covered() -> None:
    from distfs.backends import gcs

    covered = {a[0] for a in ACCEPTED} | {r[0] for r in REJECTED}
    assert set(gcs.KNOWN) <= covered


def test_defaults_match_go() -> None:
    settings = settings_from(BASE)
    assert settings.chunksize == 16 * MiB
    assert settings.maxconcurrency == 50
    assert settings.rootdirectory == ""
    driver = distfs.create("gcs", {**BASE, "endpoint": "http://127.0.0.1:9", "maxconcurrency": 30})
    assert isinstance(driver, Base)
    assert driver.name == "gcs"


def test_secrets_are_never_shown(keyfile: str) -> None:
    secret = SERVICE_ACCOUNT["private_key"]
    settings = settings_from({**BASE, "credentials": SERVICE_ACCOUNT})
    assert secret not in repr(settings)
    assert "client_email" not in repr(settings)
    driver = distfs.create("gcs", {**BASE, "endpoint": "http://127.0.0.1:9", "keyfile": keyfile})
    assert secret not in repr(driver)
    broken = {**SERVICE_ACCOUNT, "private_key": secret[:200]}
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, "credentials": broken})
    assert secret[40:120] not in str(info.value)


def test_useragent_reaches_requests(gcs_parameters: dict[str, Any]) -> None:
    driver = distfs.create("gcs", {**gcs_parameters, "useragent": "distfs-test/1"})
    headers = backend_of(driver).fs._get_headers(None)
    assert headers["User-Agent"] == "distfs-test/1"
    driver.put_content("/ua", b"1")
    assert driver.get_content("/ua") == b"1"


# -- writers ----------------------------------------------------------------------------


def test_hundred_chunk_upload_is_linear(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    """100 PATCH-like sessions of 1 MiB: traffic stays linear, resumes read no data."""
    chunk = os.urandom(MiB)
    digest = hashlib.sha256()
    requests = Requests(gcs)
    w = gcs.writer("/uploads/u1/data")
    w.close()
    for index in range(100):
        w = gcs.writer("/uploads/u1/data", append=True)
        assert w.size == index * MiB
        piece = chunk[index:] + chunk[:index]
        w.write(piece)
        digest.update(piece)
        w.close()
    w = gcs.writer("/uploads/u1/data", append=True)
    assert w.size == 100 * MiB
    w.commit()
    w.close()
    total = 100 * MiB
    assert requests.bytes <= 1.2 * total + 100 * CHUNK, requests.bytes
    assert requests.count("GET", "alt=media") == 0  # nothing read back
    print(f"\n100 x 1 MiB resumable upload: {requests.bytes / MiB:.2f} MiB sent for {total / MiB:.0f} MiB")
    with gcs.reader("/uploads/u1/data") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == digest.hexdigest()
    assert all_keys(gcs_endpoint, gcs_bucket) == ["uploads/u1/data"]  # no hidden object left


def test_resume_in_a_fresh_process(gcs_parameters: dict[str, Any]) -> None:
    data = os.urandom(3 * MiB + 11)
    suspend_in_fresh_processes("gcs", gcs_parameters, data, (0, MiB, 2 * MiB + 5, len(data)))
    driver = distfs.create("gcs", gcs_parameters)
    requests = Requests(driver)
    w = driver.writer("/p/data", append=True)
    assert requests.lists() == 1  # one listing gives the exact size
    assert w.size == len(data)
    w.commit()
    assert driver.get_content("/p/data") == data


def test_resume_ignores_segments_after_the_last_close(
    gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str
) -> None:
    """A writer that died after uploading a segment but before close() resumes at its last close."""
    first = os.urandom(CHUNK + 100)
    w = gcs.writer("/d")
    w.write(first)
    w.close()
    w = gcs.writer("/d", append=True)
    w.write(os.urandom(2 * CHUNK))  # uploads a segment, then dies without close()
    w = gcs.writer("/d", append=True)
    assert w.size == len(first)
    rest = os.urandom(CHUNK * 3 + 7)
    w.write(rest)
    w.commit()
    assert gcs.get_content("/d") == first + rest
    assert all_keys(gcs_endpoint, gcs_bucket) == ["d"]


def test_segments_stay_bounded(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    w = gcs.writer("/s")
    w.write(os.urandom(40 * CHUNK + 5))  # 40 segments before the first close
    w.close()
    hidden = [k for k in all_keys(gcs_endpoint, gcs_bucket) if "/seg-" in k]
    assert len(hidden) == 1  # composed in rounds of <= 32 into one
    for _ in range(40):
        w = gcs.writer("/s", append=True)
        w.write(b"x" * 1000)
        w.close()
    hidden = [k for k in all_keys(gcs_endpoint, gcs_bucket) if "/seg-" in k]
    assert len(hidden) < 32
    w = gcs.writer("/s", append=True)
    assert w.size == 40 * CHUNK + 5 + 40 * 1000
    w.commit()
    assert gcs.stat("/s").size == 40 * CHUNK + 5 + 40 * 1000


def test_cancel_leaves_nothing(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    w = gcs.writer("/c/data")
    w.write(os.urandom(3 * CHUNK))
    w.close()
    assert all_keys(gcs_endpoint, gcs_bucket)
    w = gcs.writer("/c/data", append=True)
    w.write(os.urandom(2 * CHUNK))
    w.cancel()
    assert all_keys(gcs_endpoint, gcs_bucket) == []


def test_new_writer_discards_the_previous_upload(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    w = gcs.writer("/n")
    w.write(os.urandom(3 * CHUNK))
    w.close()
    w = gcs.writer("/n")
    w.write(b"fresh")
    w.commit()
    assert all_keys(gcs_endpoint, gcs_bucket) == ["n"]
    assert gcs.get_content("/n") == b"fresh"


def test_delete_discards_uploads_below(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    gcs.put_content("/_uploads/1/startedat", b"t")
    w = gcs.writer("/_uploads/1/data")
    w.write(os.urandom(3 * CHUNK))
    w.close()
    gcs.delete("/_uploads/1")
    assert all_keys(gcs_endpoint, gcs_bucket) == []


def test_append_to_committed_object_composes_server_side(gcs: distfs.StorageDriver) -> None:
    first = os.urandom(2 * MiB + 3)
    gcs.put_content("/k", first)
    requests = Requests(gcs)
    w = gcs.writer("/k", append=True)
    assert w.size == len(first)
    assert requests.count("POST", "compose") == 1
    assert requests.bytes <= 4 * KiB  # no data sent again
    w.write(b"tail")
    w.commit()
    assert gcs.get_content("/k") == first + b"tail"
    gcs.put_content("/z", b"")
    w = gcs.writer("/z", append=True)
    assert w.size == 0
    w.write(b"z")
    w.commit()
    assert gcs.get_content("/z") == b"z"
    with pytest.raises(distfs.PathNotFoundError):
        gcs.writer("/missing", append=True)


def test_writer_memory_is_bounded(gcs_parameters: dict[str, Any]) -> None:
    driver = distfs.create("gcs", {**gcs_parameters, "chunksize": MiB})
    piece = os.urandom(MiB)
    w = driver.writer("/big")
    tracemalloc.start()
    try:
        for _ in range(24):
            w.write(piece)
        w.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB + 8 * MiB, peak  # a few chunks, whatever the object size
    w = driver.writer("/big", append=True)
    assert w.size == 24 * MiB
    w.cancel()


def test_writer_is_compose_based(gcs: distfs.StorageDriver) -> None:
    w = gcs.writer("/m")
    assert isinstance(backend_of(gcs).open_writer(gcs.inner, "/other", False), ComposeWriter)  # type: ignore[attr-defined]
    w.cancel()


# -- reads ------------------------------------------------------------------------------


def test_empty_object_and_offsets_past_the_end(gcs: distfs.StorageDriver) -> None:
    gcs.put_content("/e", b"")
    for offset in (0, 1, 100):
        with gcs.reader("/e", offset) as stream:
            assert stream.read() == b""
    gcs.put_content("/f", b"abc")
    with gcs.reader("/f", 3) as stream:
        assert stream.read() == b""
    with gcs.reader("/f", 1) as stream:
        assert stream.read() == b"bc"


# -- listings, stat, delete, move -------------------------------------------------------


def test_markers_prefix_boundaries_and_duplicates(
    gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str
) -> None:
    admin_put(gcs_endpoint, gcs_bucket, "dir/")
    admin_put(gcs_endpoint, gcs_bucket, "dir/file", b"x")
    admin_put(gcs_endpoint, gcs_bucket, "both", b"x")
    admin_put(gcs_endpoint, gcs_bucket, "both/child", b"x")
    gcs.put_content("/ab/x", b"x")
    assert gcs.list("/") == ["/ab", "/both", "/dir"]
    assert gcs.list("/dir") == ["/dir/file"]
    assert gcs.stat("/dir").is_dir
    with pytest.raises(distfs.PathNotFoundError):
        gcs.stat("/a")
    with pytest.raises(distfs.PathNotFoundError):
        gcs.list("/a")
    assert gcs.stat("/ab").is_dir
    seen: list[str] = []
    gcs.walk("/", lambda info: seen.append(info.path))
    assert seen == ["/ab", "/ab/x", "/both", "/both", "/both/child", "/dir", "/dir/file"]


def test_two_instances_see_each_other(gcs_parameters: dict[str, Any]) -> None:
    two_instances_see_each_other("gcs", gcs_parameters)


def test_delete_only_below_the_boundary(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    for index in range(120):
        admin_put(gcs_endpoint, gcs_bucket, f"many/{index:04d}")
    admin_put(gcs_endpoint, gcs_bucket, "many")
    admin_put(gcs_endpoint, gcs_bucket, "many-kept")
    gcs.delete("/many")
    assert all_keys(gcs_endpoint, gcs_bucket) == ["many-kept"]
    with pytest.raises(distfs.PathNotFoundError):
        gcs.delete("/many")


def test_delete_reports_per_object_failures(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    gcs.put_content("/f/a", b"a")
    gcs.put_content("/f/b", b"b")
    fs = backend_of(gcs).fs
    original = fs._rm_file

    async def refuse_one(path: str, **kwargs: Any) -> Any:
        if path.endswith("/f/b"):
            raise OSError("Forbidden: injected")
        return await original(path, **kwargs)

    fs._rm_file = refuse_one
    with pytest.raises(distfs.DriverError) as info:
        gcs.delete("/f")
    assert str(info.value).startswith("gcs: errors:\n")
    assert "f/b: Forbidden: injected" in str(info.value)
    assert all_keys(gcs_endpoint, gcs_bucket) == ["f/b"]


def test_move_copies_server_side(gcs: distfs.StorageDriver) -> None:
    data = os.urandom(3 * MiB)
    gcs.put_content("/src", data)
    requests = Requests(gcs)
    gcs.move("/src", "/dst/one")
    assert requests.count("POST", "rewriteTo") == 1
    assert requests.count("POST", "moveTo") == 0
    assert requests.bytes < KiB
    assert gcs.get_content("/dst/one") == data
    with pytest.raises(distfs.PathNotFoundError):
        gcs.stat("/src")


def test_failed_copy_keeps_the_source(gcs: distfs.StorageDriver) -> None:
    gcs.put_content("/keep", b"data")
    fs = backend_of(gcs).fs

    async def fail(*args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("injected: connection reset during rewrite")

    fs._cp_file = fail
    with pytest.raises(distfs.DriverError, match="injected"):
        gcs.move("/keep", "/moved")
    assert gcs.get_content("/keep") == b"data"
    with pytest.raises(distfs.PathNotFoundError):
        gcs.stat("/moved")


# -- walk -------------------------------------------------------------------------------


def test_walk_lists_a_thousand_keys_per_request(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    count = 1200
    for index in range(count):
        admin_put(gcs_endpoint, gcs_bucket, f"blobs/sha256/{index % 7:02x}/{index:05d}/data", b"x")
    requests = Requests(gcs)
    files: list[str] = []
    gcs.walk("/blobs", lambda info: None if info.is_dir else files.append(info.path))
    assert len(files) == count
    assert requests.lists() <= -(-count // 1000) + 1
    assert len(requests.calls) <= -(-count // 1000) + 2  # the listing, plus at most one existence check


def test_walk_skips_ahead_of_skipped_directories(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    for index in range(1100):
        admin_put(gcs_endpoint, gcs_bucket, f"a/skipped/{index:04d}")
    admin_put(gcs_endpoint, gcs_bucket, "a/z")
    requests = Requests(gcs)
    seen: list[str] = []

    def fn(info: distfs.FileInfo) -> None:
        seen.append(info.path)
        if info.path == "/a/skipped":
            raise distfs.SkipDir

    gcs.walk("/", fn)
    assert seen == ["/a", "/a/skipped", "/a/z"]
    assert requests.lists() == 2  # the first page, then straight past /a/skipped


def test_walk_start_after_hint_excludes_the_hint(gcs: distfs.StorageDriver) -> None:
    for name in ("a", "b", "c"):
        gcs.put_content(f"/w/{name}", b"x")
    seen: list[str] = []
    gcs.walk("/w", lambda info: seen.append(info.path), start_after_hint="/w/b")
    assert seen == ["/w/c"]


def test_walk_of_a_missing_path(gcs: distfs.StorageDriver) -> None:
    with pytest.raises(distfs.PathNotFoundError):
        gcs.walk("/missing", lambda info: None)
    gcs.walk("/", lambda info: None)


# -- redirects --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    """A local OAuth token endpoint, so service-account credentials work against the emulator."""
    with oauth_token_server("test-token") as url:
        yield url


def test_redirect_urls(gcs_parameters: dict[str, Any], gcs_endpoint: str, token_server: str) -> None:
    unsigned = distfs.create("gcs", gcs_parameters)
    unsigned.put_content("/blob", b"0123456789")
    assert unsigned.redirect_url("/blob", "GET") is None
    driver = distfs.create("gcs", {**gcs_parameters, "credentials": service_account_info(token_server)})
    assert driver.get_content("/blob") == b"0123456789"  # the credentials reach gcsfs
    get = driver.redirect_url("/blob", "GET")
    head = driver.redirect_url("/blob", "HEAD")
    assert get
    assert head
    assert get.startswith(f"{gcs_endpoint}/{gcs_parameters['bucket']}/blob?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(get).query)
    head_query = urllib.parse.parse_qs(urllib.parse.urlsplit(head).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["1200"]
    assert query["X-Goog-Credential"][0].startswith("distfs@test.iam.gserviceaccount.com/")
    assert query["X-Goog-Signature"] != head_query["X-Goog-Signature"]  # signatures are method-specific
    assert urllib.request.urlopen(get).read() == b"0123456789"
    response = urllib.request.urlopen(urllib.request.Request(head, method="HEAD"))
    assert response.status == 200
    for method in ("PUT", "DELETE", "POST"):
        assert driver.redirect_url("/blob", method) is None
    assert SERVICE_ACCOUNT["private_key"][30:90] not in get
