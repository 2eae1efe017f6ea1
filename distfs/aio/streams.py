"""The async reader and writer of ``distfs.aio``: the sync stream contracts, as coroutines.

:class:`AsyncReader` is what ``await driver.reader(path, offset)`` returns: ``read``,
``readinto``, ``seek`` (coroutines), ``tell()``, ``async for chunk in reader`` (chunks of
up to :attr:`AsyncReader.chunk_size` bytes) and ``async with``. Like the synchronous
reader it reads one version of the object: the object being replaced meanwhile is
:class:`~distfs.errors.ObjectChangedError`, never a mix. An offset or a seek past the end
reads ``b""``.

:class:`AsyncWriter` is what ``await driver.writer(path, append)`` returns: ``write``,
``commit``, ``close``, ``cancel`` (coroutines), ``size``, ``closed`` and ``async with``
(closed, i.e. suspended, when the block ends unless committed or cancelled), with the
:class:`~distfs.driver.FileWriter` state rules and resume semantics.

Each read that fetches and each write that uploads takes one of the driver's
concurrency slots for the duration of that request only.

The engine-backed classes reuse the synchronous readers' and writers' logic
(:class:`~distfs.engine.driver.Cursor`, :class:`~distfs.engine.writer.Session`,
:class:`~distfs.writers.WriterRules`); the threaded ones wrap a synchronous driver's
streams (see :mod:`distfs.aio.offload`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, BinaryIO, TypeVar

from ..driver import FileWriter
from ..engine.driver import Cursor
from ..engine.writer import Session
from ..writers import WriterRules

__all__ = ["AsyncReader", "AsyncWriter", "Bound", "PinnedAsyncReader", "SessionAsyncWriter"]

T = TypeVar("T")

#: Runs one request under a concurrency slot of the driver, naming the driver in its errors.
Bound = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class AsyncReader(abc.ABC):
    """A readable, seekable async stream of one object from an offset (see the module docstring)."""

    #: The size of the chunks ``async for`` yields.
    chunk_size: int = 1 << 20

    @abc.abstractmethod
    async def readinto(self, buffer: Any) -> int:
        """Read into ``buffer`` (a writable bytes-like object); the count, 0 at the end."""

    @abc.abstractmethod
    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` relative to ``whence`` (0, 1, 2: the start, here, the end); the new position."""

    @abc.abstractmethod
    def tell(self) -> int:
        """The absolute position in the object."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the stream (reading afterwards fails)."""

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (fewer only at the end); everything left when ``size`` is negative."""
        if size < 0:
            chunks = []
            while chunk := await self.read(self.chunk_size):
                chunks.append(chunk)
            return b"".join(chunks)
        buffer = bytearray(size)
        view = memoryview(buffer)
        filled = 0
        while filled < size:
            count = await self.readinto(view[filled:])
            if not count:
                break
            filled += count
        del view
        del buffer[filled:]
        return bytes(buffer)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(self.chunk_size):
            yield chunk

    async def __aenter__(self) -> AsyncReader:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncWriter(abc.ABC):
    """A resumable async writer (see the module docstring and :class:`~distfs.driver.FileWriter`)."""

    @abc.abstractmethod
    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``: all of it is accepted (the count) or none (an error)."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Bytes accepted by this writer, including those persisted before a resume."""

    @property
    @abc.abstractmethod
    def closed(self) -> bool:
        """True once the writer was closed, committed-and-closed or cancelled."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Suspend (persist everything written); after ``commit``, just release."""

    @abc.abstractmethod
    async def commit(self) -> None:
        """Publish the content at the path, replacing what was there."""

    @abc.abstractmethod
    async def cancel(self) -> None:
        """Discard everything written, including the suspended upload state."""

    async def __aenter__(self) -> AsyncWriter:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.closed:
            await self.close()


# -- on the engine ----------------------------------------------------------------------


