"""What every resumable writer shares: the state machine, and cutting writes into chunks.

:class:`WriterState` holds the :class:`~distfs.driver.FileWriter` state rules once:
``write`` and ``commit`` need an open writer, ``close`` after ``commit`` succeeds, every
other repeat is a ``DriverError`` saying what already happened. :class:`ChunkedWriter`
adds the buffer of the object-store writers: bytes are handed to :meth:`_flush_chunk`
in pieces of exactly ``chunk`` bytes, and what does not fill a chunk stays in
``_buffer`` (memory stays bounded by one chunk plus the write being handled).
"""

from __future__ import annotations

import base64

from .driver import FileWriter
from .errors import DriverError

__all__ = ["ChunkedWriter", "WriterState", "decode_upload_id", "encode_upload_id"]


class WriterState(FileWriter):
    """The FileWriter state machine; subclasses persist in :meth:`_suspend`."""

    def __init__(self, path: str, driver_name: str) -> None:
        self._path = path
        self._name = driver_name
        self._state = "open"
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def closed(self) -> bool:
        return self._state != "open"

    def _require_open(self) -> None:
        if self._state != "open":
            raise DriverError(f"writer for {self._path} already {self._state}", self._name)

    def close(self) -> None:
        if self._state == "committed":
            self._state = "committed and closed"
            return
        self._require_open()
        self._suspend()
        self._state = "closed"

    def _suspend(self) -> None:
        """Persist everything written so far so that a later writer resumes from here."""
        raise NotImplementedError


class ChunkedWriter(WriterState):
    """A writer that stores full chunks of ``chunk`` bytes as it goes."""

    def __init__(self, path: str, driver_name: str, chunk: int) -> None:
        super().__init__(path, driver_name)
        self._chunk = chunk
        self._buffer = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._require_open()
        view = memoryview(data).cast("B")
        total = len(view)
        if not total:
            return 0
        self._before_write()
        if self._buffer:
            take = min(self._chunk - len(self._buffer), len(view))
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == self._chunk:
                full, self._buffer = self._buffer, bytearray()
                self._flush_chunk(full)
        while len(view) >= self._chunk:
            self._flush_chunk(view[: self._chunk])
            view = view[self._chunk :]
        self._buffer += view
        self._size += total
        return total

    def _before_write(self) -> None:
        """Called before the bytes of a non-empty write are taken (a hook)."""

    def _flush_chunk(self, data: bytes | bytearray | memoryview) -> None:
        """Store one full chunk."""
        raise NotImplementedError


def encode_upload_id(upload: str) -> str:
    """A multipart upload id as an object metadata value (ASCII, whatever the store's alphabet)."""
    return base64.urlsafe_b64encode(upload.encode()).decode()


def decode_upload_id(value: str) -> str:
    """The upload id stored by :func:`encode_upload_id` (``""`` stays ``""``)."""
    return base64.urlsafe_b64decode(value.encode()).decode() if value else ""
