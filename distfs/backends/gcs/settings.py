"""The ``gcs`` driver's parameters, checked and typed (:class:`GCSSettings`), and its gcsfs filesystem.

Parameters are distribution's (``docs/content/storage-drivers/gcs.md``) plus ``endpoint``
and ``storage_options`` (gcsfs's ``GCSFileSystem`` keywords, checked by :data:`OPTIONS`);
each key's type, default and bounds are in :data:`KEYS`, rules across keys in
:func:`settings_from`. Distribution's keys are translated into
gcsfs's (``keyfile`` and ``credentials`` into ``token``, ``endpoint`` into
``endpoint_url``) and merged above ``storage_options`` (:meth:`GCSSettings.gcsfs_kwargs`);
:func:`filesystem` makes the ``GCSFileSystem`` the store is built from. Credentials and
storage_options values are never shown in ``repr`` or in an error.
"""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, Key, KeyTable, KiB, MiB
from ...retry import RETRIES
from ..options import Option, OptionTable, StorageOptions, redact

__all__ = ["KEYS", "KNOWN", "NAME", "OPTIONS", "GCSSettings", "filesystem", "settings_from"]

NAME = "gcs"
CHUNK_UNIT = 256 * KiB
DEFAULT_CHUNK = 16 * MiB
MAX_CHUNK = 5 * GiB
MAX_COMPOSE = 32
LIST_PAGE = 1000
DELETE_BATCH = 100
CONTENT_TYPE = "application/octet-stream"


_NOT_CACHED = "listings are never cached: another process's writes are visible at once"
_ZONAL = "a keyword of gcsfs's experimental zonal-bucket class; distfs speaks the JSON API only"
_OWN_LOOP = "distfs runs every request on its own event loop"

#: Every keyword of gcsfs's ``GCSFileSystem`` (and fsspec's base classes) and what distfs does with it.
OPTIONS = OptionTable(
    NAME,
    "gcs",
    "gcsfs",
    (
        Option(
            "token",
            why="the credentials: `anon` (no Authorization header; writes are refused), a service-account "
            "JSON file, its fields as a dict, `google_default`, `cloud`, `cache`, a google.auth Credentials "
            "object; `browser` is rejected (interactive)",
            distribution="keyfile, credentials",
        ),
        Option("endpoint_url", why="base URL of the JSON API; also the host of signed URLs", distribution="endpoint"),
        Option("project", why="the project billed by `requester_pays` (its `userProject`)"),
        Option(
            "requester_pays",
            why="requester-pays buckets: `userProject` on every request and signed URL (`true`: `project`, "
            "a string: that project)",
        ),
        Option("access", why="scope of the OAuth tokens: `read_only`, `read_write` or `full_control`"),
        Option(
            "consistency",
            why="`size`, `md5` or `crc32c`: every uploaded object (parts included) is checked against what "
            "GCS answered; `none` (default): no check",
        ),
        Option(
            "session_kwargs",
            why="keywords of the aiohttp ClientSession the store makes on each event loop (`proxy`, `trust_env`, "
            "`headers`...), except `connector`, `connector_owner`, `loop`, `timeout`, `raise_for_status`",
        ),
        Option("timeout", "ignored", why="bounds gcsfs's own blocking calls, which distfs never makes"),
        Option("default_location", "ignored", why="where gcsfs creates buckets; distfs never creates buckets"),
        Option("check_connection", "ignored", why="deprecated by gcsfs, no effect"),
        Option("secure_serialize", "ignored", why="deprecated by gcsfs, no effect"),
        Option("block_size", "engine", why="parts and reads are the engine's", instead="chunksize"),
        Option("batch_size", "engine", why="the driver bounds its calls in flight", instead="maxconcurrency"),
        Option("requests_timeout", "engine", why="request timeouts are the engine's (300 s between reads)"),
        Option("asynchronous", "engine", why=_OWN_LOOP),
        Option("loop", "engine", why=_OWN_LOOP),
        Option("skip_instance_cache", "engine", why="each driver has a filesystem instance of its own"),
        Option(
            "version_aware",
            "rejected",
            why="readers pin generations themselves; `#generation` paths are not driver paths",
        ),
        Option("cache_timeout", "rejected", why=_NOT_CACHED),
        Option("use_listings_cache", "rejected", why=_NOT_CACHED),
        Option("listings_expiry_time", "rejected", why=_NOT_CACHED),
        Option("max_paths", "rejected", why=_NOT_CACHED),
        Option("finalize_on_close", "rejected", why=_ZONAL),
        Option("mrd_pool_cache_size", "rejected", why=_ZONAL),
        Option("max_mrd_pool_cache_queue_size", "rejected", why=_ZONAL),
    ),
)

