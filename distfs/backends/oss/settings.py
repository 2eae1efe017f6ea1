"""The ``oss`` driver's parameters: distribution's keys, checked and typed (:class:`OSSSettings`).

Parameters are distribution's (``docs/storage-drivers/oss.md`` of the removed Go driver);
each key's rule is in :func:`settings_from`. The secret (``accesskeysecret``) is never
shown in ``repr`` or in an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...parameters import GiB, MiB, Parameters
from ...retry import DEFAULT_RETRIES, retry_parameter

__all__ = ["CONTENT_TYPE", "KNOWN", "NAME", "SECRET", "OSSSettings", "settings_from"]

NAME = "oss"
MIN_CHUNK = 5 * MiB
MAX_CHUNK = 5 * GiB
MAX_SINGLE_PUT = 5 * GiB
COPY_THRESHOLD = 1 * GiB  # CopyObject takes objects up to 1 GB; larger ones are copied in parts
MIN_PART = 100 * 1024  # every part but the last holds at least 100 KB
DELETE_BATCH = 1000
CONTENT_TYPE = "application/octet-stream"
KNOWN = (
    "accesskeyid",
    "accesskeysecret",
    "region",
    "bucket",
    "endpoint",
    "internal",
    "encrypt",
    "encryptionkeyid",
    "secure",
    "chunksize",
    "rootdirectory",
    "maxretries",
)
SECRET = ("accesskeysecret",)


@dataclass(frozen=True)
class OSSSettings:
    """The oss driver's parameters, checked and typed (the secret never shown in ``repr``)."""

    accesskeyid: str
    accesskeysecret: str = field(repr=False)
    region: str
    bucket: str
    endpoint: str
    internal: bool = False
    encrypt: bool = False
    encryptionkeyid: str = ""
    secure: bool = True
    chunksize: int = 10 * MiB
    rootdirectory: str = ""
    maxretries: int = DEFAULT_RETRIES

    @property
    def default_endpoint(self) -> bool:
        return self.endpoint == _default_endpoint(self.bucket, self.region, self.internal)

    def url(self) -> str:
        """The endpoint URL given to oss2 (see :attr:`is_cname` for whether it names the bucket)."""
        scheme = "https://" if self.secure else "http://"
        if self.default_endpoint:  # oss2 puts the bucket in front of the region endpoint itself
            return scheme + self.region + ("-internal" if self.internal else "") + ".aliyuncs.com"
        return self.endpoint if "://" in self.endpoint else scheme + self.endpoint

    @property
    def is_cname(self) -> bool:
        """A custom endpoint that starts with ``<bucket>.`` already addresses the bucket."""
        host = self.url().split("://", 1)[1]
        return not self.default_endpoint and host.startswith(self.bucket + ".")

    def object_headers(self) -> dict[str, str]:
        """Headers every object write carries: content type and server-side encryption."""
        headers = {"Content-Type": CONTENT_TYPE}
        if self.encrypt:
            headers["x-oss-server-side-encryption"] = "KMS" if self.encryptionkeyid else "AES256"
            if self.encryptionkeyid:
                headers["x-oss-server-side-encryption-key-id"] = self.encryptionkeyid
        return headers


def _default_endpoint(bucket: str, region: str, internal: bool) -> str:
    return f"{bucket}.{region}{'-internal' if internal else ''}.aliyuncs.com"


def settings_from(parameters: Mapping[str, Any]) -> OSSSettings:
    """Check and type the oss parameters the way distribution's driver does."""
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    values = {}
    for key in ("accesskeyid", "accesskeysecret", "region", "bucket"):
        values[key] = params.string(key)
        if not values[key]:
            raise params.error(key, f"No {key} parameter provided")
    internal = params.boolean("internal", False)
    endpoint = params.string("endpoint") or _default_endpoint(values["bucket"], values["region"], internal)
    if "://" in endpoint and not endpoint.startswith(("http://", "https://")):
        raise params.error("endpoint", "must be a host name or an http or https URL")
    return OSSSettings(
        accesskeyid=values["accesskeyid"],
        accesskeysecret=values["accesskeysecret"],
        region=values["region"],
        bucket=values["bucket"],
        endpoint=endpoint.rstrip("/"),
        internal=internal,
        encrypt=params.boolean("encrypt", False),
        encryptionkeyid=params.string("encryptionkeyid"),
        secure=params.boolean("secure", True),
        chunksize=params.integer("chunksize", 10 * MiB, MIN_CHUNK, MAX_CHUNK),
        rootdirectory=params.string("rootdirectory").strip("/"),
        maxretries=retry_parameter(params),
    )
