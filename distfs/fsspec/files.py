"""The file objects of the fsspec face: a pinned reader, the local file itself, a publish-on-close writer."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from fsspec.spec import AbstractBufferedFile

from ..driver import FileInfo, FileWriter
from ..errors import ObjectChangedError, PathNotFoundError, StorageDriverError

if TYPE_CHECKING:
    from .base import DriverFileSystem

__all__ = ["COPY_BLOCK", "Compressed", "LocalFile", "ReadFile", "WriteFile", "read_exactly"]

#: Bytes moved per read when a stream is copied.
COPY_BLOCK = 8 << 20
#: The buffer of a local file handed to the caller (as ``open()``'s on most filesystems).
_LOCAL_BUFFER = 1 << 17
#: A forward seek of a non-seekable reader up to this many bytes reads on instead of re-opening.
_SKIP_LIMIT = 4 << 20


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes of ``stream``, fewer only at its end."""
    chunks = []
    while size > 0:
        block = stream.read(size)
        if not block:
            break
        chunks.append(block)
        size -= len(block)
    return b"".join(chunks)


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class ReadFile(AbstractBufferedFile):  # type: ignore[misc]
    """One driver reader for the file's whole life: the bytes of one version of the object."""

    fs: DriverFileSystem

    def __init__(
        self,
        fs: DriverFileSystem,
        path: str,
        info: FileInfo,
        stream: BinaryIO,
        *,
        block_size: int | None,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None,
    ) -> None:
        self._info = info
        self._key = fs._key(path)
        self._stream: BinaryIO | None = stream
        self._position = 0
        self._seekable = _seekable(self._stream)
        size = info.size
        if self._seekable:  # the pinned version's own size, whatever stat saw
            size = self._stream.seek(0, os.SEEK_END)
            self._stream.seek(0)
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size or "default",
            cache_type=cache_type,
            cache_options=cache_options,
            size=size,
        )

    def _changed(self) -> OSError:
        error = ObjectChangedError(self.path, self.fs.driver.name)
        mapped = OSError(str(error))
        mapped.__cause__ = error
        return mapped

    def _at(self, start: int) -> BinaryIO:
        stream = self._stream
        if stream is not None and start != self._position:
            if self._seekable:
                stream.seek(start)
            elif 0 < start - self._position <= _SKIP_LIMIT:
                read_exactly(stream, start - self._position)
            else:
                stream.close()
                stream = None
        if stream is None:
            with self.fs._errors():
                stream = self.fs.driver.reader(self._key, start)
                now = self.fs.driver.stat(self._key)
            if (now.size, now.mod_time) != (self._info.size, self._info.mod_time):
                stream.close()
                raise self._changed()
        self._stream, self._position = stream, start
        return stream

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        with self.fs._errors():
            stream = self._at(start)
            data = read_exactly(stream, end - start)
            extra = stream.read(1) if end == self.size and not self._seekable else b""
        self._position = start + len(data) + len(extra)
        if len(data) < end - start or extra:
            raise self._changed()  # shorter or longer than the version opened
        return data

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        super().close()


class LocalFile(io.BufferedReader):
    """The driver's own local file, handed to the caller: read at local speed.

    A ``filesystem`` driver's reader is the file itself, opened confined to its root
    (``openat2`` beneath the root, no symlink out); an open descriptor keeps reading the
    version it opened, since the driver only ever replaces files atomically. ``path`` and
    ``size`` are the driver path and the size at open, as fsspec files have them.
    """

    path: str
    size: int

    @classmethod
    def of(cls, stream: BinaryIO, path: str, size: int) -> LocalFile | None:
        """``stream`` as a local file, or None when it is not a plain local file at offset 0."""
        if type(stream) is not io.BufferedReader or not isinstance(stream.raw, io.FileIO) or stream.tell() != 0:
            return None
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        local = cls(stream.detach(), buffer_size=_LOCAL_BUFFER)
        local.path, local.size = path, size
        return local


