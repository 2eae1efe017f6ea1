"""Where a ``distfs://`` filesystem's driver comes from: its options, a config file or the environment."""

from __future__ import annotations

import json
import os
from typing import Any

from .. import paths
from ..config import from_config
from ..driver import StorageDriver
from ..errors import InvalidParameterError
from ..factory import create

__all__ = ["ENV_CONFIG", "ENV_DRIVER", "ENV_PARAMETERS", "explain", "open_store", "store_from_environment"]

#: The environment variables of the default store.
ENV_CONFIG = "DISTFS_CONFIG"
ENV_DRIVER = "DISTFS_DRIVER"
ENV_PARAMETERS = "DISTFS_PARAMETERS"


def store_from_environment(environ: dict[str, str] | None = None) -> StorageDriver:
    """The default store of ``distfs://``: ``DISTFS_CONFIG``, else ``DISTFS_DRIVER`` + ``DISTFS_PARAMETERS``."""
    env = os.environ if environ is None else environ
    config = env.get(ENV_CONFIG)
    if config:
        return from_config(config)
    name = env.get(ENV_DRIVER)
    if name:
        try:
            parameters = json.loads(env.get(ENV_PARAMETERS) or "{}")
        except ValueError as exc:
            raise InvalidParameterError("distfs", ENV_PARAMETERS, f"is not valid JSON: {exc.args[0]}") from None
        if not isinstance(parameters, dict):
            raise InvalidParameterError("distfs", ENV_PARAMETERS, "must be a JSON object of driver parameters")
        parameters.setdefault("paths", "portable")
        return create(name, parameters)
    raise InvalidParameterError(
        "distfs",
        "driver",
        "no store configured: pass driver=<name> and its parameters (or config=<path of a registry "
        f"config.yml>) as storage options, or set {ENV_CONFIG}=<config.yml> or {ENV_DRIVER}=<name> "
        f"with {ENV_PARAMETERS}=<JSON object> in the environment",
    )


def open_store(driver: str | None, config: str | None, options: dict[str, Any]) -> StorageDriver:
    """The driver of ``driver`` and its parameters ``options``, or of a registry ``config``, or the environment's."""
    if config is not None:
        if driver is not None or options:
            raise InvalidParameterError("distfs", "config", "give either config= or driver parameters, not both")
        return from_config(config)
    if driver is None:
        if options:
            key = sorted(options)[0]
            raise InvalidParameterError(
                "distfs", key, "unknown option: driver parameters need driver=<name> (or config=<config.yml>)"
            )
        return store_from_environment()
    return create(driver, {"paths": "portable", **options})


def explain(path: str, portable: bool) -> str:
    """Which path rule ``path`` breaks, and how to allow it when another rule would."""
    for part in path.split("/")[1:]:
        if part in ("", ".", ".."):
            return f"empty, '.' and '..' components are not allowed ({part!r})"
        if part == paths.HIDDEN:
            return f"{paths.HIDDEN!r} is reserved"
        for char in part:
            if ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF:
                return f"character {char!r} is not allowed"
            if not portable and not (char.isascii() and (char.isalnum() or char in "._-")):
                return f"character {char!r} is not allowed by paths=registry; pass paths='portable' to allow it"
    return "not a driver path"
