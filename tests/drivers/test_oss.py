"""What is specific to the oss driver, against our in-repo OSS protocol fake (distfs/tools/oss_fake/).

The fake is OUR OWN reading of the public OSS API documentation, not the real service:
these tests check the driver against that reading. The generic contract (conformance,
crashes, faults, pinned reads, the uploads, listings and deletes every store shares) runs on
every object store in tests/drivers/test_objectstores.py, test_object_store_behaviours.py and
tests/engine/. With DISTFS_OSS_ACCESS_KEY_ID, DISTFS_OSS_ACCESS_KEY_SECRET,
DISTFS_OSS_REGION and DISTFS_OSS_BUCKET set (and optionally DISTFS_OSS_ENDPOINT), the
conformance suite also runs against a real bucket, below a fresh root directory (see
docs/oss.md).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import oss2
import pytest

import distfs
from distfs.backends import oss
from distfs.backends.oss import OSSStore, settings_from
from distfs.backends.oss.settings import is_cname
from distfs.base import Base
from distfs.engine import ObjectStoreDriver
from distfs.engine.seam import Changed, Denied, NotFound, StoreError, StoreMissing, Transient
from distfs.testing import DriverSuite
from distfs.tools.oss_fake import OSSFake, serve

T = TypeVar("T")
MiB = 1 << 20
KEY_ID = "oss-test-key-id"
SECRET = "oss-test-secret-Zq9"
_buckets = itertools.count()


@pytest.fixture(scope="session")
def oss_fake() -> Iterator[tuple[OSSFake, str]]:
    """Our OSS fake on a free 127.0.0.1 port for the whole session (fails loudly)."""
    fake = OSSFake(KEY_ID, SECRET)
    server, thread = serve(fake)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        urllib.request.urlopen(endpoint + "/", timeout=5)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:  # pragma: no cover - the fixture must not silently skip
        pytest.fail(f"the OSS fake did not start on {endpoint}: {exc}")
    assert status == 403, f"the OSS fake answered {status} to an unsigned request"
    yield fake, endpoint
    server.shutdown()
    server.server_close()
    thread.join(5)


def parameters_for(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "accesskeyid": KEY_ID,
        "accesskeysecret": SECRET,
        "region": "oss-cn-hangzhou",
        "bucket": bucket,
        "endpoint": endpoint,
        "secure": False,
        **extra,
    }


def new_bucket(fake: OSSFake) -> str:
    name = f"bucket-{next(_buckets)}"
    fake.create_bucket(name)
    return name


@pytest.fixture
def bucket(oss_fake: tuple[OSSFake, str]) -> Iterator[str]:
    """A new bucket, forgotten with its uploads when the test ends."""
    name = new_bucket(oss_fake[0])
    yield name
    oss_fake[0].forget_bucket(name)


@pytest.fixture
def fake(oss_fake: tuple[OSSFake, str]) -> OSSFake:
    return oss_fake[0]


@pytest.fixture
def params(oss_fake: tuple[OSSFake, str], bucket: str) -> dict[str, Any]:
    return parameters_for(oss_fake[1], bucket, chunksize=5 * MiB)


@pytest.fixture
def driver(params: dict[str, Any]) -> distfs.StorageDriver:
    return oss.factory(params)


@pytest.fixture
def raw(params: dict[str, Any]) -> Any:
    """A plain oss2 Bucket on the test bucket (the test's own client, not the driver's)."""
    return oss2.Bucket(oss2.Auth(KEY_ID, SECRET), params["endpoint"], params["bucket"])


def store_of(driver: distfs.StorageDriver) -> OSSStore:
    assert isinstance(driver, Base)
    inner = driver.inner
    assert isinstance(inner, ObjectStoreDriver)
    store = inner.engine.store
    assert isinstance(store, OSSStore)
    return store


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one store coroutine in a fresh event loop (the store makes its client per loop)."""
    return asyncio.run(coroutine)


LIVE = {
    name: os.environ.get("DISTFS_OSS_" + name.upper(), "")
    for name in ("access_key_id", "access_key_secret", "region", "bucket", "endpoint")
}


@pytest.mark.skipif(
    not all(LIVE[k] for k in ("access_key_id", "access_key_secret", "region", "bucket")),
    reason="live OSS: set DISTFS_OSS_ACCESS_KEY_ID, _ACCESS_KEY_SECRET, _REGION, _BUCKET",
)
class TestOSSLiveConformance(DriverSuite):
    """Against a real OSS bucket, below a fresh root directory."""

    def make_driver(self) -> distfs.StorageDriver:
        parameters: dict[str, Any] = {
            "accesskeyid": LIVE["access_key_id"],
            "accesskeysecret": LIVE["access_key_secret"],
            "region": LIVE["region"],
            "bucket": LIVE["bucket"],
            "rootdirectory": f"/distfs-test/{uuid.uuid4().hex}",
        }
        if LIVE["endpoint"]:
            parameters["endpoint"] = LIVE["endpoint"]
        return oss.factory(parameters)


