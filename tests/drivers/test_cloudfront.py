"""The cloudfront storage middleware over a real s3 driver (moto), with a throwaway RSA key."""

from __future__ import annotations

import base64
import datetime
import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

import distfs
from distfs.cloudfront import CloudFrontMiddleware, parse_duration, sign_url
from distfs.middleware import apply_middleware

KEY_PAIR_ID = "K2JCJMDEHXQW5F"
PATH = "/docker/registry/v2/blobs/sha256/ab/abcd/data"
INSIDE_V4 = "3.5.141.7"  # 3.5.140.0/22, ap-northeast-2
INSIDE_WEST = "52.94.77.1"  # 52.94.76.0/22, us-west-2
INSIDE_V6 = "2600:1f18::1"  # 2600:1f18::/33, us-east-1
OUTSIDE_V4 = "8.8.8.8"
OUTSIDE_V6 = "2001:db8::1"
RANGES = {
    "syncToken": "1",
    "prefixes": [
        {"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2", "service": "AMAZON"},
        {"ip_prefix": "52.94.76.0/22", "region": "us-west-2", "service": "AMAZON"},
    ],
    "ipv6_prefixes": [{"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "AMAZON"}],
}


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any, form: serialization.PrivateFormat = serialization.PrivateFormat.TraditionalOpenSSL) -> bytes:
    data: bytes = key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())
    return data


@pytest.fixture
def key_file(tmp_path: Path, private_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "cloudfront.pem"
    path.write_bytes(pem(private_key))
    return path


@pytest.fixture
def ranges_file(tmp_path: Path) -> Path:
    path = tmp_path / "ip-ranges.json"
    path.write_text(json.dumps(RANGES))
    return path


@pytest.fixture
def s3_driver(s3_parameters: dict[str, Any]) -> distfs.StorageDriver:
    return distfs.create("s3", {**s3_parameters, "rootdirectory": "/reg/root"})


@pytest.fixture
def options(key_file: Path) -> dict[str, Any]:
    return {"baseurl": "cdn.example.com", "privatekey": str(key_file), "keypairid": KEY_PAIR_ID}


@pytest.fixture
def cloudfront(s3_driver: distfs.StorageDriver, options: dict[str, Any]) -> Callable[..., CloudFrontMiddleware]:
    """The middleware over the s3 driver, with ``options`` updated by the keywords."""

    def make(**changes: Any) -> CloudFrontMiddleware:
        driver = apply_middleware(s3_driver, "cloudfront", {**options, **changes})
        assert isinstance(driver, CloudFrontMiddleware)
        return driver

    return make


def verify(url: str, public_key: rsa.RSAPublicKey) -> tuple[str, int, str]:
    """Check ``url``'s canned-policy signature; return its resource, Expires and Key-Pair-Id."""
    resource, _, query = url.partition("?")
    fields = urllib.parse.parse_qs(query, strict_parsing=True)
    assert sorted(fields) == ["Expires", "Key-Pair-Id", "Signature"]
    expires = int(fields["Expires"][0])
    policy = (
        '{"Statement":[{"Resource":"' + resource + '","Condition":{"DateLessThan":{"AWS:EpochTime":'
        f"{expires}" + "}}}]}"
    )
    signature = base64.b64decode(fields["Signature"][0].translate(str.maketrans("-_~", "+=/")), validate=True)
    public_key.verify(signature, policy.encode(), padding.PKCS1v15(), hashes.SHA1())
    return resource, expires, fields["Key-Pair-Id"][0]


def is_cloudfront(url: str | None) -> bool:
    assert url is not None
    return url.startswith("https://cdn.example.com/") and "Key-Pair-Id=" in url


def is_direct_s3(url: str | None, s3_endpoint: str) -> bool:
    assert url is not None
    parts = urllib.parse.urlsplit(url)
    return parts.netloc == urllib.parse.urlsplit(s3_endpoint).netloc and "X-Amz-Signature=" in parts.query


# -- signing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form", [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8], ids=["pkcs1", "pkcs8"]
)
def test_signed_url_verifies_with_public_key(
    form: serialization.PrivateFormat,
    private_key: rsa.RSAPrivateKey,
    key_file: Path,
    cloudfront: Callable[..., CloudFrontMiddleware],
) -> None:
    key_file.write_bytes(pem(private_key, form))
    driver = cloudfront()
    before = time.time()
    url = driver.redirect_url(PATH)
    assert url is not None
    resource, expires, key_pair_id = verify(url, private_key.public_key())
    assert resource == "https://cdn.example.com/reg/root" + PATH
    assert key_pair_id == KEY_PAIR_ID
    assert before + 1200 - 2 <= expires <= time.time() + 1200 + 1


