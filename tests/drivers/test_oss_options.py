"""``oss`` on ossfs: ``storage_options`` (STS token, anonymous access, ...) against our OSS fake.

The fake (distfs/tools/oss_fake/, OUR OWN reading of the OSS API) verifies V1 signatures,
the security token of temporary (STS) credentials and public-read bucket ACLs, so every
option here is proven by what the fake accepts or refuses on the wire.
"""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import fsspec
import pytest
from cases import FSSPEC_KEYWORDS
from ossfs import OSSFileSystem
from ossfs.base import BaseOSSFileSystem

import distfs
from distfs.backends import oss
from distfs.backends.oss import OPTIONS, OSSStore, settings_from
from distfs.tools.local import LocalStores
from distfs.tools.oss_fake import OSSFake

STS_ID = "STS.test-temporary-id"
STS_SECRET = "sts-secret-Hj4"
TOKEN = "sts-security-token-that-must-not-leak"


@pytest.fixture
def fake(local_stores: LocalStores) -> OSSFake:
    fake: OSSFake = local_stores.oss_fake()
    fake.add_sts(STS_ID, STS_SECRET, TOKEN)
    return fake


@pytest.fixture
def params(fake: OSSFake, store_parameters: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Parameters of a fresh bucket on the fake (the owner's credentials)."""
    return store_parameters("oss")


def without_credentials(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("accesskeyid", "accesskeysecret")}


def sts(params: dict[str, Any], **storage_options: Any) -> dict[str, Any]:
    """``params`` with the STS key id and secret and ``storage_options`` (the token by default)."""
    options = storage_options or {"token": TOKEN}
    return {**params, "accesskeyid": STS_ID, "accesskeysecret": STS_SECRET, "storage_options": options}


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# -- the table --------------------------------------------------------------------------


def test_every_ossfs_keyword_is_in_the_table() -> None:
    own = set(inspect.signature(BaseOSSFileSystem.__init__).parameters) - {"self", "kwargs"}
    assert set(inspect.signature(OSSFileSystem.__init__).parameters) <= {"self", "kwargs"}
    assert {option.key for option in OPTIONS.options} == own | FSSPEC_KEYWORDS
    assert all(option.why for option in OPTIONS.options)
    assert (OPTIONS.protocol, OPTIONS.package) == ("oss", "ossfs")
    assert fsspec.get_filesystem_class("oss") is OSSFileSystem


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("anon", "unknown ossfs option"),
        ("use_listings_cache", "not accepted: distfs lists the bucket on every call"),
        ("loop", "not accepted"),
        ("default_block_size", "use the parameter 'chunksize' instead"),
    ],
)
def test_refused_keys_name_driver_and_key_never_the_value(key: str, words: str) -> None:
    parameters = {"bucket": "bkt", "region": "oss-cn-beijing", "accesskeyid": "id", "accesskeysecret": "s"}
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("oss", {**parameters, "storage_options": {key: "value-never-quoted"}})
    assert (info.value.driver, info.value.parameter) == ("oss", f"storage_options.{key}")
    assert words in str(info.value)
    assert "value-never-quoted" not in str(info.value)


def test_storage_option_values_of_the_wrong_type_are_refused() -> None:
    base = {"bucket": "bkt", "region": "oss-cn-beijing"}
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**base, "storage_options": {"key": "id", "secret": 1234567}})
    assert info.value.parameter == "storage_options.secret"
    assert "1234567" not in str(info.value)
    with pytest.raises(distfs.InvalidParameterError) as info:
        settings_from({**base, "storage_options": {"key": None, "token": TOKEN}})
    assert info.value.parameter == "storage_options.token"
    assert TOKEN not in str(info.value)


def test_credentials_and_region_may_come_from_storage_options() -> None:
    settings = settings_from({"bucket": "bkt", "storage_options": {"key": "id", "secret": "s", "endpoint": "h"}})
    assert dict(settings.options) == {"key": "id", "secret": "s", "endpoint": "h"}
    for missing, words in (
        ({"bucket": "bkt", "storage_options": {"key": "id", "secret": "s"}}, "No region"),
        ({"bucket": "bkt", "region": "r", "storage_options": {"secret": "s"}}, "No accesskeyid"),
        ({"bucket": "bkt", "region": "r", "storage_options": {"key": "id"}}, "No accesskeysecret"),
    ):
        with pytest.raises(distfs.InvalidParameterError, match=words):
            settings_from(missing)


