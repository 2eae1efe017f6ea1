"""The generic driver's parameters: which filesystem, where, and the engine's settings.

``create("fsspec", {...})`` takes ``protocol`` (any fsspec protocol), ``root`` (a path in
that filesystem: ``bucket[/prefix]`` on an object store, a directory elsewhere; ``""``:
the filesystem's root) and ``storage_options`` (the filesystem's keyword arguments, shown
nowhere); ``create("fsspec+<protocol>", {...})`` is the same with the protocol in the name.
Every generic driver, also one of :func:`distfs.from_filesystem`, takes the engine's
settings: ``timeout`` (seconds a backend call may take, default 60), ``chunksize`` (the
part size of writers, default 8 MiB), ``maxretries`` and ``maxconcurrency`` (calls in the
backend at once, default unbounded). Unknown keys are refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, KiB, MiB, Parameters
from ...retry import DEFAULT_RETRIES, retry_parameter
from ..options import StorageOptions

__all__ = ["ENGINE_KEYS", "GenericSettings", "engine_settings", "target_settings"]

#: The engine's keys, which every generic driver takes.
ENGINE_KEYS = ("timeout", "chunksize", "maxretries", "maxconcurrency")
#: What ``create`` takes besides: the filesystem and where in it.
TARGET_KEYS = ("protocol", "root", "storage_options")


@dataclass(frozen=True)
class GenericSettings:
    """The engine's settings of one generic driver (see the module docstring)."""

    timeout: float = 60.0
    chunksize: int = 8 * MiB
    maxretries: int = DEFAULT_RETRIES
    maxconcurrency: int | None = None
    protocol: str = ""
    root: str = ""
    storage_options: StorageOptions = field(default_factory=lambda: StorageOptions({}))


def engine_settings(name: str, parameters: Mapping[str, Any], known: tuple[str, ...] = ENGINE_KEYS) -> GenericSettings:
    """The engine's settings of ``parameters`` (InvalidParameterError naming ``name`` and the key)."""
    params = Parameters(name, parameters, known=known, secret=("storage_options",))
    raw = parameters.get("timeout")
    if raw is None:
        timeout = 60.0
    else:
        try:
            timeout = float(raw)
        except (TypeError, ValueError):
            raise params.error("timeout", "must be a number of seconds") from None
        if isinstance(raw, bool) or not 0 < timeout <= 86_400:
            raise params.error("timeout", "must be a number of seconds above 0 (at most a day)")
    limit = params.limit("maxconcurrency", 0, 0)
    return GenericSettings(
        timeout=timeout,
        chunksize=params.integer("chunksize", 8 * MiB, 1 * KiB, 5 * GiB),
        maxretries=retry_parameter(params),
        maxconcurrency=limit or None,
    )


def target_settings(name: str, parameters: Mapping[str, Any], protocol: str = "") -> GenericSettings:
    """All the settings of ``create(name, parameters)``; ``protocol`` is the one in the name."""
    settings = engine_settings(name, parameters, ENGINE_KEYS + TARGET_KEYS)
    params = Parameters(name, parameters, known=ENGINE_KEYS + TARGET_KEYS, secret=("storage_options",))
    given = params.string("protocol")
    if protocol and given and given != protocol:
        raise params.error("protocol", f"differs from the driver's protocol {protocol!r}")
    if not (protocol or given):
        raise params.error("protocol", "no protocol parameter provided (an fsspec protocol: file, memory, sftp...)")
    options = parameters.get("storage_options") or {}
    if not isinstance(options, Mapping) or not all(isinstance(key, str) for key in options):
        raise InvalidParameterError(name, "storage_options", "must be a mapping with string keys")
    return GenericSettings(
        timeout=settings.timeout,
        chunksize=settings.chunksize,
        maxretries=settings.maxretries,
        maxconcurrency=settings.maxconcurrency,
        protocol=protocol or given,
        root=params.string("root"),
        storage_options=StorageOptions(options),
    )
