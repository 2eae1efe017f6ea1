"""The ``oss`` driver's parameters: distribution's keys, checked, typed and translated to ossfs.

Parameters are distribution's (``docs/storage-drivers/oss.md`` of the removed Go driver),
plus ``storage_options``: keyword arguments of ossfs's ``OSSFileSystem`` (:data:`OPTIONS`
says what distfs does with each). Distribution's keys become the same keywords
(``accesskeyid`` -> ``key``, ``accesskeysecret`` -> ``secret``, ``endpoint`` or
``region``/``internal``/``secure`` -> ``endpoint``), merged with ``storage_options`` by the
precedence of :mod:`distfs.backends.options`; fsspec's own configuration (``fsspec.config``,
``FSSPEC_OSS_*``) fills in what neither gives. ossfs's rule makes the credentials: a
``token`` (an STS security token) with ``key`` and ``secret``, ``key`` and ``secret``, or
anonymous access when ``key`` is empty. Each key's type,
default and bounds are in :data:`KEYS`, rules across keys in :func:`settings_from`.
Secrets (``accesskeysecret``, every ``storage_options`` value) are never shown in
``repr`` or in an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, Key, KeyTable, MiB, Parsed
from ...retry import DEFAULT_RETRIES, RETRIES
from ..options import Option, OptionTable, StorageOptions

__all__ = ["CONTENT_TYPE", "KEYS", "KNOWN", "NAME", "OPTIONS", "OSSSettings", "is_cname", "settings_from"]

NAME = "oss"
MIN_CHUNK = 5 * MiB
MAX_CHUNK = 5 * GiB
MAX_SINGLE_PUT = 5 * GiB
COPY_THRESHOLD = 1 * GiB  # CopyObject takes objects up to 1 GB; larger ones are copied in parts
MIN_PART = 100 * 1024  # every part but the last holds at least 100 KB
DELETE_BATCH = 1000
CONTENT_TYPE = "application/octet-stream"

_LISTINGS = "distfs lists the bucket on every call (listings are never stale); ossfs's listings cache is not used"
_FILES = "distfs reads through its own pinned, ranged reader, never through ossfs file objects"

#: Every keyword of ossfs's ``OSSFileSystem`` (and fsspec's ``AbstractFileSystem``).
OPTIONS = OptionTable(
    NAME,
    "oss",
    "ossfs",
    (
        Option("key", distribution="accesskeyid", why="access key id; an empty key is anonymous access"),
        Option("secret", distribution="accesskeysecret", why="access key secret"),
        Option("token", why="STS security token, sent with key and secret (x-oss-security-token)"),
        Option(
            "endpoint",
            distribution="endpoint, region, internal, secure",
            why="OSS endpoint; oss2 adds http:// to a host without a scheme",
        ),
        Option("default_cache_type", "ignored", _FILES),
        Option("default_block_size", "engine", "the read block is chunksize, at most 16 MiB", instead="chunksize"),
        Option("skip_instance_cache", "ignored", "distfs always makes a private instance"),
        Option("use_listings_cache", "rejected", _LISTINGS),
        Option("listings_expiry_time", "rejected", _LISTINGS),
        Option("max_paths", "rejected", _LISTINGS),
        Option("asynchronous", "rejected", "OSSFileSystem is synchronous; distfs.aio is the async API"),
        Option("loop", "rejected", "OSSFileSystem is synchronous; distfs runs its own event loop"),
    ),
)
#: Every parameter of the oss driver (distribution's keys and ``storage_options``).
KEYS = KeyTable(
    NAME,
    (
        Key("accesskeyid", "string", "the AccessKey id", shown="required"),
        Key("accesskeysecret", "string", "the AccessKey secret", secret=True, shown="required"),
        Key("region", "string", "for example `oss-cn-beijing`", shown="required"),
        Key("bucket", "string", "a valid OSS bucket name", shown="required"),
        Key(
            "endpoint",
            "string",
            "host or `http(s)://` URL; a host starting with `<bucket>.` is a CNAME, an IP endpoint is addressed "
            "path-style",
            shown="`<bucket>.<region>.aliyuncs.com`",
        ),
        Key("internal", "bool", "the default endpoint becomes `<bucket>.<region>-internal.aliyuncs.com`", False),
        Key("encrypt", "bool", "server-side encryption: `AES256`, or `KMS` with `encryptionkeyid`", False),
        Key("encryptionkeyid", "string", "KMS key id for `encrypt`"),
        Key("secure", "bool", "HTTPS for host endpoints", default=True),
        Key("chunksize", "size", "writer part size", 10 * MiB, MIN_CHUNK, MAX_CHUNK),
        Key("rootdirectory", "string", "key prefix; `/` stripped at both ends"),
        dataclasses.replace(
            RETRIES,
            doc="retries of a failed request (`0`: none), by the engine (oss2 retries nothing); "
            "see [Retries](drivers.md#retries)",
        ),
        Key(
            "storage_options",
            "options",
            "keywords of ossfs's `OSSFileSystem` (`token` for STS, `key: null` for anonymous reads; see "
            "[storage_options](#storage_options-of-each-driver))",
            secret=True,
            shown="`{}`",
        ),
    ),
    about="Details: [oss](oss.md).",
    options=OPTIONS,
)
KNOWN = KEYS.names
#: The storage_options keys whose values ossfs needs as strings.
_STRINGS = ("key", "secret", "token", "endpoint")


@dataclass(frozen=True)
class OSSSettings:
    """The oss driver's parameters, checked and typed (secrets never shown in ``repr``).

    ``endpoint`` is distribution's (given, or the default of ``region``; ``""`` when
    neither is given); ``options`` are the ``OSSFileSystem`` keyword arguments all the
    parameters come to (:func:`settings_from`).
    """

    bucket: str
    accesskeyid: str = ""
    accesskeysecret: str = field(default="", repr=False)
    region: str = ""
    endpoint: str = ""
    internal: bool = False
    encrypt: bool = False
    encryptionkeyid: str = ""
    secure: bool = True
    chunksize: int = 10 * MiB
    rootdirectory: str = ""
    maxretries: int = DEFAULT_RETRIES
    storage_options: StorageOptions = field(default_factory=lambda: StorageOptions({}))
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def default_endpoint(self) -> bool:
        return self.endpoint == _default_endpoint(self.bucket, self.region, self.internal)

    def url(self) -> str:
        """Distribution's endpoint as the URL given to ossfs (``""`` without one).

        The default endpoint becomes the region's (oss2 puts the bucket in front of it);
        a host gets the scheme ``secure`` says. :func:`is_cname` tells whether a URL names
        the bucket.
        """
        if not self.endpoint:
            return ""
        scheme = "https://" if self.secure else "http://"
        if self.default_endpoint:
            return scheme + self.region + ("-internal" if self.internal else "") + ".aliyuncs.com"
        return self.endpoint if "://" in self.endpoint else scheme + self.endpoint

    def filesystem(self) -> Any:
        """A private ``OSSFileSystem`` made from :attr:`options` (fsspec applies its config)."""
        from ossfs import OSSFileSystem

        return OSSFileSystem(**self.options, skip_instance_cache=True)

    def object_headers(self) -> dict[str, str]:
        """Headers every object write carries: content type and server-side encryption."""
        headers = {"Content-Type": CONTENT_TYPE}
        if self.encrypt:
            headers["x-oss-server-side-encryption"] = "KMS" if self.encryptionkeyid else "AES256"
            if self.encryptionkeyid:
                headers["x-oss-server-side-encryption-key-id"] = self.encryptionkeyid
        return headers


def is_cname(url: str, bucket: str) -> bool:
    """Whether endpoint ``url`` already addresses ``bucket`` (a host starting ``<bucket>.``)."""
    return url.split("://", 1)[-1].startswith(bucket + ".")


def _default_endpoint(bucket: str, region: str, internal: bool) -> str:
    return f"{bucket}.{region}{'-internal' if internal else ''}.aliyuncs.com"


def settings_from(parameters: Mapping[str, Any]) -> OSSSettings:
    """Check and type the oss parameters the way distribution's driver does, and translate them.

    ``bucket`` is required. ``accesskeyid`` and ``accesskeysecret`` are required unless
    ``storage_options`` (or fsspec's config) gives ``key`` and ``secret``; a ``key`` given
    there as null or ``""`` is anonymous access (ossfs's rule). ``region`` is required
    unless an ``endpoint`` comes from there. ``storage_options`` is checked against
    :data:`OPTIONS`.
    """
    from fsspec.config import apply_config
    from ossfs import OSSFileSystem

    values = KEYS.parse(parameters)
    storage_options = values["storage_options"]
    for key in _STRINGS:
        if not isinstance(storage_options.get(key, ""), str | None):
            raise InvalidParameterError(NAME, f"storage_options.{key}", "must be a string")
    bucket = values["bucket"]
    if not bucket:
        raise values.error("bucket", "No bucket parameter provided")
    accesskeyid, accesskeysecret = values["accesskeyid"], values["accesskeysecret"]
    endpoint = values["endpoint"]
    if "://" in endpoint and not endpoint.startswith(("http://", "https://")):
        raise values.error("endpoint", "must be a host name or an http or https URL")
    given = bool(endpoint)
    if values["region"] and not endpoint:
        endpoint = _default_endpoint(bucket, values["region"], values["internal"])
    settings = OSSSettings(
        **{key: values[key] for key in KNOWN if key not in ("endpoint", "rootdirectory")},
        endpoint=endpoint.rstrip("/"),
        rootdirectory=values["rootdirectory"].strip("/"),
    )
    user_set: dict[str, Any] = {}
    if accesskeyid:
        user_set["key"] = accesskeyid
    if accesskeysecret:
        user_set["secret"] = accesskeysecret
    if given:
        user_set["endpoint"] = settings.url()
    defaults = {"endpoint": settings.url()} if settings.endpoint and not given else {}
    options = apply_config(OSSFileSystem, OptionTable.merge(user_set, {}, storage_options, defaults))
    _require(values, options)
    return dataclasses.replace(settings, options=options)


def _require(params: Parsed, options: Mapping[str, Any]) -> None:
    """Refuse keyword arguments that leave ossfs without an endpoint or half its credentials."""
    if not options.get("endpoint"):
        raise params.error("region", "No region parameter provided (nor storage_options endpoint)")
    if "key" not in options:
        raise params.error("accesskeyid", "No accesskeyid parameter provided (nor storage_options key)")
    if options["key"] and not options.get("secret"):
        raise params.error("accesskeysecret", "No accesskeysecret parameter provided (nor storage_options secret)")
    if not options["key"] and options.get("token"):
        raise InvalidParameterError(NAME, "storage_options.token", "an STS token needs a key and a secret")