class PinnedAsyncReader(AsyncReader):
    """The engine's pinned reader as coroutines: a :class:`~distfs.engine.driver.Cursor` fetched under ``bound``."""

    def __init__(self, cursor: Cursor, bound: Bound, chunk_size: int) -> None:
        self._cursor = cursor
        self._bound = bound
        self._closed = False
        self.chunk_size = chunk_size

    async def readinto(self, buffer: Any) -> int:
        if self._closed:
            raise ValueError("read of a closed reader")
        view = memoryview(buffer).cast("B")
        cursor = self._cursor
        count = cursor.take(view)
        if count is None:
            await self._bound(lambda: cursor.fill(len(view)))
            count = cursor.take(view)
        return count or 0

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._closed:
            raise ValueError("seek of a closed reader")
        return self._cursor.seek(offset, whence)

    def tell(self) -> int:
        return self._cursor.position

    async def close(self) -> None:
        self._closed = True
        self._cursor.clear()


class SessionAsyncWriter(WriterRules, AsyncWriter):
    """The engine's journaled :class:`~distfs.engine.writer.Session` with the FileWriter state rules."""

    def __init__(self, session: Session, path: str, driver_name: str, bound: Bound) -> None:
        super().__init__(path, driver_name)
        self._session = session
        self._bound = bound

    @property
    def size(self) -> int:
        return self._session.size

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        self._require_open()
        count: int = await self._bound(lambda: self._session.write(data))
        return count

    async def close(self) -> None:
        if self._closing():
            await self._bound(self._session.close)
            self._state = "closed"

    async def commit(self) -> None:
        self._require_open()
        self._state = "closed"  # a failed commit leaves the upload suspended, not lost
        await self._bound(self._session.commit)
        self._state = "committed"

    async def cancel(self) -> None:
        self._require_open()
        self._state = "cancelled"
        await self._bound(self._session.cancel)


# -- over a synchronous driver's streams -------------------------------------------------

Offload = Callable[..., Awaitable[Any]]


class ThreadedReader(AsyncReader):
    """A synchronous driver's reader, each call run in the driver's threads under ``bound``.

    A read cancelled while its thread is reading loses nothing: the thread finishes, and
    the bytes it took from the stream are the start of the next read.
    """

    def __init__(self, stream: BinaryIO, bound: Bound, offload: Offload) -> None:
        self._stream = stream
        self._bound = bound
        self._offload = offload
        self._pending: asyncio.Future[bytes] | None = None  # a cancelled read still running
        self._carry = b""  # bytes read from the stream, not yet returned

    async def _settle(self) -> None:
        """Wait for a cancelled read's thread; its bytes join :attr:`_carry` (its error is raised)."""
        if self._pending is not None:
            data = await asyncio.shield(self._pending)  # cancelled again: still pending
            self._pending = None
            self._carry += data

    async def _fetch(self, size: int) -> bytes:
        fetch = asyncio.ensure_future(self._bound(lambda: self._offload(self._stream.read, size)))
        try:
            data: bytes = await asyncio.shield(fetch)
        except asyncio.CancelledError:
            self._pending = fetch
            raise
        return data

    async def readinto(self, buffer: Any) -> int:
        data = await self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    async def read(self, size: int = -1) -> bytes:
        await self._settle()
        if self._carry and size >= 0:
            data, self._carry = self._carry[:size], self._carry[size:]
            return data
        data = await self._fetch(size)
        if self._carry:  # size < 0: everything left, after what a cancelled read took
            data, self._carry = self._carry + data, b""
        return data

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        await self._settle()
        if whence == io.SEEK_CUR:
            offset -= len(self._carry)
        self._carry = b""
        position: int = await self._bound(lambda: self._offload(self._stream.seek, offset, whence))
        return position

    def tell(self) -> int:
        return self._stream.tell() - len(self._carry)

    async def close(self) -> None:
        if self._pending is not None:
            with contextlib.suppress(BaseException):
                await self._pending
            self._pending = None
        await self._offload(self._stream.close)


class ThreadedWriter(AsyncWriter):
    """A synchronous driver's writer (its own state rules), each call run in the driver's threads."""

    def __init__(self, writer: FileWriter, bound: Bound, offload: Offload) -> None:
        self._writer = writer
        self._bound = bound
        self._offload = offload

    @property
    def size(self) -> int:
        return self._writer.size

    @property
    def closed(self) -> bool:
        return self._writer.closed

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        count: int = await self._bound(lambda: self._offload(self._writer.write, data))
        return count

    async def close(self) -> None:
        await self._bound(lambda: self._offload(self._writer.close))

    async def commit(self) -> None:
        await self._bound(lambda: self._offload(self._writer.commit))

    async def cancel(self) -> None:
        await self._bound(lambda: self._offload(self._writer.cancel))
