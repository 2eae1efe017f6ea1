"""Strategies a store may build its primitives from, written once (OpenDAL's ``oio`` shared writers).

A backend module imports these beside :mod:`distfs.engine.seam`; they use only the
store's own seam primitives, never the engine.
"""

from __future__ import annotations

import asyncio
import contextlib

from .seam import ObjectInfo, Part, Store

__all__ = ["copy_in_parts"]


async def copy_in_parts(store: Store, source: ObjectInfo, dest: str, *, chunk: int, concurrency: int) -> None:
    """Copy ``source`` onto ``dest`` as a multipart upload of server-side part copies.

    For objects larger than the store's single copy takes. Parts of ``chunk`` bytes are
    copied ``concurrency`` at a time, each pinned to ``source.version``; on any failure the
    upload is aborted and ``dest`` is untouched.
    """
    upload = await store.create_upload(dest, "")
    slots = asyncio.Semaphore(concurrency)

    async def part(number: int) -> Part:
        start = (number - 1) * chunk
        async with slots:
            return await store.copy_part(upload, number, source, start, min(start + chunk, source.size))

    try:
        parts = await asyncio.gather(*(part(n) for n in range(1, -(-source.size // chunk) + 1)))
        await store.complete_upload(upload, parts)
    except BaseException:
        with contextlib.suppress(Exception):  # the copy's own failure is the one to report
            await store.abort_upload(upload)
        raise
