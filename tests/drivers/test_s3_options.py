"""The s3 driver's ``storage_options`` (s3fs keywords) against moto, proven on the wire.

moto checks neither signatures, SSE-C keys nor requester pays, so what the driver sends is
recorded by :class:`fault_proxy.FaultProxy` (no faults, ``heard`` on) between the
driver's client and moto: the access key id each request is signed with, the SSE-C and
requester-pays headers, the user agent, the region of the signature.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import pickle
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from conftest import s3_parameters_for
from fault_proxy import FaultProxy

import distfs
from distfs.backends.s3 import OPTIONS, raw_filesystem, settings_from
from distfs.tools.servers import ACCESS_KEY, SECRET_KEY

MiB = 1 << 20
SSE_C_KEY = "distfs-sse-c-key-0123456789abcde"  # 32 bytes
Recorded = list[tuple[str, str, dict[str, str]]]


@pytest.fixture
def wire(s3_endpoint: str) -> Iterator[FaultProxy]:
    """A recording proxy in front of moto (no faults)."""
    with FaultProxy(s3_endpoint, "s3") as proxy:
        proxy.heard = []
        yield proxy


@pytest.fixture
def params(wire: FaultProxy, s3_bucket: str) -> dict[str, Any]:
    """Parameters of an s3 driver on a fresh bucket, through the recording proxy."""
    return s3_parameters_for(wire.endpoint, s3_bucket)


@pytest.fixture
def no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials from the environment; returns a directory for AWS config files."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def operation(method: str, path: str, headers: dict[str, str]) -> str:
    """The S3 operation of one recorded request."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query, keep_blank_values=True)
    if method == "PUT":
        copy = "x-amz-copy-source" in headers
        if "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in query else "DeleteObjects" if "delete" in query else "Complete"
    if method == "GET":
        for marker, name in (
            ("list-type", "ListObjectsV2"),
            ("uploads", "ListMultipartUploads"),
            ("uploadId", "ListParts"),
        ):
            if marker in query:
                return name
        return "GetObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return "HeadObject"


def signer(headers: dict[str, str]) -> tuple[str, str]:
    """(access key id, region) of a SigV4 Authorization header."""
    found = re.search(r"Credential=([^/]+)/\d+/([^/]+)/s3/", headers.get("authorization", ""))
    assert found, headers.get("authorization")
    return found[1], found[2]


def workload(driver: distfs.StorageDriver) -> None:
    """Every kind of request: small and multipart writes, ranged reads, stat, list, copies, deletes."""
    driver.put_content("/w/small", b"0123456789")
    big = os.urandom(6 * MiB)
    w = driver.writer("/w/big")
    w.write(big)
    w.close()
    w = driver.writer("/w/big", append=True)
    w.write(b"tail")
    w.commit()
    assert driver.get_content("/w/small") == b"0123456789"
    with driver.reader("/w/big", 5) as stream:
        assert stream.read(10) == big[5:15]
    assert driver.stat("/w/big").size == len(big) + 4
    assert driver.list("/w") == ["/w/big", "/w/small"]
    driver.move("/w/small", "/m/small")
    driver.move("/w/big", "/m/big")
    assert driver.get_content("/m/big")[-4:] == b"tail"
    driver.delete("/m")


COPIES = {"multipartcopythresholdsize": 5 * MiB, "multipartcopychunksize": 5 * MiB}


# -- credentials: profiles, sessions, anon ---------------------------------------------


