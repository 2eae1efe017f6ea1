"""Opening the store a ``distfs registry`` command names: never created, never retried in silence.

:func:`open_store` is how every registry command opens its store:

* a store to read (``ls``, ``du``, ``fsck``, ``gc``, the SOURCE of ``migrate``) must exist
  and hold a registry (``/docker/registry/v2``): a filesystem root that does not exist is
  reported, not created (the ``filesystem`` driver creates its root when it is built, so
  the root is checked first: :func:`require_root`, which ``distfs health`` uses too), and a
  store without ``/docker/registry/v2`` is no registry;
* a store to write (the DEST of ``migrate``) may be empty, and is created as a driver
  creates it;
* before any work, one request (``stat``) checks that the store answers. Transient
  failures (unreachable endpoint, 5xx) are retried here, at most :data:`PROBE_RETRIES`
  times with a short backoff, each retry announced on stderr
  (``s3 at http://127.0.0.1:9000, bucket b: unreachable, retrying (2/5)``); the driver's
  own retries are turned off for this request (``maxretries: 0``, azure's
  ``max_retries: -1``) so they do not multiply. A missing bucket and refused credentials
  are not retried.

Every failure is a :class:`StoreUnavailable`: one line naming the store (:func:`describe`:
the driver and its location parameters, never a credential) and the cause.
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from .. import factory
from ..config import load_config
from ..driver import FileInfo, StorageDriver
from ..errors import (
    AccessDeniedError,
    ConfigError,
    DriverError,
    InvalidParameterError,
    InvalidStorageDriverError,
    PathNotFoundError,
    StorageDriverError,
    StoreNotFoundError,
)
from ..parameters import DEFAULT_ROOT, brief
from ..registry import DriverSpec
from ..registry.layout import ROOT
from ..retry import DEFAULT_RETRIES, retrying

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = [
    "PROBE_RETRIES",
    "StoreUnavailable",
    "Target",
    "describe",
    "open_store",
    "parse_parameters",
    "require_named",
    "require_root",
    "resolve",
    "spec_for",
    "store_spec",
]

#: Retries of the check request before a store is reported unreachable.
PROBE_RETRIES = DEFAULT_RETRIES
#: Base and cap of the check's backoff, in seconds (5 retries wait at most 6.2 s in all).
PROBE_DELAY = 0.2
PROBE_CAP = 3.2

#: The parameters that say where each built-in driver's store is, in the order they are shown.
LOCATION: dict[str, tuple[str, ...]] = {
    "filesystem": ("rootdirectory",),
    "s3": ("regionendpoint", "bucket", "rootdirectory"),
    "s3aws": ("regionendpoint", "bucket", "rootdirectory"),
    "gcs": ("endpoint", "bucket", "rootdirectory"),
    "azure": ("serviceurl", "accountname", "container", "rootdirectory"),
    "oss": ("endpoint", "bucket", "rootdirectory"),
}
_ENDPOINTS = ("regionendpoint", "serviceurl", "endpoint")
_WORDS = {"accountname": "account", "rootdirectory": "under"}
#: The parameter (and its value) that turns a driver's own retries off.
_RETRIES_OFF: dict[str, tuple[str, int]] = {
    "s3": ("maxretries", 0),
    "s3aws": ("maxretries", 0),
    "gcs": ("maxretries", 0),
    "oss": ("maxretries", 0),
    "azure": ("max_retries", -1),
}
#: The check's drivers, kept until exit, when the engine closes their connections (a driver
#: collected earlier leaves its HTTP session to be reported unclosed).
_CHECKED: list[StorageDriver] = []
_SETUP_ERRORS = (InvalidStorageDriverError, InvalidParameterError, ConfigError, StorageDriverError, OSError)


class StoreUnavailable(Exception):
    """The store cannot be used; ``str()`` is one line naming the store and the cause."""

    def __init__(self, label: str, cause: str) -> None:
        self.label = label
        self.cause = cause
        super().__init__(f"{label}: {cause}")


@dataclass(frozen=True)
class Target:
    """A store as a command names it: the spec, the driver and parameters it resolves to, its label."""

    spec: DriverSpec
    driver: str
    parameters: Mapping[str, Any]

    @property
    def label(self) -> str:
        return describe(self.driver, self.parameters)

    @property
    def named(self) -> bool:
        """Whether the command line names the store (a config file, or a location parameter):
        a destructive command never works on a driver's default location (``/var/lib/registry``)."""
        keys = LOCATION.get(self.driver)
        return bool(self.spec.config) or not keys or any(key in self.parameters for key in keys)


