"""What is specific to the gcs driver, against fake-gcs-server (started by the harness).

Generic behaviour (the contract, crashes, faults, pinned reads, listings and resumes) is
tested on every object store in tests/drivers/test_objectstores.py,
test_object_store_behaviours.py and tests/engine/; here: parameters, credentials and signing,
the JSON API requests the store sends (through a counting proxy), compose-emulated uploads
(marker, rounds of 32, clean-up order), and emulator quirks.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cases import json_server, oauth_token_server, service_account_info
from conftest import unique_name
from fault_proxy import FaultProxy
from profiles import GCSAdmin

import distfs
from distfs.backends.gcs import settings_from
from distfs.base import Base
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
    return GCSAdmin(None, {"bucket": bucket, "endpoint": endpoint}).keys()


def admin_put(endpoint: str, bucket: str, name: str, data: bytes = b"") -> None:
    GCSAdmin(None, {"bucket": bucket, "endpoint": endpoint}).put(name, data)


def admin_delete(endpoint: str, bucket: str, name: str) -> None:
    quoted = urllib.parse.quote(name, safe="")
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/storage/v1/b/{bucket}/o/{quoted}", method="DELETE"))


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


class Traced:
    """A driver on the bucket through a proxy that records every request (method, path and query)."""

    def __init__(self, proxy: FaultProxy, parameters: dict[str, Any]) -> None:
        self.proxy = proxy
        self.driver = distfs.create("gcs", {**parameters, "endpoint": proxy.endpoint})
        self.reset()

    def reset(self) -> None:
        self.proxy.trace = []
        self.proxy.bytes_up = self.proxy.bytes_down = 0

    def count(self, method: str, contains: str) -> int:
        assert self.proxy.trace is not None
        return sum(1 for line in self.proxy.trace if line.split()[1] == method and contains in line.split()[2])

    def lists(self) -> int:
        assert self.proxy.trace is not None
        return sum(1 for line in self.proxy.trace if line.split()[1] == "GET" and "/o?" in line.split()[2])


@pytest.fixture
def traced(gcs_endpoint: str, gcs_parameters: dict[str, Any]) -> Iterator[Traced]:
    with FaultProxy(gcs_endpoint, "gcs") as proxy:
        yield Traced(proxy, gcs_parameters)


@contextlib.contextmanager
def recorder(message: str = "Not Found") -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local HTTP server answering every request 404 with ``message`` (JSON API style), recording its headers."""
    with json_server(404, {"error": {"code": 404, "message": message}}) as (url, seen):
        yield url, seen


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    """A local OAuth token endpoint, so service-account credentials work against the emulator."""
    with oauth_token_server("test-token") as url:
        yield url


# -- the conformance suite with service-account credentials ------------------------------


