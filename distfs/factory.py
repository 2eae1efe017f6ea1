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
from typing import TYPE_CHECKING, Any

from .driver import StorageDriver
from .errors import DriverNotInstalledError, InvalidParameterError, InvalidStorageDriverError
from .parameters import Key, KeyTable, brief
from .paths import PATH_RULES

if TYPE_CHECKING:
    from importlib import metadata

    from .backends.options import OptionTable

__all__ = [
    "BUILTIN_DRIVERS",
    "COMMON_KEYS",
    "GENERIC",
    "NATIVE_CLASSES",
    "Builtin",
    "Factory",
    "create",
    "driver_names",
    "from_filesystem",
    "register",
]

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
#: The generic driver over any fsspec filesystem: ``fsspec``, and ``fsspec+<protocol>`` for every protocol.
GENERIC = Builtin("fsspec", "distfs.backends.generic")
_GENERIC_PREFIX = GENERIC.name + "+"
#: The fsspec classes of the built-in drivers (``package.Class``, looked up along the MRO),
#: which :func:`from_filesystem` gives their native store.
NATIVE_CLASSES = {
    "s3fs.S3FileSystem": "s3",
    "gcsfs.GCSFileSystem": "gcs",
    "adlfs.AzureBlobFileSystem": "azure",
    "ossfs.OSSFileSystem": "oss",
    "fsspec.LocalFileSystem": "filesystem",
    "fsspec.MemoryFileSystem": "inmemory",
}
#: The parameters every driver takes: :func:`create` takes them out of the map first.
COMMON_KEYS = KeyTable(
    "every driver",
    (
        Key(
            "paths",
            "string",
            "path rules: `registry` (the registry's pattern `^(/[A-Za-z0-9._-]+)+$`) or `portable` (any UTF-8 "
            "name without control characters, for data sets; see [fsspec, pandas and dask](dataframes.md))",
            "registry",
            choices=PATH_RULES,
        ),
    ),
)
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
        taken = name in _BUILTIN or name == GENERIC.name or name.startswith(_GENERIC_PREFIX)
        if name in _registered or taken or name in _entry_points():
            raise ValueError(f"StorageDriver named {name} already registered")
        _registered[name] = factory


def driver_names() -> list[str]:
    """The sorted names :func:`create` accepts (and ``fsspec+<protocol>`` for any fsspec protocol)."""
    return sorted(set(_BUILTIN) | {GENERIC.name} | set(_registered) | set(_entry_points()))


def create(name: str, parameters: Mapping[str, Any] | None = None) -> StorageDriver:
    """Construct the driver registered as ``name`` from its ``parameters``.

    Every driver also takes ``paths``: ``registry`` (the default, the registry's path
    pattern) or ``portable`` (any UTF-8 name without control characters; see
    :mod:`distfs.paths`).
    """
    build = _factory(name)
    if parameters is not None and not isinstance(parameters, Mapping):
        raise InvalidParameterError(str(name), "parameters", f"must be a mapping, not {type(parameters).__name__}")
    options = dict(parameters or {})
    rules = _path_rules(name, options.pop("paths", "registry"))
    kept = dict(parameters or {})  # a copy, held by the driver alone (never shown)
    return _finish(name, build(options), rules, lambda: create(name, kept))


def from_filesystem(
    fs: Any, root: str = "", *, paths: str = "registry", native: bool = True, **parameters: Any
) -> StorageDriver:
    """The driver of the user's fsspec filesystem instance ``fs`` below ``root``, used as it is.

    ``root`` is a path in ``fs`` (``bucket[/prefix]`` on an object store, a directory
    elsewhere; a protocol prefix is accepted). The classes of the built-in drivers
    (:data:`NATIVE_CLASSES`: s3fs, gcsfs, adlfs, ossfs, local, memory) get their native store
    built from ``fs``'s own configuration (credentials, endpoint, session: nothing
    re-passed); every other filesystem, or any with ``native=False``, the generic store
    (``fsspec+<protocol>``). ``paths`` is as for :func:`create`; ``parameters`` are the
    chosen driver's engine settings (``chunksize``, ``maxretries``, ``timeout``...), any
    other key refused by name. ``driver.reopen()`` gives another driver over the same
    instance.
    """
    from fsspec import AbstractFileSystem

    if not isinstance(fs, AbstractFileSystem):
        raise TypeError(f"from_filesystem needs an fsspec filesystem, not {type(fs).__name__}")
    builtin = _native(fs) if native else None
    name = builtin.name if builtin is not None else GENERIC.name
    rules = _path_rules(name, paths)
    module = importlib.import_module((builtin or GENERIC).module)
    kept = dict(parameters)
    driver = module.from_filesystem(fs, root, kept)
    again = dict(parameters)
    return _finish(name, driver, rules, lambda: from_filesystem(fs, root, paths=paths, native=native, **again))


def _native(fs: Any) -> Builtin | None:
    """The built-in driver of ``fs``'s class (or a base class), if any."""
    for cls in type(fs).__mro__:
        name = NATIVE_CLASSES.get(f"{cls.__module__.partition('.')[0]}.{cls.__name__}")
        if name is not None:
            return _BUILTIN[name]
    return None


def _path_rules(name: str, rules: object) -> str:
    """``paths`` checked against :data:`COMMON_KEYS` (given as ``None`` it is refused too)."""
    choices = COMMON_KEYS.keys[0].choices
    if rules not in choices:
        raise InvalidParameterError(name, "paths", f"must be one of {', '.join(choices)}, got {brief(rules)}")
    return str(rules)


def _finish(name: str, driver: object, rules: str, reopen: Callable[[], StorageDriver]) -> StorageDriver:
    """``driver`` wrapped in Base (if it is not), with its path rules and how to reopen it."""
    from .base import Base

    if not isinstance(driver, StorageDriver):
        raise TypeError(f"factory of {name!r} returned {type(driver).__name__}, not a StorageDriver")
    if not isinstance(driver, Base):
        driver = Base(driver)
    driver.portable_paths = rules == "portable"
    driver.reopen_with(reopen)
    return driver


def _factory(name: str) -> Factory:
    with _lock:
        if name in _registered:
            return _registered[name]
    if name in _BUILTIN:
        return _load(_BUILTIN[name])
    if name == GENERIC.name:
        return _load(GENERIC)
    if isinstance(name, str) and name.startswith(_GENERIC_PREFIX) and len(name) > len(_GENERIC_PREFIX):
        generic = importlib.import_module(GENERIC.module)
        built: Factory = generic.factory_for(name[len(_GENERIC_PREFIX) :])
        return built
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
    from importlib import metadata  # on first use: the built-in names need no package metadata

    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def builtin_keys(builtin: Builtin) -> KeyTable:
    """The parameter table of ``builtin`` (``KEYS`` of its module or of its ``settings`` module)."""
    module = importlib.import_module(builtin.module)
    table: KeyTable | None = getattr(module, "KEYS", None)
    if table is None:
        table = importlib.import_module(builtin.module + ".settings").KEYS
    assert table is not None
    return table


def builtin_options(builtin: Builtin) -> OptionTable:
    """The ``storage_options`` table of ``builtin`` (its parameter table's)."""
    table: OptionTable = builtin_keys(builtin).options  # type: ignore[assignment]
    return table


def option_table(fs: Any) -> OptionTable | None:
    """The ``storage_options`` table of the built-in driver of ``fs``'s class, if it has one."""
    builtin = _native(fs)
    return None if builtin is None else builtin_options(builtin)
