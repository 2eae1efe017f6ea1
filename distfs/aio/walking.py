"""Async walks: the synchronous walk logic, run in a thread and handed over entry by entry.

A walk is :func:`distfs.walk.walk_flat` over the engine's pages (object stores) or the
synchronous driver's own walk (offloaded drivers), run in a thread of its own; every
request it makes on an object store still runs on the caller's event loop (the thread
only holds the walk's position). :class:`WalkIterator` hands the entries over in the
walk's key order:

* ``async for info in driver.iter_walk(path)`` yields every file and directory below
  ``path``; :meth:`WalkIterator.skip` right after a directory was yielded skips its
  contents (the sync API's ``SkipDir``; after a file it does nothing); leaving the loop
  (``break``) and closing the iterator (``await it.aclose()``, or ``async with``) is the
  sync API's ``StopWalk``. The walk reads ahead at most :data:`READ_AHEAD` files, and
  pauses at each directory until the consumer asked for the next entry (so that a skip
  is seen in time).
* ``await driver.walk(path, fn)`` calls ``fn`` (sync or async) for each entry; ``fn``
  raises :class:`~distfs.driver.SkipDir` or :class:`~distfs.driver.StopWalk` as in the
  sync API; any other error ends the walk and reaches the caller named as the sync API
  names it (a foreign exception becomes a ``DriverError`` chained to it).

Each running walk holds one thread (a walk takes no concurrency slot while ``fn`` runs,
as in the sync API, so that ``fn`` may call the driver; its listing requests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any

from ..base import _as_driver_error
from ..driver import FileInfo, SkipDir, StopWalk, WalkFn

__all__ = ["READ_AHEAD", "AsyncWalkFn", "WalkIterator", "WalkStart", "drive"]

#: Entries the walk thread may run ahead of the consumer.
READ_AHEAD = 1024

Runner = Callable[[Coroutine[Any, Any, Any]], Any]
#: Runs the synchronous walk with a callback; the runner runs a coroutine on the caller's loop.
WalkStart = Callable[[WalkFn, Runner], None]
AsyncWalkFn = Callable[[FileInfo], "Awaitable[None] | None"]

_END = object()


class WalkIterator:
    """An async iterator of the entries of one walk (see the module docstring)."""

    def __init__(self, start: WalkStart, driver_name: str) -> None:
        self._start = start
        self.driver_name = driver_name
        self._items: asyncio.Queue[object] | None = None
        self._replies: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: skip the directory
        self._credits = threading.Semaphore(READ_AHEAD)
        self._waiting = False  # the walk thread waits for a reply about the last directory
        self._skip = False
        self._stopped = False  # the consumer is gone: the thread ends the walk
        self._done = False

    def __aiter__(self) -> WalkIterator:
        return self

    async def __anext__(self) -> FileInfo:
        if self._done:
            raise StopAsyncIteration
        if self._items is None:
            self._begin()
        else:
            self._reply(self._skip)
        assert self._items is not None
        item = await self._items.get()
        self._credits.release()
        self._skip = False
        if item is _END:
            self._done = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._done = True
            raise item
        assert isinstance(item, FileInfo)
        self._waiting = item.is_dir
        return item

    def skip(self) -> None:
        """Do not descend into the directory just yielded (nothing happens after a file)."""
        self._skip = True

    async def aclose(self) -> None:
        """End the walk (the sync API's ``StopWalk``) and wait for its thread to finish."""
        if self._done:
            return
        self._done = True
        if self._items is None:
            return
        self._stopped = True
        self._reply(False)
        self._credits.release(READ_AHEAD)
        while True:
            item = await self._items.get()
            if item is _END or isinstance(item, BaseException):
                return
            if isinstance(item, FileInfo) and item.is_dir:
                self._replies.put(False)

    async def __aenter__(self) -> WalkIterator:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if self._waiting or not self._done:  # abandoned: let the thread end
            self._stopped = True
            self._replies.put(False)
            self._credits.release(READ_AHEAD)

    def _reply(self, skip: bool) -> None:
        if self._waiting:
            self._waiting = False
            self._replies.put(skip)

    def _begin(self) -> None:
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[object] = asyncio.Queue()
        self._items = items

        def put(item: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                loop.call_soon_threadsafe(items.put_nowait, item)

        def fn(info: FileInfo) -> None:
            self._credits.acquire()
            if self._stopped:
                raise StopWalk
            put(info)
            if info.is_dir and self._replies.get():
                raise SkipDir
            if self._stopped:
                raise StopWalk

        def runner(coroutine: Coroutine[Any, Any, Any]) -> Any:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

        def main() -> None:
            try:
                self._start(fn, runner)
            except Exception as exc:
                put(_as_driver_error(exc, self.driver_name))
            except BaseException as exc:  # pragma: no cover - KeyboardInterrupt in the thread
                put(exc)
            else:
                put(_END)

        threading.Thread(target=main, name="distfs-walk", daemon=True).start()


async def drive(entries: WalkIterator, fn: AsyncWalkFn) -> None:
    """Call ``fn`` (sync or async) on every entry; SkipDir, StopWalk and errors as in the sync API."""
    async with entries:
        async for info in entries:
            try:
                result = fn(info)
                if inspect.isawaitable(result):
                    await result
            except SkipDir:
                entries.skip()
            except StopWalk:
                return
            except Exception as exc:
                error = _as_driver_error(exc, entries.driver_name)
                if error is exc:
                    raise
                raise error from exc