def test_precedence_of_distribution_keys_storage_options_and_defaults() -> None:
    base = {"bucket": "bkt", "region": "oss-cn-beijing", "accesskeyid": "id", "accesskeysecret": "s"}
    # a key the user sets beats storage_options; storage_options beat the default endpoint
    settings = settings_from({**base, "storage_options": {"key": "other", "endpoint": "http://h:1"}})
    assert (settings.options["key"], settings.options["endpoint"]) == ("id", "http://h:1")
    assert settings_from(base).options["endpoint"] == "https://oss-cn-beijing.aliyuncs.com"
    given = settings_from({**base, "endpoint": "http://e:2", "storage_options": {"endpoint": "http://h:1"}})
    assert given.options["endpoint"] == "http://e:2"
    # ignored keys are accepted and never reach ossfs
    quiet = settings_from({**base, "storage_options": {"default_cache_type": "none", "skip_instance_cache": False}})
    assert "default_cache_type" not in quiet.options
    assert "skip_instance_cache" not in quiet.options


def test_fsspec_config_is_the_lowest_layer(params: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """fsspec's own configuration for ``oss`` fills in what neither distfs key nor storage_options give."""
    monkeypatch.setitem(fsspec.config.conf, "oss", {"token": TOKEN, "key": "config-key-loses"})
    driver = distfs.create("oss", {**params, "accesskeyid": STS_ID, "accesskeysecret": STS_SECRET})
    driver.put_content("/from-config", b"x")
    assert driver.get_content("/from-config") == b"x"
    wrong = distfs.create("oss", sts(params, token="storage-options-beat-the-config"))
    with pytest.raises(distfs.AccessDeniedError, match="InvalidSecurityToken"):
        wrong.stat("/from-config")


# -- STS security token -----------------------------------------------------------------


def test_sts_token_signs_every_request(params: dict[str, Any], fake: OSSFake) -> None:
    driver = distfs.create("oss", {**sts(params), "chunksize": 5 << 20})
    fake.reset_counters()
    driver.put_content("/a/b", b"sts data")
    assert dict(fake.calls) == {"PutObject": 1}  # the token costs no request
    assert driver.get_content("/a/b") == b"sts data"
    assert driver.list("/a") == ["/a/b"]
    writer = driver.writer("/big")
    writer.write(b"x" * (6 << 20))
    writer.close()
    writer = driver.writer("/big", append=True)
    writer.write(b"tail")
    writer.commit()
    assert driver.stat("/big").size == (6 << 20) + 4
    driver.move("/a/b", "/c")
    url = driver.redirect_url("/c")
    assert url
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["security-token"] == [TOKEN]
    assert _get(url) == (200, b"sts data")
    driver.delete("/c")
    assert fake.keys(params["bucket"]) == ["big"]


def test_sts_credentials_from_storage_options_alone(params: dict[str, Any]) -> None:
    options = {"key": STS_ID, "secret": STS_SECRET, "token": TOKEN, "endpoint": params["endpoint"]}
    driver = distfs.create("oss", {"bucket": params["bucket"], "storage_options": options})
    driver.put_content("/k", b"v")
    assert driver.get_content("/k") == b"v"


def test_missing_or_wrong_token_is_access_denied_without_the_secret(params: dict[str, Any]) -> None:
    no_token = distfs.create("oss", {**params, "accesskeyid": STS_ID, "accesskeysecret": STS_SECRET})
    with pytest.raises(distfs.AccessDeniedError, match="InvalidSecurityToken"):
        no_token.put_content("/k", b"v")
    wrong = distfs.create("oss", sts(params, token="a-wrong-token-value"))
    for call in (lambda: wrong.put_content("/k", b"v"), lambda: wrong.list("/")):
        with pytest.raises(distfs.AccessDeniedError) as info:
            call()
        assert "a-wrong-token-value" not in str(info.value)
        assert STS_SECRET not in str(info.value)


# -- anonymous access -------------------------------------------------------------------


def test_anonymous_reads_a_public_read_bucket_and_cannot_write(params: dict[str, Any], fake: OSSFake) -> None:
    owner = distfs.create("oss", params)
    owner.put_content("/pub/blob", b"public bytes")
    anonymous = distfs.create("oss", {**without_credentials(params), "storage_options": {"key": None}})
    assert type(store_of(anonymous).fs._auth).__name__ == "AnonymousAuth"
    with pytest.raises(distfs.AccessDeniedError):
        anonymous.get_content("/pub/blob")  # private bucket: nothing for anonymous
    fake.set_acl(params["bucket"], "public-read")
    assert anonymous.get_content("/pub/blob") == b"public bytes"
    assert anonymous.stat("/pub/blob").size == 12
    assert anonymous.list("/pub") == ["/pub/blob"]
    with anonymous.reader("/pub/blob", 7) as stream:
        assert stream.read() == b"bytes"
    url = anonymous.redirect_url("/pub/blob")
    assert url
    assert "Signature" not in url
    assert _get(url) == (200, b"public bytes")
    writes: list[Callable[[], object]] = [
        lambda: anonymous.put_content("/pub/new", b"x"),
        lambda: anonymous.delete("/pub/blob"),
        lambda: anonymous.move("/pub/blob", "/moved"),
        lambda: anonymous.writer("/pub/w"),  # a writer starts its upload at once
    ]
    for write in writes:
        with pytest.raises(distfs.AccessDeniedError) as info:
            write()
        assert info.value.driver_name == "oss"
    assert fake.keys(params["bucket"]) == ["pub/blob"]  # nothing lost, nothing published
    assert owner.get_content("/pub/blob") == b"public bytes"


def test_anonymous_is_asked_for_never_assumed(params: dict[str, Any]) -> None:
    with pytest.raises(distfs.InvalidParameterError, match="No accesskeyid") as info:
        distfs.create("oss", {**without_credentials(params), "storage_options": {}})
    assert info.value.parameter == "accesskeyid"


# -- the store on an ossfs instance -----------------------------------------------------


def store_of(driver: distfs.StorageDriver) -> OSSStore:
    store = driver.inner.engine.store  # type: ignore[attr-defined]
    assert isinstance(store, OSSStore)
    return store


def test_store_is_built_from_an_ossfs_instance(params: dict[str, Any]) -> None:
    fs = OSSFileSystem(
        endpoint=params["endpoint"], key=STS_ID, secret=STS_SECRET, token=TOKEN, skip_instance_cache=True
    )
    store = OSSStore.from_filesystem(fs, settings_from(sts(params)))
    assert store.fs is fs
    assert store.endpoint == params["endpoint"]
    driver = oss.factory(sts(params))
    assert isinstance(store_of(driver).fs, OSSFileSystem)
    assert store_of(driver).fs.storage_options["token"] == TOKEN
    driver.put_content("/x", b"1")
    fs.invalidate_cache()
    assert fs.cat_file(f"{params['bucket']}/x") == b"1"  # the user's ossfs sees what the driver wrote


def test_unreachable_endpoint_is_a_driver_error_naming_it(params: dict[str, Any]) -> None:
    options = {"key": "k", "secret": "s", "endpoint": "http://127.0.0.1:9"}
    driver = distfs.create("oss", {"bucket": params["bucket"], "maxretries": 1, "storage_options": options})
    with pytest.raises(distfs.DriverError, match=r"127\.0\.0\.1:9"):
        driver.stat("/x")


def test_no_secret_in_repr_str_or_errors(params: dict[str, Any]) -> None:
    driver = distfs.create("oss", sts(params, token=TOKEN, secret=STS_SECRET))
    settings = settings_from(sts(params, token=TOKEN, secret=STS_SECRET))
    for text in (repr(driver), str(driver), repr(settings), str(settings), repr(store_of(driver))):
        assert TOKEN not in text
        assert STS_SECRET not in text
    with pytest.raises(distfs.PathNotFoundError) as missing:
        driver.get_content("/missing")
    with pytest.raises(distfs.InvalidParameterError) as bad:
        distfs.create("oss", sts(params, token=TOKEN, bogus=TOKEN))
    for error in (missing.value, bad.value):
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)


def test_backend_messages_show_storage_option_values_as_stars() -> None:
    import oss2

    from distfs.backends.oss.store import _mapped
    from distfs.engine.seam import StoreError

    with pytest.raises(StoreError) as info, _mapped("bkt", "http://e", [TOKEN, {"nested": STS_SECRET}]):
        raise oss2.exceptions.ClientError(f"refused {TOKEN} and {STS_SECRET}")
    assert info.value.message == "refused *** and ***"


def test_distfs_protocol_with_storage_options_pickles(params: dict[str, Any]) -> None:
    fs = fsspec.filesystem("distfs", driver="oss", skip_instance_cache=True, **sts(params))
    fs.pipe("/shared.txt", b"through pickle")
    assert TOKEN not in repr(fs)
    blob = pickle.dumps(fs)
    script = "import pickle, sys; fs = pickle.loads(sys.stdin.buffer.read()); print(fs.cat('/shared.txt').decode())"
    result = subprocess.run([sys.executable, "-c", script], input=blob, capture_output=True, check=True, timeout=120)
    assert result.stdout.decode().strip() == "through pickle"
