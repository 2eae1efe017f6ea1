"""A synchronous facade over an async driver: each call runs on an event-loop thread of its own.

:func:`blocking` makes a :class:`~distfs.driver.StorageDriver` whose every method awaits
the async driver's method on a dedicated loop thread (``distfs-aio-blocking``), so that
the conformance suite (:mod:`distfs.testing`), whose cases are synchronous, tests the
async code path: its reader is an :class:`io.BufferedReader` over the
:class:`~distfs.aio.streams.AsyncReader`'s ``readinto``/``seek``, its writer forwards to
the :class:`~distfs.aio.streams.AsyncWriter`, and its ``walk`` drives
:meth:`~distfs.aio.driver.AsyncStorageDriver.iter_walk` from the calling thread (a
``SkipDir`` becomes ``skip()``, a ``StopWalk`` closes the iterator), so ``fn`` may call
the driver. ``distfs check --async`` uses it too.

Given a ``runner`` instead, the facade runs each call with it: that is how an async driver
runs the default of a contract method over its own coroutines, from a thread, on the
caller's loop (:meth:`~distfs.aio.driver.AsyncStorageDriver._derived`). A contract method
with a default (:func:`distfs.driver.derived`) is the async driver's method of that name.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import io
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar

from ..capabilities import Capabilities
from ..driver import Derived, FileInfo, FileWriter, SkipDir, StopWalk, StorageDriver, WalkFn

if TYPE_CHECKING:
    from .driver import AsyncStorageDriver
    from .streams import AsyncReader, AsyncWriter

__all__ = ["BlockingDriver", "Runner", "blocking"]

T = TypeVar("T")


class Runner(Protocol):
    """Runs one coroutine to its end from a synchronous thread and returns its result."""

    def __call__(self, coroutine: Coroutine[Any, Any, T], /) -> T: ...


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="distfs-aio-blocking", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a blocking call was made on the facade's own event-loop thread")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class BlockingDriver(StorageDriver):
    """``driver`` (async) as a synchronous StorageDriver (see the module docstring)."""

    def __init__(self, driver: AsyncStorageDriver, runner: Runner | None = None) -> None:
        self.driver = driver
        self._loop: _LoopThread | None = None
        if runner is None:
            self._loop = _LoopThread()
            runner = self._loop.run
        self._run = runner

    @property
    def name(self) -> str:
        return self.driver.name

    @property
    def capabilities(self) -> Capabilities:
        return self.driver.capabilities

    def __repr__(self) -> str:
        return f"<blocking {self.driver!r}>"

    def get_content(self, path: str) -> bytes:
        return self._run(self.driver.get_content(path))

    def put_content(self, path: str, content: bytes) -> None:
        self._run(self.driver.put_content(path, content))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        stream = self._run(self.driver.reader(path, offset))
        return io.BufferedReader(_Raw(stream, self._run), buffer_size=max(stream.chunk_size, 1 << 16))

    def writer(self, path: str, append: bool = False) -> FileWriter:
        return _Writer(self._run(self.driver.writer(path, append)), self._run)

    def stat(self, path: str) -> FileInfo:
        return self._run(self.driver.stat(path))

    def list(self, path: str) -> builtins.list[str]:
        return self._run(self.driver.list(path))

    def move(self, source: str, dest: str) -> None:
        self._run(self.driver.move(source, dest))

    def delete(self, path: str) -> None:
        self._run(self.driver.delete(path))

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        return self._run(self.driver.redirect_url(path, method, expires))

    def _run_derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        return self._run(method.call(self.driver, arguments))

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        entries = self.driver.iter_walk(path, start_after_hint=start_after_hint)
        try:
            while True:
                try:
                    info = self._run(_next(entries))
                except StopAsyncIteration:
                    return
                try:
                    fn(info)
                except SkipDir:
                    entries.skip()
                except StopWalk:
                    return
        finally:
            self._run(entries.aclose())

    def close(self) -> None:
        """Close the async driver and stop the loop thread (a facade given a runner: just close)."""
        self._run(self.driver.close())
        if self._loop is not None:
            self._loop.stop()


async def _next(entries: Any) -> Any:
    return await entries.__anext__()


class _Raw(io.RawIOBase):
    """An AsyncReader as a raw stream (the facade wraps it in an io.BufferedReader)."""

    def __init__(self, stream: AsyncReader, run: Runner) -> None:
        super().__init__()
        self._stream = stream
        self._run = run

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._run(self._stream.readinto(buffer))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._run(self._stream.seek(offset, whence))

    def tell(self) -> int:
        return self._stream.tell()

    def close(self) -> None:
        if not self.closed:
            self._run(self._stream.close())
        super().close()


class _Writer(FileWriter):
    """An AsyncWriter as a FileWriter."""

    def __init__(self, writer: AsyncWriter, run: Runner) -> None:
        self._writer = writer
        self._run = run

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self._run(self._writer.write(data))

    @property
    def size(self) -> int:
        return self._writer.size

    @property
    def closed(self) -> bool:
        return self._writer.closed

    def close(self) -> None:
        self._run(self._writer.close())

    def cancel(self) -> None:
        self._run(self._writer.cancel())

    def commit(self) -> None:
        self._run(self._writer.commit())


def blocking(driver: AsyncStorageDriver) -> BlockingDriver:
    """A synchronous facade over ``driver`` (see the module docstring)."""
    return BlockingDriver(driver)
