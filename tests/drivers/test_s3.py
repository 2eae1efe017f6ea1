"""What is specific to the s3 driver, against a real S3 server (moto, started by the harness).

What every object store does is tested in tests/drivers/test_objectstores.py and
test_object_store_behaviours.py over the driver profiles (tests/profiles.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import tracemalloc
import urllib.parse
import urllib.request
from typing import Any

import pytest
from cases import json_server
from conftest import new_bucket

import distfs
from distfs.backends.s3 import S3Store, filesystem, settings_from
from distfs.backends.s3.settings import filesystem_kwargs
from distfs.base import Base
from distfs.engine import ObjectStoreDriver
from distfs.engine.loop import run
from distfs.tools.servers import ACCESS_KEY, SECRET_KEY

MiB = 1 << 20


def events_of(driver: distfs.StorageDriver) -> Any:
    """The botocore event hooks of the driver's S3 client (the client the driver's calls use)."""
    assert isinstance(driver, Base)
    inner = driver.inner
    assert isinstance(inner, ObjectStoreDriver)
    store = inner.engine.store
    assert isinstance(store, S3Store)
    return run(store.client()).meta.events


class Requests:
    """Counts the S3 requests one driver sends (botocore events on its own client)."""

    def __init__(self, driver: distfs.StorageDriver) -> None:
        self.calls: list[str] = []
        self.bytes = 0
        events = events_of(driver)
        events.register("before-call.s3", self._call)
        events.register("before-send.s3", self._send)

    def _call(self, model: Any = None, **_: Any) -> None:
        self.calls.append(model.name)

    def _send(self, request: Any = None, **_: Any) -> None:
        body = request.body
        if isinstance(body, bytes | bytearray):
            self.bytes += len(body)
        elif body is not None and hasattr(body, "seek") and hasattr(body, "tell"):
            position = body.tell()
            body.seek(0, 2)
            self.bytes += body.tell() - position
            body.seek(position)

    def count(self, name: str) -> int:
        return self.calls.count(name)


@pytest.fixture
def s3(s3_parameters: dict[str, Any]) -> distfs.StorageDriver:
    return distfs.create("s3", s3_parameters)


# -- parameters -------------------------------------------------------------------------

BASE = {"bucket": "b", "region": "us-east-1"}

# key, value, the S3Settings field it sets, its expected value
ACCEPTED: list[tuple[str, Any, str, Any]] = [
    ("accesskey", "AKIA", "accesskey", "AKIA"),
    ("region", "eu-west-1", "region", "eu-west-1"),
    ("regionendpoint", "http://127.0.0.1:9000", "endpoint", "http://127.0.0.1:9000"),
    ("regionendpoint", "minio.local:9000", "endpoint", "https://minio.local:9000"),
    ("forcepathstyle", "true", "forcepathstyle", True),
    ("forcepathstyle", True, "forcepathstyle", True),
    ("bucket", "registry", "bucket", "registry"),
    ("encrypt", "TRUE", "encrypt", True),
    ("keyid", "kms-key", "keyid", "kms-key"),
    ("secure", "false", "secure", False),
    ("skipverify", True, "skipverify", True),
    ("v4auth", "true", "v4auth", True),
    ("chunksize", "10485760", "chunksize", 10 * MiB),
    ("chunksize", 5 * MiB, "chunksize", 5 * MiB),
    ("chunksize", str(5 << 30), "chunksize", 5 << 30),
    ("multipartcopychunksize", "33554432", "multipartcopychunksize", 32 * MiB),
    ("multipartcopymaxconcurrency", "1", "multipartcopymaxconcurrency", 1),
    ("multipartcopythresholdsize", 0, "multipartcopythresholdsize", 0),
    ("rootdirectory", "/docker/registry/", "rootdirectory", "docker/registry"),
    ("storageclass", "reduced_redundancy", "storageclass", "REDUCED_REDUNDANCY"),
    ("storageclass", "NONE", "storageclass", "NONE"),
    ("useragent", "registry/3.0", "useragent", "registry/3.0"),
    ("objectacl", "bucket-owner-full-control", "objectacl", "bucket-owner-full-control"),
    ("usedualstack", "true", "usedualstack", True),
    ("accelerate", "1", "accelerate", True),
    ("usefipsendpoint", True, "usefipsendpoint", True),
    ("loglevel", "debugwithhttpbody", "loglevel", "debugwithhttpbody"),
    ("loglevel", False, "loglevel", "off"),
    ("redirectendpoint", "https://cdn.example.com/", "redirectendpoint", "https://cdn.example.com"),
    ("sessiontoken", "token", "sessiontoken", "token"),
    ("maxretries", "0", "maxretries", 0),
    ("maxretries", 12, "maxretries", 12),
    ("storage_options", {"anon": True}, "storage_options", {"anon": True}),
    ("storage_options", {"default_cache_type": "none"}, "storage_options", {}),  # ignored
]

# key, value, words the error must contain
REJECTED: list[tuple[str, Any, str]] = [
    ("bucket", "", "no bucket"),
    ("region", "mars-1", "invalid region"),
    ("regionendpoint", "ftp://host", "http or https"),
    ("forcepathstyle", "maybe", "boolean"),
    ("encrypt", 2, "boolean"),
    ("secure", "yes please", "boolean"),
    ("skipverify", "", "boolean"),
    ("v4auth", "false", "v4 authentication"),
    ("chunksize", str(5 * MiB - 1), "between"),
    ("chunksize", str((5 << 30) + 1), "between"),
    ("chunksize", "ten", "integer"),
    ("chunksize", 1.5, "integer"),
    ("multipartcopychunksize", 1024, "between"),
    ("multipartcopymaxconcurrency", 0, "between"),
    ("multipartcopythresholdsize", -1, "between"),
    ("multipartcopythresholdsize", str((5 << 30) + 1), "between"),
    ("storageclass", "COLD", "one of"),
    ("objectacl", "everyone", "one of"),
    ("loglevel", "verbose", "one of"),
    ("loglevel", True, "string"),
    ("redirectendpoint", "cdn.example.com", "scheme"),
    ("redirectendpoint", "https://cdn.example.com/path", "path"),
    ("redirectendpoint", "https://cdn.example.com/?a=b", "query"),
    ("useragent", ["x"], "string"),
    ("rootdir", "/x", "unknown parameter"),
    ("maxretries", -1, "between"),
    ("maxretries", "often", "integer"),
    ("storage_options", "anon=true", "mapping"),
]


@pytest.mark.parametrize(("key", "value", "field", "expected"), ACCEPTED, ids=[f"{a[0]}={a[1]!r}" for a in ACCEPTED])
def test_parameter_accepted(key: str, value: Any, field: str, expected: Any) -> None:
    parameters = {**BASE, key: value}
    if key == "accesskey":
        parameters["secretkey"] = "s"
    settings = settings_from(parameters)
    assert getattr(settings, field) == expected


@pytest.mark.parametrize(("key", "value", "words"), REJECTED, ids=[f"{r[0]}={r[1]!r}" for r in REJECTED])
def test_parameter_rejected(key: str, value: Any, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, key: value})
    assert info.value.parameter == key
    assert info.value.driver == "s3"
    assert words in str(info.value)


def test_every_documented_key_is_covered() -> None:
    from distfs.backends.s3 import settings as s3

    covered = {a[0] for a in ACCEPTED} | {r[0] for r in REJECTED} | {"secretkey"}
    assert set(s3.KNOWN) <= covered


def test_required_and_paired_parameters() -> None:
    with pytest.raises(distfs.InvalidParameterError, match="no bucket") as info:
        settings_from({"region": "us-east-1"})
    assert info.value.parameter == "bucket"
    with pytest.raises(distfs.InvalidParameterError, match="no region"):
        settings_from({"bucket": "b"})
    assert settings_from({"bucket": "b", "regionendpoint": "http://127.0.0.1:1"}).region == ""  # botocore's
    with pytest.raises(distfs.InvalidParameterError, match="together") as info:
        settings_from({**BASE, "accesskey": "AKIA"})
    assert info.value.parameter == "secretkey"
    v2 = settings_from({**BASE, "v4auth": "false", "regionendpoint": "http://127.0.0.1:9000"})
    assert not v2.v4auth
    with pytest.raises(distfs.InvalidParameterError):
        settings_from({**BASE, "v4auth": False, "regionendpoint": "https://s3.eu-west-1.amazonaws.com"})


def test_secrets_are_never_shown() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    settings = settings_from({**BASE, "accesskey": "AKIAEXAMPLE", "secretkey": secret, "sessiontoken": "tok-secret"})
    assert secret not in repr(settings)
    assert "tok-secret" not in repr(settings)
    driver = distfs.create("s3", {**BASE, "accesskey": "AKIAEXAMPLE", "secretkey": secret})
    assert secret not in repr(driver)
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, "accesskey": "AKIAEXAMPLE", "secretkey": ["not-a-string-secret"]})
    assert info.value.parameter == "secretkey"
    assert "not-a-string-secret" not in str(info.value)


def test_parameters_reach_the_filesystem() -> None:
    """Distribution keys become S3FileSystem keywords (what the store makes its clients from)."""
    settings = settings_from(
        {
            **BASE,
            "regionendpoint": "http://127.0.0.1:9000",
            "accesskey": "AKIA",
            "secretkey": "s",
            "sessiontoken": "t",
            "forcepathstyle": True,
            "usedualstack": True,
            "accelerate": True,
            "usefipsendpoint": True,
            "useragent": "ua",
            "skipverify": "true",
            "encrypt": True,
            "keyid": "k",
            "storageclass": "STANDARD_IA",
            "objectacl": "public-read",
        }
    )
    fs = filesystem(settings)
    assert (fs.key, fs.secret, fs.token, fs.endpoint_url) == ("AKIA", "s", "t", "http://127.0.0.1:9000")
    assert fs.client_kwargs == {"region_name": "us-east-1", "verify": False}
    assert fs.config_kwargs == {
        "s3": {"addressing_style": "path", "use_dualstack_endpoint": True, "use_accelerate_endpoint": True},
        "use_fips_endpoint": True,
        "user_agent_extra": "ua",
        "signature_version": "s3v4",
        "retries": {"mode": "standard", "total_max_attempts": 6},
    }
    assert fs.s3_additional_kwargs == {
        "ACL": "public-read",
        "StorageClass": "STANDARD_IA",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "k",
    }
    assert filesystem_kwargs(settings_from({**BASE, "storageclass": "none"}))["s3_additional_kwargs"] == {
        "ACL": "private"
    }


def test_s3aws_is_named_like_go(s3_parameters: dict[str, Any]) -> None:
    driver = distfs.create("s3aws", s3_parameters)
    assert driver.name == "s3aws"
    with pytest.raises(distfs.PathNotFoundError, match=r"^s3aws: Path not found: /nope$"):
        driver.get_content("/nope")


# -- writers ----------------------------------------------------------------------------


def upload_parts(admin: Any, bucket: str) -> dict[str, list[int]]:
    """Part sizes of every multipart upload in ``bucket``, by key."""
    found = {}
    for upload in admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        parts = admin.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]).get("Parts", [])
        found[upload["Key"]] = [p["Size"] for p in parts]
    return found


def all_keys(admin: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_new_writer_aborts_the_previous_upload(s3: distfs.StorageDriver, s3_admin: Any, s3_bucket: str) -> None:
    w = s3.writer("/n")
    w.write(os.urandom(6 * MiB))
    w.close()
    w = s3.writer("/n")
    w.write(b"fresh")
    w.commit()
    assert upload_parts(s3_admin, s3_bucket) == {}
    assert all_keys(s3_admin, s3_bucket) == ["n"]
    assert s3.get_content("/n") == b"fresh"


def test_writer_memory_is_bounded(s3: distfs.StorageDriver) -> None:
    piece = os.urandom(MiB)
    w = s3.writer("/big")
    tracemalloc.start()
    try:
        for _ in range(30):
            w.write(piece)
        w.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 5 * MiB + 8 * MiB, peak  # about two chunks, whatever the object size
    w = s3.writer("/big", append=True)
    assert w.size == 30 * MiB
    w.cancel()


# -- reads ------------------------------------------------------------------------------


def test_reads_stream_in_bounded_memory(s3: distfs.StorageDriver) -> None:
    data = os.urandom(40 * MiB)
    s3.put_content("/r", data)
    tracemalloc.start()
    try:
        digest = hashlib.sha256()
        with s3.reader("/r", 7) as stream:
            while block := stream.read(MiB):
                digest.update(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == hashlib.sha256(data[7:]).hexdigest()
    assert peak < 2 * 5 * MiB + 16 * MiB, peak  # read-ahead blocks, not the 40 MiB object


# -- listings, stat, delete, move -------------------------------------------------------


def test_delete_reports_per_key_failures(s3: distfs.StorageDriver, s3_admin: Any, s3_bucket: str) -> None:
    s3.put_content("/f/a", b"a")
    s3.put_content("/f/b", b"b")

    code = "InternalError"

    def refuse_one(parsed: Any = None, **_: Any) -> None:  # the server answers with a per-key error
        parsed["Errors"] = [{"Key": "f/b", "Code": code, "Message": "We encountered an internal error"}]

    events_of(s3).register("after-call.s3.DeleteObjects", refuse_one)
    with pytest.raises(distfs.DriverError) as info:
        s3.delete("/f")
    assert "f/b: InternalError" in str(info.value)
    assert str(info.value).startswith("s3: errors:\n")
    s3.put_content("/f/b", b"b")  # the hook only rewrote the answer: moto deleted both
    code = "AccessDenied"  # a per-key refusal is the typed error a refused request is (issue 26)
    with pytest.raises(distfs.AccessDeniedError) as denied:
        s3.delete("/f")
    assert denied.value.filename == "/f"


def test_move_copies_in_one_request_or_in_parallel_parts(s3_parameters: dict[str, Any]) -> None:
    single = distfs.create("s3", s3_parameters)
    data = os.urandom(12 * MiB)
    single.put_content("/src", data)
    requests = Requests(single)
    single.move("/src", "/dst/one")
    assert requests.count("CopyObject") == 1
    assert requests.count("UploadPartCopy") == 0
    assert requests.bytes < MiB
    parts = distfs.create(
        "s3", {**s3_parameters, "multipartcopythresholdsize": 5 * MiB, "multipartcopychunksize": 5 * MiB}
    )
    requests = Requests(parts)
    parts.move("/dst/one", "/dst/two")
    assert requests.count("UploadPartCopy") == 3
    assert requests.count("CompleteMultipartUpload") == 1
    assert parts.get_content("/dst/two") == data
    with pytest.raises(distfs.PathNotFoundError):
        parts.get_content("/dst/one")


def test_failed_copy_keeps_the_source(s3_parameters: dict[str, Any], s3_admin: Any, s3_bucket: str) -> None:
    driver = distfs.create("s3", {**s3_parameters, "multipartcopythresholdsize": 0, "multipartcopychunksize": 5 * MiB})
    data = os.urandom(11 * MiB)
    driver.put_content("/keep", data)

    def fail_third(params: Any = None, **_: Any) -> None:
        if params.get("PartNumber") == 3:
            raise ConnectionResetError("injected: connection reset during UploadPartCopy")

    events_of(driver).register("before-parameter-build.s3.UploadPartCopy", fail_third)
    with pytest.raises(distfs.DriverError, match="injected"):
        driver.move("/keep", "/moved")
    assert driver.get_content("/keep") == data
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/moved")
    assert upload_parts(s3_admin, s3_bucket) == {}


# -- walk -------------------------------------------------------------------------------


def test_walk_of_a_missing_path(s3: distfs.StorageDriver) -> None:
    with pytest.raises(distfs.PathNotFoundError):
        s3.walk("/missing", lambda info: None)
    s3.walk("/", lambda info: None)


# -- redirects --------------------------------------------------------------------------


def test_redirect_urls(s3_parameters: dict[str, Any], s3_endpoint: str) -> None:
    driver = distfs.create("s3", s3_parameters)
    driver.put_content("/blob", b"0123456789")
    get = driver.redirect_url("/blob", "GET")
    head = driver.redirect_url("/blob", "HEAD")
    assert get
    assert head
    assert get != head
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(get).query)
    assert query["X-Amz-Expires"] == ["1200"]
    assert urllib.request.urlopen(get).read() == b"0123456789"
    response = urllib.request.urlopen(urllib.request.Request(head, method="HEAD"))
    assert response.headers["Content-Length"] == "10"
    for method in ("PUT", "DELETE", "POST"):
        assert driver.redirect_url("/blob", method) is None
    port = urllib.parse.urlsplit(s3_endpoint).port
    cdn = distfs.create("s3", {**s3_parameters, "redirectendpoint": f"http://localhost:{port}"})
    url = cdn.redirect_url("/blob", "GET")
    assert url is not None
    assert url.startswith(f"http://localhost:{port}/")
    assert urllib.request.urlopen(url).read() == b"0123456789"


def test_redirect_url_expires(s3_parameters: dict[str, Any]) -> None:
    """``expires=`` (a distfs extension): seconds the URL is valid; nonsense is a typed error naming the driver."""
    driver = distfs.create("s3", s3_parameters)
    driver.put_content("/blob", b"x")
    url = driver.redirect_url("/blob", "GET", expires=60)
    assert url is not None
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Expires"] == ["60"]
    assert urllib.request.urlopen(url).read() == b"x"
    for bad in (0, -5, True, "60"):
        with pytest.raises(distfs.DriverError, match="s3: expires must be a positive number of seconds"):
            driver.redirect_url("/blob", "GET", expires=bad)  # type: ignore[arg-type]


# -- the command line -------------------------------------------------------------------


def test_distfs_check_against_an_s3_endpoint(s3_endpoint: str, s3_admin: Any) -> None:
    bucket = new_bucket(s3_admin)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "distfs.tools.cli",
            "check",
            "s3",
            "-p",
            f"bucket={bucket}",
            "-p",
            "region=us-east-1",
            "-p",
            f"regionendpoint={s3_endpoint}",
            "-p",
            f"accesskey={ACCESS_KEY}",
            "-p",
            f"secretkey={SECRET_KEY}",
            "-k",
            "move",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # move_keeps_identity skips: the driver does not declare atomic_move
    assert result.stdout.splitlines()[-1] == "check: 7 passed, 0 failed, 1 skipped"
    assert SECRET_KEY not in result.stdout + result.stderr


def test_concurrent_first_calls_share_one_client(
    s3_parameters: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """Credentials from a (loopback) container endpoint: making the client waits on the network,
    and concurrent first calls still make one client, with one credentials request."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    document = {
        "AccessKeyId": ACCESS_KEY,
        "SecretAccessKey": SECRET_KEY,
        "Token": "t",
        "Expiration": "2099-01-01T00:00:00Z",
    }
    parameters = {k: v for k, v in s3_parameters.items() if k not in ("accesskey", "secretkey")}
    with json_server(200, document) as (url, seen):
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url + "/credentials")
        driver = distfs.create("s3", parameters)
        assert isinstance(driver, Base)
        inner = driver.inner
        assert isinstance(inner, ObjectStoreDriver)
        store = inner.engine.store
        assert isinstance(store, S3Store)

        async def main() -> None:
            clients = await asyncio.gather(*(store.client() for _ in range(20)))
            assert len({id(client) for client in clients}) == 1  # not one per concurrent first call
            assert await store.client() is clients[0]
            await store.close()

        asyncio.run(main())
        assert len(seen) == 1
        driver.put_content("/made-with-container-credentials", b"x")  # the credentials work
        assert driver.get_content("/made-with-container-credentials") == b"x"


