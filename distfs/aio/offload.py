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
import contextlib
import functools
import inspect
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..base import Base
from ..driver import Derived, FileInfo, StorageDriver
from ..errors import WriterConflictError
from .driver import AsyncStorageDriver
from .streams import AsyncReader, AsyncWriter, ThreadedReader, ThreadedWriter
from .walking import WalkStart

__all__ = ["ThreadedDriver"]

T = TypeVar("T")


async def _finished(done: asyncio.Future[bool]) -> bool:
    """Wait for ``done`` through further cancellations; True (the cancellations withdrawn) if it returned True."""
    withdrawn = 1
    while not done.done():
        try:
            await asyncio.wait({done})
        except asyncio.CancelledError:
            withdrawn += 1
    if done.cancelled() or done.exception() is not None or not done.result():
        return False
    task = asyncio.current_task()
    for _ in range(withdrawn if task is not None else 0):
        task.uncancel()  # type: ignore[union-attr]
    return True


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
        """Through a writer, committed only if the awaiting task was not cancelled meanwhile.

        A thread cannot be stopped: cancelling the task marks the put, whose thread then
        cancels the upload instead of committing, and the task waits for the thread. A task
        that ends cancelled published nothing; a cancellation that arrives once the commit
        has begun is too late, and the put returns normally (the cancellation withdrawn).
        While another writer of the path is open (a second concurrent put), the driver's
        own ``put_content`` runs, unless cancelled before it starts.
        """
        cancelled = threading.Event()

        def put() -> bool:
            try:
                writer = self._inner.writer(path)
            except WriterConflictError:
                if cancelled.is_set():
                    return False
                self._inner.put_content(path, content)
                return True
            try:
                writer.write(content)
                if cancelled.is_set():
                    writer.cancel()
                    return False
                writer.commit()
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.cancel()
                raise
            writer.close()
            return True

        done = asyncio.get_running_loop().run_in_executor(self._pool, put)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            cancelled.set()
            if not await _finished(done):
                raise

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

    async def _derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """The synchronous driver's ``method`` (its own, or its default over its methods), in a thread."""
        return await self.bound(lambda: self.offload(method.call, self._inner, arguments))

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