class TestGCSSignedConformance(DriverSuite):
    """Bearer tokens from a service account on every request, keys below a root directory,
    so the redirect test fetches real signed GET and HEAD URLs."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        endpoint = request.getfixturevalue("gcs_endpoint")
        parameters = gcs_parameters_for(endpoint, new_bucket(endpoint), rootdirectory="/registry/v2/")
        parameters["credentials"] = service_account_info(request.getfixturevalue("token_server"))
        driver = distfs.create("gcs", parameters)
        assert driver.redirect_url("/probe", "GET") is not None
        return driver


# -- parameters -------------------------------------------------------------------------

BASE = {"bucket": "b"}


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
    ("credentials", SERVICE_ACCOUNT, "credentials", SERVICE_ACCOUNT),
    ("maxretries", "0", "maxretries", 0),
    ("maxretries", 12, "maxretries", 12),
    ("storage_options", {"project": "p"}, "storage_options", {"project": "p"}),
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
    ("credentials", {}, "correct format"),
    ("keyfile", "/nonexistent/sa.json", "cannot read"),
    ("rootdir", "/x", "unknown parameter"),
    ("maxretries", 101, "between"),
    ("maxretries", 1.5, "integer"),
    ("storage_options", "token=anon", "mapping"),
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
    """gcsfs reads the keyfile (its ``token``); what it cannot use is an InvalidParameterError
    naming the key, never quoting the key material."""
    settings = settings_from({**BASE, "keyfile": keyfile})
    assert settings.keyfile == keyfile
    assert settings.gcsfs_kwargs()["token"] == keyfile
    endpoint = {"endpoint": "http://127.0.0.1:9"}
    bad = tmp_path / "bad.json"
    bad.write_text("not json " + SERVICE_ACCOUNT["private_key"])
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("gcs", {**BASE, **endpoint, "keyfile": str(bad)})
    assert info.value.parameter == "keyfile"
    assert "PRIVATE KEY" not in str(info.value)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**SERVICE_ACCOUNT, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"}))
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("gcs", {**BASE, **endpoint, "keyfile": str(broken)})
    assert "AAAA" not in str(info.value)
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("gcs", {**BASE, **endpoint, "credentials": {"type": "service_account", "client_email": "x"}})
    assert info.value.parameter == "credentials"
    assert "not usable" in str(info.value)
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
        distfs.create("gcs", {**BASE, "endpoint": "http://127.0.0.1:9", "credentials": broken})
    assert secret[40:120] not in str(info.value)


def test_useragent_and_credentials_reach_requests(token_server: str) -> None:
    with recorder() as (endpoint, seen):
        anonymous = distfs.create("gcs", {"bucket": "b", "endpoint": endpoint, "useragent": "distfs-test/1"})
        with pytest.raises(distfs.StoreNotFoundError):
            anonymous.stat("/x")
        assert seen
        assert all(h.get("user-agent") == "distfs-test/1" for h in seen)
        assert not any("authorization" in h for h in seen)  # anonymous against an endpoint
        seen.clear()
        signed = distfs.create(
            "gcs", {"bucket": "b", "endpoint": endpoint, "credentials": service_account_info(token_server)}
        )
        with pytest.raises(distfs.StoreNotFoundError):
            signed.list("/")
        assert seen
        assert all(h.get("authorization") == "Bearer test-token" for h in seen)


def test_missing_bucket_is_told_apart(gcs_endpoint: str) -> None:
    driver = distfs.create("gcs", gcs_parameters_for(gcs_endpoint, unique_name("distfs-gcs-missing")))
    for call in (lambda: driver.stat("/x"), lambda: driver.list("/"), lambda: driver.walk("/", lambda i: None)):
        with pytest.raises(distfs.StoreNotFoundError) as info:
            call()
        assert info.value.store == driver.inner.engine.store.bucket  # type: ignore[attr-defined]
        assert info.value.kind == "bucket"
        assert str(info.value).startswith("gcs: ")


def test_a_404_names_the_bucket_only_when_gcs_says_so() -> None:
    """GCS says "The specified bucket does not exist." for a missing bucket, "No such object:
    <bucket>/<key>" for a missing object (whose bucket may well be called "...bucket")."""
    with recorder("The specified bucket does not exist.") as (endpoint, _):
        driver = distfs.create("gcs", {"bucket": "my-bucket", "endpoint": endpoint})
        with pytest.raises(distfs.StoreNotFoundError):
            driver.get_content("/x")
    with recorder("No such object: my-bucket/x") as (endpoint, _):
        driver = distfs.create("gcs", {"bucket": "my-bucket", "endpoint": endpoint})
        with pytest.raises(distfs.PathNotFoundError):
            driver.get_content("/x")


# -- compose-emulated uploads -----------------------------------------------------------


def hidden(endpoint: str, bucket: str) -> list[str]:
    return [k for k in all_keys(endpoint, bucket) if ".distfs~" in k]