#: Every parameter of the gcs driver (distribution's keys, ``endpoint`` and ``storage_options``).
KEYS = KeyTable(
    NAME,
    (
        Key("bucket", "string", "the bucket", shown="required"),
        Key("rootdirectory", "string", "key prefix of the driver's `/` (surrounding `/` trimmed)"),
        Key("chunksize", "size", "writer part size: a multiple of 256 KiB", DEFAULT_CHUNK, CHUNK_UNIT, MAX_CHUNK),
        Key("keyfile", "string", "path of a service-account (or authorized-user) JSON key file"),
        Key(
            "credentials",
            "map",
            "the key file's fields as a map; exclusive with `keyfile`. Neither: anonymous access when `endpoint` "
            "is set, else Application Default Credentials (anonymous when there are none)",
            secret=True,
        ),
        Key(
            "useragent",
            "string",
            "the `User-Agent` of every request",
            shown="aiohttp's (`Python/<version> aiohttp/<version>`)",
        ),
        Key("maxconcurrency", "limit", "calls running at once in the driver", default=50, minimum=25),
        Key(
            "endpoint",
            "string",
            "base URL of the JSON API (`http://127.0.0.1:4443` for fake-gcs-server, or a private endpoint); "
            "also the host of signed URLs",
            shown="Google",
        ),
        dataclasses.replace(
            RETRIES,
            doc="retries of a failed request (`0`: none), by the engine (nothing below it retries); "
            "see [Retries](drivers.md#retries)",
        ),
        Key(
            "storage_options",
            "options",
            "keywords of gcsfs's `GCSFileSystem` (`token` modes, `project`, `requester_pays`, `endpoint_url`, ...); "
            "see [storage_options](#storage_options-of-each-driver)",
            secret=True,
            shown="`{}`",
        ),
    ),
    about="Details: [gcs](gcs.md).",
    options=OPTIONS,
)
KNOWN = KEYS.names

#: Keys of ``session_kwargs`` the store sets itself (a connector belongs to one event loop).
SESSION_OWN = ("connector", "connector_owner", "loop", "timeout", "raise_for_status")
_CONSISTENCY = ("none", "size", "md5", "crc32c")


@dataclass(frozen=True)
class GCSSettings:
    """The gcs driver's parameters, checked and typed by :data:`KEYS` (credentials and storage_options
    never shown in ``repr``).

    ``credentials``: the mapping given as ``credentials`` (empty when not given); ``keyfile``
    is read by gcsfs. ``read_only``: ``storage_options`` asked for ``token="anon"``.
    """

    bucket: str
    rootdirectory: str
    chunksize: int
    keyfile: str
    useragent: str
    maxconcurrency: int
    endpoint: str
    maxretries: int
    credentials: Mapping[str, Any] = field(repr=False, compare=False)
    storage_options: StorageOptions = field(compare=False)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k != "credentials"}
        shown["credentials"] = "<set>" if self.credentials else "<none>"
        return f"GCSSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def read_only(self) -> bool:
        """True when ``storage_options`` says ``token="anon"`` (and no distribution key overrides it)."""
        return self.storage_options.get("token") == "anon" and not (self.keyfile or self.credentials)

    def token_source(self) -> str:
        """The parameter the gcsfs ``token`` comes from (for error messages)."""
        if self.keyfile:
            return "keyfile"
        if self.credentials:
            return "credentials"
        return "storage_options.token"

    def gcsfs_kwargs(self) -> dict[str, Any]:
        """``GCSFileSystem``'s keyword arguments, by :meth:`OptionTable.merge`'s precedence.

        Without credentials, an ``endpoint`` (an emulator, a private endpoint) is anonymous
        by default; with neither, gcsfs looks for credentials (``google_default``, ``cache``,
        ``cloud``, then anonymous).
        """
        user_set: dict[str, Any] = {}
        if self.keyfile:
            user_set["token"] = self.keyfile
        elif self.credentials:
            user_set["token"] = dict(self.credentials)
        if self.endpoint:
            user_set["endpoint_url"] = self.endpoint
        endpoint = self.endpoint or self.storage_options.get("endpoint_url")
        defaults = {"token": "anon"} if endpoint else {}
        return OptionTable.merge(user_set, {"skip_instance_cache": True}, self.storage_options, defaults)


