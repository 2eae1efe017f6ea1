"""The oss driver against our in-repo OSS protocol fake (distfs/tools/oss_fake.py), or live.

The fake is OUR OWN reading of the public OSS API documentation, not the real service:
these tests check the driver against that reading. With DISTFS_OSS_ACCESS_KEY_ID,
DISTFS_OSS_ACCESS_KEY_SECRET, DISTFS_OSS_REGION and DISTFS_OSS_BUCKET set (and
optionally DISTFS_OSS_ENDPOINT), the conformance suite also runs against a real bucket,
below a fresh root directory (see docs/oss.md).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cases import suspend_in_fresh_processes

import distfs
from distfs.backends import oss
from distfs.backends.oss import OSSBackend, settings_from
from distfs.base import Base
from distfs.fsspec_driver import FsspecDriver
from distfs.testing import DriverSuite
from distfs.tools.oss_fake import OSSFake, serve
from distfs.writers import PartsWriter

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
def bucket(oss_fake: tuple[OSSFake, str]) -> str:
    return new_bucket(oss_fake[0])


@pytest.fixture
def fake(oss_fake: tuple[OSSFake, str]) -> OSSFake:
    return oss_fake[0]


@pytest.fixture
def params(oss_fake: tuple[OSSFake, str], bucket: str) -> dict[str, Any]:
    return parameters_for(oss_fake[1], bucket, chunksize=5 * MiB)


@pytest.fixture
def driver(params: dict[str, Any]) -> distfs.StorageDriver:
    return oss.factory(params)


def backend_of(driver: distfs.StorageDriver) -> OSSBackend:
    assert isinstance(driver, Base)
    inner = driver.inner
    assert isinstance(inner, FsspecDriver)
    assert isinstance(inner.backend, OSSBackend)
    return inner.backend


# -- the conformance suite --------------------------------------------------------------


class TestOSSConformance(DriverSuite):
    """Against the in-repo OSS fake."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        fake, endpoint = request.getfixturevalue("oss_fake")
        return oss.factory(parameters_for(endpoint, new_bucket(fake)))


