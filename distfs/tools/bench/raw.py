"""The raw fsspec side of a driver: the same store and key prefix, through fsspec itself.

The one module of the bench that reaches into the engine (:class:`~distfs.engine.ObjectStoreDriver`,
the generic store's :class:`~distfs.backends.generic.FsspecStore`): a comparison with raw
fsspec needs the very filesystem instance (and key prefix) a driver wraps.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ... import factory
from ...backends.generic import FsspecStore
from ...base import Base
from ...driver import StorageDriver
from ...engine import ObjectStoreDriver
from ...engine.loop import run
from ...errors import DriverError
from .plan import NO_RAW

__all__ = ["Raw", "bulk_put", "raw_of", "raw_side", "s3_events"]


@dataclass
class Raw:
    """The raw fsspec side of a driver: the same store and key prefix, through fsspec itself.

    ``key(path)`` is the key of driver path ``path``; ``make_parents(key)`` creates the
    directories a local filesystem needs; ``chunk`` is the unit the driver buffers by.
    """

    fs: Any
    key: Callable[[str], str]
    make_parents: Callable[[str], None]
    chunk: int


def raw_of(driver: StorageDriver, parameters: dict[str, Any]) -> Raw | None:
    """The raw side of a driver from :func:`distfs.create` (``parameters``: the driver's).

    None where there is none: a driver neither over the generic store nor built in.
    """
    inner = driver.unwrap() if isinstance(driver, Base) else driver
    if isinstance(inner, ObjectStoreDriver) and isinstance(inner.engine.store, FsspecStore):
        # the generic store (inmemory among them): its own filesystem instance, which may be
        # private to the driver (inmemory's), so the raw side sees what the driver wrote
        engine, store = inner.engine, inner.engine.store
        return Raw(store.fs, lambda path: store.full(engine.key(path)), lambda key: None, engine.chunk)
    if isinstance(inner, ObjectStoreDriver):
        from fsspec.dircache import DirCache

        builtin = factory.BUILTIN_DRIVERS.get(driver.name)
        if builtin is None:
            return None
        fs, root = importlib.import_module(builtin.module).raw_filesystem(parameters)
        if not type(fs).__module__.startswith("ossfs"):  # ossfs reads its own listings back from the cache
            fs.dircache = DirCache(use_listings_cache=False)  # as the driver: no stale listings
        prefix = root.rstrip("/")
        make_parents: Callable[[str], None] = lambda key: None  # noqa: E731 - object stores have no directories
        if inner.capabilities.empty_directories:  # real directories (filesystem): made as the driver makes them
            make_parents = lambda key: fs.makedirs(fs._parent(key), exist_ok=True)  # noqa: E731
        return Raw(fs, lambda path: prefix + path, make_parents, inner.engine.chunk)
    return None


def raw_side(driver: StorageDriver, parameters: dict[str, Any]) -> Raw:
    """:func:`raw_of` for workloads that need a raw side: DriverError (:data:`NO_RAW`) without one."""
    raw = raw_of(driver, parameters)
    if raw is None:
        raise DriverError(NO_RAW, driver.name)
    return raw


def s3_events(driver: StorageDriver) -> Any:
    """The botocore event hooks of an s3 driver's client (None for other drivers)."""
    inner = driver.unwrap() if isinstance(driver, Base) else driver
    client = getattr(getattr(inner, "engine", None), "store", None)
    if client is None or not hasattr(client, "client"):
        return None
    return run(client.client()).meta.events


def bulk_put(raw: Raw, items: dict[str, bytes]) -> None:
    """Create many objects fast through raw fsspec (not part of any measurement)."""
    fs = raw.fs
    for key in items:
        raw.make_parents(key)
    if getattr(fs, "async_impl", False):
        fs.pipe(items)
        return
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: fs.pipe_file(*item), items.items()))