def settings_from(parameters: Mapping[str, Any]) -> GCSSettings:
    """Check and type the gcs parameters the way distribution's driver does.

    Errors are ``InvalidParameterError`` naming the key; credential contents and
    storage_options values are never quoted.
    """
    values = KEYS.parse(parameters)
    if not values["bucket"]:
        raise values.error("bucket", "no bucket parameter provided")
    chunksize = values["chunksize"]
    if chunksize % CHUNK_UNIT:
        raise values.error("chunksize", f"chunksize should be a multiple of {CHUNK_UNIT}")
    keyfile, raw = values["keyfile"], values["credentials"]
    if keyfile and raw is not None:
        raise InvalidParameterError(NAME, "credentials", "give keyfile or credentials, not both")
    if keyfile:
        _check_readable(keyfile)
    credentials: dict[str, Any] = {}
    if raw is not None:
        if not isinstance(raw, Mapping) or not raw or not all(isinstance(k, str) for k in raw):
            raise InvalidParameterError(NAME, "credentials", "the credentials were not specified in the correct format")
        credentials = dict(raw)
    _check_storage_options(values["storage_options"])
    return GCSSettings(
        bucket=values["bucket"],
        rootdirectory=values["rootdirectory"].strip("/"),
        chunksize=chunksize,
        keyfile=keyfile,
        useragent=values["useragent"],
        maxconcurrency=values["maxconcurrency"],
        endpoint=_endpoint(values["endpoint"].rstrip("/"), "endpoint"),
        maxretries=values["maxretries"],
        credentials=credentials,
        storage_options=values["storage_options"],
    )


def filesystem(settings: GCSSettings) -> Any:
    """The ``GCSFileSystem`` of ``settings`` (a new instance, never fsspec's cached one).

    gcsfs's failures (unusable credentials, a bad ``access``) are InvalidParameterError
    naming the parameter, with every credential and storage_options value shown as ``***``.
    """
    cls = gcsfs_class()
    kwargs = settings.gcsfs_kwargs()
    try:
        fs = cls(**kwargs)
    except Exception as exc:  # gcsfs raises ValueError, KeyError, google-auth errors...
        secrets = [*settings.storage_options.values(), *settings.credentials.values()]
        detail = redact(str(exc), secrets)
        if "access must be" in detail:
            raise InvalidParameterError(NAME, "storage_options.access", detail) from None
        reason = f"not usable credentials ({type(exc).__name__}: {detail})"
        raise InvalidParameterError(NAME, settings.token_source(), reason) from None
    if fs.requester_pays is True and not fs.project:
        raise InvalidParameterError(NAME, "storage_options.requester_pays", "true needs a project to bill")
    return fs


def gcsfs_class() -> Any:
    """gcsfs's ``GCSFileSystem`` (the JSON API one, never the experimental zonal-bucket class).

    gcsfs's package default probes a gRPC control API (long timeouts against emulators)
    unless ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT`` is off before gcsfs is first imported.
    """
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    from gcsfs.core import GCSFileSystem

    return GCSFileSystem


def _endpoint(value: str, key: str) -> str:
    if value:
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidParameterError(NAME, key, "must be an http or https URL")
        if parts.query or parts.fragment:
            raise InvalidParameterError(NAME, key, "must not have a query or a fragment")
    return value


def _check_readable(path: str) -> None:
    """``keyfile`` names a readable file (gcsfs would take any other string for a raw access token)."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InvalidParameterError(NAME, "keyfile", f"cannot read {path}: {exc.strerror}") from None


def _check_storage_options(options: Mapping[str, Any]) -> None:
    """The values gcsfs would take silently or only fail on later (never quoted)."""
    token = options.get("token")
    if token == "browser":
        raise InvalidParameterError(NAME, "storage_options.token", "'browser' sign-in is interactive; not in a driver")
    if isinstance(token, str) and ("/" in token or token.endswith(".json")) and not os.path.exists(token):
        # gcsfs would take it for a raw access token and ask Google's tokeninfo about it
        raise InvalidParameterError(NAME, "storage_options.token", "names no file")
    if "endpoint_url" in options:
        if not isinstance(options["endpoint_url"], str):
            raise InvalidParameterError(NAME, "storage_options.endpoint_url", "must be a string")
        _endpoint(options["endpoint_url"], "storage_options.endpoint_url")
    consistency = options.get("consistency", "none")
    if consistency not in _CONSISTENCY:
        raise InvalidParameterError(NAME, "storage_options.consistency", f"must be one of {', '.join(_CONSISTENCY)}")
    if consistency == "crc32c":
        try:
            import crcmod  # type: ignore[import-untyped]  # noqa: F401
        except ImportError:
            raise InvalidParameterError(NAME, "storage_options.consistency", "crc32c needs crcmod installed") from None
    pays = options.get("requester_pays", False)
    if not isinstance(pays, bool | str):
        raise InvalidParameterError(NAME, "storage_options.requester_pays", "must be a boolean or a project id")
    session = options.get("session_kwargs", {})
    if not isinstance(session, Mapping):
        raise InvalidParameterError(NAME, "storage_options.session_kwargs", "must be a mapping")
    for key in session:
        if key in SESSION_OWN:
            reason = "the store makes one session per event loop and sets this itself"
            raise InvalidParameterError(NAME, f"storage_options.session_kwargs.{key}", reason)