def parse_parameters(items: list[str]) -> dict[str, str]:
    """The command line's ``-p KEY=VALUE`` items as a mapping (ValueError naming a malformed one)."""
    parameters = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {item.split('=')[0]!r} must be given as KEY=VALUE")
        parameters[key] = value
    return parameters


def resolve(spec: DriverSpec) -> Target:
    """The driver and parameters ``spec`` names (a config's after its environment overrides)."""
    if spec.config:
        config = load_config(spec.config)
        return Target(spec, config.driver, config.parameters)
    return Target(spec, spec.driver, spec.parameters)


def describe(driver: str, parameters: Mapping[str, Any]) -> str:
    """``driver`` and where its store is (``s3 at http://host:9000, bucket b``): location
    parameters only, an endpoint without its user information, never a credential."""
    if driver == "filesystem":
        return f"filesystem at {_shown(parameters.get('rootdirectory') or DEFAULT_ROOT)}"
    parts: list[str] = []
    for key in LOCATION.get(driver, ()):
        value = parameters.get(key)
        if value in (None, ""):
            continue
        if key in _ENDPOINTS:
            parts.insert(0, f"at {_endpoint(value)}")
        else:
            parts.append(f"{_WORDS.get(key, key)} {_shown(value)}")
    return " ".join([driver, ", ".join(parts)]).strip()


def open_store(
    spec: DriverSpec, *, existing: bool = True, create: bool = True, announce: TextIO | None = None
) -> StorageDriver:
    """A driver on the store of ``spec``, after checking that it answers (module docstring).

    ``existing``: the store must exist and hold ``/docker/registry/v2`` (nothing is
    created); otherwise an empty or missing store is fine, and is created as its driver
    creates it unless ``create`` is False: a missing ``filesystem`` root is then read as an
    empty store (an ``inmemory`` one, said on ``announce``), for a run that only looks
    (``migrate --dry-run``). Raises :class:`StoreUnavailable`.
    """
    try:
        target = resolve(spec)
    except _SETUP_ERRORS as exc:
        raise StoreUnavailable(spec.driver or str(spec.config), _line(exc)) from None
    label = target.label
    cause = _root_problem(target.driver, target.parameters)[1] if existing or not create else ""
    if cause == "no such directory" and not existing:
        if announce is not None:
            print(f"{label}: no such directory yet, taken as empty (nothing was created)", file=announce)
        return factory.create("inmemory", {})
    if cause:
        raise StoreUnavailable(label, f"{cause} (nothing was created)")
    try:
        driver = spec.open()
    except _SETUP_ERRORS as exc:
        raise StoreUnavailable(label, _line(exc)) from None
    off = _RETRIES_OFF.get(target.driver)
    probe = driver
    if off is not None:
        try:
            probe = factory.create(target.driver, {**target.parameters, off[0]: off[1]})
        except _SETUP_ERRORS as exc:
            raise StoreUnavailable(label, _line(exc)) from None
        _CHECKED.append(probe)
    _check(probe, label, existing, announce)
    return driver


def require_root(driver: str, parameters: Mapping[str, Any]) -> None:
    """``InvalidParameterError`` naming ``rootdirectory`` and its value unless the root of a
    ``filesystem`` store is an existing directory; nothing is created. A command that only
    inspects calls this before building the driver, which would create a missing root (a
    mistyped root would then be created and found healthy). Other drivers create nothing.
    """
    root, cause = _root_problem(driver, parameters)
    if cause:
        raise InvalidParameterError(driver, "rootdirectory", f"{cause}: {_shown(root)} (nothing was created)")