# -- parameters -------------------------------------------------------------------------

BASE = {"accesskeyid": "id", "accesskeysecret": "s", "region": "oss-cn-beijing", "bucket": "bkt"}

# key, value, the OSSSettings field it sets, its expected value
ACCEPTED: list[tuple[str, Any, str, Any]] = [
    ("accesskeyid", "LTAI5t", "accesskeyid", "LTAI5t"),
    ("accesskeysecret", "other", "accesskeysecret", "other"),
    ("region", "oss-cn-shanghai", "region", "oss-cn-shanghai"),
    ("bucket", "registry", "bucket", "registry"),
    ("endpoint", "oss.example.com", "endpoint", "oss.example.com"),
    ("endpoint", "http://127.0.0.1:9/", "endpoint", "http://127.0.0.1:9"),
    ("internal", True, "internal", True),
    ("internal", "true", "internal", True),
    ("internal", "false", "internal", False),
    ("encrypt", True, "encrypt", True),
    ("encrypt", "1", "encrypt", True),
    ("encryptionkeyid", "kms-1", "encryptionkeyid", "kms-1"),
    ("secure", False, "secure", False),
    ("secure", "false", "secure", False),
    ("chunksize", 5 * MiB, "chunksize", 5 * MiB),
    ("chunksize", "10485760", "chunksize", 10 * MiB),
    ("chunksize", str(5 << 30), "chunksize", 5 << 30),
    ("rootdirectory", "/docker/registry/", "rootdirectory", "docker/registry"),
    ("maxretries", "0", "maxretries", 0),
    ("maxretries", 12, "maxretries", 12),
    ("storage_options", {"token": "sts-token"}, "storage_options", {"token": "sts-token"}),
    ("storage_options", None, "storage_options", {}),
]

# key, value, words the error must contain
REJECTED: list[tuple[str, Any, str]] = [
    ("accesskeyid", "", "No accesskeyid"),
    ("accesskeysecret", "", "No accesskeysecret"),
    ("region", "", "No region"),
    ("bucket", "", "No bucket"),
    ("bucket", ["b"], "string"),
    ("endpoint", "ftp://host", "http or https"),
    ("internal", "yes please", "boolean"),
    ("internal", 2, "boolean"),
    ("encrypt", "maybe", "boolean"),
    ("encryptionkeyid", {"a": 1}, "string"),
    ("secure", "", "boolean"),
    ("chunksize", str(5 * MiB - 1), "between"),
    ("chunksize", (5 << 30) + 1, "between"),
    ("chunksize", "ten", "integer"),
    ("chunksize", 1.5, "integer"),
    ("rootdirectory", True, "string"),
    ("maxretries", -1, "between"),
    ("maxretries", "often", "integer"),
    ("storage_options", ["token"], "must be a mapping"),
    ("rootdir", "/x", "unknown parameter"),
]


@pytest.mark.parametrize(("key", "value", "field", "expected"), ACCEPTED, ids=[f"{a[0]}={a[1]!r}" for a in ACCEPTED])
def test_parameter_accepted(key: str, value: Any, field: str, expected: Any) -> None:
    assert getattr(settings_from({**BASE, key: value}), field) == expected


@pytest.mark.parametrize(("key", "value", "words"), REJECTED, ids=[f"{r[0]}={r[1]!r}" for r in REJECTED])
def test_parameter_rejected(key: str, value: Any, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, key: value})
    assert info.value.parameter == key
    assert info.value.driver == "oss"
    assert words in str(info.value)


def test_every_documented_key_is_covered() -> None:
    covered = {a[0] for a in ACCEPTED} & {r[0] for r in REJECTED if r[0] != "rootdir"}
    assert set(oss.KNOWN) <= covered


