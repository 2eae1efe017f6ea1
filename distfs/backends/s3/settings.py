"""The ``s3`` driver's parameters: distribution's keys, checked and typed (:class:`S3Settings`).

Parameters are distribution's (``docs/content/storage-drivers/s3.md``); each key's rule
is in :func:`settings_from`. Secrets (``accesskey``, ``secretkey``, ``sessiontoken``) are
never shown in ``repr`` or in an error.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, MiB, Parameters
from ...retry import DEFAULT_RETRIES, retry_parameter

__all__ = ["KNOWN", "NAME", "SECRET", "S3Settings", "client_config", "settings_from"]

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
KNOWN = (
    "accesskey",
    "secretkey",
    "sessiontoken",
    "region",
    "regionendpoint",
    "forcepathstyle",
    "bucket",
    "encrypt",
    "keyid",
    "secure",
    "skipverify",
    "v4auth",
    "chunksize",
    "multipartcopychunksize",
    "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",
    "rootdirectory",
    "storageclass",
    "useragent",
    "objectacl",
    "usedualstack",
    "accelerate",
    "usefipsendpoint",
    "loglevel",
    "redirectendpoint",
    "maxretries",
)
SECRET = ("accesskey", "secretkey", "sessiontoken")


@dataclass(frozen=True)
class S3Settings:
    """The s3 driver's parameters, checked and typed (secrets never shown in ``repr``)."""

    bucket: str
    region: str
    endpoint: str
    rootdirectory: str = ""
    accesskey: str = field(default="", repr=False)
    secretkey: str = field(default="", repr=False)
    sessiontoken: str = field(default="", repr=False)
    forcepathstyle: bool = False
    encrypt: bool = False
    keyid: str = ""
    secure: bool = True
    skipverify: bool = False
    v4auth: bool = True
    chunksize: int = 10 * MiB
    multipartcopychunksize: int = 32 * MiB
    multipartcopymaxconcurrency: int = 100
    multipartcopythresholdsize: int = 32 * MiB
    storageclass: str = "STANDARD"
    useragent: str = ""
    objectacl: str = "private"
    usedualstack: bool = False
    accelerate: bool = False
    usefipsendpoint: bool = False
    loglevel: str = "off"
    redirectendpoint: str = ""
    maxretries: int = DEFAULT_RETRIES

    def object_arguments(self) -> dict[str, str]:
        """Arguments every object write carries: ACL, storage class, encryption."""
        arguments = {"ACL": self.objectacl}
        if self.storageclass != "NONE":
            arguments["StorageClass"] = self.storageclass
        if self.encrypt:
            arguments["ServerSideEncryption"] = "aws:kms" if self.keyid else "AES256"
            if self.keyid:
                arguments["SSEKMSKeyId"] = self.keyid
        return arguments


def settings_from(parameters: Mapping[str, Any]) -> S3Settings:
    """Check and type the s3 parameters the way distribution's driver does."""
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    bucket = params.string("bucket")
    if not bucket:
        raise params.error("bucket", "no bucket parameter provided")
    accesskey, secretkey = params.string("accesskey"), params.string("secretkey")
    if bool(accesskey) != bool(secretkey):
        key = "secretkey" if accesskey else "accesskey"
        raise InvalidParameterError(NAME, key, "accesskey and secretkey must be given together")
    secure = params.boolean("secure", True)
    endpoint = params.string("regionendpoint")
    if endpoint and "://" not in endpoint:
        endpoint = ("https://" if secure else "http://") + endpoint
    if endpoint:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise params.error("regionendpoint", "must be an http or https URL")
    region = params.string("region")
    if not region and not endpoint:
        raise params.error("region", "no region parameter provided")
    if region and not endpoint and region not in _aws_regions():
        raise params.error("region", "invalid region provided")
    v4auth = params.boolean("v4auth", True)
    if not v4auth and (not endpoint or _is_aws(endpoint)):
        raise params.error("v4auth", "on Amazon S3 this storage driver can only be used with v4 authentication")
    storageclass = params.string("storageclass", "STANDARD").upper()
    if storageclass not in STORAGE_CLASSES:
        raise params.error("storageclass", f"must be one of {', '.join(STORAGE_CLASSES)}")
    objectacl = params.string("objectacl", "private")
    if objectacl not in OBJECT_ACLS:
        raise params.error("objectacl", f"must be one of {', '.join(OBJECT_ACLS)}")
    loglevel = _loglevel(params, parameters.get("loglevel"))
    redirect = params.string("redirectendpoint")
    if redirect:
        parts = urllib.parse.urlsplit(redirect)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise params.error("redirectendpoint", "must be a URL with a scheme and a host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise params.error("redirectendpoint", "must not have a path, a query or a fragment")
    return S3Settings(
        bucket=bucket,
        region=region or "us-east-1",
        endpoint=endpoint,
        rootdirectory=params.string("rootdirectory").strip("/"),
        accesskey=accesskey,
        secretkey=secretkey,
        sessiontoken=params.string("sessiontoken"),
        forcepathstyle=params.boolean("forcepathstyle", False),
        encrypt=params.boolean("encrypt", False),
        keyid=params.string("keyid"),
        secure=secure,
        skipverify=params.boolean("skipverify", False),
        v4auth=v4auth,
        chunksize=params.integer("chunksize", 10 * MiB, MIN_CHUNK, MAX_CHUNK),
        multipartcopychunksize=params.integer("multipartcopychunksize", 32 * MiB, MIN_CHUNK, MAX_CHUNK),
        multipartcopymaxconcurrency=params.integer("multipartcopymaxconcurrency", 100, 1),
        multipartcopythresholdsize=params.integer("multipartcopythresholdsize", 32 * MiB, 0, MAX_CHUNK),
        storageclass=storageclass,
        useragent=params.string("useragent"),
        objectacl=objectacl,
        usedualstack=params.boolean("usedualstack", False),
        accelerate=params.boolean("accelerate", False),
        usefipsendpoint=params.boolean("usefipsendpoint", False),
        loglevel=loglevel,
        redirectendpoint=redirect.rstrip("/"),
        maxretries=retry_parameter(params),
    )


def _loglevel(params: Parameters, value: object) -> str:
    if value is None or value is False:
        return "off"
    text = params.string("loglevel").lower()
    if text not in LOG_LEVELS:
        raise params.error("loglevel", f"must be one of {', '.join(LOG_LEVELS)}")
    return text


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


def client_config(settings: S3Settings) -> dict[str, Any]:
    s3: dict[str, Any] = {}
    if settings.forcepathstyle:
        s3["addressing_style"] = "path"
    if settings.usedualstack:
        s3["use_dualstack_endpoint"] = True
    if settings.accelerate:
        s3["use_accelerate_endpoint"] = True
    config: dict[str, Any] = {"s3": s3}
    if settings.usefipsendpoint:
        config["use_fips_endpoint"] = True
    config["signature_version"] = "s3v4" if settings.v4auth else "s3"
    if settings.useragent:
        config["user_agent_extra"] = settings.useragent
    # botocore retries 5xx, throttling (SlowDown) and connection errors with exponential backoff
    config["retries"] = {"mode": "standard", "total_max_attempts": settings.maxretries + 1}
    return config