def test_two_profiles_sign_with_their_own_keys(
    params: dict[str, Any], wire: FaultProxy, no_aws_environment: Path, s3_admin: Any
) -> None:
    """Two drivers in one process, each with its AWS named profile (and one with an
    aiobotocore session of the other): every request is signed with its own profile's key."""
    from aiobotocore.session import AioSession

    (no_aws_environment / "credentials").write_text(
        "[alpha]\naws_access_key_id = AKIAALPHAPROFILE0001\naws_secret_access_key = alpha-secret\n"
        "[beta]\naws_access_key_id = AKIABETAPROFILE00002\naws_secret_access_key = beta-secret\n"
    )
    (no_aws_environment / "config").write_text(
        "[profile alpha]\nregion = eu-west-1\n[profile beta]\nregion = us-west-2\n"
    )
    base = {k: v for k, v in params.items() if k not in ("accesskey", "secretkey", "region")}
    alpha = distfs.create("s3", {**base, "storage_options": {"profile": "alpha"}})
    beta = distfs.create("s3", {**base, "storage_options": {"profile": "beta"}})
    session = distfs.create("s3aws", {**base, "storage_options": {"session": AioSession(profile="beta")}})
    for _ in range(2):  # interleaved
        alpha.put_content("/alpha/x", b"a")
        beta.put_content("/beta/x", b"b")
        session.put_content("/session/x", b"s")
    assert alpha.get_content("/beta/x") == b"b"
    assert beta.get_content("/session/x") == b"s"
    assert wire.heard
    expected = {
        "alpha": ("AKIAALPHAPROFILE0001", "eu-west-1"),
        "beta": ("AKIABETAPROFILE00002", "us-west-2"),
        "session": ("AKIABETAPROFILE00002", "us-west-2"),
    }
    for method, path, headers in wire.heard:
        name = path.split("/")[2].split("?")[0]
        if method == "PUT":
            assert signer(headers) == expected[name], (method, path)
    reads = [signer(h) for m, p, h in wire.heard if m == "GET" and "/beta/x" in p]
    assert reads == [expected["alpha"]]  # alpha read beta's object with alpha's key


def test_anon_sends_unsigned_requests_and_refuses_writes(
    params: dict[str, Any], wire: FaultProxy, s3_admin: Any
) -> None:
    s3_admin.put_object(Bucket=params["bucket"], Key="public/blob", Body=b"open", ACL="public-read")
    base = {k: v for k, v in params.items() if k not in ("accesskey", "secretkey")}
    anonymous = distfs.create("s3", {**base, "storage_options": {"anon": True}})
    assert anonymous.get_content("/public/blob") == b"open"
    assert wire.heard
    assert all("authorization" not in headers for _, _, headers in wire.heard)
    sent = len(wire.heard)
    for write in (
        lambda: anonymous.put_content("/public/new", b"x"),
        lambda: anonymous.move("/public/blob", "/public/moved"),
        lambda: anonymous.delete("/public"),
    ):
        with pytest.raises(distfs.AccessDeniedError, match="anon"):
            write()
    assert [m for m, _, _ in wire.heard[sent:] if m not in ("GET", "HEAD")] == []  # no write was sent
    assert s3_admin.get_object(Bucket=params["bucket"], Key="public/blob")["Body"].read() == b"open"


# -- per-request extras: requester pays, SSE -------------------------------------------


def test_requester_pays_on_every_request(params: dict[str, Any], wire: FaultProxy) -> None:
    driver = distfs.create("s3", {**params, **COPIES, "storage_options": {"requester_pays": True}})
    workload(driver)
    seen = {operation(*request) for request in wire.heard}
    assert {"PutObject", "UploadPart", "GetObject", "ListObjectsV2", "CopyObject", "UploadPartCopy"} <= seen
    assert "DeleteObjects" in seen
    missing = [(m, p) for m, p, h in wire.heard if h.get("x-amz-request-payer") != "requester"]
    assert missing == []


def test_sse_c_on_every_write_read_and_copy(params: dict[str, Any], wire: FaultProxy, s3_admin: Any) -> None:
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": SSE_C_KEY}
    driver = distfs.create("s3", {**params, **COPIES, "storage_options": {"s3_additional_kwargs": sse_c}})
    workload(driver)
    key_b64 = base64.b64encode(SSE_C_KEY.encode()).decode()
    md5_b64 = base64.b64encode(hashlib.md5(SSE_C_KEY.encode()).digest()).decode()
    headers_of = {
        "": {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": key_b64,
            "x-amz-server-side-encryption-customer-key-md5": md5_b64,
        }
    }
    headers_of["copy"] = {k.replace("x-amz-", "x-amz-copy-source-"): v for k, v in headers_of[""].items()}
    needs = {
        "PutObject",
        "UploadPart",
        "CreateMultipartUpload",
        "CopyObject",
        "UploadPartCopy",
        "GetObject",
        "HeadObject",
    }
    seen: set[str] = set()
    for method, path, headers in wire.heard:
        name = operation(method, path, headers)
        seen.add(name)
        if name in needs:
            assert headers_of[""].items() <= headers.items(), (name, path)
        if name in ("CopyObject", "UploadPartCopy"):
            assert headers_of["copy"].items() <= headers.items(), (name, path)
        if name in ("ListObjectsV2", "DeleteObjects"):
            assert "x-amz-server-side-encryption-customer-key" not in headers
    assert needs - {"HeadObject"} <= seen


