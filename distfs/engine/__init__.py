"""The object-store engine: every guarantee of the contract written once, for every object store.

Layers, each importing only the ones below it::

    driver.py   ObjectStoreDriver: the synchronous StorageDriver (runs the coroutines on loop.py)
    writer.py   Session: the journaled resumable writer
    core.py     Engine: delete, move, copy, redirects (the namespace changes), over
    reads.py    EngineReads: content, pinned reads, stat, listings, over
    policy.py   EnginePolicy: keys below the root, the one error mapping, retries
    seam.py     Store: the typed primitives one backend module supplies (its only import from here)

A backend module builds its :class:`~distfs.engine.seam.Store` and hands it to :func:`build`.
"""

from __future__ import annotations

from ..base import Base
from .core import Engine
from .driver import ObjectStoreDriver
from .seam import Store

__all__ = ["Engine", "ObjectStoreDriver", "build"]


def build(
    store: Store,
    *,
    root: str = "",
    retries: int,
    chunk: int,
    read_block: int = 8 << 20,
    max_concurrency: int | None = None,
) -> Base:
    """The driver ``distfs.create`` returns for ``store``: the engine, wrapped in :class:`~distfs.base.Base`."""
    engine = Engine(store, root=root, retries=retries, chunk=chunk, read_block=read_block)
    return Base(ObjectStoreDriver(engine), max_concurrency=max_concurrency)
