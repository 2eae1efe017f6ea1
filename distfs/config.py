"""The registry's ``config.yml``: the ``storage:`` section, its overrides, its middleware.

::

    driver = distfs.from_config("/etc/docker/registry/config.yml")
    config = distfs.load_config(yaml_text, environ={"REGISTRY_STORAGE_S3_BUCKET": "b"})
    config.driver, config.parameters, config.delete, config.middleware

What the registry does, distfs does:

* ``storage:`` holds exactly one driver key besides the reserved ``maintenance``,
  ``cache``, ``delete``, ``redirect`` and ``tag`` (kept out of the driver parameters and
  exposed separately); ``storage: inmemory`` is the bare-string form;
* ``REGISTRY_STORAGE_<DRIVER>_<KEY>=value`` environment variables override the file: the
  name is split on ``_`` into a key path matched case-insensitively, the value is typed as
  YAML (``"true"`` is a boolean, ``"100"`` an integer), and new keys are lower-cased;
  ``REGISTRY_STORAGE=<driver>`` replaces the whole section. As in Go, a key with an
  underscore (Azure's ``max_retries``) cannot be reached this way;
* ``middleware.storage`` entries wrap the driver in order. Unlike Go, an entry with
  ``disabled: true`` is skipped.

Every mistake is a :class:`~distfs.errors.ConfigError` naming the YAML key path
(``storage.s3.chunksize``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .driver import StorageDriver
from .errors import ConfigError, InvalidParameterError, InvalidStorageDriverError
from .factory import create
from .middleware import apply_middleware

__all__ = ["RESERVED", "StorageConfig", "from_config", "load_config"]

RESERVED = ("maintenance", "cache", "delete", "redirect", "tag")
ENV_PREFIX = "REGISTRY_STORAGE"

Source = str | os.PathLike[str] | Mapping[str, Any]
"""A path to a config.yml, YAML text, or an already parsed mapping."""


@dataclass(frozen=True)
class StorageConfig:
    """The storage part of a registry configuration, after environment overrides."""

    driver: str
    parameters: dict[str, Any]
    maintenance: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    delete: dict[str, Any] = field(default_factory=dict)
    redirect: dict[str, Any] = field(default_factory=dict)
    tag: dict[str, Any] = field(default_factory=dict)
    middleware: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # parameters may hold secrets: show their names only
        return f"StorageConfig(driver={self.driver!r}, parameters={sorted(self.parameters)})"


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> StorageConfig:
    """Read ``source`` (a path, YAML text or a mapping) and apply environment overrides."""
    document = _document(source)
    storage = _overridden(document.get("storage"), os.environ if environ is None else environ)
    if storage is None:
        raise ConfigError("storage", "no storage configuration provided")
    if isinstance(storage, str):
        storage = {storage: {}}
    if not isinstance(storage, Mapping):
        raise ConfigError("storage", "must be a mapping or a driver name")
    drivers = [key for key in storage if key not in RESERVED]
    if len(drivers) != 1:
        found = ", ".join(str(d) for d in drivers) or "none"
        raise ConfigError("storage", f"must provide exactly one storage type; provided: {found}")
    name = str(drivers[0])
    parameters = storage[name] if storage[name] is not None else {}
    if not isinstance(parameters, Mapping):
        raise ConfigError(f"storage.{name}", "driver parameters must be a mapping")
    reserved = {key: _section(storage, key) for key in RESERVED}
    middleware = ((document.get("middleware") or {}).get("storage")) or []
    if not isinstance(middleware, list) or not all(isinstance(m, Mapping) and "name" in m for m in middleware):
        raise ConfigError("middleware.storage", "must be a list of {name, options} entries")
    health = (document.get("health") or {}).get("storagedriver") or {}
    return StorageConfig(
        driver=name,
        parameters={str(k): v for k, v in parameters.items()},
        middleware=[dict(m) for m in middleware],
        health=dict(health),
        **reserved,
    )


def from_config(
    source: str | os.PathLike[str] | Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> StorageDriver:
    """The driver a registry with this configuration uses, middleware applied."""
    config = load_config(source, environ)
    try:
        driver = create(config.driver, config.parameters)
    except InvalidParameterError as exc:
        raise ConfigError(f"storage.{config.driver}.{exc.parameter}", exc.reason) from exc
    except InvalidStorageDriverError as exc:
        raise ConfigError(f"storage.{config.driver}", str(exc)) from exc
    for index, entry in enumerate(config.middleware):
        if entry.get("disabled") is True:
            continue
        try:
            driver = apply_middleware(driver, str(entry["name"]), entry.get("options") or {})
        except InvalidParameterError as exc:
            raise ConfigError(f"middleware.storage[{index}].options.{exc.parameter}", exc.reason) from exc
        except LookupError as exc:
            raise ConfigError(f"middleware.storage[{index}].name", str(exc)) from exc
    return driver


def _document(source: Source) -> dict[str, Any]:
    import yaml

    if isinstance(source, Mapping):
        return dict(source)
    text: str
    if isinstance(source, os.PathLike) or ("\n" not in source and Path(source).is_file()):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("", f"cannot read {path}: {exc.strerror}") from None
    else:
        text = source
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError("", "a registry configuration is a YAML mapping")
    return document


def _section(storage: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = storage.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"storage.{key}", "must be a mapping")
    return dict(value)


def _overridden(storage: Any, environ: Mapping[str, str]) -> Any:
    """``storage`` with the ``REGISTRY_STORAGE*`` variables applied, the registry's way."""
    import yaml

    for name in sorted(environ):
        if name != ENV_PREFIX and not name.startswith(ENV_PREFIX + "_"):
            continue
        value = yaml.safe_load(environ[name]) if environ[name] != "" else None
        path = [part for part in name[len(ENV_PREFIX) :].split("_") if part]
        if not path:
            storage = value
            continue
        if isinstance(storage, str):
            storage = {storage: {}}
        storage = dict(storage or {})
        _set(storage, path, value, name)
    return storage


def _set(node: dict[str, Any], path: list[str], value: Any, variable: str) -> None:
    """Set ``value`` at the upper-cased key ``path`` below ``node``, matching keys case-insensitively."""
    head, rest = path[0], path[1:]
    key = next((k for k in node if str(k).upper() == head), head.lower())
    if not rest:
        node[key] = value
        return
    child = node.get(key)
    if child is None:
        child = {}
    elif not isinstance(child, Mapping):
        raise ConfigError(variable, f"cannot set {'.'.join(rest).lower()} inside the value of {key}")
    child = dict(child)
    node[key] = child
    _set(child, rest, value, variable)
