"""The ``azure`` driver's parameters: distribution's keys, checked and typed (:class:`AzureSettings`).

Parameters are distribution's (``docs/content/storage-drivers/azure.md``) plus
``storage_options``, adlfs's own keyword arguments (:data:`OPTIONS`); each key's type,
default and bounds are in :data:`KEYS`, rules across keys in :func:`settings_from`, and
:func:`filesystem_options` translates them into the keyword arguments of an
``AzureBlobFileSystem``. Secrets (``accountkey``, ``connectionstring``, the client
``secret``, every ``storage_options`` value) are never shown in ``repr`` or in an error.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import Key, KeyTable, MiB
from ..options import Option, OptionTable, StorageOptions

__all__ = ["KEYS", "KNOWN", "NAME", "OPTIONS", "AzureSettings", "filesystem_options", "settings_from"]

NAME = "azure"
BLOCK_SIZE = 4 * MiB
DELETE_BATCH = 256
LIST_PAGE = 5000
CONTENT_TYPE = "application/octet-stream"
CREDENTIAL_TYPES = ("shared_key", "client_secret", "default_credentials")

CREDENTIAL_KEYS = ("type", "clientid", "tenantid", "secret")
#: storage_options keys that say how to authenticate (any of them stands for ``credentials``).
CREDENTIAL_OPTIONS = ("account_key", "connection_string", "sas_token", "credential", "anon", "client_id")

_LISTINGS = "the engine lists the container on every call (a listings cache would serve stale names)"
_OWN_LOOP = "the engine runs its requests on its own event loop"

#: Every keyword of ``adlfs.AzureBlobFileSystem`` (and of fsspec's ``AbstractFileSystem``).
OPTIONS = OptionTable(
    NAME,
    "abfs",
    "adlfs",
    (
        Option("account_name", distribution="accountname"),
        Option("account_key", distribution="accountkey"),
        Option("connection_string", distribution="connectionstring"),
        Option(
            "credential",
            why="a credential object (azure.identity, AzureNamedKeyCredential, AzureSasCredential) or a SAS string",
        ),
        Option("sas_token", why="the requests carry it; `redirect_url` is None (a SAS cannot sign another)"),
        Option(
            "anon",
            distribution="credentials.type",
            why="True: no credential (a public container; writes are AccessDeniedError); "
            "False, as `default_credentials` sets it: azure.identity's DefaultAzureCredential",
        ),
        Option("client_id", distribution="credentials.clientid", why="with tenant_id and client_secret"),
        Option("client_secret", distribution="credentials.secret", why="with tenant_id and client_id"),
        Option("tenant_id", distribution="credentials.tenantid", why="with client_id and client_secret"),
        Option("account_host", distribution="serviceurl, realm", why="the service URL is https://<account_host>"),
        Option("location_mode", why='only "primary": reads from the secondary region lag the writes'),
        Option("connection_timeout", why="seconds to connect, per request"),
        Option("read_timeout", why="seconds between two reads of an answer, per request"),
        Option("timeout", "ignored", why="a server-side timeout of adlfs's own transfers; distfs sends none"),
        Option("request_session", "ignored", why="adlfs keeps it and never uses it"),
        Option("socket_timeout", "ignored", why="deprecated by adlfs, no effect"),
        Option("default_fill_cache", "ignored", why="only for adlfs's own open(); distfs reads through the engine"),
        Option("default_cache_type", "ignored", why="only for adlfs's own open(); distfs reads through the engine"),
        Option("assume_container_exists", "ignored", why="distfs never checks the container first"),
        Option("max_paths", "ignored", why="only with use_listings_cache, which is rejected"),
        Option("listings_expiry_time", "ignored", why="only with use_listings_cache, which is rejected"),
        Option("use_listings_cache", "rejected", why=_LISTINGS),
        Option("version_aware", "rejected", why="a driver path names no blob version; reads are pinned by ETag"),
        Option("blocksize", "engine", why="the engine stages 4 MiB blocks and reads 8 MiB blocks"),
        Option("max_concurrency", "engine", why="the engine bounds its own concurrency"),
        Option("skip_instance_cache", "engine", why="each driver has its own filesystem instance"),
        Option("asynchronous", "engine", why=_OWN_LOOP),
        Option("loop", "engine", why=_OWN_LOOP),
    ),
)

#: Every parameter of the azure driver (distribution's keys and ``storage_options``).
KEYS = KeyTable(
    NAME,
    (
        Key("accountname", "string", "the storage account", shown="required (or from `connectionstring`)"),
        Key("container", "string", "the container; it must exist", shown="required"),
        Key(
            "accountkey", "string", "shared key; with no `credentials` the credential type is `shared_key`", secret=True
        ),
        Key(
            "credentials",
            "map",
            "`type` (`shared_key`, `client_secret`, `default_credentials`), `clientid`, `tenantid`, `secret`; "
            "`client_secret` needs the other three, `shared_key` needs `accountkey`. An unknown sub-key is named "
            "`credentials.<key>`",
            secret=True,
        ),
        Key(
            "connectionstring",
            "string",
            "used when neither `accountkey` nor `credentials` is given; its `AccountName` and `BlobEndpoint` fill "
            "`accountname` and `serviceurl` when those are absent",
            secret=True,
        ),
        Key("realm", "string", "the service URL is `https://<accountname>.blob.<realm>`", "core.windows.net"),
        Key(
            "serviceurl",
            "string",
            "an http or https URL (Azurite, sovereign clouds, private endpoints)",
            shown="from `realm`",
        ),
        Key("rootdirectory", "string", "key prefix of the driver's `/`"),
        Key(
            "max_retries",
            "int",
            "retries of a failed request by the azure SDK's policy (`-1`: no request retries) and the polls of a "
            "pending server-side copy (`-1`: without limit); see [Retries](drivers.md#retries)",
            default=5,
            minimum=-1,
            maximum=10_000,
            shown="5 (`0` means 5)",
        ),
        Key(
            "retry_delay",
            "duration",
            "backoff base of request retries and the step of copy polls",
            default=0.1,
            shown="`100ms`",
        ),
        Key("skipverify", "bool", "do not verify TLS certificates", default=False),
        Key(
            "storage_options",
            "options",
            "adlfs's keyword arguments (`sas_token`, `credential`, `anon`, ...), beneath the keys above; "
            "see [azure](azure.md#storage_options-adlfs)",
            secret=True,
            shown="`{}`",
        ),
    ),
    about="Details: [azure](azure.md). With no `credentials`, no `accountkey`, no `connectionstring` and no "
    "credential in `storage_options` the driver refuses to start.",
    options=OPTIONS,
)
KNOWN = KEYS.names


@dataclass(frozen=True)
class AzureSettings:
    """The azure driver's parameters, checked and typed (secrets never shown in ``repr``).

    ``credentials`` is the credential type: ``shared_key`` (``accountkey``),
    ``client_secret`` (``clientid``, ``tenantid``, ``secret``), ``default_credentials``
    (azure-identity's chain), ``connectionstring`` (only ``connectionstring`` given) or
    ``storage_options`` (only ``storage_options`` say how). ``serviceurl`` is the service
    URL given (by ``serviceurl`` or the connection string's ``BlobEndpoint``), or ``""``:
    the filesystem's own (``https://<account_host>``). ``max_retries`` bounds the retries
    of each request (negative: none, like Go's azcore ``MaxRetries``) and the polling of a
    server-side copy (``-1``: no bound); ``retry_delay`` is the base of the requests'
    exponential backoff and the linear step of copy polls, in seconds.
    """

    accountname: str
    container: str
    credentials: str
    serviceurl: str = ""
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
    storage_options: StorageOptions = field(default_factory=lambda: StorageOptions({}))
    given: frozenset[str] = frozenset()  # the distribution keys the user set


def settings_from(parameters: Mapping[str, Any]) -> AzureSettings:
    """Check and type the azure parameters (distribution's names and defaults)."""
    values = KEYS.parse(parameters)
    options = values["storage_options"]
    connectionstring = values["connectionstring"]
    from_string = _parse_connection_string(connectionstring) if connectionstring else {}
    if not from_string and isinstance(options.get("connection_string"), str):
        from_string = _parse_connection_string(options["connection_string"], "storage_options.connection_string")
    accountname = values["accountname"] or from_string.get("accountname", "")
    accountname = accountname or str(options.get("account_name") or "")
    if not accountname:
        raise values.error("accountname", "no accountname parameter provided")
    if not re.fullmatch(r"[A-Za-z0-9]+", accountname):
        raise values.error("accountname", "must hold only letters and digits")
    container = values["container"]
    if not container:
        raise values.error("container", "no container parameter provided")
    if not re.fullmatch(r"\$?[A-Za-z0-9-]+", container):
        raise values.error("container", "must hold only letters, digits and '-' (after an optional '$')")
    if not values["realm"]:
        raise values.error("realm", "must not be empty")
    serviceurl = values["serviceurl"] or from_string.get("blobendpoint", "")
    if serviceurl:
        parts = urllib.parse.urlsplit(serviceurl)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise values.error("serviceurl", "must be an http or https URL without query")
    credential = options.get("credential")
    if credential is not None and not isinstance(credential, str) and not _is_credential(credential):
        raise InvalidParameterError(
            NAME,
            "storage_options.credential",
            "must be a credential object (get_token, AzureNamedKeyCredential, AzureSasCredential) or a SAS string",
        )
    if options.get("location_mode", "primary") != "primary":
        raise InvalidParameterError(NAME, "storage_options.location_mode", 'only "primary" is accepted')
    accountkey = values["accountkey"]
    kind, clientid, tenantid, secret = _credentials(
        values["credentials"], accountkey, connectionstring, any(key in options for key in CREDENTIAL_OPTIONS)
    )
    return AzureSettings(
        accountname=accountname,
        container=container,
        credentials=kind,
        serviceurl=serviceurl.rstrip("/"),
        accountkey=accountkey,
        realm=values["realm"],
        rootdirectory=values["rootdirectory"].strip("/"),
        clientid=clientid,
        tenantid=tenantid,
        secret=secret,
        connectionstring=connectionstring,
        max_retries=values["max_retries"] or 5,
        retry_delay=values["retry_delay"],
        skipverify=values["skipverify"],
        storage_options=options,
        given=values.given,
    )


def filesystem_options(settings: AzureSettings) -> dict[str, Any]:
    """The keyword arguments of the ``AzureBlobFileSystem`` of ``settings``.

    Distribution keys the user set win over ``storage_options``, which win over the
    distribution keys' defaults (:meth:`OptionTable.merge`). An ``http`` service URL (an
    emulator) cannot be an adlfs ``account_host`` (always https): the store takes it from
    ``settings.serviceurl``. A connection string is the credential only when neither
    ``accountkey`` nor ``credentials`` is given (distribution's rule).
    """
    given, user_set, defaults = settings.given, dict[str, Any](), dict[str, Any]()
    (user_set if "accountname" in given else defaults)["account_name"] = settings.accountname
    if "serviceurl" in given and settings.serviceurl.startswith("https://"):
        user_set["account_host"] = settings.serviceurl.removeprefix("https://")
    elif not settings.serviceurl:
        layer = user_set if "realm" in given else defaults
        layer["account_host"] = f"{settings.accountname}.blob.{settings.realm}"
    if settings.credentials == "shared_key":
        user_set["account_key"] = settings.accountkey
    elif settings.credentials == "client_secret":
        user_set.update(tenant_id=settings.tenantid, client_id=settings.clientid, client_secret=settings.secret)
    elif settings.credentials == "default_credentials":
        user_set["anon"] = False  # adlfs: azure.identity's DefaultAzureCredential
    elif settings.credentials == "connectionstring":
        user_set["connection_string"] = settings.connectionstring
    engine = {"skip_instance_cache": True}
    return OptionTable.merge(user_set, engine, settings.storage_options, defaults)


def _is_credential(value: object) -> bool:
    """Whether ``value`` is a credential object the SDK takes (a token, named key or SAS credential)."""
    return any(hasattr(value, name) for name in ("get_token", "named_key", "signature"))


def _parse_connection_string(text: str, parameter: str = "connectionstring") -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise InvalidParameterError(NAME, parameter, "must be Name=Value pairs separated by ';'")
        fields[name.strip().lower()] = value.strip()
    return fields


def _credentials(value: object, accountkey: str, connectionstring: str, in_options: bool) -> tuple[str, str, str, str]:
    """Type, client id, tenant id and secret of the ``credentials`` map (values never quoted)."""
    if value is None:
        if accountkey:
            return "shared_key", "", "", ""
        if connectionstring:
            return "connectionstring", "", "", ""
        if in_options:
            return "storage_options", "", "", ""
        raise InvalidParameterError(
            NAME,
            "credentials",
            "no credentials: give accountkey, credentials, connectionstring or storage_options "
            f"({', '.join(CREDENTIAL_OPTIONS)})",
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
