"""The ``filesystem`` driver's own local file, read at local speed as an fsspec file object.

A ``filesystem`` driver's reader is the file itself, opened confined to its root
(``openat2`` beneath the root, no symlink out); an open descriptor keeps reading the
version it opened, since the driver only ever replaces files atomically. :class:`LocalFile`
reads it with ``pread`` (no seek, no copy through the driver) behind fsspec's caches, so
it is a file object like every other backend's: ``name`` and ``path`` are the driver
path, ``seek``/``tell`` work, and ``blockcache::`` and ``simplecache::`` chains work.

The file owns its descriptor (a duplicate; the driver's stream is closed at once):
``close()`` releases it, and so does collecting a file its consumer never closed
(pyarrow's dataset reader drops its files unclosed) -- quietly, as every fsspec file,
rather than through an ``io.FileIO`` whose finalizer the cyclic collector may run first
(a ``ResourceWarning`` for a file that was about to be closed).
"""

from __future__ import annotations

import io
import os
import stat
import weakref
from typing import TYPE_CHECKING, Any, BinaryIO

from fsspec.spec import AbstractBufferedFile

from .files import Named

if TYPE_CHECKING:
    from .base import DriverFileSystem

__all__ = ["LOCAL_BLOCK", "LocalFile"]

#: The read-ahead of a local file (as ``open()``'s buffer on most filesystems).
LOCAL_BLOCK = 1 << 17


class LocalFile(Named, AbstractBufferedFile):  # type: ignore[misc]
    """The driver's local file (see the module docstring); ``size`` is the size at open."""

    def __init__(
        self,
        fs: DriverFileSystem,
        path: str,
        stream: BinaryIO,
        size: int,
        *,
        block_size: int | None = None,
        cache_type: str = "none",
        cache_options: dict[str, Any] | None = None,
    ) -> None:
        with stream:
            self._fd = os.dup(stream.fileno())
        self._release = weakref.finalize(self, os.close, self._fd)
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size or LOCAL_BLOCK,
            cache_type=cache_type,
            cache_options=cache_options,
            size=size,
        )

    @classmethod
    def of(cls, fs: DriverFileSystem, stream: BinaryIO, path: str, size: int, **options: Any) -> LocalFile | None:
        """``stream`` as a local file, or None when it is not a plain local file at offset 0."""
        if type(stream) is not io.BufferedReader or not isinstance(stream.raw, io.FileIO) or stream.tell() != 0:
            return None
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        return cls(fs, path, stream, size, **{k: v for k, v in options.items() if v is not None})

    def _fetch_range(self, start: int, end: int) -> bytes:
        chunks = []
        while start < end:
            block = os.pread(self._fd, end - start, start)
            if not block:
                break
            chunks.append(block)
            start += len(block)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