@pytest.mark.parametrize(
    ("extra", "header"),
    [
        ({"ServerSideEncryption": "AES256"}, {"x-amz-server-side-encryption": "AES256"}),
        (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "alias/distfs"},
            {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "alias/distfs"},
        ),
    ],
    ids=["sse-s3", "sse-kms"],
)
def test_sse_s3_and_kms_on_every_object_write(
    params: dict[str, Any], wire: FaultProxy, extra: dict[str, str], header: dict[str, str]
) -> None:
    driver = distfs.create("s3", {**params, **COPIES, "storage_options": {"s3_additional_kwargs": extra}})
    workload(driver)
    writes = {"PutObject", "CreateMultipartUpload", "CopyObject"}
    checked = 0
    for method, path, headers in wire.heard:
        name = operation(method, path, headers)
        if name in writes:
            assert header.items() <= headers.items(), (name, path)
            checked += 1
        elif name in ("GetObject", "UploadPart", "ListObjectsV2"):
            assert "x-amz-server-side-encryption" not in headers, name  # S3 refuses it there
    assert checked >= 4


# -- connectivity: endpoint, client_kwargs, config_kwargs, region -----------------------


def test_endpoint_client_and_config_kwargs(params: dict[str, Any], wire: FaultProxy) -> None:
    """No region, no regionendpoint: storage_options say where and how."""
    driver = distfs.create(
        "s3",
        {
            "bucket": params["bucket"],
            "accesskey": ACCESS_KEY,
            "secretkey": SECRET_KEY,
            "storage_options": {
                "endpoint_url": wire.endpoint,
                "client_kwargs": {"region_name": "ap-southeast-2"},
                "config_kwargs": {"user_agent_extra": "distfs-options-test/1", "s3": {"addressing_style": "path"}},
            },
        },
    )
    driver.put_content("/e", b"e")
    assert driver.get_content("/e") == b"e"
    for _, path, headers in wire.heard:
        assert signer(headers) == (ACCESS_KEY, "ap-southeast-2")
        assert "distfs-options-test/1" in headers["user-agent"]
        assert path.startswith(f"/{params['bucket']}")  # path style