def test_method_is_not_checked(cloudfront: Callable[..., CloudFrontMiddleware], private_key: rsa.RSAPrivateKey) -> None:
    for method in ("GET", "HEAD", "PUT"):
        url = cloudfront().redirect_url(PATH, method)
        assert url is not None
        verify(url, private_key.public_key())


def test_resource_without_rootdirectory(
    s3_parameters: dict[str, Any], options: dict[str, Any], private_key: rsa.RSAPrivateKey
) -> None:
    inner = distfs.create("s3", s3_parameters)
    driver = apply_middleware(inner, "cloudfront", options)
    assert isinstance(driver, CloudFrontMiddleware)
    assert driver.unwrap() is inner
    url = driver.redirect_url("/a/b")
    assert url is not None
    assert verify(url, private_key.public_key())[0] == "https://cdn.example.com/a/b"


@pytest.mark.parametrize(
    ("baseurl", "prefix"),
    [
        ("cdn.example.com", "https://cdn.example.com/"),
        ("cdn.example.com/", "https://cdn.example.com/"),
        ("https://cdn.example.com/registry", "https://cdn.example.com/registry/"),
        ("http://cdn.example.com:8080/", "http://cdn.example.com:8080/"),
    ],
)
def test_baseurl_forms(
    baseurl: str, prefix: str, cloudfront: Callable[..., CloudFrontMiddleware], private_key: rsa.RSAPrivateKey
) -> None:
    url = cloudfront(baseurl=baseurl).redirect_url(PATH)
    assert url is not None
    assert verify(url, private_key.public_key())[0] == prefix + "reg/root" + PATH


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        (None, 1200),
        ("20m", 1200),
        ("1h30m", 5400),
        ("300s", 300),
        ("1.5h", 5400),
        ("90000ms", 90),
        (300, 300),
        (45.0, 45),
        (datetime.timedelta(minutes=7), 420),
    ],
)
def test_duration_forms(
    duration: Any, seconds: int, cloudfront: Callable[..., CloudFrontMiddleware], private_key: rsa.RSAPrivateKey
) -> None:
    driver = cloudfront() if duration is None else cloudfront(duration=duration)
    before = time.time()
    url = driver.redirect_url(PATH)
    assert url is not None
    expires = verify(url, private_key.public_key())[1]
    assert before + seconds - 2 <= expires <= time.time() + seconds + 1


