"""distfs.aio: the StorageDriver contract as coroutines, on the same engine as the sync API.

::

    import distfs.aio

    driver = await distfs.aio.create("s3", {"bucket": "registry", "region": "eu-west-1"})
    await driver.put_content("/a/b", b"hello")
    async with await driver.reader("/a/b") as stream:
        async for chunk in stream:
            ...
    async for info in driver.iter_walk("/a"):
        ...
    await driver.close()

:func:`create` takes the same names and parameters as :func:`distfs.create` (it builds
that driver and keeps its validation and error naming). Object stores (s3, gcs, azure,
oss) await the engine's coroutines on the caller's loop (:class:`~.driver.EngineDriver`);
``filesystem``, ``inmemory`` and third-party synchronous drivers run in a bounded pool of
threads (:class:`~.offload.ThreadedDriver`). Either way at most
``driver.max_concurrency`` requests run at once (see :mod:`distfs.aio.driver`).
:func:`blocking` turns an async driver back into a synchronous one (each call run on an
event-loop thread of its own): that is how the conformance suite tests this package.

The faces over the engine (``distfs://``, docs/extension.md) reach it only through this
module: :func:`engine_driver` (the engine's async driver of an object store, else None),
:func:`run` (a coroutine run on the engine's loop thread, from synchronous code) and
:func:`awaiting` (the same from any other event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..base import Base
from ..driver import StorageDriver
from ..engine.driver import ObjectStoreDriver
from ..engine.loop import awaiting, run
from ..factory import create as create_sync
from .blocking import BlockingDriver, blocking
from .driver import DEFAULT_CONCURRENCY, AsyncStorageDriver, EngineDriver
from .offload import ThreadedDriver
from .streams import AsyncReader, AsyncWriter
from .walking import WalkIterator

__all__ = [
    "DEFAULT_CONCURRENCY",
    "AsyncReader",
    "AsyncStorageDriver",
    "AsyncWriter",
    "BlockingDriver",
    "EngineDriver",
    "WalkIterator",
    "awaiting",
    "blocking",
    "create",
    "engine_driver",
    "run",
    "wrap",
]


async def create(name: str, parameters: Mapping[str, Any] | None = None) -> AsyncStorageDriver:
    """The async driver ``name`` with ``parameters``: what :func:`distfs.create` builds, as coroutines.

    Building a driver may import its SDK and touch the disk, so it runs in a thread.
    """
    driver = await asyncio.to_thread(create_sync, name, parameters)
    return wrap(driver)


def wrap(driver: StorageDriver) -> AsyncStorageDriver:
    """The async driver over ``driver`` (from :func:`distfs.create` or :func:`distfs.from_config`).

    An object store's engine is awaited directly; any other driver (also one wrapped in
    middleware, and the engine over a ``blocking`` store such as ``filesystem``, whose
    system calls must not hold up the event loop) runs through threads. Use only the
    async driver afterwards: a store keeps its SDK clients for one event loop at a time.
    """
    base = driver if isinstance(driver, Base) else Base(driver)
    return _engine_driver(base) or ThreadedDriver(base, base.inner)


def engine_driver(driver: StorageDriver) -> EngineDriver | None:
    """The async driver awaiting ``driver``'s engine directly, or None when :func:`wrap` would use threads.

    None for a driver that is not an object store's (``filesystem``, ``inmemory``, third-party
    drivers, middleware) and for the engine over a ``blocking`` store.
    """
    return _engine_driver(driver if isinstance(driver, Base) else Base(driver))


def _engine_driver(base: Base) -> EngineDriver | None:
    inner = base.inner
    if isinstance(inner, ObjectStoreDriver) and not getattr(inner.engine.store, "blocking", False):
        return EngineDriver(base, inner.engine)
    return None