def test_precedence(params: dict[str, Any], wire: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Distribution keys the user set > storage_options > distribution defaults > fsspec config."""
    options = {"client_kwargs": {"region_name": "eu-west-1"}, "s3_additional_kwargs": {"ACL": "public-read"}}
    set_by_user = distfs.create(
        "s3", {**params, "region": "us-west-2", "objectacl": "private", "storage_options": options}
    )
    set_by_user.put_content("/u", b"u")
    method, _, headers = wire.heard[-1]
    assert (method, signer(headers), headers["x-amz-acl"]) == ("PUT", (ACCESS_KEY, "us-west-2"), "private")
    without = {k: v for k, v in params.items() if k != "region"}
    defaults = distfs.create("s3", {**without, "storage_options": options})
    defaults.put_content("/d", b"d")
    method, _, headers = wire.heard[-1]
    assert (method, signer(headers), headers["x-amz-acl"]) == ("PUT", (ACCESS_KEY, "eu-west-1"), "public-read")
    monkeypatch.setitem(fsspec.config.conf, "s3", {"requester_pays": True})
    configured = distfs.create("s3", params)
    configured.put_content("/c", b"c")
    assert wire.heard[-1][2].get("x-amz-request-payer") == "requester"  # fsspec's config applies
    overridden = distfs.create("s3", {**params, "storage_options": {"requester_pays": False}})
    overridden.put_content("/o", b"o")
    assert "x-amz-request-payer" not in wire.heard[-1][2]
    fs, root = raw_filesystem({**params, "storage_options": {"requester_pays": False}})  # probe / bench
    assert (fs.requester_pays, root) == (False, params["bucket"])


def test_region_is_optional_only_when_storage_options_locate_the_store() -> None:
    with pytest.raises(distfs.InvalidParameterError, match="no region") as info:
        settings_from({"bucket": "b", "storage_options": {"anon": True}})
    assert info.value.parameter == "region"
    for located in (
        {"profile": "p"},
        {"endpoint_url": "http://127.0.0.1:9"},
        {"client_kwargs": {"region_name": "eu-west-1"}},
    ):
        assert settings_from({"bucket": "b", "storage_options": located}).region == ""


# -- bad input --------------------------------------------------------------------------

REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"config_kwargs": {"retries": {"max_attempts": 1}}}, "storage_options.config_kwargs.retries", "'maxretries'"),
    ({"config_kwargs": {"read_timeout": 1}}, "storage_options.config_kwargs.read_timeout", "sets this itself"),
    ({"config_kwargs": {"connect_timeout": 1}}, "storage_options.config_kwargs.connect_timeout", "sets this itself"),
    ({"s3_additional_kwargs": {"IfMatch": "e"}}, "storage_options.s3_additional_kwargs.IfMatch", "sets this itself"),
    ({"s3_additional_kwargs": {"IfNoneMatch": "*"}}, "storage_options.s3_additional_kwargs.IfNoneMatch", "itself"),
    ({"s3_additional_kwargs": {"Range": "bytes=0-1"}}, "storage_options.s3_additional_kwargs.Range", "itself"),
    ({"s3_additional_kwargs": {"ContentType": "text/x"}}, "storage_options.s3_additional_kwargs.ContentType", "itself"),
    ({"s3_additional_kwargs": {"Bucket": "other"}}, "storage_options.s3_additional_kwargs.Bucket", "'bucket'"),
    ({"s3_additional_kwargs": {"Metadata": {"a": "b"}}}, "storage_options.s3_additional_kwargs.Metadata", "stamps"),
    ({"client_kwargs": {"config": object()}}, "storage_options.client_kwargs.config", "config_kwargs"),
    ({"version_aware": True}, "storage_options.version_aware", "not accepted"),
    ({"use_listings_cache": True}, "storage_options.use_listings_cache", "not accepted"),
    ({"cache_regions": True}, "storage_options.cache_regions", "not accepted"),
    ({"regoin_name": "x"}, "storage_options.regoin_name", "unknown s3fs option"),
    ({1: "x"}, "storage_options", "strings"),
]


@pytest.mark.parametrize(("options", "parameter", "words"), REFUSED, ids=[r[1] + str(i) for i, r in enumerate(REFUSED)])
def test_refused_storage_options(options: dict[Any, Any], parameter: str, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("s3", {"bucket": "b", "region": "us-east-1", "storage_options": options})
    assert (info.value.driver, info.value.parameter) == ("s3", parameter)
    assert words in str(info.value)


def test_every_s3fs_keyword_is_in_the_table() -> None:
    import inspect

    from fsspec.asyn import AsyncFileSystem
    from s3fs import S3FileSystem

    keywords = set(inspect.signature(S3FileSystem.__init__).parameters) - {"self", "kwargs"}
    keywords |= set(inspect.signature(AsyncFileSystem.__init__).parameters) - {"self", "args", "kwargs"}
    keywords |= {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths", "profile"}
    listed = {option.key for option in OPTIONS.options}
    assert keywords == listed
    assert all(option.why for option in OPTIONS.options)


def test_missing_bucket_unreachable_endpoint_and_redacted_messages(s3_endpoint: str) -> None:
    missing = distfs.create("s3", s3_parameters_for(s3_endpoint, "distfs-no-such-bucket"))
    with pytest.raises(distfs.StoreNotFoundError):
        missing.get_content("/x")
    dead = distfs.create("s3", {**s3_parameters_for("http://127.0.0.1:9", "b"), "maxretries": 1})
    with pytest.raises(distfs.DriverError, match=r"127\.0\.0\.1:9"):
        dead.get_content("/x")
    hidden = {k: v for k, v in s3_parameters_for("http://127.0.0.1:9", "b").items() if k != "regionendpoint"}
    secret_endpoint = distfs.create(
        "s3", {**hidden, "maxretries": 0, "storage_options": {"endpoint_url": "http://127.0.0.1:9/private-path"}}
    )
    with pytest.raises(distfs.DriverError) as info:
        secret_endpoint.get_content("/x")
    assert "***" in str(info.value)
    assert "private-path" not in str(info.value)


def test_secrets_never_shown(params: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    token = "distfs-options-session-token-Zq81"
    secret = "distfs-options-secret-Hh72/+x"
    options = {
        "key": ACCESS_KEY,
        "secret": secret,
        "token": token,
        "s3_additional_kwargs": {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": SSE_C_KEY},
    }
    parameters = {k: v for k, v in params.items() if k not in ("accesskey", "secretkey")}
    caplog.set_level(logging.DEBUG)
    driver = distfs.create("s3", {**parameters, "storage_options": options})
    driver.put_content("/s", b"s")
    assert driver.get_content("/s") == b"s"
    with pytest.raises(distfs.PathNotFoundError) as missing:
        driver.get_content("/nope")
    with pytest.raises(distfs.InvalidParameterError) as refused:
        distfs.create("s3", {**parameters, "storage_options": {**options, "version_aware": secret}})
    key_b64 = base64.b64encode(SSE_C_KEY.encode()).decode()
    texts = [repr(driver), str(driver), repr(missing.value), str(missing.value), str(refused.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert any("x-amz-server-side-encryption-customer-key" in text for text in texts)  # botocore logged headers
    for text in texts:
        for value in (token, secret, SSE_C_KEY, key_b64):
            assert value not in text


def test_distfs_filesystem_with_storage_options_pickles(params: dict[str, Any], wire: FaultProxy) -> None:
    from distfs.protocol import DistFileSystem

    options = {"requester_pays": True, "config_kwargs": {"user_agent_extra": "pickled/1"}}
    fs = DistFileSystem(driver="s3", skip_instance_cache=True, storage_options=options, **params)
    fs.pipe_file("/p/blob", b"before")
    again = pickle.loads(pickle.dumps(fs))
    assert again is not fs
    assert again.cat_file("/p/blob") == b"before"
    again.pipe_file("/p/blob", b"after")
    assert fs.cat_file("/p/blob") == b"after"
    assert all(h.get("x-amz-request-payer") == "requester" for _, _, h in wire.heard)
    assert all("pickled/1" in h["user-agent"] for _, _, h in wire.heard)


def test_config_yml_takes_storage_options(params: dict[str, Any], wire: FaultProxy) -> None:
    lines = [f"    {key}: {value}" for key, value in params.items()]
    text = "\n".join(["storage:", "  s3:", *lines, "    storage_options:", "      requester_pays: true", ""])
    driver = distfs.from_config(text, environ={})
    driver.put_content("/from-config", b"c")
    assert wire.heard
    assert all(h.get("x-amz-request-payer") == "requester" for _, _, h in wire.heard)
    with pytest.raises(distfs.ConfigError, match=r"storage\.s3\.storage_options\.version_aware"):
        distfs.from_config(text + "      version_aware: true\n", environ={})


def test_refused_credentials_are_access_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_aws_environment: Path
) -> None:
    """A moto of its own that checks credentials (``INITIAL_NO_AUTH_ACTION_COUNT=0``): a
    profile whose key it does not know is AccessDeniedError, its secret never shown."""
    from distfs.tools.servers import moto_server

    (no_aws_environment / "credentials").write_text(
        "[stranger]\naws_access_key_id = AKIASTRANGER00000001\naws_secret_access_key = stranger-secret-Jk2\n"
    )
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "0")
    with moto_server(tmp_path / "moto-auth.log") as endpoint:
        driver = distfs.create(
            "s3", {"bucket": "b", "regionendpoint": endpoint, "storage_options": {"profile": "stranger"}}
        )
        with pytest.raises(distfs.AccessDeniedError) as info:
            driver.put_content("/x", b"x")
    assert "InvalidAccessKeyId" in str(info.value)
    assert "stranger-secret-Jk2" not in str(info.value)
