"""The ``azure`` driver's parameters: distribution's keys, checked and typed (:class:`AzureSettings`).

Parameters are distribution's (``docs/content/storage-drivers/azure.md``); each key's rule
is in :func:`settings_from`. Secrets (``accountkey``, ``connectionstring``, the client
``secret``) are never shown in ``repr`` or in an error.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import MiB, Parameters

__all__ = ["KNOWN", "NAME", "SECRET", "AzureSettings", "account_key", "settings_from"]

NAME = "azure"
BLOCK_SIZE = 4 * MiB
DELETE_BATCH = 256
LIST_PAGE = 5000
CONTENT_TYPE = "application/octet-stream"
CREDENTIAL_TYPES = ("shared_key", "client_secret", "default_credentials")

KNOWN = (
    "accountname",
    "accountkey",
    "container",
    "realm",
    "serviceurl",
    "rootdirectory",
    "credentials",
    "connectionstring",
    "max_retries",
    "retry_delay",
    "skipverify",
)
SECRET = ("accountkey", "connectionstring", "credentials")
CREDENTIAL_KEYS = ("type", "clientid", "tenantid", "secret")

_DURATION = re.compile(r"^(?:(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class AzureSettings:
    """The azure driver's parameters, checked and typed (secrets never shown in ``repr``).

    ``credentials`` is the credential type: ``shared_key`` (``accountkey``),
    ``client_secret`` (``clientid``, ``tenantid``, ``secret``), ``default_credentials``
    (azure-identity's chain) or ``connectionstring`` (only ``connectionstring`` given).
    ``max_retries`` bounds the retries of each request (negative: none, like Go's azcore
    ``MaxRetries``) and the polling of a server-side copy (``-1``: no bound);
    ``retry_delay`` is the base of the requests' exponential backoff and the linear step
    of copy polls, in seconds.
    """

    accountname: str
    container: str
    credentials: str
    serviceurl: str
    accountkey: str = field(default="", repr=False)
    realm: str = "core.windows.net"
    rootdirectory: str = ""
    clientid: str = ""
    tenantid: str = ""
    secret: str = field(default="", repr=False)
    connectionstring: str = field(default="", repr=False)
    max_retries: int = 5
    retry_delay: float = 0.1
    skipverify: bool = False


def settings_from(parameters: Mapping[str, Any]) -> AzureSettings:
    """Check and type the azure parameters (distribution's names and defaults)."""
    params = Parameters(NAME, parameters, known=KNOWN, secret=SECRET)
    connectionstring = params.string("connectionstring")
    from_string = _parse_connection_string(connectionstring) if connectionstring else {}
    accountname = params.string("accountname") or from_string.get("accountname", "")
    if not accountname:
        raise params.error("accountname", "no accountname parameter provided")
    if not re.fullmatch(r"[A-Za-z0-9]+", accountname):
        raise params.error("accountname", "must hold only letters and digits")
    container = params.string("container")
    if not container:
        raise params.error("container", "no container parameter provided")
    if not re.fullmatch(r"\$?[A-Za-z0-9-]+", container):
        raise params.error("container", "must hold only letters, digits and '-' (after an optional '$')")
    realm = params.string("realm", "core.windows.net")
    if not realm:
        raise params.error("realm", "must not be empty")
    serviceurl = params.string("serviceurl") or from_string.get("blobendpoint", "")
    if serviceurl:
        parts = urllib.parse.urlsplit(serviceurl)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise params.error("serviceurl", "must be an http or https URL without query")
    else:
        serviceurl = f"https://{accountname}.blob.{realm}"
    accountkey = params.string("accountkey")
    kind, clientid, tenantid, secret = _credentials(parameters.get("credentials"), accountkey, connectionstring)
    max_retries = params.integer("max_retries", 5, -1, 10_000)
    return AzureSettings(
        accountname=accountname,
        container=container,
        credentials=kind,
        serviceurl=serviceurl.rstrip("/"),
        accountkey=accountkey,
        realm=realm,
        rootdirectory=params.string("rootdirectory").strip("/"),
        clientid=clientid,
        tenantid=tenantid,
        secret=secret,
        connectionstring=connectionstring,
        max_retries=5 if max_retries == 0 else max_retries,
        retry_delay=_duration(params, parameters.get("retry_delay")),
        skipverify=params.boolean("skipverify", False),
    )


def _parse_connection_string(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise InvalidParameterError(NAME, "connectionstring", "must be Name=Value pairs separated by ';'")
        fields[name.strip().lower()] = value.strip()
    return fields


def _credentials(value: object, accountkey: str, connectionstring: str) -> tuple[str, str, str, str]:
    """Type, client id, tenant id and secret of the ``credentials`` map (values never quoted)."""
    if value is None:
        if accountkey:
            return "shared_key", "", "", ""
        if connectionstring:
            return "connectionstring", "", "", ""
        raise InvalidParameterError(
            NAME, "credentials", "no credentials: give accountkey, credentials or connectionstring"
        )
    if not isinstance(value, Mapping):
        raise InvalidParameterError(NAME, "credentials", "must be a map with a type")
    unknown = sorted(str(k) for k in value if k not in CREDENTIAL_KEYS)
    if unknown:
        raise InvalidParameterError(
            NAME, f"credentials.{unknown[0]}", f"unknown key; known: {', '.join(CREDENTIAL_KEYS)}"
        )
    fields = {}
    for key in CREDENTIAL_KEYS:
        item = value.get(key, "")
        if not isinstance(item, str):
            raise InvalidParameterError(NAME, f"credentials.{key}", "must be a string")
        fields[key] = item
    kind = fields["type"]
    if kind not in CREDENTIAL_TYPES:
        # the value is never quoted: a secret pasted into the wrong field must not leak
        raise InvalidParameterError(
            NAME, "credentials.type", f"invalid credentials type; one of {', '.join(CREDENTIAL_TYPES)}"
        )
    if kind == "shared_key" and not accountkey:
        raise InvalidParameterError(NAME, "accountkey", "credentials type shared_key needs accountkey")
    if kind == "client_secret":
        for key in ("clientid", "tenantid", "secret"):
            if not fields[key]:
                raise InvalidParameterError(NAME, f"credentials.{key}", "credentials type client_secret needs it")
    return kind, fields["clientid"], fields["tenantid"], fields["secret"]


def _duration(params: Parameters, value: object) -> float:
    """A Go duration string (``100ms``, ``1.5s``, ``1m30s``) in seconds; default 100 ms."""
    if value is None:
        return 0.1
    if not isinstance(value, str):
        raise params.error("retry_delay", "must be a duration such as 100ms")
    text = value.strip()
    if text == "0":
        return 0.0
    if not _DURATION.fullmatch(text):
        raise params.error("retry_delay", "must be a duration such as 100ms")
    return sum(
        float(number) * _UNIT[unit] for number, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
    )


def account_key(settings: AzureSettings) -> str:
    """The account key of ``settings`` (``accountkey``, or the connection string's ``AccountKey``), or ``""``."""
    if settings.accountkey:
        return settings.accountkey
    fields = _parse_connection_string(settings.connectionstring) if settings.connectionstring else {}
    return fields.get("accountkey", "")