def test_required_parameters_and_default_endpoints() -> None:
    for key in ("accesskeyid", "accesskeysecret", "region", "bucket"):
        with pytest.raises(distfs.InvalidParameterError, match=f"No {key} parameter provided") as info:
            settings_from({k: v for k, v in BASE.items() if k != key})
        assert info.value.parameter == key
    settings = settings_from(BASE)
    assert settings.endpoint == "bkt.oss-cn-beijing.aliyuncs.com"
    assert settings.url() == "https://oss-cn-beijing.aliyuncs.com"
    assert settings.chunksize == 10 * MiB
    internal = settings_from({**BASE, "internal": True, "secure": False})
    assert internal.endpoint == "bkt.oss-cn-beijing-internal.aliyuncs.com"
    assert internal.url() == "http://oss-cn-beijing-internal.aliyuncs.com"
    assert is_cname(settings_from({**BASE, "endpoint": "bkt.cdn.example.com"}).url(), "bkt")
    assert not is_cname(settings.url(), "bkt")
    assert settings_from({**BASE, "encrypt": True}).object_headers()["x-oss-server-side-encryption"] == "AES256"
    kms = settings_from({**BASE, "encrypt": True, "encryptionkeyid": "k"}).object_headers()
    assert kms["x-oss-server-side-encryption"] == "KMS"
    assert kms["x-oss-server-side-encryption-key-id"] == "k"


def test_secrets_are_never_shown() -> None:
    secret = "Secret-Value-That-Must-Not-Leak"
    settings = settings_from({**BASE, "accesskeysecret": secret})
    assert secret not in repr(settings)
    assert secret not in repr(oss.factory({**BASE, "accesskeysecret": secret}))
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**BASE, "accesskeysecret": ["not-a-string-secret"]})
    assert info.value.parameter == "accesskeysecret"
    assert "not-a-string-secret" not in str(info.value)


def test_invalid_bucket_name_or_endpoint_is_a_parameter_error() -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        oss.factory({**BASE, "bucket": "Not_A_Bucket"})
    assert (info.value.driver, info.value.parameter) == ("oss", "bucket")
    with pytest.raises(distfs.InvalidParameterError) as info:
        oss.factory({**BASE, "endpoint": "http://host/with/path"})
    assert info.value.parameter == "endpoint"


# -- errors: credentials, a missing bucket, retries (the fake verifies V1 signatures) ---


def test_wrong_credentials_are_access_denied(params: dict[str, Any]) -> None:
    wrong = oss.factory({**params, "accesskeysecret": "wrong-secret"})
    with pytest.raises(distfs.AccessDeniedError, match="SignatureDoesNotMatch") as info:
        wrong.put_content("/x", b"x")
    assert "wrong-secret" not in str(info.value)
    assert info.value.driver_name == "oss"
    unknown = oss.factory({**params, "accesskeyid": "nobody"})
    for call in (lambda: unknown.get_content("/x"), lambda: unknown.stat("/x"), lambda: unknown.list("/")):
        with pytest.raises(distfs.AccessDeniedError, match="InvalidAccessKeyId"):
            call()


def test_missing_bucket_is_store_not_found(oss_fake: tuple[OSSFake, str]) -> None:
    driver = oss.factory(parameters_for(oss_fake[1], "no-such-bucket"))
    calls = [
        lambda: driver.stat("/"),
        lambda: driver.stat("/a"),
        lambda: driver.get_content("/a"),
        lambda: driver.put_content("/a", b"x"),
        lambda: driver.list("/"),
        lambda: driver.delete("/a"),
        lambda: driver.writer("/a", append=True),
    ]
    for call in calls:
        with pytest.raises(distfs.StoreNotFoundError) as info:
            call()
        assert "no-such-bucket" in str(info.value)
    store = OSSStore(settings_from(parameters_for(oss_fake[1], "no-such-bucket")))
    with pytest.raises(StoreMissing):
        run(store.list_page("", delimiter=True, start_after="", token=None))


def test_store_errors_are_mapped(params: dict[str, Any], fake: OSSFake) -> None:
    store = OSSStore(settings_from(params))
    with pytest.raises(NotFound):
        run(store.head("missing"))
    with pytest.raises(NotFound):
        run(store.get_range("missing", 0, 10, None))
    run(store.put("k", b"0123456789"))
    with pytest.raises(StoreError) as info:
        run(store.get_range("k", 10, 20, None))
    assert info.value.code == "InvalidRange"
    for status, code, kind in (
        (503, "ServerBusy", Transient),
        (500, "InternalError", Transient),
        (429, "TooManyRequests", Transient),
        (403, "AccessDenied", Denied),
        (409, "Conflict", StoreError),
    ):
        fake.failures["HeadObject"] = (status, code)
        with pytest.raises(kind) as raised:
            run(store.head("k"))
        assert type(raised.value) is kind
    fake.failures["GetObject"] = (400, "InvalidArgument")
    with pytest.raises(StoreError) as info:
        run(store.get_range("k", 0, 1, None))
    assert info.value.code == "InvalidArgument"
    dead = OSSStore(settings_from({**params, "endpoint": "http://127.0.0.1:9"}))
    with pytest.raises(Transient):
        run(dead.head("k"))


