"""``cloudfront`` storage middleware: CloudFront signed URLs in front of the ``s3`` driver.

Go's ``registry/storage/driver/middleware/cloudfront``. Options (``middleware.storage``
in ``config.yml``):

``baseurl`` (required)
    The distribution's URL; ``https://`` is prepended if it has no ``://`` and ``/``
    appended. A redirect goes to ``baseurl`` + the S3 object key (``rootdirectory``
    included).
``privatekey`` (required)
    Path of a PEM RSA private key file (PKCS#1 as in Go, or PKCS#8, unencrypted).
``keypairid`` (required)
    The CloudFront key (pair) id that goes into ``Key-Pair-Id``.
``duration``
    How long a signed URL is valid: a Go duration (``"20m"``, ``"1h30m"``), a number of
    seconds or a :class:`datetime.timedelta`; default 20 minutes.
``updatefrequency`` (legacy typo ``updatefrenquency``)
    How old the AWS IP ranges may get before they are read again; default 12 hours.
``iprangesurl``
    Where the AWS IP ranges are read from: an ``http(s)://`` or ``file://`` URL or a local
    path; default ``https://ip-ranges.amazonaws.com/ip-ranges.json``.
``ipfilteredby``
    ``none`` (or empty, the default), ``aws`` or ``awsregion``: clients inside AWS's
    ranges (all of them, or those of the ``awsregion`` regions) get the wrapped driver's
    direct S3 URL instead of a CloudFront one.
``awsregion``
    Comma-separated regions; required with ``ipfilteredby: awsregion``.

Differences from Go: unknown option keys are rejected (as driver parameters are);
``duration`` and ``updatefrequency`` must be finite and positive, and wrong types are
errors instead of being ignored; the ranges are refreshed lazily by the next
:meth:`CloudFrontMiddleware.redirect_url` after ``updatefrequency`` instead of by a
goroutine; the client address is an argument (``client_ip``) since there is no HTTP
request here.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .driver import StorageDriver
from .errors import InvalidParameterError
from .middleware import Middleware
from .middleware.redirect import SCHEMES, split_url
from .parameters import brief

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "AWSIPRanges",
    "CloudFrontMiddleware",
    "S3BucketKeyer",
    "init",
    "parse_duration",
    "s3_bucket_keyer",
    "sign_url",
]

NAME = "cloudfront"
DEFAULT_DURATION = 20 * 60.0
DEFAULT_UPDATE_FREQUENCY = 12 * 3600.0
DEFAULT_IP_RANGES_URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"
FETCH_TIMEOUT = 30.0
#: The longest duration accepted (Go's time.Duration holds at most about 292 years).
MAX_DURATION = float(2**63 // 10**9)
#: What CloudFront key ids and key pair ids are made of (they go into URLs unescaped).
_KEY_PAIR_ID = re.compile(r"[A-Za-z0-9]+")
KNOWN_OPTIONS = frozenset(
    {
        "baseurl",
        "privatekey",
        "keypairid",
        "duration",
        "updatefrequency",
        "updatefrenquency",
        "iprangesurl",
        "ipfilteredby",
        "awsregion",
    }
)

logger = logging.getLogger("distfs.cloudfront")

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class S3BucketKeyer(Protocol):
    """Go's ``S3BucketKeyer``: a driver that names the S3 object key of a path (the s3 driver)."""

    def s3_bucket_key(self, path: str) -> str: ...


def s3_bucket_keyer(driver: StorageDriver) -> S3BucketKeyer | None:
    """The driver below ``driver``'s middleware and base wrapper (``unwrap()``) that names S3
    keys (Go's type assertion on the driver), or None where it is not s3."""
    seen: StorageDriver | None = driver
    while seen is not None:
        if callable(getattr(seen, "s3_bucket_key", None)):
            return seen  # type: ignore[return-value]
        seen = seen.unwrap()
    return None


def init(driver: StorageDriver, options: Mapping[str, Any]) -> StorageDriver:
    """The middleware's entry point (``distfs.apply_middleware(driver, "cloudfront", options)``)."""
    return CloudFrontMiddleware(driver, options)


def parse_duration(value: str) -> float:
    """Seconds in a Go duration string (``"300ms"``, ``"1h30m"``, ``"0"``); ``ValueError`` if malformed."""
    text = value.strip()
    if text in {"0", "+0", "-0"}:
        return 0.0
    if not _DURATION.fullmatch(text):
        raise ValueError(f"not a duration: {brief(value)}")
    seconds = sum(float(number) * _UNITS[unit] for number, unit in _DURATION_PART.findall(text))
    return -seconds if text.startswith("-") else seconds


