"""What every resumable writer shares: the state machine, and cutting writes into chunks.

:class:`WriterState` holds the :class:`~distfs.driver.FileWriter` state rules once:
``write`` and ``commit`` need an open writer, ``close`` after ``commit`` succeeds, every
other repeat is a ``DriverError`` saying what already happened. :class:`ChunkedWriter`
adds the buffer of the object-store writers: bytes are handed to :meth:`_flush_chunk`
in pieces of exactly ``chunk`` bytes, and what does not fill a chunk stays in
``_buffer`` (memory stays bounded by one chunk plus the write being handled).
:class:`PartsWriter` is the multipart-upload writer of the S3-like stores, over a small
:class:`PartStore` each backend provides.
"""

from __future__ import annotations

import base64
from typing import Protocol

from .driver import FileWriter
from .errors import DriverError, PathNotFoundError

__all__ = ["ChunkedWriter", "PartStore", "PartsWriter", "WriterState", "decode_upload_id", "encode_upload_id"]


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


class PartStore(Protocol):
    """The multipart-upload calls a :class:`PartsWriter` needs, on object names of one bucket.

    A missing object or upload is a ``FileNotFoundError``; ``abort_upload`` of an upload
    that is already gone succeeds.
    """

    def create_upload(self, name: str) -> str: ...

    def upload_part(self, name: str, upload: str, number: int, data: bytes | bytearray) -> str: ...

    def copy_part(self, name: str, upload: str, number: int, first: int, last: int) -> str: ...

    def list_parts(self, name: str, upload: str) -> dict[int, tuple[str, int]]: ...

    def complete_upload(self, name: str, upload: str, parts: list[tuple[int, str]]) -> None: ...

    def abort_upload(self, name: str, upload: str) -> None: ...

    def put_object(self, name: str, data: bytes) -> None: ...

    def put_state(self, name: str, data: bytes, metadata: dict[str, str]) -> None: ...

    def get_object(self, name: str, first: int = 0, last: int | None = None) -> tuple[bytes, dict[str, str]]: ...

    def head_object(self, name: str) -> tuple[int, dict[str, str]]: ...

    def delete_objects(self, names: list[str]) -> None: ...


