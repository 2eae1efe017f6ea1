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
  the registry's YAML library types it (``"true"`` is a boolean, ``"100"`` an integer,
  ``"12:34:56"`` a string; see :mod:`distfs.goyaml`), and new keys are lower-cased;
  ``REGISTRY_STORAGE=<driver>`` replaces the whole section. As in Go, a key with an
  underscore (Azure's ``max_retries``) cannot be reached this way, with one exception
  of distfs's own: ``REGISTRY_STORAGE_<DRIVER>_STORAGE_OPTIONS_<KEY>`` sets the key
  ``<key>`` (lower-cased, underscores kept: ``ENDPOINT_URL`` is ``endpoint_url``) of the
  driver's ``storage_options`` mapping, and ``REGISTRY_STORAGE_<DRIVER>_STORAGE_OPTIONS``
  the whole mapping (a YAML flow mapping); keys nested deeper are set in the file;
* ``middleware.storage`` entries wrap the driver in order. Unlike Go, an entry with
  ``disabled: true`` is skipped.

The file is typed the same way, and YAML aliases may expand it to at most
:data:`distfs.goyaml.MAX_NODES` nodes.

Every mistake is a :class:`~distfs.errors.ConfigError` naming the YAML key path
(``storage.s3.chunksize``) or the environment variable. Messages quote at most a short
prefix of a value, never the value of a secret, and never the YAML text around an error.
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
from .parameters import BRIEF, brief

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
        found = ", ".join(_shown(d) for d in drivers) or "none"
        raise ConfigError("storage", f"must provide exactly one storage type; provided: {found}")
    name = drivers[0]
    if not isinstance(name, str):
        raise ConfigError("storage", f"a storage driver name is a string, not {brief(name)}")
    parameters = storage[name] if storage[name] is not None else {}
    if not isinstance(parameters, Mapping):
        raise ConfigError(f"storage.{name}", "driver parameters must be a mapping")
    for key in parameters:
        if not isinstance(key, str):
            raise ConfigError(f"storage.{name}", f"parameter names are strings, not {brief(key)}")
    reserved = {key: _section(storage, key, f"storage.{key}") for key in RESERVED}
    middleware = _section(document, "middleware", "middleware").get("storage") or []
    if not isinstance(middleware, list):
        raise ConfigError("middleware.storage", "must be a list of {name, options} entries")
    for index, entry in enumerate(middleware):
        where = f"middleware.storage[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(where, "must be a mapping with a name and options")
        if not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ConfigError(f"{where}.name", "must be the name of a storage middleware")
        _section(entry, "options", f"{where}.options")
    health = _section(_section(document, "health", "health"), "storagedriver", "health.storagedriver")
    return StorageConfig(
        driver=name,
        parameters=dict(parameters),
        middleware=[dict(m) for m in middleware],
        health=health,
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
            driver = apply_middleware(driver, entry["name"], entry.get("options") or {})
        except InvalidParameterError as exc:
            raise ConfigError(f"middleware.storage[{index}].options.{exc.parameter}", exc.reason) from exc
        except LookupError as exc:
            raise ConfigError(f"middleware.storage[{index}].name", str(exc)) from exc
    return driver


def _document(source: Source) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    if not isinstance(source, str | os.PathLike):
        raise ConfigError("", f"a configuration is a path, YAML text or a mapping, not {type(source).__name__}")
    text: str
    if isinstance(source, os.PathLike) or ("\n" not in source and _is_file(source)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("", f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError("", f"{path} is not UTF-8 text") from None
    else:
        text = source
    from . import goyaml  # on first use: PyYAML costs a driver made from parameters nothing

    try:
        document = goyaml.load(text)
    except goyaml.YAMLValueError as exc:
        raise ConfigError("", str(exc)) from None
    if not isinstance(document, dict):
        raise ConfigError("", "a registry configuration is a YAML mapping")
    return document


def _is_file(name: str) -> bool:
    """Whether ``name`` names a file (text too long or odd for a file name is not one)."""
    try:
        return Path(name).is_file()
    except (OSError, ValueError):
        return False


def _shown(key: object) -> str:
    """A key as a message shows it: strings as they are (cut short), anything else briefly."""
    if isinstance(key, str):
        return key if len(key) <= BRIEF else key[:BRIEF] + "..."
    return brief(key)


def _section(parent: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """The mapping ``parent[key]`` (empty when absent or null); ``ConfigError`` naming ``where`` otherwise."""
    value = parent.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(where, f"must be a mapping, not {brief(value)}")
    return dict(value)


def _overridden(storage: Any, environ: Mapping[str, str]) -> Any:
    """``storage`` with the ``REGISTRY_STORAGE*`` variables applied, the registry's way.

    As ``configuration/parser.go`` (distribution/distribution) does, each value is read
    as a YAML document typed by yaml.v2 (:mod:`distfs.goyaml`); a value that is not YAML is
    a ``ConfigError`` naming the variable, never quoting the value (it may be a secret).
    """
    from . import goyaml

    for name in sorted(environ):
        if name != ENV_PREFIX and not name.startswith(ENV_PREFIX + "_"):
            continue
        try:
            value = goyaml.load(environ[name])
        except goyaml.YAMLValueError as exc:
            raise ConfigError(name, str(exc)) from None
        path = _storage_options_path([part for part in name[len(ENV_PREFIX) :].split("_") if part])
        if not path:
            storage = value
            continue
        if isinstance(storage, str):
            storage = {storage: {}}
        if storage is not None and not isinstance(storage, Mapping):
            raise ConfigError(name, "cannot set a key inside storage: it is not a mapping")
        storage = dict(storage or {})
        _set(storage, path, value, name)
    return storage


def _storage_options_path(path: list[str]) -> list[str]:
    """``DRIVER, STORAGE, OPTIONS, KEY...`` as ``DRIVER, STORAGE_OPTIONS, KEY`` (one key, underscores kept)."""
    if path[1:3] != ["STORAGE", "OPTIONS"]:
        return path
    return [path[0], "STORAGE_OPTIONS"] + (["_".join(path[3:])] if path[3:] else [])


def _set(node: dict[str, Any], path: list[str], value: Any, variable: str) -> None:
    """Set ``value`` at the upper-cased key ``path`` below ``node``, matching keys case-insensitively."""
    head, rest = path[0], path[1:]
    key = next((k for k in node if isinstance(k, str) and k.upper() == head), head.lower())
    if not rest:
        node[key] = value
        return
    child = node.get(key)
    if child is None:
        child = {}
    elif not isinstance(child, Mapping):
        raise ConfigError(variable, f"cannot set {'.'.join(rest).lower()} inside the value of {_shown(key)}")
    child = dict(child)
    node[key] = child
    _set(child, rest, value, variable)