def sign_url(url: str, expires: int, key_pair_id: str, private_key: RSAPrivateKey) -> str:
    """``url`` signed with a CloudFront canned policy that expires at epoch second ``expires``.

    botocore's :class:`~botocore.signers.CloudFrontSigner` builds the canned policy and the
    query (``Expires``, ``Signature``, ``Key-Pair-Id``); distfs supplies the RSA signature
    (PKCS#1 v1.5 with SHA-1, CloudFront's scheme) from ``cryptography``.
    """
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def rsa_signer(message: bytes) -> bytes:
        return private_key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # SHA-1: CloudFront's scheme

    when = datetime.datetime.fromtimestamp(expires, datetime.UTC)
    signed: str = CloudFrontSigner(key_pair_id, rsa_signer).generate_presigned_url(url, date_less_than=when)
    return signed


class AWSIPRanges:
    """AWS's published IP prefixes (optionally of some regions only), re-read when stale.

    ``contains(ip)`` is false until a read has succeeded; a failed read is logged and
    keeps the prefixes of the last good one. Reads happen at construction and then
    lazily in ``contains`` once ``update_frequency`` seconds have passed since the last
    attempt (one thread reads, the others use the current prefixes meanwhile).
    """

    def __init__(
        self,
        url: str,
        update_frequency: float,
        regions: frozenset[str] = frozenset(),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.update_frequency = update_frequency
        self.regions = regions
        self._clock = clock
        self._lock = threading.Lock()
        self._networks: dict[int, set[tuple[int, int]]] | None = None  # version -> {(prefixlen, masked int)}
        self._attempted = clock()
        self.refresh()

    @property
    def loaded(self) -> bool:
        """Whether a read has succeeded."""
        return self._networks is not None

    def refresh(self) -> None:
        """Read the ranges now; on failure log a warning and keep the current ones."""
        self._attempted = self._clock()
        try:
            networks = self._parse(json.loads(_read(self.url)))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            logger.warning("cloudfront: cannot load the AWS IP ranges from %s: %s", self.url, error)
            return
        self._networks = networks

    def contains(self, ip: str) -> bool:
        """Whether ``ip`` (IPv4 or IPv6 text) is inside the loaded prefixes; false if unparsable."""
        if self._clock() - self._attempted >= self.update_frequency and self._lock.acquire(blocking=False):
            try:
                self.refresh()
            finally:
                self._lock.release()
        networks = self._networks
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return False
        if networks is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        bits = address.max_prefixlen
        value = int(address)
        return any(
            (length, value >> (bits - length) << (bits - length)) in networks.get(address.version, set())
            for length in range(bits + 1)
        )

    def _parse(self, document: Any) -> dict[int, set[tuple[int, int]]]:
        entries = [(entry["ip_prefix"], entry.get("region", "")) for entry in document["prefixes"]]
        entries += [(entry["ipv6_prefix"], entry.get("region", "")) for entry in document.get("ipv6_prefixes", [])]
        networks: dict[int, set[tuple[int, int]]] = {4: set(), 6: set()}
        for prefix, region in entries:
            if self.regions and str(region).lower() not in self.regions:
                continue
            network: Network = ipaddress.ip_network(str(prefix), strict=False)
            networks[network.version].add((network.prefixlen, int(network.network_address)))
        return networks


def _read(url: str) -> bytes:
    """The bytes at ``url``: ``http(s)://`` or ``file://`` URL, or a local path."""
    if "://" not in url:
        return Path(url).read_bytes()
    import urllib.request  # on first use: parse_duration's users fetch nothing

    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # scheme checked at init
        data: bytes = response.read()
        return data


class CloudFrontMiddleware(Middleware):
    """Redirects to CloudFront signed URLs for the wrapped s3 driver's objects."""

    def __init__(
        self,
        wrapped: StorageDriver,
        options: Mapping[str, Any],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(wrapped)
        for key in options:
            if key not in KNOWN_OPTIONS:
                raise _error(str(key), f"unknown option; known: {', '.join(sorted(KNOWN_OPTIONS))}")
        self.base_url = _base_url(options)
        self._private_key = _private_key(options)
        self.key_pair_id = _required_string(options, "keypairid")
        if not _KEY_PAIR_ID.fullmatch(self.key_pair_id):
            raise _error("keypairid", f"not a CloudFront key (pair) id (letters and digits): {brief(self.key_pair_id)}")
        self.duration = _duration_option(options, "duration", DEFAULT_DURATION)
        self._clock = clock
        self.ip_ranges = _ip_ranges(options)
        self._warned_not_s3 = False

    def __repr__(self) -> str:
        return f"<CloudFrontMiddleware {self.base_url!r} key pair {self.key_pair_id!r} over {self.wrapped!r}>"

    def redirect_url(
        self, path: str, method: str = "GET", expires: int | None = None, *, client_ip: str | None = None
    ) -> str | None:
        """A CloudFront URL for ``path``, valid ``expires`` seconds (else ``duration``), or the wrapped driver's URL.

        The wrapped driver answers when it is not s3 (logged once) and when IP filtering
        is on and ``client_ip`` is inside the allowed AWS ranges. ``method`` is not
        checked (as in Go). An invalid ``path`` is an ``InvalidPathError``.
        """
        self._check(path)
        keyer = s3_bucket_keyer(self.wrapped)
        if keyer is None:
            if not self._warned_not_s3:
                logger.warning("cloudfront: the wrapped driver %r is not s3; not signing", self.wrapped)
                self._warned_not_s3 = True
            return super().redirect_url(path, method, expires)
        if self.ip_ranges is not None and client_ip is not None and self.ip_ranges.contains(client_ip):
            return super().redirect_url(path, method, expires)
        until = int(self._clock() + (expires or self.duration))
        url = self.base_url + urllib.parse.quote(keyer.s3_bucket_key(path), safe="/")
        return sign_url(url, until, self.key_pair_id, self._private_key)


# -- options --------------------------------------------------------------------------


def _error(key: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(NAME, key, reason)


def _string(options: Mapping[str, Any], key: str, default: str = "") -> str:
    value = options.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _error(key, f"must be a string, got {brief(value)}")
    return value


def _required_string(options: Mapping[str, Any], key: str) -> str:
    value = _string(options, key).strip()
    if not value:
        raise _error(key, "is required")
    return value


def _base_url(options: Mapping[str, Any]) -> str:
    url = _required_string(options, "baseurl")
    if "://" not in url:
        url = "https://" + url
    if not url.endswith("/"):
        url += "/"
    parts = split_url(url, NAME, "baseurl")
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        raise _error("baseurl", f"must be an http(s) URL with a host, got {brief(url)}")
    return url


def _private_key(options: Mapping[str, Any]) -> RSAPrivateKey:
    """The RSA key in the file named by ``privatekey``; errors never quote the value or the file."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = _required_string(options, "privatekey")
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise _error("privatekey", f"cannot read the private key file: {reason}") from None
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise _error("privatekey", "encrypted private keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm):
        raise _error("privatekey", "the file does not hold a PEM private key (PKCS#1 or PKCS#8)") from None
    if not isinstance(key, RSAPrivateKey):
        raise _error("privatekey", "the private key is not an RSA key")
    return key


def _duration_option(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise _error(key, f"must be a duration such as 20m or 1h30m, got {brief(value)}") from None
    else:
        raise _error(key, f"must be a duration string or seconds, got {brief(value)}")
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION:
        raise _error(key, f"must be positive, finite and at most {MAX_DURATION:.0f} seconds, got {brief(value)}")
    return seconds


def _ip_ranges(options: Mapping[str, Any]) -> AWSIPRanges | None:
    frequency_key = "updatefrequency"
    if options.get(frequency_key) is None and options.get("updatefrenquency") is not None:
        logger.warning("cloudfront: updatefrenquency is deprecated, use updatefrequency")
        frequency_key = "updatefrenquency"
    frequency = _duration_option(options, frequency_key, DEFAULT_UPDATE_FREQUENCY)
    url = _string(options, "iprangesurl", DEFAULT_IP_RANGES_URL).strip() or DEFAULT_IP_RANGES_URL
    if "://" in url and split_url(url, NAME, "iprangesurl").scheme not in {"http", "https", "file"}:
        raise _error("iprangesurl", f"must be an http(s) or file URL or a local path, got {brief(url)}")
    mode = _string(options, "ipfilteredby").strip().lower()
    if mode in {"", "none"}:
        return None
    if mode == "aws":
        return AWSIPRanges(url, frequency)
    if mode == "awsregion":
        if options.get("awsregion") is None:
            raise _error("awsregion", "is required with ipfilteredby: awsregion")
        regions = frozenset(r.strip().lower() for r in _string(options, "awsregion").split(",") if r.strip())
        if not regions:
            raise _error("awsregion", "must be a comma-separated list of AWS regions")
        return AWSIPRanges(url, frequency, regions)
    raise _error("ipfilteredby", f"must be none, aws or awsregion, got {brief(mode)}")