def test_drivers_share_the_loaded_service_model(s3_parameters: dict[str, Any]) -> None:
    """Each driver's session no longer loads its own S3 model (about 12 MiB a driver, kept as
    long as the driver is): a second driver's client costs well under a MiB of Python memory."""

    def store_of(driver: distfs.StorageDriver) -> S3Store:
        assert isinstance(driver, Base)
        assert isinstance(driver.inner, ObjectStoreDriver)
        store = driver.inner.engine.store
        assert isinstance(store, S3Store)
        return store

    async def client_cost(store: S3Store) -> int:
        tracemalloc.start()
        try:
            await store.client()
            grown, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await store.close()
        return grown

    first, second = (store_of(distfs.create("s3", s3_parameters)) for _ in range(2))
    asyncio.run(client_cost(first))  # loads the model once for the process
    assert asyncio.run(client_cost(second)) < 2 * MiB


def test_distfs_byte_ranges_are_one_ranged_read(s3_parameters: dict[str, Any]) -> None:
    """``distfs://`` byte ranges (zarr's partial reads): one GetObject of just those bytes,
    not a reader's whole read block; negative offsets add one HeadObject."""
    from distfs.protocol import DistFileSystem

    fs = DistFileSystem(driver="s3", skip_instance_cache=True, **s3_parameters)
    data = os.urandom(3 * MiB)
    fs.pipe_file("/ranges/blob", data)
    received: list[int] = []
    requests = Requests(fs.driver)
    events_of(fs.driver).register(
        "after-call.s3.GetObject",
        lambda parsed=None, **_: received.append(int(parsed["ContentLength"])) if "ContentLength" in parsed else None,
    )
    assert fs.cat_file("/ranges/blob", 10, 20) == data[10:20]
    assert (requests.calls, received) == (["GetObject"], [10])
    assert fs.cat_ranges(["/ranges/blob", "/ranges/blob"], [0, MiB], [5, MiB + 5]) == [data[:5], data[MiB : MiB + 5]]
    assert fs.cat_file("/ranges/blob", -4) == data[-4:]
    assert fs.cat_file("/ranges/blob", 3 * MiB - 2, 4 * MiB) == data[-2:]  # stops at the end
    assert requests.calls.count("HeadObject") == 1  # for the negative offset only
    assert fs.cat_file("/ranges/blob", 5 * MiB, 6 * MiB) == b""  # past the end
    assert received[:3] == [10, 5, 5]
    assert max(received) <= 10  # never a whole read block
    with pytest.raises(FileNotFoundError):
        fs.cat_file("/ranges/missing", 0, 10)
    with pytest.raises(FileNotFoundError):
        fs.cat_file("/ranges/missing", 5, 5)
    fs.rm("/ranges", recursive=True)
