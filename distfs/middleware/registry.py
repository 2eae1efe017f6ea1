"""The storage middleware by name: the built-in ones, those registered, the ``distfs.middleware`` entry points."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..driver import StorageDriver
from ..errors import InvalidParameterError
from ..parameters import brief

if TYPE_CHECKING:
    from importlib import metadata

__all__ = ["ENTRY_POINT_GROUP", "MiddlewareInit", "apply_middleware", "middleware_names", "register_middleware"]

MiddlewareInit = Callable[[StorageDriver, Mapping[str, Any]], StorageDriver]
ENTRY_POINT_GROUP = "distfs.middleware"

_BUILTIN = {
    "cloudfront": "distfs.cloudfront:init",
    "redirect": "distfs.middleware:RedirectMiddleware",
    "rewrite": "distfs.middleware:RewriteMiddleware",
}
_registered: dict[str, MiddlewareInit] = {}
_lock = threading.Lock()


def register_middleware(name: str, init: MiddlewareInit) -> None:
    """Make ``init(driver, options)`` available under ``name`` (names are unique)."""
    if not callable(init):
        raise TypeError(f"storage middleware {name!r} must be callable")
    with _lock:
        if name in _registered or name in _BUILTIN or name in _entry_points():
            raise ValueError(f"name already registered: {name}")
        _registered[name] = init


def middleware_names() -> list[str]:
    """Sorted names of the available storage middleware."""
    return sorted(set(_BUILTIN) | set(_registered) | set(_entry_points()))


def apply_middleware(driver: StorageDriver, name: str, options: Mapping[str, Any] | None = None) -> StorageDriver:
    """Wrap ``driver`` in the middleware registered as ``name``."""
    with _lock:
        init = _registered.get(name)
    if init is None and name in _BUILTIN:
        module, _, attribute = _BUILTIN[name].partition(":")
        init = getattr(importlib.import_module(module), attribute)
    if init is None and name in _entry_points():
        init = _entry_points()[name].load()
    if init is None:
        raise LookupError(f"no storage middleware registered with name: {name}; available: {middleware_names()}")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidParameterError(name, "options", f"must be a mapping, not {brief(options)}")
    return init(driver, dict(options or {}))


def _entry_points() -> dict[str, metadata.EntryPoint]:
    from importlib import metadata  # on first use: the built-in names need no package metadata

    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
