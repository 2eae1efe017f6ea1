"""The seam between the object-store engine and one store: typed primitives, nothing more.

A :class:`Store` is what a backend module supplies for one bucket or container: a few
coroutines that each map to one or two calls of the store's SDK. Keys are the store's
object names (``"docker/registry/v2/..."``, never a bucket, never a leading ``/``). A store
never calls the engine, never sees a driver path, keeps no policy (retries above what its
SDK does, version pinning, journaling, listing rules: the engine owns all of that), and
reports failures only as the :class:`StoreError` family below, mapped from its SDK's
errors in one function of its module::

    StoreError(Exception)                       .code: the store's own error code
     +-- NotFound                               no such key (or upload)
     +-- Changed                                a version condition failed (412)
     +-- Exists                                 a create-only write met an object
     +-- Denied                                 credentials refused, or no permission
     +-- StoreMissing                           .store: the bucket/container itself is missing
     +-- Transient                              worth a retry (5xx, throttling, a reset, a
                                                truncated body) that no layer below retried

Everything is a coroutine so that the same engine runs under ``distfs.aio`` and, through
one event-loop thread (:mod:`distfs.engine.loop`), under the synchronous API. A store
whose SDK is synchronous runs its calls in threads (``asyncio.to_thread``). A store makes
its SDK clients on first use in the running event loop, and again when it is called from
another loop (after a fork, or from ``distfs.aio`` in a new loop).

Uploads follow the multipart model (OpenDAL's ``MultipartWrite``): ``create_upload``,
``upload_part``, ``complete_upload``, ``abort_upload``, ``list_parts``. Stores without
multipart uploads emulate it on their own primitives (compose of part objects, staged
blocks); ``scratch`` is a hidden key prefix the engine reserves for each upload, which a
store may use for such objects (and which ``delete`` of the path removes).

Optional extensions (a store without them is an object store; the engine looks them up
with ``getattr`` and uses them where present):

``native_uploads = True``
    The store's uploads are its own (native multipart uploads, which :meth:`Store.list_uploads`
    finds) and keep nothing under ``scratch``: a path's hidden upload state is its journal
    alone, so deleting a file deletes that one key without listing the upload directory.
``blocking = True``
    Every coroutine of the store finishes without waiting on the event loop (direct
    system calls, as on a local filesystem): the synchronous driver then runs the engine
    on the calling thread (one event loop per thread) rather than handing every call to
    the loop thread, so calls from many threads run at once, as they would without
    distfs.
:class:`Claims` (``claim_upload``, ``release_upload``)
    One writer per path: the engine claims an upload when a writer opens or resumes it
    and releases the claim when the writer suspends, commits or cancels; a claim held by
    another writer (also in another process) is :class:`Busy`, WriterConflictError.
:class:`Tree` (``rename``, ``remove_tree``, ``children``, ``matching``, ``stamp``)
    Directories are real (``capabilities.empty_directories``): a listing with delimiter
    holds the directory's own key (``prefix``, size 0) first while it exists, so an empty
    one exists too (its objects may carry names only: size 0, no version; the engine
    reads names and kinds from such listings); ``move`` is one ``rename`` and ``delete`` one ``remove_tree``; ``head``
    of a directory is NotFound with ``directory`` set; ``head`` may leave ``origin`` out
    (``""``) where reading it costs a further call, and then ``stamp(info)`` reads it;
    ``sign`` is asked for every method (the store refuses a key it cannot use, and
    returns None for what it cannot sign).
:class:`Files` (``open_file``)
    Objects are files of this machine: a reader is the open file itself (no copy through
    the engine's blocks; an open file keeps reading the version it opened, whatever
    replaces it meanwhile), so consumers that want a real file (its ``fileno``, a memory
    map) get one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from ..capabilities import Capabilities

__all__ = [
    "ORIGIN",
    "Busy",
    "Changed",
    "Claims",
    "Denied",
    "Exists",
    "Files",
    "Invalid",
    "Limits",
    "NotFound",
    "ObjectInfo",
    "Page",
    "Part",
    "Store",
    "StoreError",
    "StoreMissing",
    "Transient",
    "Tree",
    "Upload",
    "origin",
]


class StoreError(Exception):
    """A store call failed; ``code`` is the store's own error code (``NoSuchKey``, ``503``, ...)."""

    def __init__(self, code: str, message: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(code, message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


class NotFound(StoreError):
    """No object at the key (or no such upload).

    ``directory``: a :class:`Tree` store's ``head`` of a directory sets it to the
    directory's modification time (a directory is not an object, but it exists).
    """

    directory: datetime | None = None


class Changed(StoreError):
    """A version condition failed: the object is not (any more) the version asked for."""


class Exists(StoreError):
    """A create-only write (``put(..., if_absent=True)``) found an object at the key."""


class Denied(StoreError):
    """The store refused the credentials or the operation."""


class StoreMissing(StoreError):
    """The bucket or container ``store`` does not exist; ``kind`` says which word the store uses."""

    def __init__(self, store: str, kind: str = "bucket", code: str = "NoSuchBucket") -> None:
        self.store = store
        self.kind = kind
        super().__init__(code, f"{kind} {store} does not exist")


class Transient(StoreError):
    """A failure worth retrying that no layer below the engine retried already."""


class Busy(StoreError):
    """Another writer holds the upload (:class:`Claims`)."""


class Invalid(StoreError):
    """``key`` cannot be used (on a filesystem: it leads out of the store through a link)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__("Invalid", f"{key} leads out of the store")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object as the store describes it.

    ``version`` is the store's token for this exact content (S3/OSS ETag, GCS generation,
    Azure ETag): an opaque string compared for equality, accepted by :meth:`Store.get_range`.
    ``modified`` is timezone-aware UTC. ``origin`` (filled by :meth:`Store.head` only) is
    the :func:`origin` of the upload that published the object, ``""`` for anything else.
    """

    key: str
    size: int
    modified: datetime
    version: str
    origin: str = ""


@dataclass(frozen=True, slots=True)
class Part:
    """One uploaded part: its store token (an ETag, a block id, an object name) and size."""

    token: str
    size: int


@dataclass(slots=True)
class Page:
    """One page of a listing: objects in key order; ``prefixes`` (delimiter listings) end with ``/``.

    ``token`` continues the listing (``None``: this was the last page).
    """

    objects: list[ObjectInfo] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    token: str | None = None


#: The user-metadata name under which an upload's :func:`origin` is stored on the object it
#: publishes (letters only: every store takes it, Azure's identifiers included).
ORIGIN = "distfsupload"


def origin(scratch: str) -> str:
    """The identity an upload with hidden prefix ``scratch`` stamps on the object it publishes.

    The prefix's last component: a fresh random name per writer, also recorded in the
    writer's journal, so the engine can tell the object its upload published from any
    other (of the same size, or not). ``""`` (no scratch): nothing is stamped.
    """
    return scratch.rstrip("/").rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class Upload:
    """An unfinished upload: the key it becomes, the store's id, and its hidden ``scratch`` prefix."""

    key: str
    id: str
    scratch: str


@dataclass(frozen=True, slots=True)
class Limits:
    """What the store accepts.

    ``min_part``: every part but the last must hold at least this many bytes;
    ``max_parts``: part numbers run from 1 to this; ``delete_batch``: keys per
    :meth:`Store.delete_many` call; ``copy_ranges``: :meth:`Store.copy_part` copies any
    byte range (else only whole objects, as one part).
    """

    min_part: int = 0
    max_parts: int = 10_000
    delete_batch: int = 1000
    copy_ranges: bool = True


class Store(Protocol):
    """The primitives of one bucket or container (see the module docstring for the rules)."""

    #: The driver name errors carry (``"s3"``, ``"s3aws"``, ...).
    name: str
    #: What the store does natively (reported as ``driver.capabilities``).
    capabilities: Capabilities
    limits: Limits
    #: The bucket or container, for messages (never a credential).
    bucket: str

    async def head(self, key: str) -> ObjectInfo:
        """The object at ``key`` with its ``origin`` (NotFound if there is none; a "directory" is not an object)."""
        ...

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, ObjectInfo]:
        """Bytes ``[start, end)`` of ``key`` (fewer at its end) and the object they come from.

        With ``version``, only from that version (else Changed). ``start`` at or past the end
        of a non-empty object may raise StoreError with code ``InvalidRange``; the engine
        then asks :meth:`head`. The whole body is read before this returns; a body cut short
        is Transient.
        """
        ...

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        """Replace the object at ``key`` with ``data``, atomically.

        With ``if_absent``, only create it: Exists if an object is there already.
        """
        ...

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> Page:
        """One page of the keys that start with ``prefix`` and sort after ``start_after``.

        With ``delimiter``, keys below a further ``/`` are grouped into ``prefixes``. Key
        order is code-point order. A missing bucket is StoreMissing, never an empty page.
        """
        ...

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        """Delete up to ``limits.delete_batch`` keys; returns ``(key, error)`` for the failures.

        A key that does not exist is not a failure.
        """
        ...

    async def copy(self, source: ObjectInfo, dest: str) -> None:
        """Copy version ``source.version`` of ``source.key`` onto ``dest`` server-side, any size.

        Changed if the source is no longer that version (where the store can tell).
        """
        ...

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        """A URL for ``method`` (GET or HEAD) on ``key`` valid ``seconds``, or None if it cannot sign."""
        ...

    async def create_upload(self, key: str, scratch: str) -> Upload:
        """Start an upload that will become ``key``."""
        ...

    async def upload_part(self, upload: Upload, number: int, data: bytes) -> Part:
        """Store part ``number`` (1-based; a repeat replaces it)."""
        ...

    async def copy_part(self, upload: Upload, number: int, source: ObjectInfo, start: int, end: int) -> Part:
        """Part ``number`` holds bytes ``[start, end)`` of version ``source.version`` of ``source.key``."""
        ...

    async def list_parts(self, upload: Upload) -> dict[int, Part]:
        """The parts stored so far (NotFound when the upload was completed or aborted)."""
        ...

    async def persist_parts(self, upload: Upload, parts: Sequence[Part]) -> None:
        """Make ``parts`` outlive the store's expiry of unfinished uploads (most stores: nothing)."""
        ...

    async def complete_upload(self, upload: Upload, parts: Sequence[Part]) -> None:
        """Publish ``parts`` in order as the object at ``upload.key``, atomically.

        The object carries ``origin(upload.scratch)`` as user metadata :data:`ORIGIN`
        (:meth:`head` reports it). NotFound when the upload or one of ``parts`` is gone
        (completed already, or aborted, or a part lost). A store that keeps parts under
        ``scratch`` marks the upload gone first and then removes them.
        """
        ...

    async def abort_upload(self, upload: Upload) -> None:
        """Discard the upload and everything it stored (an upload already gone is fine)."""
        ...

    async def list_uploads(self, prefix: str) -> list[Upload]:
        """The store's own unfinished uploads of keys below ``prefix`` (``scratch`` is ``""``).

        Stores that keep uploads under ``scratch`` only return ``[]``: deleting the scratch
        keys discards those.
        """
        ...

    async def close(self) -> None:
        """Release the store's connections (the store is not used afterwards)."""
        ...


class Claims(Protocol):
    """Optional: one writer per upload (see the module docstring)."""

    async def claim_upload(self, key: str, state: str) -> object:
        """Claim the upload of ``key`` (its journal: key ``state``) for one writer; Busy while another holds it.

        Called before anything of the upload is stored: a store refuses a ``key`` it cannot
        write here.

        The claim is held until :meth:`release_upload` (or until the returned object is
        dropped, or its process ends).
        """
        ...

    async def release_upload(self, claim: object, finished: bool) -> None:
        """Release ``claim``; ``finished``: the upload was committed or cancelled (nothing to keep)."""
        ...


class Files(Protocol):
    """Optional: objects are local files, read through the open file (see the module docstring)."""

    async def open_file(self, key: str, offset: int) -> BinaryIO:
        """The regular file at ``key`` opened for reading at ``offset`` (at most its size).

        NotFound for a missing key or a directory; a StoreError, at once, for anything but a
        regular file (a FIFO never blocks the call).
        """
        ...


class Tree(Protocol):
    """Optional: real directories, renamed and removed whole (see the module docstring)."""

    async def rename(self, source: str, dest: str) -> None:
        """Move the object or directory ``source`` onto ``dest`` in one step (parents made).

        NotFound when ``source`` is gone.
        """
        ...

    async def remove_tree(self, key: str) -> bool:
        """Remove the object or directory at ``key`` with everything below it; False if nothing was there."""
        ...

    async def children(self, prefix: str) -> list[ObjectInfo]:
        """Every entry directly below directory ``prefix`` (``""`` or ending with ``/``), in no order.

        Files with their full info; directories as keys ending with ``/`` (size 0, no
        version). NotFound when ``prefix`` is not a directory. The engine walks a Tree one
        directory at a time with it (a walk's skipped directories are never listed).
        """
        ...

    async def matching(self, prefix: str, pattern: Sequence[str]) -> list[tuple[str, int, float, str]]:
        """The files at ``prefix`` + ``pattern`` (``"*"``: any name; no order): key, size, POSIX time, version."""

    async def stamp(self, info: ObjectInfo) -> str:
        """The :func:`origin` stamped on the object ``info`` (``""``: none, or it was replaced since)."""
        ...
