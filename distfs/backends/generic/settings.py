"""The generic driver's parameters: which filesystem, where, and the engine's settings.

``create("fsspec", {...})`` takes the keys of :data:`KEYS`: ``protocol``, ``root`` and
``storage_options`` (the filesystem, where in it, its keyword arguments, shown nowhere)
and the engine's (:data:`ENGINE_KEYS`); ``create("fsspec+<protocol>", {...})`` is the same
with the protocol in the name. A generic driver of :func:`distfs.from_filesystem` takes
the engine's keys only. Unknown keys are refused by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidParameterError
from ...parameters import GiB, Key, KeyTable, KiB, MiB
from ...retry import DEFAULT_RETRIES, RETRIES
from ..options import StorageOptions

__all__ = ["ENGINE_KEYS", "KEYS", "GenericSettings", "engine_settings", "target_settings"]

#: The engine's keys, which every generic driver takes.
ENGINE_KEYS = ("timeout", "chunksize", "maxretries", "maxconcurrency")

#: Every parameter of ``fsspec`` and ``fsspec+<protocol>``: the filesystem, where in it, the engine's keys.
KEYS = KeyTable(
    "fsspec",
    (
        Key(
            "protocol",
            "string",
            "any fsspec protocol (`file`, `memory`, `sftp`...); for `fsspec+<protocol>` the one in the name",
            shown="required",
        ),
        Key(
            "root",
            "string",
            "a path in that filesystem: `bucket[/prefix]` on an object store, a directory elsewhere "
            "(empty: the filesystem's root)",
        ),
        Key(
            "storage_options",
            "map",
            "the filesystem's keyword arguments; values are never shown (repr, errors, logs)",
            secret=True,
            shown="`{}`",
        ),
        Key(
            "timeout",
            "seconds",
            "seconds one backend call may take; past it the call ends in `DriverError` naming the driver and "
            "the path, and its concurrency slot is free again",
            60.0,
            maximum=86_400,
            shown="60",
        ),
        Key(
            "chunksize",
            "size",
            "part size of writers (memory per writer stays about one part)",
            default=8 * MiB,
            minimum=1 * KiB,
            maximum=5 * GiB,
        ),
        dataclasses.replace(RETRIES, doc="retries of a failed call, by the engine; see [Retries](drivers.md#retries)"),
        Key("maxconcurrency", "limit", "calls in the driver at once", default=0, shown="unbounded"),
    ),
    about="Any fsspec filesystem through the generic store, also every driver of `distfs.from_filesystem` "
    "that is no built-in's (those take the engine's keys only); see "
    "[adapting-a-backend.md](adapting-a-backend.md#parameters-of-the-generic-driver).",
)


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
    values = KEYS.only(known).parse(parameters, name)
    return GenericSettings(
        timeout=values["timeout"],
        chunksize=values["chunksize"],
        maxretries=values["maxretries"],
        maxconcurrency=values["maxconcurrency"] or None,
    )


def target_settings(name: str, parameters: Mapping[str, Any], protocol: str = "") -> GenericSettings:
    """All the settings of ``create(name, parameters)``; ``protocol`` is the one in the name."""
    values = KEYS.parse(parameters, name)
    given = values["protocol"]
    if protocol and given and given != protocol:
        raise values.error("protocol", f"differs from the driver's protocol {protocol!r}")
    if not (protocol or given):
        raise values.error("protocol", "no protocol parameter provided (an fsspec protocol: file, memory, sftp...)")
    options = values["storage_options"] or {}
    if not isinstance(options, Mapping) or not all(isinstance(key, str) for key in options):
        raise InvalidParameterError(name, "storage_options", "must be a mapping with string keys")
    return GenericSettings(
        timeout=values["timeout"],
        chunksize=values["chunksize"],
        maxretries=values["maxretries"],
        maxconcurrency=values["maxconcurrency"] or None,
        protocol=protocol or given,
        root=values["root"],
        storage_options=StorageOptions(options),
    )
