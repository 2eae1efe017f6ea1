"""Driver registration and construction by name.

A factory is any callable ``factory(parameters) -> StorageDriver``. Built-in drivers are
imported on first use (so creating ``filesystem`` never imports a cloud SDK); third-party
drivers are found through the ``distfs.drivers`` entry-point group, e.g. in a plugin's
``pyproject.toml``::

    [project.entry-points."distfs.drivers"]
    mydriver = "mypackage.driver:factory"

Every driver returned by :func:`create` goes through :class:`distfs.base.Base`, which
validates paths and names the driver in every error.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .driver import StorageDriver
from .errors import DriverNotInstalledError, InvalidParameterError, InvalidStorageDriverError
from .parameters import brief
from .paths import PATH_RULES

__all__ = ["BUILTIN_DRIVERS", "Builtin", "Factory", "create", "driver_names", "register"]

Factory = Callable[[Mapping[str, Any]], StorageDriver]

ENTRY_POINT_GROUP = "distfs.drivers"


@dataclass(frozen=True)
class Builtin:
    """One built-in driver: its ``module`` (which has ``factory`` and ``raw_filesystem``), the
    extra that installs its SDKs (``pip install 'distfs[extra]'``) and the modules that extra brings."""

    name: str
    module: str
    factory: str = "factory"
    extra: str = ""
    requires: tuple[str, ...] = ()


#: Every built-in driver, in the order tables show them: the one list of them.
BUILTIN_DRIVERS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin("inmemory", "distfs.backends.inmemory"),
        Builtin("filesystem", "distfs.backends.filesystem"),
        Builtin("s3", "distfs.backends.s3", extra="s3", requires=("s3fs", "aiobotocore")),
        Builtin("s3aws", "distfs.backends.s3", "factory_s3aws", extra="s3", requires=("s3fs", "aiobotocore")),
        Builtin("gcs", "distfs.backends.gcs", extra="gcs", requires=("gcsfs", "aiohttp", "google.auth")),
        Builtin("azure", "distfs.backends.azure", extra="azure", requires=("adlfs", "azure.storage.blob", "aiohttp")),
        Builtin("oss", "distfs.backends.oss", extra="oss", requires=("ossfs", "oss2")),
    )
}
_BUILTIN = BUILTIN_DRIVERS
_RETIRED: dict[str, str] = {
    "swift": "the swift driver is no longer supported by distribution; S3-compatible Swift "
    "works through the 's3' driver with 'regionendpoint' set to its S3 endpoint",
}

_registered: dict[str, Factory] = {}
_lock = threading.Lock()


def register(name: str, factory: Factory) -> None:
    """Make ``factory`` available to :func:`create` under ``name``.

    Raises ``TypeError`` if ``factory`` is not callable and ``ValueError`` if ``name`` is
    empty or already taken (by a built-in, a registered or an entry-point driver).
    """
    if not callable(factory):
        raise TypeError(f"StorageDriver factory for {name!r} must be callable")
    if not isinstance(name, str) or not name:
        raise ValueError("StorageDriver name must be a non-empty string")
    with _lock:
        if name in _registered or name in _BUILTIN or name in _entry_points():
            raise ValueError(f"StorageDriver named {name} already registered")
        _registered[name] = factory


def driver_names() -> list[str]:
    """The sorted names :func:`create` accepts."""
    return sorted(set(_BUILTIN) | set(_registered) | set(_entry_points()))


def create(name: str, parameters: Mapping[str, Any] | None = None) -> StorageDriver:
    """Construct the driver registered as ``name`` from its ``parameters``.

    Every driver also takes ``paths``: ``registry`` (the default, the registry's path
    pattern) or ``portable`` (any UTF-8 name without control characters; see
    :mod:`distfs.paths`).
    """
    from .base import Base

    build = _factory(name)
    if parameters is not None and not isinstance(parameters, Mapping):
        raise InvalidParameterError(str(name), "parameters", f"must be a mapping, not {type(parameters).__name__}")
    options = dict(parameters or {})
    rules = options.pop("paths", "registry")
    if rules not in PATH_RULES:
        raise InvalidParameterError(name, "paths", f"must be one of {', '.join(PATH_RULES)}, got {brief(rules)}")
    driver = build(options)
    if not isinstance(driver, StorageDriver):
        raise TypeError(f"factory of {name!r} returned {type(driver).__name__}, not a StorageDriver")
    if not isinstance(driver, Base):
        driver = Base(driver)
    driver.portable_paths = rules == "portable"
    kept = dict(parameters or {})  # a copy, held by the driver alone (never shown)
    driver.reopen_with(lambda: create(name, kept))
    return driver


def _factory(name: str) -> Factory:
    with _lock:
        if name in _registered:
            return _registered[name]
    if name in _BUILTIN:
        return _load(_BUILTIN[name])
    entry = _entry_points().get(name)
    if entry is not None:
        loaded = entry.load()
        if not callable(loaded):
            raise TypeError(f"entry point {entry.value!r} of driver {name!r} is not callable")
        return loaded  # type: ignore[no-any-return]
    raise InvalidStorageDriverError(name, driver_names(), _RETIRED.get(name, ""))


def _load(builtin: Builtin) -> Factory:
    """The factory of a built-in driver; DriverNotInstalledError when its extra is missing."""
    for required in builtin.requires:
        try:
            importlib.import_module(required)
        except ImportError:
            raise DriverNotInstalledError(builtin.name, builtin.extra, required) from None
    loaded: Factory = getattr(importlib.import_module(builtin.module), builtin.factory)
    return loaded


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