def test_parse_duration() -> None:
    assert parse_duration("1h2m3s") == 3723
    assert parse_duration("0") == 0
    assert parse_duration("-1m") == -60
    assert parse_duration("250us") == pytest.approx(250e-6)
    for bad in ("", "5", "m", "1d", "1h 2m", "h1"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_sign_url_appends_to_an_existing_query(private_key: rsa.RSAPrivateKey) -> None:
    url = sign_url("https://cdn.example.com/a?x=1", 2_000_000_000, "KID", private_key)
    assert url.startswith("https://cdn.example.com/a?x=1&Expires=2000000000&Signature=")
    assert url.endswith("&Key-Pair-Id=KID")


def test_invalid_path_is_rejected(cloudfront: Callable[..., CloudFrontMiddleware]) -> None:
    for path in ("", "relative", "/a//b", "/a/"):
        with pytest.raises(distfs.InvalidPathError):
            cloudfront().redirect_url(path)


def test_non_s3_driver_delegates(options: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    inner = distfs.create("inmemory")
    driver = apply_middleware(inner, "cloudfront", options)
    with caplog.at_level(logging.WARNING, logger="distfs.cloudfront"):
        assert driver.redirect_url(PATH) is None
        assert driver.redirect_url(PATH) is None
    assert sum("not s3" in record.getMessage() for record in caplog.records) == 1


def test_other_calls_pass_through(
    cloudfront: Callable[..., CloudFrontMiddleware], s3_driver: distfs.StorageDriver
) -> None:
    driver = cloudfront()
    driver.put_content("/a/b/c", b"hello")
    assert driver.get_content("/a/b/c") == b"hello"
    assert s3_driver.get_content("/a/b/c") == b"hello"
    assert driver.list("/a/b") == ["/a/b/c"]
    assert driver.stat("/a/b/c").size == 5
    driver.move("/a/b/c", "/a/d")
    assert s3_driver.list("/a") == ["/a/d"]
    driver.delete("/a")
    with pytest.raises(distfs.PathNotFoundError):
        s3_driver.stat("/a/d")
    assert driver.name == s3_driver.name


# -- IP filtering ---------------------------------------------------------------------


@pytest.mark.parametrize("as_uri", [False, True], ids=["path", "file-url"])
def test_aws_filter(
    as_uri: bool, ranges_file: Path, cloudfront: Callable[..., CloudFrontMiddleware], s3_endpoint: str
) -> None:
    url = ranges_file.as_uri() if as_uri else str(ranges_file)
    driver = cloudfront(ipfilteredby="aws", iprangesurl=url)
    for inside in (INSIDE_V4, INSIDE_WEST, INSIDE_V6, f"::ffff:{INSIDE_V4}"):
        assert is_direct_s3(driver.redirect_url(PATH, client_ip=inside), s3_endpoint), inside
    for outside in (OUTSIDE_V4, OUTSIDE_V6, "not-an-ip", None):
        assert is_cloudfront(driver.redirect_url(PATH, client_ip=outside)), outside


def test_direct_url_is_the_wrapped_drivers(
    ranges_file: Path, cloudfront: Callable[..., CloudFrontMiddleware], s3_driver: distfs.StorageDriver
) -> None:
    driver = cloudfront(ipfilteredby="AWS", iprangesurl=str(ranges_file))
    direct = driver.redirect_url(PATH, client_ip=INSIDE_V4)
    expected = s3_driver.redirect_url(PATH)
    assert direct is not None
    assert expected is not None
    assert direct.split("?")[0] == expected.split("?")[0]
    assert direct.split("?")[0].endswith("/reg/root" + PATH)


def test_awsregion_filter(ranges_file: Path, cloudfront: Callable[..., CloudFrontMiddleware], s3_endpoint: str) -> None:
    driver = cloudfront(ipfilteredby="awsregion", awsregion="us-west-2, US-EAST-1,", iprangesurl=str(ranges_file))
    assert is_direct_s3(driver.redirect_url(PATH, client_ip=INSIDE_WEST), s3_endpoint)
    assert is_direct_s3(driver.redirect_url(PATH, client_ip=INSIDE_V6), s3_endpoint)
    assert is_cloudfront(driver.redirect_url(PATH, client_ip=INSIDE_V4))  # ap-northeast-2
    assert is_cloudfront(driver.redirect_url(PATH, client_ip=OUTSIDE_V4))


def test_no_filter_always_signs(ranges_file: Path, cloudfront: Callable[..., CloudFrontMiddleware]) -> None:
    for mode in ("none", "", None):
        driver = cloudfront(ipfilteredby=mode, iprangesurl=str(ranges_file))
        assert is_cloudfront(driver.redirect_url(PATH, client_ip=INSIDE_V4))


@pytest.mark.parametrize(
    "content", [None, "not json", '{"prefixes": ["x"]}', '{"prefixes": [{"ip_prefix": "bogus"}]}', "[]"]
)
def test_unloadable_ranges_sign(
    content: str | None,
    tmp_path: Path,
    cloudfront: Callable[..., CloudFrontMiddleware],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "ranges.json"
    if content is not None:
        path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="distfs.cloudfront"):
        driver = cloudfront(ipfilteredby="aws", iprangesurl=str(path))
    assert any("cannot load the AWS IP ranges" in record.getMessage() for record in caplog.records)
    assert is_cloudfront(driver.redirect_url(PATH, client_ip=INSIDE_V4))


@pytest.mark.parametrize("key", ["updatefrequency", "updatefrenquency"])
def test_ranges_reload_after_update_frequency(
    key: str, ranges_file: Path, cloudfront: Callable[..., CloudFrontMiddleware], s3_endpoint: str
) -> None:
    ranges_file.write_text(json.dumps({"prefixes": [], "ipv6_prefixes": []}))
    driver = cloudfront(ipfilteredby="aws", iprangesurl=str(ranges_file), **{key: "200ms"})
    assert is_cloudfront(driver.redirect_url(PATH, client_ip=INSIDE_V4))
    ranges_file.write_text(json.dumps(RANGES))
    assert is_cloudfront(driver.redirect_url(PATH, client_ip=INSIDE_V4))  # not stale yet
    time.sleep(0.3)
    assert is_direct_s3(driver.redirect_url(PATH, client_ip=INSIDE_V4), s3_endpoint)
    ranges_file.write_text("broken")  # a failed reload keeps the last good ranges
    time.sleep(0.3)
    assert is_direct_s3(driver.redirect_url(PATH, client_ip=INSIDE_V4), s3_endpoint)


def test_ranges_not_reloaded_before_update_frequency(
    ranges_file: Path, cloudfront: Callable[..., CloudFrontMiddleware]
) -> None:
    ranges_file.write_text(json.dumps({"prefixes": []}))
    driver = cloudfront(ipfilteredby="aws", iprangesurl=str(ranges_file))  # default 12h
    ranges_file.write_text(json.dumps(RANGES))
    assert is_cloudfront(driver.redirect_url(PATH, client_ip=INSIDE_V4))


# -- options --------------------------------------------------------------------------


def _missing(key: str) -> Callable[[dict[str, Any], Path], None]:
    def change(options: dict[str, Any], _: Path) -> None:
        del options[key]

    return change


def _set(**values: Any) -> Callable[[dict[str, Any], Path], None]:
    def change(options: dict[str, Any], _: Path) -> None:
        options.update(values)

    return change


def _key_file(content: bytes) -> Callable[[dict[str, Any], Path], None]:
    def change(options: dict[str, Any], tmp_path: Path) -> None:
        path = tmp_path / "other.pem"
        path.write_bytes(content)
        options["privatekey"] = str(path)

    return change


_EC_KEY = ec.generate_private_key(ec.SECP256R1())
_ENCRYPTED = rsa.generate_private_key(65537, 1024).private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.BestAvailableEncryption(b"secret"),
)

INVALID = [
    ("baseurl", _missing("baseurl")),
    ("baseurl", _set(baseurl="")),
    ("baseurl", _set(baseurl=5)),
    ("baseurl", _set(baseurl="ftp://cdn.example.com")),
    ("baseurl", _set(baseurl="https:///path")),
    ("privatekey", _missing("privatekey")),
    ("privatekey", _set(privatekey="")),
    ("privatekey", _set(privatekey=1)),
    ("privatekey", _set(privatekey="/nonexistent/key.pem")),
    ("privatekey", _key_file(b"not a key")),
    ("privatekey", _key_file(pem(_EC_KEY))),
    ("privatekey", _key_file(_ENCRYPTED)),
    ("keypairid", _missing("keypairid")),
    ("keypairid", _set(keypairid=" ")),
    ("keypairid", _set(keypairid=7)),
    ("keypairid", _set(keypairid="K/1&x=2")),
    ("duration", _set(duration="soon")),
    ("duration", _set(duration="20")),
    ("duration", _set(duration="-5m")),
    ("duration", _set(duration="0")),
    ("duration", _set(duration=0)),
    ("duration", _set(duration=True)),
    ("duration", _set(duration=[1])),
    ("duration", _set(duration=float("nan"))),
    ("duration", _set(duration=float("inf"))),
    ("duration", _set(duration="9" * 400 + "h")),
    ("duration", _set(duration=1e300)),
    ("updatefrequency", _set(updatefrequency=float("nan"))),
    ("updatefrequency", _set(updatefrequency="often")),
    ("updatefrequency", _set(updatefrequency=-1)),
    ("updatefrenquency", _set(updatefrenquency="often")),
    ("iprangesurl", _set(iprangesurl="ftp://example.com/ranges.json")),
    ("baseurl", _set(baseurl="javascript://x/" + "y" * 10_000)),
    ("iprangesurl", _set(iprangesurl=3)),
    ("ipfilteredby", _set(ipfilteredby="gcp")),
    ("ipfilteredby", _set(ipfilteredby=1)),
    ("awsregion", _set(ipfilteredby="awsregion")),
    ("awsregion", _set(ipfilteredby="awsregion", awsregion=" , ")),
    ("awsregion", _set(ipfilteredby="awsregion", awsregion=["us-east-1"])),
    ("bogus", _set(bogus="x")),
]


@pytest.mark.parametrize(("key", "change"), INVALID)
def test_invalid_options(
    key: str,
    change: Callable[[dict[str, Any], Path], None],
    options: dict[str, Any],
    s3_driver: distfs.StorageDriver,
    tmp_path: Path,
) -> None:
    options = dict(options)
    change(options, tmp_path)
    with pytest.raises(distfs.InvalidParameterError) as caught:
        apply_middleware(s3_driver, "cloudfront", options)
    assert caught.value.driver == "cloudfront"
    assert caught.value.parameter == key
    assert key in str(caught.value)
    assert len(str(caught.value)) < 300  # a short prefix of the value at most


def test_private_key_never_shown(
    private_key: rsa.RSAPrivateKey, key_file: Path, options: dict[str, Any], s3_driver: distfs.StorageDriver
) -> None:
    material = pem(private_key).decode()
    secret_lines = [line for line in material.splitlines() if "-----" not in line]
    driver = apply_middleware(s3_driver, "cloudfront", options)
    assert isinstance(driver, CloudFrontMiddleware)
    shown = [repr(driver), str(driver), repr(vars(driver).get("base_url"))]
    for mistake in (material, material.replace("\n", "")):  # the key itself given instead of a path
        with pytest.raises(distfs.InvalidParameterError) as caught:
            apply_middleware(s3_driver, "cloudfront", {**options, "privatekey": mistake})
        shown += [str(caught.value), repr(caught.value)]
    key_file.write_text(material[: len(material) // 2])  # a truncated key
    with pytest.raises(distfs.InvalidParameterError) as caught:
        apply_middleware(s3_driver, "cloudfront", options)
    shown += [str(caught.value), repr(caught.value)]
    for text in shown:
        assert not any(line in text for line in secret_lines[:3]), text
    assert KEY_PAIR_ID in repr(driver)