def test_transient_failures_are_retried_maxretries_times(params: dict[str, Any], fake: OSSFake) -> None:
    driver = oss.factory({**params, "maxretries": 2})
    driver.put_content("/k", b"data")
    fake.reset_counters()
    fake.failures["GetObject"] = (503, "ServerBusy")
    assert driver.get_content("/k") == b"data"
    assert fake.calls["GetObject"] == 2  # oss2 retries nothing: one failure, one retry by the engine
    once = oss.factory({**params, "maxretries": 0})
    fake.failures["PutObject"] = (503, "ServerBusy")
    with pytest.raises(distfs.DriverError, match="ServerBusy"):
        once.put_content("/k", b"other")
    assert once.get_content("/k") == b"data"


# -- version pinning: the request forms the fake honours -------------------------------


def test_pinned_reads_and_copies_fail_with_changed(params: dict[str, Any], fake: OSSFake, raw: Any) -> None:
    store = OSSStore(settings_from(params))
    run(store.put("k", b"first version"))
    info = run(store.head("k"))
    assert info.version == raw.head_object("k").etag  # ETag, unquoted as oss2 returns it
    data, got = run(store.get_range("k", 6, 100, info.version))
    assert (data, got.size, got.version) == (b"version", 13, info.version)
    run(store.put("k", b"second version"))
    with pytest.raises(Changed):
        run(store.get_range("k", 0, 5, info.version))
    with pytest.raises(Changed):
        run(store.copy(info, "dest"))
    upload = run(store.create_upload("dest", ""))
    with pytest.raises(Changed):
        run(store.copy_part(upload, 1, info, 0, 5))
    current = run(store.head("k"))
    part = run(store.copy_part(upload, 1, current, 7, 14))
    run(store.complete_upload(upload, [part]))
    assert raw.get_object("dest").read() == b"version"
    with pytest.raises(NotFound):
        run(store.list_parts(upload))  # completed: the upload is gone
    run(store.abort_upload(upload))  # gone already: fine


def test_ranged_reads_are_standard_and_inclusive(driver: distfs.StorageDriver, raw: Any, fake: OSSFake) -> None:
    """The fake, like OSS, answers an invalid range with 200 and the whole object unless asked not to."""
    driver.put_content("/r", b"abc")
    result = raw.get_object("r", byte_range=(5, None))
    assert (result.status, result.read()) == (200, b"abc")
    result = raw.get_object("r", byte_range=(1, 1))
    assert (result.status, result.read()) == (206, b"b")
    with pytest.raises(oss2.exceptions.ServerError) as info:
        raw.get_object("r", byte_range=(5, None), headers={"x-oss-range-behavior": "standard"})
    assert info.value.status == 416
    for offset, expected in ((0, b"abc"), (1, b"bc"), (2, b"c"), (3, b""), (4, b""), (100, b"")):
        with driver.reader("/r", offset) as stream:
            assert stream.read() == expected
    driver.put_content("/empty", b"")
    assert driver.get_content("/empty") == b""
    with driver.reader("/empty") as stream:
        assert stream.read() == b""


def test_put_content_is_one_put_object(driver: distfs.StorageDriver, fake: OSSFake) -> None:
    driver.put_content("/w", b"old")
    fake.reset_counters()
    driver.put_content("/w", b"newer")
    assert dict(fake.calls) == {"PutObject": 1}
    assert driver.get_content("/w") == b"newer"


# -- redirects (OSS V1 query signatures) ------------------------------------------------


def _http(url: str, method: str = "GET") -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_redirect_urls_are_signed_for_get_and_head(driver: distfs.StorageDriver) -> None:
    driver.put_content("/blob", b"0123456789")
    get = driver.redirect_url("/blob", "GET")
    head = driver.redirect_url("/blob", "HEAD")
    assert get
    assert head
    assert get != head
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(get).query)
    assert abs(int(query["Expires"][0]) - (time.time() + 1200)) < 60
    assert _http(get) == (200, b"0123456789")
    with urllib.request.urlopen(urllib.request.Request(head, method="HEAD")) as response:
        assert response.headers["Content-Length"] == "10"
    assert _http(get, "HEAD")[0] == 403  # a GET signature does not sign a HEAD
    for method in ("PUT", "DELETE", "POST"):
        assert driver.redirect_url("/blob", method) is None