def _root_problem(driver: str, parameters: Mapping[str, Any]) -> tuple[object, str]:
    """The root of a ``filesystem`` store and what is wrong with it ("" if nothing is)."""
    if driver != "filesystem":
        return None, ""
    root = parameters.get("rootdirectory") or DEFAULT_ROOT
    if not isinstance(root, str) or os.path.isdir(root):
        return root, ""  # not a path: the driver's own parameter check refuses it
    return root, "not a directory" if os.path.exists(root) else "no such directory"


def _check(driver: StorageDriver, label: str, existing: bool, announce: TextIO | None) -> None:
    """``stat`` the registry root (or ``/``), retrying transient failures, announced."""
    path = ROOT if existing else "/"

    def stat() -> FileInfo | None:
        try:
            return driver.stat(path)
        except PathNotFoundError:
            if existing:
                raise StoreUnavailable(label, f"no registry storage here ({ROOT} not found)") from None
            return None
        except (AccessDeniedError, StoreNotFoundError) as exc:
            raise StoreUnavailable(label, _cause(exc)) from None

    def told(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        if announce is not None and isinstance(failure, DriverError):
            retry = state.attempt_number
            print(f"{label}: {_cause(failure, short=True)}, retrying ({retry}/{PROBE_RETRIES})", file=announce)

    loop = retrying(
        PROBE_RETRIES, lambda exc: isinstance(exc, DriverError), base=PROBE_DELAY, cap=PROBE_CAP, before_sleep=told
    )
    try:
        info = loop(stat)
    except DriverError as exc:
        raise StoreUnavailable(label, f"{_cause(exc)} after {PROBE_RETRIES} retries") from None
    if existing and info is not None and not info.is_dir:
        raise StoreUnavailable(label, f"no registry storage here ({ROOT} is a file)")


def _cause(exc: DriverError, short: bool = False) -> str:
    """What went wrong, in words: credentials refused, a missing bucket, unreachable."""
    if isinstance(exc, AccessDeniedError):
        return f"credentials refused: {exc.detail}"
    if isinstance(exc, StoreNotFoundError):
        return exc.detail
    unreachable = _unreachable(exc)
    if short:
        return "unreachable" if unreachable else "failed"
    return f"unreachable ({exc.detail})" if unreachable else exc.detail


def _unreachable(exc: BaseException) -> bool:
    """Whether a connection failure (an ``OSError``: refused, reset, timed out, no such host) caused ``exc``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, StorageDriverError):
            return True
        current = current.__cause__ or current.__context__
    return False


def _line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _shown(value: object) -> str:
    return value if isinstance(value, str) and len(value) <= 200 else brief(value)


def _endpoint(value: object) -> str:
    """An endpoint URL without user information (``user:password@``)."""
    if not isinstance(value, str):
        return brief(value)
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return brief(value)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", "")) if parts.scheme else brief(value)


def spec_for(name: str, items: list[str] | dict[str, str], config: str | None = None) -> DriverSpec:
    """The store a command line names: driver ``name`` with parameters ``items``
    (``KEY=VALUE`` strings or a mapping), or a registry config file (``config``, or ``name``
    when it is the path of a ``.yml``); ConfigError if both a file and parameters are given."""
    parameters = items if isinstance(items, dict) else parse_parameters(items)
    if config is not None or (os.path.isfile(name) and name.endswith((".yml", ".yaml"))):
        if parameters:
            raise ConfigError("", "give either a config file or -p parameters, not both")
        return DriverSpec(config=config or name)
    return DriverSpec(name, parameters)


def store_spec(args: argparse.Namespace, parameters: dict[str, str]) -> DriverSpec:
    """The store of a one-store command (``DRIVER -p ...`` or ``--config FILE``; filesystem by default)."""
    return spec_for(args.driver or "filesystem", parameters, args.config)


def require_named(spec: DriverSpec, change: str) -> None:
    """``StoreUnavailable`` unless the command line names the store that ``change`` (a
    destructive command) would change: never the driver's default location."""
    target = resolve(spec)
    if not target.named:
        raise StoreUnavailable(
            target.label,
            f"only the driver's default; {change}, so name the store: --config FILE or its location "
            "(e.g. -p rootdirectory=DIR)",
        )