class TestOSSRootDirectoryConformance(DriverSuite):
    """Against the fake, 5 MiB parts, keys below a root directory."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        fake, endpoint = request.getfixturevalue("oss_fake")
        return oss.factory(
            parameters_for(endpoint, new_bucket(fake), chunksize=str(5 * MiB), rootdirectory="/registry/v2/")
        )


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
    assert settings_from({**BASE, "endpoint": "bkt.cdn.example.com"}).is_cname
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


# -- signatures (the fake verifies OSS V1 signatures) -----------------------------------


def test_wrong_secret_is_refused(params: dict[str, Any]) -> None:
    wrong = oss.factory({**params, "accesskeysecret": "wrong-secret"})
    with pytest.raises(distfs.DriverError, match="SignatureDoesNotMatch") as info:
        wrong.put_content("/x", b"x")
    assert "wrong-secret" not in str(info.value)
    unknown = oss.factory({**params, "accesskeyid": "nobody"})
    with pytest.raises(distfs.DriverError, match="InvalidAccessKeyId"):
        unknown.get_content("/x")


def _http(url: str, method: str = "GET") -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_redirect_urls_are_signed_for_get_and_head(driver: distfs.StorageDriver) -> None:
    import time

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


def test_tampered_and_expired_signed_urls_get_403(driver: distfs.StorageDriver) -> None:
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
    expired = backend_of(driver).bucket.sign_url("GET", backend_of(driver).name_of(backend_of(driver).key("/blob")), -5)
    status, body = _http(expired)
    assert status == 403
    assert b"expired" in body
    status, body = _http(url.split("?")[0])
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body


# -- ossfs defects we compensate for (pinned, so an ossfs upgrade is noticed) -----------


def test_ossfs_cat_file_end_is_still_inclusive(driver: distfs.StorageDriver, bucket: str) -> None:
    driver.put_content("/d.txt", b"hello world")
    fs = backend_of(driver).fs
    assert fs.cat_file(f"{bucket}/d.txt", 1, 4) == b"ello"  # fsspec means [1, 4): b"ell"
    with driver.reader("/d.txt", 6) as stream:
        assert stream.read() == b"world"
    for offset in (11, 12, 100):  # OSS answers an invalid range with 200 + the whole object
        with driver.reader("/d.txt", offset) as stream:
            assert stream.read() == b""


def test_fake_answers_an_invalid_range_with_the_whole_object(driver: distfs.StorageDriver) -> None:
    driver.put_content("/r", b"abc")
    bucket = backend_of(driver).bucket
    result = bucket.get_object("r", byte_range=(5, None))
    assert (result.status, result.read()) == (200, b"abc")
    result = bucket.get_object("r", byte_range=(1, 1))
    assert (result.status, result.read()) == (206, b"b")


def test_ossfs_write_deletes_then_appends(driver: distfs.StorageDriver, bucket: str, fake: OSSFake) -> None:
    driver.put_content("/w", b"old")
    fs = backend_of(driver).fs
    fake.reset_counters()
    with fs.open(f"{bucket}/w", "wb") as stream:
        stream.write(b"new")
    assert fake.calls["DeleteObject"] == 1  # not atomic: the object is gone meanwhile
    assert fake.calls["AppendObject"] >= 1
    assert fake.calls["PutObject"] == 0
    fake.reset_counters()
    driver.put_content("/w", b"newer")
    assert dict(fake.calls) == {"PutObject": 1}  # ours: one atomic PutObject
    assert driver.get_content("/w") == b"newer"


def test_ossfs_ls_without_listings_cache_is_broken(params: dict[str, Any], bucket: str) -> None:
    from ossfs import OSSFileSystem

    fs = OSSFileSystem(
        endpoint=params["endpoint"], key=KEY_ID, secret=SECRET, use_listings_cache=False, skip_instance_cache=True
    )
    with pytest.raises(KeyError):
        fs.ls(bucket)


# -- writers ----------------------------------------------------------------------------


def test_hundred_chunk_upload_is_linear(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    chunk = os.urandom(MiB)
    digest = hashlib.sha256()
    fake.reset_counters()
    w = driver.writer("/uploads/u1/data")
    w.close()
    for index in range(100):
        w = driver.writer("/uploads/u1/data", append=True)
        assert w.size == index * MiB
        piece = chunk[index:] + chunk[:index]
        w.write(piece)
        digest.update(piece)
        w.close()
    assert fake.upload_parts(bucket) == {"uploads/u1/data": [5 * MiB] * 20}
    w = driver.writer("/uploads/u1/data", append=True)
    assert w.size == 100 * MiB
    w.commit()
    w.close()
    total = 100 * MiB
    assert fake.bytes_received <= 1.2 * total + 100 * 5 * MiB, fake.bytes_received
    assert fake.calls["CompleteMultipartUpload"] == 1
    assert fake.calls["CopyObject"] == fake.calls["UploadPartCopy"] == 0
    print(f"\n100 x 1 MiB resumable OSS upload: {fake.bytes_received / MiB:.1f} MiB sent for 100 MiB")
    with driver.reader("/uploads/u1/data") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == digest.hexdigest()
    assert fake.upload_parts(bucket) == {}
    assert fake.keys(bucket) == ["uploads/u1/data"]  # no helper object left


def test_resume_in_a_fresh_process(params: dict[str, Any]) -> None:
    data = os.urandom(7 * MiB + 11)
    suspend_in_fresh_processes("oss", params, data, (0, 3 * MiB, 6 * MiB + 5, len(data)))
    driver = oss.factory(params)
    w = driver.writer("/p/data", append=True)
    assert w.size == len(data)
    w.commit()
    assert driver.get_content("/p/data") == data


def test_resume_ignores_parts_after_the_last_close(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    first = os.urandom(3 * MiB)
    w = driver.writer("/d")
    w.write(first)
    w.close()
    w = driver.writer("/d", append=True)
    w.write(os.urandom(6 * MiB))  # uploads part 1, then dies without close()
    assert fake.upload_parts(bucket)["d"] == [5 * MiB]
    w = driver.writer("/d", append=True)
    assert w.size == 3 * MiB
    rest = os.urandom(4 * MiB)
    w.write(rest)
    w.commit()
    assert driver.get_content("/d") == first + rest


def test_cancel_leaves_nothing(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    w = driver.writer("/c/data")
    w.write(os.urandom(6 * MiB))
    w.close()
    assert fake.upload_parts(bucket)
    assert fake.keys(bucket)  # the hidden state object
    w = driver.writer("/c/data", append=True)
    w.cancel()
    assert fake.upload_parts(bucket) == {}
    assert fake.keys(bucket) == []


def test_new_writer_aborts_the_previous_upload(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    w = driver.writer("/n")
    w.write(os.urandom(6 * MiB))
    w.close()
    w = driver.writer("/n")
    w.write(b"fresh")
    w.commit()
    assert fake.upload_parts(bucket) == {}
    assert fake.keys(bucket) == ["n"]
    assert driver.get_content("/n") == b"fresh"


def test_append_to_committed_object_copies_server_side(driver: distfs.StorageDriver, fake: OSSFake) -> None:
    first = os.urandom(11 * MiB)
    driver.put_content("/k", first)
    fake.reset_counters()
    w = driver.writer("/k", append=True)
    assert w.size == 11 * MiB
    assert fake.calls["UploadPartCopy"] == 2
    assert fake.bytes_received <= 2 * MiB  # the 1 MiB tail is stored again, never the object
    w.write(b"tail")
    w.commit()
    assert driver.get_content("/k") == first + b"tail"


MEMORY_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, os, sys, tracemalloc
    from distfs.backends import oss
    d = oss.factory(json.loads(sys.argv[1]))
    MiB = 1 << 20
    piece = os.urandom(MiB)
    w = d.writer("/big")
    tracemalloc.start()
    for _ in range(30):
        w.write(piece)
    w.close()
    write_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    w = d.writer("/big", append=True)
    size = w.size
    w.commit()
    tracemalloc.start()
    digest = hashlib.sha256()
    with d.reader("/big", 7) as stream:
        while block := stream.read(MiB):
            digest.update(block)
    read_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(json.dumps([write_peak, size, read_peak, digest.hexdigest(), hashlib.sha256((piece * 30)[7:]).hexdigest()]))
    """
)