def test_redirect_urls_below_a_root_directory(params: dict[str, Any]) -> None:
    driver = oss.factory({**params, "rootdirectory": "/registry/v2"})
    driver.put_content("/a-b/blob", b"x")
    url = driver.redirect_url("/a-b/blob", "GET")
    assert url
    assert "/registry/v2/a-b/blob?" in url
    assert _http(url) == (200, b"x")


def test_tampered_and_expired_signed_urls_get_403(driver: distfs.StorageDriver, raw: Any) -> None:
    driver.put_content("/blob", b"secret data")
    driver.put_content("/other", b"other data")
    url = driver.redirect_url("/blob", "GET")
    assert url
    status, body = _http(url.replace("/blob?", "/other?"))
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["Expires"] = str(int(query["Expires"]) + 3600)
    status, body = _http(parts._replace(query=urllib.parse.urlencode(query)).geturl())
    assert status == 403
    assert b"SignatureDoesNotMatch" in body
    status, body = _http(raw.sign_url("GET", "blob", -5))
    assert status == 403
    assert b"expired" in body
    status, body = _http(url.split("?")[0])
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body


# -- native multipart uploads -----------------------------------------------------------


def test_cancel_and_new_writers_abort_native_uploads(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    w = driver.writer("/c/data")
    w.write(os.urandom(6 * MiB))
    w.close()
    assert fake.upload_parts(bucket) == {"c/data": [5 * MiB]}
    assert fake.keys(bucket)  # the journal
    w = driver.writer("/c/data", append=True)
    w.cancel()
    assert fake.upload_parts(bucket) == {}
    assert fake.keys(bucket) == []
    w = driver.writer("/n")
    w.write(os.urandom(6 * MiB))
    w.close()
    w = driver.writer("/n")
    w.write(b"fresh")
    w.commit()
    assert fake.upload_parts(bucket) == {}
    assert fake.keys(bucket) == ["n"]
    assert driver.get_content("/n") == b"fresh"


def test_uploads_are_listed_and_paged(params: dict[str, Any], fake: OSSFake) -> None:
    store = OSSStore(settings_from(params))
    keys = ["a/1", "a/2", "a/2", "b/1"]
    made = [run(store.create_upload(key, "")) for key in keys]
    found = run(store.list_uploads("a/"))
    assert sorted((u.key, u.id) for u in found) == sorted((u.key, u.id) for u in made[:3])
    parts = {number: run(store.upload_part(made[0], number, bytes([number]) * 10)) for number in (1, 2, 3)}
    assert run(store.list_parts(made[0])) == parts
    for upload in made:
        run(store.abort_upload(upload))
    assert run(store.list_uploads("")) == []
    with pytest.raises(NotFound):
        run(store.list_parts(made[0]))


# -- delete, move, walk -----------------------------------------------------------------


def test_batch_delete_compares_the_answer_with_the_request(params: dict[str, Any], fake: OSSFake) -> None:
    """oss2 parses only the keys deleted: a key missing from the answer is a failure."""
    store = OSSStore(settings_from(params))
    for key in ("f/a", "f/b", "f/c"):
        run(store.put(key, b"x"))
    fake.undeletable.add("f/b")
    try:
        assert run(store.delete_many(["f/a", "f/b", "never-there"])) == [("f/b", "not confirmed deleted")]
        driver = oss.factory(params)
        with pytest.raises(distfs.DriverError) as info:
            driver.delete("/f")
        assert str(info.value).startswith("oss: errors:\n")
        assert "/f/b: not confirmed deleted" in str(info.value)
    finally:
        fake.undeletable.clear()
    assert fake.keys(params["bucket"]) == ["f/b"]
    fake.failures["DeleteMultipleObjects"] = (403, "AccessDenied")
    with pytest.raises(distfs.AccessDeniedError):
        oss.factory(params).delete("/f")
    oss.factory(params).delete("/f")
    assert fake.keys(params["bucket"]) == []


def test_large_move_copies_in_parts(driver: distfs.StorageDriver, fake: OSSFake) -> None:
    data = os.urandom(40 * MiB)
    driver.put_content("/src", data)
    store_of(driver).copy_threshold = MiB
    fake.reset_counters()
    driver.move("/src", "/dst/one")
    assert fake.calls["UploadPartCopy"] == 2  # 32 MiB parts
    assert fake.calls["CompleteMultipartUpload"] == 1
    assert fake.bytes_received < MiB
    assert driver.get_content("/dst/one") == data
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/src")
    store_of(driver).copy_threshold = 1 << 30
    fake.reset_counters()
    driver.move("/dst/one", "/small")
    assert fake.calls["CopyObject"] == 1
    assert fake.calls["UploadPartCopy"] == 0
