"""Compression and text layers over a distfs file that keep its publish rule.

fsspec's own layers break it: a ``GzipFile`` or ``BZ2File`` never closes the file it
wraps (``fs.open(p, "wb", compression="gzip")`` would publish nothing), and a
``TextIOWrapper`` garbage collected closes (publishes) the file below it. Here closing
the outer layer closes every layer below, so the distfs file decides (published only
when closed without an exception), and a layer dropped without ``close()`` abandons the
file below it: nothing published.
"""

from __future__ import annotations

import contextlib
import io
from typing import IO, Any

from fsspec.compression import compr
from fsspec.core import get_compression

__all__ = ["Compressed", "TextFile", "layered"]

#: The text keywords of ``open()``, passed to the text layer.
TEXT_KEYWORDS = ("encoding", "errors", "newline")


def _abandon(file: Any) -> None:
    """Close ``file`` (and what it wraps) without publishing: its own ``abandon`` where it has one."""
    abandon = getattr(file, "abandon", None)
    if callable(abandon):
        abandon()
    else:
        with contextlib.suppress(Exception):
            file.close()


class Compressed(io.BufferedIOBase):
    """A codec's file over a distfs file: closing it closes the distfs file too."""

    def __init__(self, codec: Any, inner: Any) -> None:
        super().__init__()
        self._codec = codec
        self._inner = inner
        self.name = getattr(inner, "path", "")

    def readable(self) -> bool:
        return bool(self._codec.readable())

    def writable(self) -> bool:
        return bool(self._codec.writable())

    def seekable(self) -> bool:
        return bool(self._codec.seekable())

    def read(self, size: int | None = -1) -> bytes:
        return bytes(self._codec.read(-1 if size is None else size))

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        return int(self._codec.write(data))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._codec.seek(offset, whence))

    def tell(self) -> int:
        return int(self._codec.tell())

    def flush(self) -> None:
        if not self.closed and not self._codec.closed:
            self._codec.flush()

    def close(self) -> None:
        """Close the codec (its trailer goes to the distfs file), then the distfs file, which decides."""
        if self.closed:
            return
        try:
            self._codec.close()
        except BaseException:
            _abandon(self._inner)
            raise
        finally:
            super().close()
        self._inner.close()

    def abandon(self) -> None:
        """Drop the codec's state and abandon the distfs file."""
        _abandon(self._inner)
        with contextlib.suppress(Exception):
            super().close()

    def __del__(self) -> None:
        if not self.closed:
            self.abandon()


class TextFile(io.TextIOWrapper):
    """Text over a distfs file; dropped without ``close()`` it publishes nothing."""

    def abandon(self) -> None:
        _abandon(self.buffer)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not self.closed:
                self.abandon()


def layered(file: Any, path: str, mode: str, compression: str | None, text: dict[str, Any]) -> IO[Any]:
    """``file`` (a distfs binary file) under ``compression`` (a codec name or "infer") and text ``mode``."""
    name = get_compression(path, compression) if compression is not None else None
    if name is not None:
        file = Compressed(compr[name](file, mode=mode[0]), file)
    if "b" not in mode:
        return TextFile(file, **text)
    result: IO[Any] = file
    return result
