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
from importlib import metadata
from typing import Any

from .driver import StorageDriver
from .errors import InvalidParameterError, InvalidStorageDriverError
from .parameters import brief
from .paths import PATH_RULES

__all__ = ["Factory", "create", "driver_names", "register"]

Factory = Callable[[Mapping[str, Any]], StorageDriver]

ENTRY_POINT_GROUP = "distfs.drivers"

_BUILTIN: dict[str, str] = {
    "azure": "distfs.backends.azure:factory",
    "filesystem": "distfs.backends.filesystem:factory",
    "gcs": "distfs.backends.gcs:factory",
    "inmemory": "distfs.backends.inmemory:factory",
    "oss": "distfs.backends.oss:factory",
    "s3": "distfs.backends.s3:factory",
    "s3aws": "distfs.backends.s3:factory_s3aws",
}
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


def _load(target: str) -> Factory:
    module, _, attribute = target.partition(":")
    loaded: Factory = getattr(importlib.import_module(module), attribute)
    return loaded


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
