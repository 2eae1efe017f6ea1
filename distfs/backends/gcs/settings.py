"""The ``gcs`` driver's parameters: distribution's keys plus ``endpoint``, checked and typed (:class:`GCSSettings`).

Parameters are distribution's (``docs/content/storage-drivers/gcs.md``); each key's rule
is in :func:`settings_from`. Credentials (``credentials`` or the contents of ``keyfile``)
are never shown in ``repr`` or in an error.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, KiB, MiB, Parameters
from ...retry import DEFAULT_RETRIES, retry_parameter

__all__ = ["KNOWN", "NAME", "SECRET", "GCSSettings", "credentials_of", "default_credentials", "settings_from"]

NAME = "gcs"
CHUNK_UNIT = 256 * KiB
DEFAULT_CHUNK = 16 * MiB
MAX_CHUNK = 5 * GiB
MAX_COMPOSE = 32
LIST_PAGE = 1000
DELETE_BATCH = 100
CONTENT_TYPE = "application/octet-stream"
SCOPE = "https://www.googleapis.com/auth/devstorage.full_control"
DEFAULT_ENDPOINT = "https://storage.googleapis.com"

KNOWN = (
    "bucket",
    "rootdirectory",
    "chunksize",
    "keyfile",
    "credentials",
    "useragent",
    "maxconcurrency",
    "endpoint",
    "maxretries",
)
SECRET = ("credentials",)


@dataclass(frozen=True)
class GCSSettings:
    """The gcs driver's parameters, checked and typed (credentials never shown in ``repr``).

    ``service_account`` holds the credential fields read from ``keyfile`` or
    ``credentials`` (empty: anonymous with ``endpoint``, else Application Default
    Credentials).
    """

    bucket: str
    rootdirectory: str = ""
    chunksize: int = DEFAULT_CHUNK
    keyfile: str = ""
    useragent: str = ""
    maxconcurrency: int = 50
    endpoint: str = ""
    maxretries: int = DEFAULT_RETRIES
    service_account: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k != "service_account"}
        shown["credentials"] = "<set>" if self.service_account else "<none>"
        return f"GCSSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def settings_from(parameters: Mapping[str, Any]) -> GCSSettings:
    """Check and type the gcs parameters the way distribution's driver does.

    Errors are ``InvalidParameterError`` naming the key; credential contents are never
    quoted.
    """
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    bucket = params.string("bucket")
    if not bucket:
        raise params.error("bucket", "no bucket parameter provided")
    chunksize = params.integer("chunksize", DEFAULT_CHUNK, CHUNK_UNIT, MAX_CHUNK)
    if chunksize % CHUNK_UNIT:
        raise params.error("chunksize", f"chunksize should be a multiple of {CHUNK_UNIT}")
    endpoint = params.string("endpoint").rstrip("/")
    if endpoint:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise params.error("endpoint", "must be an http or https URL")
        if parts.query or parts.fragment:
            raise params.error("endpoint", "must not have a query or a fragment")
    keyfile = params.string("keyfile")
    raw = parameters.get("credentials")
    if keyfile and raw is not None:
        raise InvalidParameterError(NAME, "credentials", "give keyfile or credentials, not both")
    info: dict[str, Any] = {}
    if keyfile:
        info = _read_keyfile(keyfile)
    elif raw is not None:
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
            raise InvalidParameterError(NAME, "credentials", "the credentials were not specified in the correct format")
        info = dict(raw)
        _check_credentials(info, "credentials")
    return GCSSettings(
        bucket=bucket,
        rootdirectory=params.string("rootdirectory").strip("/"),
        chunksize=chunksize,
        keyfile=keyfile,
        useragent=params.string("useragent"),
        maxconcurrency=params.limit("maxconcurrency", default=50, minimum=25),
        endpoint=endpoint,
        maxretries=retry_parameter(params),
        service_account=info,
    )


def _read_keyfile(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as stream:
            text = stream.read()
    except OSError as exc:
        raise InvalidParameterError(NAME, "keyfile", f"cannot read {path}: {exc.strerror}") from None
    try:
        info = json.loads(text)
    except ValueError:
        raise InvalidParameterError(NAME, "keyfile", f"{path} is not a JSON credentials file") from None
    if not isinstance(info, dict):
        raise InvalidParameterError(NAME, "keyfile", f"{path} is not a JSON credentials file")
    _check_credentials(info, "keyfile")
    return info


def _check_credentials(info: dict[str, Any], key: str) -> None:
    """Load ``info`` once to reject it early (the message names the type only, never content)."""
    credentials_of(info, key)


def credentials_of(info: Mapping[str, Any], key: str = "credentials") -> Any:
    """Google credentials of a ``service_account`` or ``authorized_user`` JSON mapping."""
    import google.auth.exceptions
    from google.oauth2 import credentials as user
    from google.oauth2 import service_account

    kind = info.get("type")
    try:
        if kind == "service_account":
            return service_account.Credentials.from_service_account_info(dict(info), scopes=[SCOPE])  # type: ignore[no-untyped-call]
        if kind == "authorized_user":
            return user.Credentials.from_authorized_user_info(dict(info), scopes=[SCOPE])  # type: ignore[no-untyped-call]
    except (google.auth.exceptions.GoogleAuthError, ValueError, TypeError, KeyError) as exc:
        raise InvalidParameterError(NAME, key, f"not usable credentials ({type(exc).__name__})") from None
    raise InvalidParameterError(NAME, key, "not usable credentials (type must be service_account or authorized_user)")


def default_credentials() -> Any:
    """Application Default Credentials, or None (then requests go out anonymous, as gcsfs does)."""
    import google.auth
    import google.auth.exceptions

    try:
        credentials, _ = google.auth.default(scopes=[SCOPE])
    except google.auth.exceptions.DefaultCredentialsError:
        return None
    return credentials
