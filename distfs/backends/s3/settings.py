"""The ``s3`` driver's parameters: distribution's keys, checked and typed (:class:`S3Settings`).

Parameters are distribution's (``docs/content/storage-drivers/s3.md``); each key's type,
default, bounds and choices are in :data:`KEYS`, rules across keys in :func:`settings_from`.
Secrets (``accesskey``, ``secretkey``, ``sessiontoken``) are never shown in ``repr`` or in
an error.

The driver stands on s3fs: :func:`filesystem_kwargs` translates the settings into
``S3FileSystem`` keywords and merges the user's ``storage_options`` beneath the keys the
user set (:data:`OPTIONS` lists every s3fs keyword and what distfs does with it).
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, Key, KeyTable, MiB
from ...retry import RETRIES
from ..options import Option, OptionTable, StorageOptions

__all__ = ["KEYS", "KNOWN", "NAME", "OPTIONS", "S3Settings", "filesystem_kwargs", "settings_from"]

NAME = "s3"
MIN_CHUNK = 5 * MiB
MAX_CHUNK = 5 * GiB
MAX_SINGLE_PUT = 5 * GiB
REDIRECT_SECONDS = 20 * 60
DELETE_BATCH = 1000
CONTENT_TYPE = "application/octet-stream"

STORAGE_CLASSES = (
    "NONE",
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "OUTPOSTS",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
)
OBJECT_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
LOG_LEVELS = (
    "off",
    "debug",
    "debugwithsigning",
    "debugwithhttpbody",
    "debugwithrequestretries",
    "debugwithrequesterrors",
    "debugwitheventstreambody",
)

_FILES = "the driver reads and writes through the engine, never through s3fs's file objects"
_LISTINGS = "listings are never cached: every list, stat and walk asks the store"
_ONE_LOOP = "the driver is synchronous; its requests run on the engine's own event loop"

#: Every ``S3FileSystem`` keyword (and fsspec's) and what the s3 driver does with it.
OPTIONS = OptionTable(
    driver=NAME,
    protocol="s3",
    package="s3fs",
    options=(
        Option("anon", why="unsigned requests (public buckets); writes fail with AccessDeniedError"),
        Option("endpoint_url", why="the S3 endpoint", distribution="regionendpoint"),
        Option("key", why="access key id", distribution="accesskey"),
        Option("secret", why="secret access key", distribution="secretkey"),
        Option("token", why="session token", distribution="sessiontoken"),
        Option("username", why="another name of `key`"),
        Option("password", why="another name of `secret`"),
        Option("use_ssl", why="https when the endpoint has no scheme", distribution="secure"),
        Option("profile", why="the AWS named profile of the driver's own aiobotocore session"),
        Option("session", why="an aiobotocore `AioSession` the driver makes its clients from (not picklable)"),
        Option("requester_pays", why="`x-amz-request-payer: requester` on every request"),
        Option(
            "client_kwargs",
            why="keywords of aiobotocore's `create_client`",
            nested=(
                Option("region_name", why="the region requests are signed for", distribution="region"),
                Option("verify", why="TLS verification (`False`, or a CA bundle path)", distribution="skipverify"),
                Option("config", "rejected", "botocore's Config is made from `config_kwargs`"),
            ),
        ),
        Option(
            "config_kwargs",
            why="keywords of botocore's `Config`",
            nested=(
                Option(
                    "s3",
                    why="addressing style and S3 endpoint flags",
                    distribution="forcepathstyle, usedualstack, accelerate",
                ),
                Option("use_fips_endpoint", why="FIPS endpoints", distribution="usefipsendpoint"),
                Option("signature_version", why="`s3v4` (or `s3` off AWS)", distribution="v4auth"),
                Option("user_agent_extra", why="appended to the user agent", distribution="useragent"),
                Option("retries", "engine", "botocore retries each request `maxretries` times", "maxretries"),
                Option("connect_timeout", "engine", "botocore's 60 s; a timed-out request is retried"),
                Option("read_timeout", "engine", "botocore's 60 s; a timed-out request is retried"),
            ),
        ),
        Option(
            "s3_additional_kwargs",
            why="extra arguments of every S3 call that takes them (SSE-S3, SSE-KMS, SSE-C...)",
            nested=(
                Option(
                    "ServerSideEncryption",
                    why="SSE-S3 (`AES256`) or SSE-KMS (`aws:kms`) of object writes",
                    distribution="encrypt",
                ),
                Option("SSEKMSKeyId", why="the KMS key of SSE-KMS", distribution="keyid"),
                Option("StorageClass", why="storage class of object writes", distribution="storageclass"),
                Option("ACL", why="canned ACL of object writes", distribution="objectacl"),
                Option(
                    "SSECustomerKey",
                    why="SSE-C: with every object write, read, HEAD and copy (and as the copy source's key)",
                ),
                Option("SSECustomerAlgorithm", why="SSE-C's algorithm (`AES256`)"),
                Option("RequestPayer", why="`requester`: the same as `requester_pays`"),
                Option("IfMatch", "engine", "reads are pinned to the ETag the engine saw first"),
                Option("IfNoneMatch", "engine", "the engine's create-if-absent"),
                Option("Range", "engine", "the engine reads in ranges of its own"),
                Option("ContentType", "engine", "objects are stored as application/octet-stream, as distribution does"),
                Option("Bucket", "engine", "the driver's bucket", "bucket"),
                Option("Key", "engine", "keys are the driver's paths below its root", "rootdirectory"),
                Option("CopySourceIfMatch", "engine", "moves are pinned to the source's ETag"),
                Option("MetadataDirective", "engine", "copies replace the metadata"),
                Option("Metadata", "engine", "the engine stamps uploads in the object metadata"),
            ),
        ),
        Option("cache_regions", "rejected", "one bucket per driver: set `region` or `client_kwargs.region_name`"),
        Option(
            "version_aware", "rejected", "reads are pinned by ETag; versioned listings would cost a request per version"
        ),
        Option("use_listings_cache", "rejected", _LISTINGS),
        Option("listings_expiry_time", "rejected", _LISTINGS),
        Option("max_paths", "rejected", _LISTINGS),
        Option("local_expiry_check", "rejected", "the engine pins reads with If-Match, which the store must support"),
        Option("default_block_size", "ignored", _FILES + " (see `chunksize`)"),
        Option("default_fill_cache", "ignored", _FILES),
        Option("default_cache_type", "ignored", _FILES),
        Option("fixed_upload_size", "ignored", "every part but the last is `chunksize` bytes already"),
        Option("max_concurrency", "ignored", "the engine bounds concurrency (see `multipartcopymaxconcurrency`)"),
        Option("batch_size", "ignored", "the engine deletes in batches of 1000 keys"),
        Option("skip_instance_cache", "ignored", "each driver makes its own S3FileSystem"),
        Option("asynchronous", "ignored", _ONE_LOOP),
        Option("loop", "ignored", _ONE_LOOP),
    ),
)


#: Every parameter of the s3 driver (distribution's keys, and ``storage_options``).
KEYS = KeyTable(
    NAME,
    (
        Key("bucket", "string", "the bucket", shown="required"),
        Key(
            "region",
            "string",
            "an AWS region; any value with `regionendpoint`",
            shown="required unless `regionendpoint` is set",
        ),
        Key(
            "regionendpoint",
            "string",
            "endpoint URL of an S3-compatible store (`http://127.0.0.1:9000`); without a scheme, "
            "`secure` picks `https` or `http`",
        ),
        Key("accesskey", "string", "access key id; goes with `secretkey`", secret=True, shown="AWS credential chain"),
        Key("secretkey", "string", "secret access key", secret=True),
        Key("sessiontoken", "string", "session token of temporary credentials", secret=True),
        Key("forcepathstyle", "bool", "path-style addressing (MinIO, Ceph)", default=False),
        Key("secure", "bool", "HTTPS", default=True),
        Key("skipverify", "bool", "do not verify TLS certificates", default=False),
        Key("v4auth", "bool", "SigV4; `false` (SigV2) only with a non-AWS `regionendpoint`", default=True),
        Key("encrypt", "bool", "server-side encryption: `AES256`, or `aws:kms` with `keyid`", default=False),
        Key("keyid", "string", "KMS key id for `encrypt`"),
        Key(
            "chunksize",
            "size",
            "writer part size; every part but the last is this size",
            10 * MiB,
            MIN_CHUNK,
            MAX_CHUNK,
        ),
        Key("multipartcopychunksize", "size", "part size of server-side copies", 32 * MiB, MIN_CHUNK, MAX_CHUNK),
        Key("multipartcopymaxconcurrency", "int", "parallel part copies", default=100, minimum=1),
        Key("multipartcopythresholdsize", "size", "larger objects are copied in parts", 32 * MiB, 0, MAX_CHUNK),
        Key("rootdirectory", "string", "key prefix of the driver's `/`"),
        Key(
            "storageclass",
            "string",
            "storage class of object writes (`NONE`: no header)",
            "STANDARD",
            choices=STORAGE_CLASSES,
            fold="upper",
        ),
        Key("objectacl", "string", "a canned ACL of object writes", "private", choices=OBJECT_ACLS),
        Key("useragent", "string", "appended to the SDK user agent"),
        Key("usedualstack", "bool", "dual-stack (IPv6) endpoints", default=False),
        Key("accelerate", "bool", "S3 Transfer Acceleration endpoints", default=False),
        Key("usefipsendpoint", "bool", "FIPS endpoints", default=False),
        Key(
            "loglevel",
            "string",
            "at a `debug*` level each S3 call (operation and status) is logged on `distfs.s3` at DEBUG; "
            "headers, signatures and bodies never are",
            "off",
            choices=LOG_LEVELS,
            fold="lower",
        ),
        Key("redirectendpoint", "string", "scheme and host (no path, no query) presigned redirect URLs are signed for"),
        dataclasses.replace(
            RETRIES,
            doc="retries of a failed request (`0`: none): botocore's standard mode makes `maxretries + 1` attempts; "
            "the engine retries bodies cut short as often; see [Retries](drivers.md#retries)",
        ),
        Key(
            "storage_options",
            "options",
            "keywords of s3fs's `S3FileSystem` (`profile`, `anon`, `requester_pays`, `endpoint_url`, "
            "`client_kwargs`, `config_kwargs`, `s3_additional_kwargs` for SSE, ...); see "
            "[storage_options](#storage_options-of-each-driver)",
            secret=True,
            shown="`{}`",
        ),
    ),
    about="Also registered as `s3aws` (Go's name). Details: [s3](s3.md).",
    options=OPTIONS,
)
KNOWN = KEYS.names


@dataclass(frozen=True)
class S3Settings:
    """The s3 driver's parameters, checked and typed by :data:`KEYS` (secrets never shown in ``repr``)."""

    bucket: str
    region: str
    endpoint: str
    rootdirectory: str
    accesskey: str = field(repr=False)
    secretkey: str = field(repr=False)
    sessiontoken: str = field(repr=False)
    forcepathstyle: bool
    encrypt: bool
    keyid: str
    secure: bool
    skipverify: bool
    v4auth: bool
    chunksize: int
    multipartcopychunksize: int
    multipartcopymaxconcurrency: int
    multipartcopythresholdsize: int
    storageclass: str
    useragent: str
    objectacl: str
    usedualstack: bool
    accelerate: bool
    usefipsendpoint: bool
    loglevel: str
    redirectendpoint: str
    maxretries: int
    #: The user's ``storage_options`` (checked by :data:`OPTIONS`; values never shown).
    storage_options: StorageOptions
    #: The distribution keys the user set (they win over ``storage_options``).
    given: frozenset[str]