class PartsWriter(ChunkedWriter):
    """A resumable writer on one multipart upload (S3 and OSS).

    Invariant: every uploaded part has exactly the upload's chunk size; bytes that do not
    fill a part stay in a buffer. ``close()`` stores that buffer (the *tail*, under one
    chunk) in the upload's state object ``state_name``, with the upload id, the number of
    parts it belongs after and the chunk size as metadata. A resume reads the state object
    and lists the parts: two requests and at most one chunk of data, whatever the upload's
    size (Go re-uploaded or server-copied the whole object after a short part). Parts
    uploaded after the last ``close()`` by a writer that died are ignored and overwritten,
    so a resume continues from the last ``close()``. ``commit()`` completes the upload (or
    puts a small object directly); ``cancel()`` aborts it; both remove the state object.
    A new writer stores a state without an upload id (resumable at 0) and creates the
    multipart upload only when its first chunk is uploaded or at its first ``close()``, so a
    small object committed unsuspended costs four small requests (probe and put the state,
    put the object, delete the state) rather than six.
    """

    def __init__(
        self, store: PartStore, name: str, state_name: str, *, path: str, driver_name: str, chunk: int, append: bool
    ) -> None:
        super().__init__(path, driver_name, chunk)
        self._store = store
        self._key = name
        self._state_key = state_name
        self._upload = ""
        self._parts: list[tuple[int, str]] = []
        if not append or not self._resume():
            if append:
                self._continue_committed()
            else:
                # The multipart upload is created lazily (first full chunk or close()); the
                # state, without an upload id yet, makes the new writer resumable at 0 at once.
                self._discard_previous()
                self._save(create=False)
        self._size = len(self._parts) * self._chunk + len(self._buffer)

    # -- setup ------------------------------------------------------------------------

    def _save(self, *, create: bool = True) -> None:
        """Store the state (creating the upload first, if ``create``, when there is none yet)."""
        if create and not self._upload:
            self._upload = self._store.create_upload(self._key)
        metadata = {
            "upload-id": encode_upload_id(self._upload),
            "parts": str(len(self._parts)),
            "chunksize": str(self._chunk),
        }
        self._store.put_state(self._state_key, bytes(self._buffer), metadata)

    def _discard_previous(self) -> None:
        try:
            _, metadata = self._store.head_object(self._state_key)
        except FileNotFoundError:
            return
        upload = decode_upload_id(metadata.get("upload-id", ""))
        if upload:
            self._store.abort_upload(self._key, upload)

    def _resume(self) -> bool:
        """Continue the suspended upload; False if there is none."""
        try:
            tail, metadata = self._store.get_object(self._state_key)
            self._upload = decode_upload_id(metadata["upload-id"])
            count, self._chunk = int(metadata["parts"]), int(metadata["chunksize"])
        except FileNotFoundError:
            return False
        except (KeyError, ValueError):
            raise DriverError(f"upload state of {self._path} is damaged", self._name) from None
        if not self._upload:  # a new writer's state: no upload created yet, nothing stored
            if count or tail:
                raise DriverError(f"upload state of {self._path} is damaged", self._name)
            return True
        try:
            sizes = self._store.list_parts(self._key, self._upload)
        except FileNotFoundError:  # the upload was completed or aborted meanwhile
            self._store.delete_objects([self._state_key])
            return False
        for number in range(1, count + 1):
            if number not in sizes or sizes[number][1] != self._chunk:
                raise DriverError(f"upload of {self._path} lost part {number}", self._name)
            self._parts.append((number, sizes[number][0]))
        self._buffer = bytearray(tail)
        return True

    def _continue_committed(self) -> None:
        """Start an upload holding the committed object (copied server-side, tail read back)."""
        try:
            size, _ = self._store.head_object(self._key)
        except FileNotFoundError:
            raise PathNotFoundError(self._path, self._name) from None
        self._upload = self._store.create_upload(self._key)
        full = size // self._chunk
        for number in range(1, full + 1):
            first = (number - 1) * self._chunk
            etag = self._store.copy_part(self._key, self._upload, number, first, first + self._chunk - 1)
            self._parts.append((number, etag))
        if size % self._chunk:
            tail, _ = self._store.get_object(self._key, full * self._chunk, size - 1)
            self._buffer = bytearray(tail)
        self._save()

    # -- FileWriter -------------------------------------------------------------------

    def _flush_chunk(self, data: bytes | bytearray | memoryview) -> None:
        if not self._upload:
            self._save()  # the upload and an empty state (the buffer is empty here), as a new writer's
        number = len(self._parts) + 1
        body = data if isinstance(data, bytes | bytearray) else bytes(data)
        self._parts.append((number, self._store.upload_part(self._key, self._upload, number, body)))

    def _suspend(self) -> None:
        self._save()
        self._buffer = bytearray()

    def commit(self) -> None:
        self._require_open()
        parts = len(self._parts)
        try:
            if not self._parts:
                self._store.put_object(self._key, bytes(self._buffer))
                if self._upload:
                    self._store.abort_upload(self._key, self._upload)
            else:
                if self._buffer:
                    self._flush_chunk(self._buffer)
                self._complete()
        except BaseException:
            del self._parts[parts:]  # keep the upload suspended at this writer's size: nothing is lost
            self._save()
            self._state = "closed"
            raise
        self._state = "committed"
        self._buffer = bytearray()
        self._store.delete_objects([self._state_key])

    def _complete(self) -> None:
        """Complete the upload; safe to retry after a lost answer.

        A retried complete whose first attempt succeeded (the answer was lost) finds the
        upload gone: that is a success when the object now has exactly this upload's size.
        """
        try:
            self._store.complete_upload(self._key, self._upload, self._parts)
        except FileNotFoundError:
            try:
                size, _ = self._store.head_object(self._key)
            except FileNotFoundError:
                size = -1
            if size != self._size:
                raise DriverError(f"upload of {self._path} was lost before it completed", self._name) from None

    def cancel(self) -> None:
        self._require_open()
        if self._upload:
            self._store.abort_upload(self._key, self._upload)
        self._store.delete_objects([self._state_key])
        self._state = "cancelled"
        self._buffer = bytearray()
