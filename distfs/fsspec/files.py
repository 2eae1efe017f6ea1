"""The file objects of the fsspec face: a pinned reader and a publish-on-close writer (local reads: :mod:`.local`)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from fsspec.spec import AbstractBufferedFile

from ..driver import FileInfo, FileWriter
from ..errors import ObjectChangedError, PathNotFoundError, StorageDriverError

if TYPE_CHECKING:
    from .base import DriverFileSystem

__all__ = ["COPY_BLOCK", "Named", "ReadFile", "WriteFile", "read_exactly"]

#: Bytes moved per read when a stream is copied.
COPY_BLOCK = 8 << 20
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


class Named:
    """``name`` is the driver path, as a local file's name is its path (pandas, pyarrow and zipfile read it)."""

    path: str

    @property
    def name(self) -> str:
        return str(self.path)


class ReadFile(Named, AbstractBufferedFile):  # type: ignore[misc]
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
            with self.fs._errors(self.path):
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
        with self.fs._errors(self.path):
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


class WriteFile(Named, AbstractBufferedFile):  # type: ignore[misc]
    """Writes through a distfs writer; the publish rule of every distfs file object.

    The bytes become visible only when the file is closed without an exception: ``close()``
    running while an exception raised after this file was opened is being handled (a
    ``with`` block, a ``finally``, an ``except`` clause, fsspec's ``OpenFile`` or pandas
    closing it on the way out), an upload that fails, and a file dropped without
    ``close()`` (garbage collected) cancel the upload, and the old object stays intact.
    With ``autocommit=False`` (inside ``fs.transaction``) a normal close only marks the
    file complete; the transaction publishes complete files (:meth:`commit`) and cancels
    the others (:meth:`discard`).
    """

    fs: DriverFileSystem

    def __init__(self, fs: DriverFileSystem, path: str, mode: str, block_size: int | None, autocommit: bool) -> None:
        super().__init__(fs, path, mode="wb", block_size=block_size or "default", autocommit=autocommit)
        self._append = mode == "ab"
        self._key = fs._key(path)
        self._writer: FileWriter | None = None
        self._handled = sys.exc_info()[1]  # an exception already handled at open is not this file's
        #: Closed without an exception: what a transaction may publish.
        self.complete = False

    def failing(self) -> bool:
        """True while an exception raised after this file was opened is being handled."""
        current = sys.exc_info()[1]
        return current is not None and current is not self._handled

    def _initiate_upload(self) -> None:
        """Nothing yet: the writer starts with the first block that does not end the file."""

    def _start(self) -> None:
        driver = self.fs.driver
        with self.fs._errors(self.path):
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
            with self.fs._errors(self.path):
                self.fs.driver.put_content(self._key, bytes(self.buffer.getbuffer()))
            return True
        if self._writer is None:
            self._start()
        assert self._writer is not None
        with self.fs._errors(self.path):
            self._writer.write(self.buffer.getbuffer())
            if final and self.autocommit:
                self._writer.commit()
                self._writer.close()
        return True

    def close(self) -> None:
        """Publish (or, in a transaction, mark complete); cancel instead while an exception is handled."""
        if self.closed:
            return
        if self.failing():
            self.abandon()
            return
        try:
            super().close()
        except BaseException:
            self.discard()
            raise
        self.complete, self._handled = True, None

    def commit(self) -> None:
        """Publish a file closed without an exception (a transaction's end)."""
        if not self.complete:
            raise ValueError(f"distfs: {self.path} was not closed normally: nothing to publish")
        if self._writer is None:
            self._start()
        assert self._writer is not None
        try:
            with self.fs._errors(self.path):
                self._writer.commit()
                self._writer.close()
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Cancel the upload: nothing is published, and no upload state is left behind.

        A writer whose ``commit()`` failed is closed with its upload suspended (the driver
        contract keeps it resumable); no file object can resume it, so a fresh writer of the
        path drops it (a fresh writer never continues a suspended upload) and is cancelled.
        """
        writer, self._writer = self._writer, None
        if writer is None:
            return
        with contextlib.suppress(StorageDriverError):
            if not writer.closed:
                writer.cancel()
            else:
                self.fs.driver.writer(self._key).cancel()

    def abandon(self) -> None:
        """Cancel the upload and close the file without publishing anything."""
        self.discard()
        self.buffer = io.BytesIO()
        self.closed = True
        self._handled = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()  # a failed block publishes nothing

    def __del__(self) -> None:
        # Dropped without close() (a producer raised outside a with block): never publish.
        if not self.closed:
            with contextlib.suppress(Exception):  # also at interpreter exit: best effort
                self.abandon()