class WriteFile(AbstractBufferedFile):  # type: ignore[misc]
    """Writes through a distfs writer: committed on a normal close, cancelled otherwise.

    A close is normal unless an exception raised after this file was opened is being
    handled while it runs: a ``with`` block around the file, or around fsspec's
    ``OpenFile`` (whose ``__exit__`` closes the file, and its text or compression wrapper,
    without the exception), a ``finally`` clause, pandas' handles. Then the upload is
    cancelled and nothing is published; the previous object stays. With ``autocommit=False``
    (inside ``fs.transaction``) a normal close only flushes; the transaction calls
    :meth:`commit` or :meth:`discard`, and a file discarded already, or never closed, stays
    unpublished.
    """

    fs: DriverFileSystem
    closed: bool

    def __init__(self, fs: DriverFileSystem, path: str, mode: str, block_size: int | None, autocommit: bool) -> None:
        super().__init__(fs, path, mode="wb", block_size=block_size or "default", autocommit=autocommit)
        self._append = mode == "ab"
        self._key = fs._key(path)
        self._writer: FileWriter | None = None
        self._discarded = False
        #: An exception already being handled when the file was opened is none of its failures.
        self._handled_at_open = sys.exc_info()[1]

    def _initiate_upload(self) -> None:
        """Nothing yet: the writer starts with the first block that does not end the file."""

    def _start(self) -> None:
        driver = self.fs.driver
        with self.fs._errors():
            self._writer = driver.writer(self._key)  # a fresh upload: never a suspended one
            if self._append and self.fs._native is not None:
                # An object store continues the committed object inside the store (copied
                # parts): the fresh upload only discarded a suspended one of the path.
                self._writer.cancel()
                try:
                    self._writer = driver.writer(self._key, append=True)
                except PathNotFoundError:
                    self._writer = driver.writer(self._key)
            elif self._append:
                try:
                    with driver.reader(self._key) as committed:
                        while block := committed.read(COPY_BLOCK):
                            self._writer.write(block)
                except PathNotFoundError:
                    pass
                except BaseException:
                    self._writer.cancel()
                    raise

    def _upload_chunk(self, final: bool = False) -> bool:
        if final and self._writer is None and self.autocommit and not self._append:
            # Everything fits in one block: one put, no upload state (one request on a store).
            with self.fs._errors():
                self.fs.driver.put_content(self._key, bytes(self.buffer.getbuffer()))
            return True
        if self._writer is None:
            self._start()
        assert self._writer is not None
        with self.fs._errors():
            self._writer.write(self.buffer.getbuffer())
            if final and self.autocommit:
                self._writer.commit()
                self._writer.close()
        return True

    def close(self) -> None:
        """Publish (flush, in a transaction); discard instead while a later exception is handled."""
        failure = sys.exc_info()[1]
        if not self.closed and failure is not None and failure is not self._handled_at_open:
            self.discard()
            self.closed = True
            return
        super().close()

    def commit(self) -> None:
        """Publish (a transaction's end); nothing for a file discarded, or never closed (discarded now)."""
        if self._discarded or not self.closed:
            self.discard()
            return
        if self._writer is None:
            self._start()
        assert self._writer is not None
        with self.fs._errors():
            self._writer.commit()
            self._writer.close()

    def discard(self) -> None:
        """Cancel the upload: nothing is published."""
        self._discarded = True
        if self._writer is not None and not self._writer.closed:
            with contextlib.suppress(StorageDriverError):
                self._writer.cancel()
        self._writer = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
            return
        self.discard()  # a failed block publishes nothing
        self.closed = True

    def __del__(self) -> None:
        # Dropped without close() (a producer raised outside a with block): never publish.
        if not self.closed:
            with contextlib.suppress(Exception):  # also at interpreter exit: best effort
                self.discard()
            self.closed = True


class Compressed(io.BufferedIOBase):
    """A codec's file (gzip, bz2, ...) over a distfs file, closing both.

    The codecs leave the file under them open when they close; this closes it after the
    codec wrote its trailer, so a written file is published (or discarded, when the close
    runs while a failure is handled: :class:`WriteFile`), and a read one released.
    """

    def __init__(self, codec: Any, file: Any) -> None:
        super().__init__()
        self._codec = codec
        self._file = file
        self.path = getattr(file, "path", None)

    def readable(self) -> bool:
        return bool(self._codec.readable())

    def writable(self) -> bool:
        return bool(self._codec.writable())

    def seekable(self) -> bool:
        return bool(self._codec.seekable())

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._codec.read(-1 if size is None else size)
        return data

    def read1(self, size: int = -1) -> bytes:
        data: bytes = self._codec.read1(size)
        return data

    def readinto(self, buffer: Any) -> int:
        return int(self._codec.readinto(buffer))

    def write(self, data: Any) -> int:
        return int(self._codec.write(data))

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return int(self._codec.seek(offset, whence))

    def tell(self) -> int:
        return int(self._codec.tell())

    def flush(self) -> None:
        if not self._codec.closed:
            self._codec.flush()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._codec.close()
        finally:
            try:
                self._file.close()
            finally:
                super().close()
