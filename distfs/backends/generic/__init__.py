"""``fsspec`` and ``fsspec+<protocol>``: any fsspec filesystem as a StorageDriver.

``distfs.create("fsspec", {"protocol": "sftp", "root": "/srv/registry", "storage_options":
{...}})`` (or ``create("fsspec+sftp", {...})``) and ``distfs.from_filesystem(fs,
native=False)`` give the object-store engine (:mod:`distfs.engine`) over one
:class:`~.store.FsspecStore`: the whole StorageDriver contract over what the backend offers,
with what it lacks emulated and declared in ``driver.capabilities`` (see :mod:`.store`).
The driver's name, in every error, is ``fsspec+<protocol>``. A read-only backend (a zip
archive, HTTP) gives a driver whose reads and listings work and whose writes raise
``UnsupportedMethodError`` naming the driver and the path. Parameters: :mod:`.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ... import paths
from ...base import Base
from ...driver import FileWriter
from ...engine import Engine, ObjectStoreDriver
from ...errors import DriverNotInstalledError, InvalidParameterError, UnsupportedMethodError
from ..options import redact
from .settings import ENGINE_KEYS, GenericSettings, engine_settings, target_settings
from .store import FsspecStore
from .traits import Traits, protocol_of, traits_of

__all__ = [
    "ENGINE_KEYS",
    "FsspecStore",
    "ReadOnlyDriver",
    "Traits",
    "build_driver",
    "check_root",
    "driver_over",
    "factory",
    "factory_for",
    "from_filesystem",
    "raw_filesystem",
    "traits_of",
]

#: The extra that installs a protocol's backend, where distfs has one.
EXTRAS = {"sftp": "sftp", "ssh": "sftp", "s3": "s3", "gcs": "gcs", "gs": "gcs", "abfs": "azure", "oss": "oss"}


class ReadOnlyDriver(ObjectStoreDriver):
    """The engine's driver over a read-only store: every write is UnsupportedMethodError."""

    def _refuse(self, method: str, path: str) -> UnsupportedMethodError:
        return UnsupportedMethodError(self.name, f"{method} {path}: the backend is read-only")

    def put_content(self, path: str, content: bytes) -> None:
        raise self._refuse("put_content", path)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        raise self._refuse("writer", path)

    def move(self, source: str, dest: str) -> None:
        raise self._refuse("move", source)

    def delete(self, path: str) -> None:
        raise self._refuse("delete", path)

    def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        raise self._refuse("delete", paths[0] if paths else "/")


def check_root(name: str, root: str) -> None:
    """InvalidParameterError for a ``root`` inside distfs's hidden state."""
    if paths.HIDDEN in root.replace("\\", "/").split("/"):
        reason = f"must not lie inside another root's {paths.HIDDEN} (distfs's own state)"
        raise InvalidParameterError(name, "root", reason)


def driver_over(fs: Any, root: str, settings: GenericSettings, name: str = "", traits: Traits | None = None) -> Base:
    """The generic driver of ``fs`` below ``root`` (``name``: ``fsspec+<protocol>`` unless given)."""
    name = name or "fsspec+" + protocol_of(fs)
    check_root(name, root)
    store = FsspecStore(
        fs,
        root,
        name=name,
        timeout=settings.timeout,
        chunk=settings.chunksize,
        secrets=settings.storage_options.values(),
        traits=traits,
    )
    return build_driver(store, settings)


def build_driver(
    store: FsspecStore, settings: GenericSettings, kind: type[ObjectStoreDriver] = ObjectStoreDriver, reopen: Any = None
) -> Base:
    """The engine's driver (``kind``; read-only where the store is) over ``store``, in Base."""
    engine = Engine(store, retries=settings.maxretries, chunk=settings.chunksize, read_block=settings.chunksize)
    kind = ReadOnlyDriver if store.traits.read_only else kind
    return Base(kind(engine), max_concurrency=settings.maxconcurrency, reopen=reopen)


def filesystem(name: str, settings: GenericSettings) -> Any:
    """A private fsspec filesystem of ``settings.protocol`` made with ``settings.storage_options``."""
    import fsspec

    options = dict(settings.storage_options)
    try:
        cls = fsspec.get_filesystem_class(settings.protocol)
    except ImportError as exc:
        extra = EXTRAS.get(settings.protocol, "")
        if extra:
            raise DriverNotInstalledError(name, extra, getattr(exc, "name", "") or "") from None
        raise InvalidParameterError(name, "protocol", f"its backend is not installed: {exc}") from None
    except ValueError:
        raise InvalidParameterError(name, "protocol", f"unknown fsspec protocol {settings.protocol!r}") from None
    try:
        return cls(**options, skip_instance_cache=True)
    except Exception as exc:
        message = redact(str(exc), options.values())
        raise InvalidParameterError(name, "storage_options", f"{type(exc).__name__}: {message}") from None


def _create(parameters: Mapping[str, Any], protocol: str = "") -> Base:
    name = "fsspec+" + protocol if protocol else "fsspec"
    settings = target_settings(name, parameters, protocol)
    name = "fsspec+" + settings.protocol
    return driver_over(filesystem(name, settings), settings.root, settings, name)


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``fsspec`` driver: ``protocol``, ``root``, ``storage_options`` and the engine's keys."""
    return _create(parameters)


def factory_for(protocol: str) -> Any:
    """The factory of ``fsspec+<protocol>`` (``protocol`` implied; the parameters as ``fsspec``'s)."""

    def build(parameters: Mapping[str, Any]) -> Base:
        return _create(parameters, protocol)

    return build


def from_filesystem(fs: Any, root: str, parameters: Mapping[str, Any]) -> Base:
    """The generic driver of the user's instance ``fs`` below ``root``, used as it is.

    ``parameters`` are the engine's keys only (:data:`ENGINE_KEYS`): the filesystem is
    already configured.
    """
    name = "fsspec+" + protocol_of(fs)
    return driver_over(fs, root, engine_settings(name, parameters), name)


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw filesystem of these parameters and its root (for ``distfs probe`` and ``bench``)."""
    settings = target_settings("fsspec", parameters)
    return filesystem("fsspec+" + settings.protocol, settings), settings.root