def test_writer_and_reader_memory_is_bounded(driver: distfs.StorageDriver, params: dict[str, Any]) -> None:
    """Measured in a fresh process: the in-process fake's own buffers must not count."""
    other = backend_of(driver).open_writer(driver.inner, "/other", False)  # type: ignore[attr-defined]
    assert isinstance(other, PartsWriter)
    other.cancel()
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, json.dumps(params)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    write_peak, size, read_peak, digest, expected = json.loads(result.stdout)
    assert size == 30 * MiB
    assert write_peak < 2 * 5 * MiB + 8 * MiB, write_peak  # about two chunks, whatever the size
    assert read_peak < 8 * MiB, read_peak  # 1 MiB reads of a 30 MiB object
    assert digest == expected  # the stream from offset 7, exact


# -- delete, move, walk -----------------------------------------------------------------


def test_delete_does_not_stop_at_a_sibling(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    """Go's driver stopped at "a-b" (sorted before "a/...") and left "a/..." behind."""
    for path in ("/a-b", "/a/x", "/a/y/z", "/a0"):
        driver.put_content(path, b"1")
    driver.delete("/a")
    assert fake.keys(bucket) == ["a-b", "a0"]


def test_delete_reports_batch_failures(driver: distfs.StorageDriver, fake: OSSFake) -> None:
    driver.put_content("/f/a", b"a")
    driver.put_content("/f/b", b"b")
    fake.failures["DeleteMultipleObjects"] = (403, "AccessDenied")
    with pytest.raises(distfs.DriverError) as info:
        driver.delete("/f")
    assert str(info.value).startswith("oss: errors:\n")
    assert "f/a: " in str(info.value)
    assert "AccessDenied" in str(info.value)
    driver.delete("/f")


def test_delete_aborts_uploads_below(driver: distfs.StorageDriver, fake: OSSFake, bucket: str) -> None:
    driver.put_content("/_uploads/1/startedat", b"t")
    w = driver.writer("/_uploads/1/data")
    w.write(os.urandom(6 * MiB))
    w.close()
    driver.delete("/_uploads/1")
    assert fake.upload_parts(bucket) == {}
    assert fake.keys(bucket) == []


def test_large_move_copies_in_parts(driver: distfs.StorageDriver, fake: OSSFake) -> None:
    data = os.urandom(40 * MiB)
    driver.put_content("/src", data)
    backend_of(driver).copy_threshold = MiB
    fake.reset_counters()
    driver.move("/src", "/dst/one")
    assert fake.calls["UploadPartCopy"] == 2  # 32 MiB parts
    assert fake.bytes_received < MiB
    assert driver.get_content("/dst/one") == data
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/src")


def test_walk_lists_a_thousand_keys_per_request(driver: distfs.StorageDriver, fake: OSSFake) -> None:
    for index in range(1200):
        driver.put_content(f"/blobs/{index % 7:02x}/{index:05d}/data", b"x")
    fake.reset_counters()
    files: list[str] = []
    driver.walk("/blobs", lambda info: None if info.is_dir else files.append(info.path))
    assert len(files) == 1200
    assert fake.calls["ListObjects"] <= 3  # two flat pages (plus the existence check)
    assert fake.calls["HeadObject"] <= 1
