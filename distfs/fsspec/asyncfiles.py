"""``open_async``: fsspec's async file objects over distfs's file objects, with the same publish rule.

fsspec's ``AsyncFileSystem.open_async(path, mode)`` returns an
``AbstractAsyncStreamedFile`` (``await f.read()``, ``await f.write()``, ``await f.close()``,
``async with``). Here each one drives the synchronous distfs file of the same path in a
worker thread, so reads pin one version and writes keep the publish rule: the bytes
become visible only when the file is closed without an exception; an ``async with``
block that raises or is cancelled, or ``close()`` while an exception raised after the
open is being handled, publishes nothing.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fsspec.asyn import AbstractAsyncStreamedFile

from .files import Named

if TYPE_CHECKING:
    from .base import DriverFileSystem

__all__ = ["AsyncFile", "open_async"]


class AsyncFile(Named, AbstractAsyncStreamedFile):  # type: ignore[misc]
    """A distfs file (``rb`` or ``wb``) as fsspec's async streamed file."""

    def __init__(self, fs: DriverFileSystem, path: str, mode: str, file: Any) -> None:
        self._file = file
        size = file.size if mode == "rb" else None
        super().__init__(fs, path, mode=mode, cache_type="none", size=size)

    async def read(self, length: int = -1) -> bytes:
        if self.mode != "rb":
            raise ValueError("File not in read mode")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        self._file.seek(self.loc)
        data: bytes = await asyncio.to_thread(self._file.read, -1 if length is None else length)
        self.loc += len(data)
        return data

    async def write(self, data: bytes) -> int:
        if self.mode != "wb":
            raise ValueError("File not in write mode")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        count: int = await asyncio.to_thread(self._file.write, data)
        self.loc += count
        return count

    async def flush(self, force: bool = False) -> None:
        """Buffered by the distfs file; sent when it fills or closes."""

    async def close(self) -> None:
        """Publish (writes) unless an exception raised after the open is being handled."""
        if self.closed:  # type: ignore[has-type]
            return
        if self.mode == "wb" and self._file.failing():
            self._file.abandon()
        else:
            await asyncio.to_thread(self._file.close)
        self.closed = True

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and self.mode == "wb":
            self._file.abandon()  # a failed or cancelled block publishes nothing
            self.closed = True
            return
        await self.close()


async def open_async(fs: DriverFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> AsyncFile:
    """fsspec's ``open_async``: binary ``rb`` or ``wb``, no compression (as ``AsyncFileSystem`` has it)."""
    if mode not in ("rb", "wb") or kwargs.get("compression"):
        raise ValueError(f"distfs: open_async takes mode 'rb' or 'wb' without compression, not {mode!r}")
    if mode == "rb":
        file = await asyncio.to_thread(fs.open, path, "rb", **kwargs)
    else:
        file = fs.open(path, "wb", autocommit=True, **kwargs)  # no I/O before the first block
    return AsyncFile(fs, fs._strip_protocol(path), mode, file)