def test_parts_are_objects_with_a_marker(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    w = gcs.writer("/u/data")
    w.write(os.urandom(3 * CHUNK + 5))
    w.close()
    names = [k.rsplit("/", 1)[1] for k in hidden(gcs_endpoint, gcs_bucket)]
    assert sorted(names) == ["part-00001", "part-00002", "part-00003", "state", "upload"]
    w = gcs.writer("/u/data", append=True)
    assert w.size == 3 * CHUNK + 5
    w.commit()
    assert all_keys(gcs_endpoint, gcs_bucket) == ["u/data"]


def test_an_upload_without_its_marker_is_gone(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    """An upload whose marker went is gone: an append continues only from an object the
    upload published (its origin; tests/engine/test_writer_identity.py), never from another one,
    nor from nothing (issue 27: this append used to continue from "committed")."""
    w = gcs.writer("/g")
    w.write(os.urandom(2 * CHUNK))
    w.close()
    [marker] = [k for k in hidden(gcs_endpoint, gcs_bucket) if k.endswith("/upload")]
    admin_delete(gcs_endpoint, gcs_bucket, marker)
    with pytest.raises(distfs.DriverError, match="/g"):  # lost: nothing was committed
        gcs.writer("/g", append=True)
    gcs.put_content("/h", b"committed")
    w = gcs.writer("/h")
    w.write(os.urandom(2 * CHUNK))
    w.close()
    [marker] = [k for k in hidden(gcs_endpoint, gcs_bucket) if k.endswith("/upload")]
    admin_delete(gcs_endpoint, gcs_bucket, marker)
    with pytest.raises(distfs.DriverError, match="/h"):  # lost: "committed" is not its object
        gcs.writer("/h", append=True)
    w = gcs.writer("/h")  # a new writer replaces the journal
    w.write(b"+")
    w.commit()
    assert gcs.get_content("/h") == b"+"


def test_complete_deletes_the_marker_first(gcs_endpoint: str, gcs_bucket: str) -> None:
    with FaultProxy(gcs_endpoint, "gcs") as proxy:
        traced = Traced(proxy, gcs_parameters_for(gcs_endpoint, gcs_bucket, maxretries=0))
        data = os.urandom(2 * CHUNK + 7)
        w = traced.driver.writer("/m")
        w.write(data)
        proxy.force("DELETE", "part-00002", "500")  # the clean-up fails after the publish
        with pytest.raises(distfs.DriverError):
            w.commit()
        assert proxy.forced_left() == 0
    gcs = distfs.create("gcs", gcs_parameters_for(gcs_endpoint, gcs_bucket))
    assert gcs.get_content("/m") == data
    w = gcs.writer("/m", append=True)  # the journal's upload reads as gone: continue from /m
    assert w.size == len(data)
    w.commit()
    assert gcs.get_content("/m") == data


def test_more_than_32_parts_compose_in_rounds(traced: Traced, gcs_endpoint: str, gcs_bucket: str) -> None:
    data = os.urandom(70 * CHUNK + 3)  # 71 parts: 3 composes of <= 32, then 1 onto the path
    w = traced.driver.writer("/r")
    w.write(data)
    traced.reset()
    w.commit()
    assert traced.proxy.trace is not None
    posts = [line.split()[2] for line in traced.proxy.trace if line.split()[1] == "POST"]
    assert sum(1 for path in posts if path.startswith("/storage/v1/b/")) == 4  # composes (the trace cuts paths)
    assert traced.proxy.bytes_up < 64 * KiB  # the tail part and JSON documents only
    assert traced.driver.get_content("/r") == data
    assert all_keys(gcs_endpoint, gcs_bucket) == ["r"]


def test_append_to_committed_object_rewrites_server_side(traced: Traced) -> None:
    first = os.urandom(2 * MiB + 3)
    gcs = traced.driver
    gcs.put_content("/k", first)
    traced.reset()
    w = gcs.writer("/k", append=True)
    assert w.size == len(first)
    assert traced.count("POST", "/rewriteTo/") == 1
    assert traced.count("GET", "alt=media") <= 1  # at most the journal look-up, never the object
    assert traced.proxy.bytes_up < 4 * KiB  # no data sent again
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


def test_suspended_sessions_send_linear_traffic(traced: Traced, gcs_endpoint: str, gcs_bucket: str) -> None:
    """30 PATCH-like sessions of 1 MiB: bytes sent stay linear; only journals are read back."""
    gcs = traced.driver
    chunk = os.urandom(MiB)
    content = bytearray()
    gcs.writer("/uploads/u1/data").close()
    for index in range(30):
        w = gcs.writer("/uploads/u1/data", append=True)
        assert w.size == index * MiB
        piece = chunk[index:] + chunk[:index]
        w.write(piece)
        content += piece
        w.close()
    w = gcs.writer("/uploads/u1/data", append=True)
    w.commit()
    total = 30 * MiB
    up, down = traced.proxy.bytes_up / MiB, traced.proxy.bytes_down / MiB
    print(f"\n30 x 1 MiB resumable upload: {up:.2f} MiB sent, {down:.2f} MiB read back, for {total / MiB:.0f} MiB")
    assert traced.proxy.bytes_up <= 1.2 * total + 30 * CHUNK, traced.proxy.bytes_up
    assert traced.proxy.bytes_down <= 31 * CHUNK + 64 * KiB, traced.proxy.bytes_down
    assert gcs.get_content("/uploads/u1/data") == bytes(content)
    assert all_keys(gcs_endpoint, gcs_bucket) == ["uploads/u1/data"]  # no hidden object left


def test_cancel_and_delete_leave_nothing(gcs: distfs.StorageDriver, gcs_endpoint: str, gcs_bucket: str) -> None:
    w = gcs.writer("/c/data")
    w.write(os.urandom(3 * CHUNK))
    w.close()
    w = gcs.writer("/c/data", append=True)
    w.write(os.urandom(2 * CHUNK))
    w.cancel()
    assert all_keys(gcs_endpoint, gcs_bucket) == []
    gcs.put_content("/_uploads/1/startedat", b"t")
    w = gcs.writer("/_uploads/1/data")
    w.write(os.urandom(3 * CHUNK))
    w.close()
    gcs.delete("/_uploads/1")
    assert all_keys(gcs_endpoint, gcs_bucket) == []


# -- reads, listings, deletes, moves ----------------------------------------------------


def test_pinned_reads_use_the_generation(traced: Traced) -> None:
    gcs = traced.driver
    gcs.put_content("/v", b"a" * (CHUNK * 2))
    stream = gcs.reader("/v")
    assert stream.read(10) == b"a" * 10
    generation = urllib.parse.parse_qs(traced.proxy.trace[-1].split()[2].partition("?")[2]).get("generation")  # type: ignore[index]
    assert generation is None  # the first read pins whatever it finds
    gcs.put_content("/v", b"b" * (CHUNK * 2))
    stream.seek(CHUNK + 1)
    with pytest.raises(distfs.ObjectChangedError):
        stream.read(10)
    assert traced.count("GET", "generation=") == 1


def test_delete_only_below_the_boundary(traced: Traced, gcs_endpoint: str, gcs_bucket: str) -> None:
    for index in range(120):
        admin_put(gcs_endpoint, gcs_bucket, f"many/{index:04d}")
    admin_put(gcs_endpoint, gcs_bucket, "many")
    admin_put(gcs_endpoint, gcs_bucket, "many-kept")
    traced.driver.delete("/many")
    assert traced.count("DELETE", "/o/many") == 121  # single deletes (fake-gcs refuses batch requests)
    assert all_keys(gcs_endpoint, gcs_bucket) == ["many-kept"]
    with pytest.raises(distfs.PathNotFoundError):
        traced.driver.delete("/many")


def test_move_copies_server_side(traced: Traced) -> None:
    gcs = traced.driver
    data = os.urandom(3 * MiB)
    gcs.put_content("/src", data)
    traced.reset()
    gcs.move("/src", "/dst/one")
    assert traced.count("POST", "/rewriteTo/") == 1
    assert traced.count("POST", "sourceGeneration=") == 1
    assert traced.count("POST", "/moveTo/") == 0
    assert traced.proxy.bytes_up < KiB
    assert gcs.get_content("/dst/one") == data
    with pytest.raises(distfs.PathNotFoundError):
        gcs.stat("/src")


def test_walk_start_after_hint_excludes_the_hint(gcs: distfs.StorageDriver) -> None:
    """``startOffset`` is inclusive: the exact match is dropped."""
    for name in ("a", "b", "c"):
        gcs.put_content(f"/w/{name}", b"x")
    seen: list[str] = []
    gcs.walk("/w", lambda info: seen.append(info.path), start_after_hint="/w/b")
    assert seen == ["/w/c"]


# -- redirects --------------------------------------------------------------------------


def test_redirect_urls(gcs_parameters: dict[str, Any], gcs_endpoint: str, token_server: str) -> None:
    unsigned = distfs.create("gcs", gcs_parameters)
    unsigned.put_content("/blob", b"0123456789")
    assert unsigned.redirect_url("/blob", "GET") is None
    driver = distfs.create("gcs", {**gcs_parameters, "credentials": service_account_info(token_server)})
    assert driver.get_content("/blob") == b"0123456789"  # bearer tokens from the local token server
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


def test_create_only_put_keeps_the_first_object(gcs_parameters: dict[str, Any]) -> None:
    """``put(..., if_absent=True)`` is a multipart upload with ``ifGenerationMatch=0`` (a media
    upload's condition is ignored by fake-gcs-server): the second one fails, the first stays."""
    import asyncio

    from distfs.backends.gcs import GCSStore
    from distfs.backends.gcs.settings import filesystem
    from distfs.engine.seam import StoreError

    async def scenario() -> tuple[bytes, BaseException | None]:
        settings = settings_from(gcs_parameters)
        store = GCSStore.from_filesystem(filesystem(settings), settings)
        try:
            await store.put("once", b"first", if_absent=True)
            failure: BaseException | None = None
            try:
                await store.put("once", b"second", if_absent=True)
            except StoreError as exc:
                failure = exc
            data, _ = await store.get_range("once", 0, 100, None)
            return data, failure
        finally:
            await store.close()

    data, failure = asyncio.run(scenario())
    assert data == b"first"
    assert isinstance(failure, StoreError)