def settings_from(parameters: Mapping[str, Any]) -> S3Settings:
    """Check and type the s3 parameters the way distribution's driver does (:data:`KEYS`)."""
    if parameters.get("loglevel") is False:  # YAML's `loglevel: false`
        parameters = {**parameters, "loglevel": "off"}
    values = KEYS.parse(parameters)
    if not values["bucket"]:
        raise values.error("bucket", "no bucket parameter provided")
    if bool(values["accesskey"]) != bool(values["secretkey"]):
        key = "secretkey" if values["accesskey"] else "accesskey"
        raise InvalidParameterError(NAME, key, "accesskey and secretkey must be given together")
    endpoint = values["regionendpoint"]
    if endpoint and "://" not in endpoint:
        endpoint = ("https://" if values["secure"] else "http://") + endpoint
    if endpoint:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise values.error("regionendpoint", "must be an http or https URL")
    region = values["region"]
    if not region and not endpoint and not _locates(values["storage_options"]):
        raise values.error(
            "region", "no region parameter provided (nor a region, endpoint or profile in storage_options)"
        )
    if region and not endpoint and region not in _aws_regions():
        raise values.error("region", "invalid region provided")
    if not values["v4auth"] and (not endpoint or _is_aws(endpoint)):
        raise values.error("v4auth", "on Amazon S3 this storage driver can only be used with v4 authentication")
    redirect = values["redirectendpoint"]
    if redirect:
        parts = urllib.parse.urlsplit(redirect)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise values.error("redirectendpoint", "must be a URL with a scheme and a host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise values.error("redirectendpoint", "must not have a path, a query or a fragment")
    typed = {key: values[key] for key in KNOWN if key not in ("regionendpoint", "rootdirectory", "redirectendpoint")}
    return S3Settings(
        **typed,
        endpoint=endpoint,
        rootdirectory=values["rootdirectory"].strip("/"),
        redirectendpoint=redirect.rstrip("/"),
        given=frozenset(parameters),
    )


def _locates(options: StorageOptions) -> bool:
    """Whether ``options`` say where the store is: a region, an endpoint, a profile or a session."""
    client = options.get("client_kwargs")
    client = client if isinstance(client, Mapping) else {}
    return any(options.get(key) for key in ("endpoint_url", "profile", "session")) or any(
        client.get(key) for key in ("region_name", "endpoint_url")
    )


def _aws_regions() -> set[str]:
    import botocore.session

    session = botocore.session.get_session()
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("s3", partition_name=partition)
    }


