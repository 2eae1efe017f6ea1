"""Synchronous drivers (``filesystem``, ``inmemory``, third-party ones) as async drivers, through threads.

:class:`ThreadedDriver` runs each call of the synchronous driver, and each read and write
of its streams, in a pool of at most :attr:`~distfs.aio.driver.AsyncStorageDriver.max_concurrency`
threads of its own (never the loop's default executor), under the same semaphore as every
async driver: however many tasks await it, that many calls run at once, at most. A walk
runs the driver's own walk in a thread of its own (:mod:`distfs.aio.walking`).
"""

from __future__ import annotations

import asyncio
import builtins
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..base import Base
from ..driver import FileInfo, StorageDriver
from .driver import AsyncStorageDriver
from .streams import AsyncReader, AsyncWriter, ThreadedReader, ThreadedWriter
from .walking import WalkStart

__all__ = ["ThreadedDriver"]

T = TypeVar("T")


class ThreadedDriver(AsyncStorageDriver):
    """``inner`` (a synchronous driver, arguments validated by this class) run in bounded threads."""

    def __init__(self, base: Base, inner: StorageDriver) -> None:
        super().__init__(base)
        self._inner = inner
        self._pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="distfs-aio")

    async def offload(self, call: Callable[..., T], *arguments: Any) -> T:
        """``call(*arguments)`` in one of the driver's threads (takes no slot: callers hold one)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(call, *arguments))

    async def _get_content(self, path: str) -> bytes:
        return await self.offload(self._inner.get_content, path)

    async def _put_content(self, path: str, content: bytes) -> None:
        await self.offload(self._inner.put_content, path, content)

    async def _reader(self, path: str, offset: int) -> AsyncReader:
        stream = await self.offload(self._inner.reader, path, offset)
        return ThreadedReader(stream, self.bound, self.offload)

    async def _writer(self, path: str, append: bool) -> AsyncWriter:
        writer = await self.offload(self._inner.writer, path, append)
        return ThreadedWriter(writer, self.bound, self.offload)

    async def _stat(self, path: str) -> FileInfo:
        return await self.offload(self._inner.stat, path)

    async def _list(self, path: str) -> builtins.list[str]:
        return await self.offload(self._inner.list, path)

    async def _move(self, source: str, dest: str) -> None:
        await self.offload(self._inner.move, source, dest)

    async def _delete(self, path: str) -> None:
        await self.offload(self._inner.delete, path)

    async def _delete_many(self, paths: builtins.list[str], files_only: bool) -> None:
        await self.offload(functools.partial(self._inner.delete_many, paths, files_only=files_only))

    async def _redirect_url(self, path: str, method: str, expires: int | None) -> str | None:
        keywords = {} if expires is None else {"expires": expires}  # a third-party driver may not know it
        return await self.offload(functools.partial(self._inner.redirect_url, path, method, **keywords))

    def _walk_start(self, path: str, start_after_hint: str) -> WalkStart:
        inner = self._inner

        def start(fn: Any, runner: Any) -> None:
            inner.walk(path, fn, start_after_hint=start_after_hint)

        return start

    async def _close(self) -> None:
        self._pool.shutdown(wait=False)