def _is_aws(endpoint: str) -> bool:
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")


def filesystem_kwargs(settings: S3Settings) -> dict[str, Any]:
    """The ``S3FileSystem`` keywords of ``settings``, by :meth:`OptionTable.merge`'s precedence.

    Distribution keys the user set > the engine's (botocore retries ``maxretries`` times in
    ``standard`` mode) > ``storage_options`` > distribution keys left at their default.
    """
    user: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for key, fragment in _translated(settings):
        layer = user if key in settings.given else defaults
        layer.update(OptionTable.merge(fragment, {}, {}, layer))
    engine = {"config_kwargs": {"retries": {"mode": "standard", "total_max_attempts": settings.maxretries + 1}}}
    return OptionTable.merge(user, engine, settings.storage_options, defaults)


def _translated(settings: S3Settings) -> list[tuple[str, dict[str, Any]]]:
    """Each distribution key with the s3fs keywords it stands for (none for its default)."""
    s = settings
    sse: dict[str, str] = {}
    if s.encrypt:
        sse = {"ServerSideEncryption": "aws:kms" if s.keyid else "AES256"} | (
            {"SSEKMSKeyId": s.keyid} if s.keyid else {}
        )
    pairs: list[tuple[str, dict[str, Any]]] = [
        ("accesskey", {"key": s.accesskey} if s.accesskey else {}),
        ("secretkey", {"secret": s.secretkey} if s.secretkey else {}),
        ("sessiontoken", {"token": s.sessiontoken} if s.sessiontoken else {}),
        ("regionendpoint", {"endpoint_url": s.endpoint} if s.endpoint else {}),
        ("secure", {"use_ssl": s.secure}),
        ("region", {"client_kwargs": {"region_name": s.region}} if s.region else {}),
        ("skipverify", {"client_kwargs": {"verify": False}} if s.skipverify else {}),
        ("forcepathstyle", {"config_kwargs": {"s3": {"addressing_style": "path"}}} if s.forcepathstyle else {}),
        ("usedualstack", {"config_kwargs": {"s3": {"use_dualstack_endpoint": True}}} if s.usedualstack else {}),
        ("accelerate", {"config_kwargs": {"s3": {"use_accelerate_endpoint": True}}} if s.accelerate else {}),
        ("usefipsendpoint", {"config_kwargs": {"use_fips_endpoint": True}} if s.usefipsendpoint else {}),
        ("v4auth", {"config_kwargs": {"signature_version": "s3v4" if s.v4auth else "s3"}}),
        ("useragent", {"config_kwargs": {"user_agent_extra": s.useragent}} if s.useragent else {}),
        ("encrypt", {"s3_additional_kwargs": sse} if sse else {}),
        (
            "storageclass",
            {"s3_additional_kwargs": {"StorageClass": s.storageclass}} if s.storageclass != "NONE" else {},
        ),
        ("objectacl", {"s3_additional_kwargs": {"ACL": s.objectacl}}),
    ]
    return pairs
