"""One generic StorageDriver over any fsspec filesystem.

:class:`FsspecDriver` owns the contract of :class:`~distfs.driver.StorageDriver`. It never
passes raw fsspec results through: names are mapped back to driver paths, directory
markers and distfs's own state are dropped, listings are de-duplicated and sorted,
directories report size 0, times are UTC, and fsspec's not-found signals become
``PathNotFoundError`` for the caller's path.

A :class:`Backend` adapts one fsspec implementation: it builds the keys, and supplies the
few primitives fsspec cannot express portably (atomic put, rename, append, truncate,
signing). Backend modules subclass it; everything else lives here once.

distfs keeps its own state (suspended uploads, temporary files) below the reserved
top-level name :data:`distfs.paths.HIDDEN` of the driver's root, never among the user's
paths, so that hidden state never makes a directory exist and never shows in ``list``,
``stat``, ``walk`` or ``reader``.

Roots may nest (two drivers on one bucket, one with ``rootdirectory: x``): the outer
driver then sees the inner one's data below ``/x`` and its hidden state below
``/x/.distfs~``. So the rule is applied at every depth: a listing entry named ``HIDDEN``
and a walked object with a ``HIDDEN`` component are dropped wherever they are (no valid
path has one), and a root *inside* another root's hidden state (a root with a
``HIDDEN`` component) is refused with ``InvalidParameterError`` for ``rootdirectory``.
A directory of the outer driver that holds nothing but the inner driver's hidden state
(an inner root with only suspended uploads) still exists for the outer one, empty.
"""

from __future__ import annotations

import builtins
import contextlib
import shutil
import threading
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, BinaryIO

from fsspec import AbstractFileSystem

from . import paths
from .capabilities import UNKNOWN, Capabilities
from .driver import EPOCH, FileInfo, FileWriter, StorageDriver, WalkFn
from .errors import (
    DriverError,
    InvalidParameterError,
    InvalidPathError,
    PathNotFoundError,
    StorageDriverError,
    WriterConflictError,
)
from .walk import walk, walk_flat
from .writers import WriterState

__all__ = ["EPOCH", "Backend", "FsspecDriver"]


_UPLOADS = "/" + paths.HIDDEN + "/uploads"
_HIDDEN_PART = "/" + paths.HIDDEN + "/"
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class Backend:
    """How the generic driver reaches one fsspec filesystem.

    ``root`` is the key of the driver path ``/`` (a bucket, a bucket prefix, a local
    directory, or ``""`` for the filesystem's own root). The defaults use fsspec's portable
    API; a backend overrides what its filesystem does differently.
    """

    #: Directories are real objects that outlive their last child (a local filesystem).
    empty_directories = False

    #: What this backend does natively; each backend module declares its own.
    capabilities: Capabilities = UNKNOWN

    def __init__(self, name: str, fs: AbstractFileSystem, root: str) -> None:
        self.name = name
        self.fs = fs
        self.root = fs._strip_protocol(root).rstrip("/") if root else ""
        if paths.HIDDEN in self.root.replace("\\", "/").split("/"):
            reason = f"must not lie inside another root's {paths.HIDDEN} (distfs's own state)"
            raise InvalidParameterError(name, "rootdirectory", reason)
        self._claims: weakref.WeakValueDictionary[str, _Claim] = weakref.WeakValueDictionary()
        self._claims_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={self.root!r})"

    # -- keys -------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The backend key of driver path ``path`` (a valid path, ``/``, or a hidden path)."""
        if path == paths.ROOT:
            return self.root or self.fs.root_marker
        return self.root + path

    def check(self, key: str, path: str) -> None:
        """Refuse keys that leave the driver's root (raise ``InvalidPathError`` for ``path``)."""

    def entry(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """A listing entry as the store sees it, or ``None`` to hide it."""
        return entry

    def file_infos(self, key: str, prefix: str) -> list[FileInfo] | None:
        """The infos of the children of directory ``key`` (driver paths ``prefix + "/" + name``),
        hidden state left out, unsorted: what :meth:`listing` gives made into infos in one
        pass, for walks; ``None`` where the backend has no such shortcut (the default).
        Missing: as :meth:`listing`."""
        return None

    # -- primitives -------------------------------------------------------------------

    def info(self, key: str) -> dict[str, Any]:
        """fsspec ``info`` of ``key`` (``name``, ``size``, ``type``, a time field)."""
        info: dict[str, Any] = self.fs.info(key)
        return info

    def put(self, key: str, data: bytes) -> None:
        """Replace the object at ``key`` atomically."""
        self.fs.pipe_file(key, data)

    def read_all(self, key: str) -> bytes:
        """The whole object at ``key``; not-found signals as fsspec raises them."""
        data: bytes = self.fs.cat_file(key)
        return data

    #: :meth:`put` and :meth:`rename` create the destination's parents themselves.
    creates_parents = False

    #: Read-ahead block of :meth:`open_read`: memory per open reader stays about twice this.
    read_block = 8 << 20

    def open_read(self, key: str, offset: int) -> BinaryIO:
        """A seekable stream of ``key`` positioned at ``offset`` (at the end if past it).

        ``tell()`` is the absolute position in the object; directories are refused.
        """
        info = self.fs.info(key)
        if info.get("type") != "file":
            raise IsADirectoryError(key)
        size = int(info["size"])
        stream: BinaryIO = self.fs.open(key, "rb", block_size=self.read_block, cache_type="readahead", size=size)
        stream.seek(min(offset, size))
        return stream

    def rename(self, source: str, dest: str) -> None:
        """Move object (or directory tree) ``source`` to ``dest``, replacing ``dest`` objects.

        The default copies then deletes, object by object, so a failure leaves every
        object complete at its source or its destination (fsspec's ``mv`` nests a moved
        directory inside an existing one and leaves sources behind on failure).
        """
        if self.fs.isfile(source):
            self.copy(source, dest)
            self.fs.rm_file(source)
            return
        for key in self.fs.find(source):
            self.copy(key, dest + key[len(source) :])
            self.fs.rm_file(key)

    def copy(self, source: str, dest: str) -> None:
        """Copy the object ``source`` to ``dest`` (server-side where the backend can)."""
        self.fs.cp_file(source, dest)

    def make_parents(self, key: str) -> None:
        """Create the directories above ``key`` where the backend needs them."""

    def remove(self, key: str, is_dir: bool) -> None:
        """Remove the object or directory tree at ``key``."""
        if is_dir:
            self.fs.rm(key, recursive=True)
        else:
            self.fs.rm_file(key)

    def open_append(self, key: str) -> BinaryIO:
        """A stream appending to ``key`` (created if missing)."""
        stream: BinaryIO = self.fs.open(key, "ab")
        return stream

    def sync(self, stream: BinaryIO) -> None:
        """Make what was written to ``stream`` durable."""
        stream.flush()

    def truncate(self, key: str, size: int) -> None:
        """Cut the object at ``key`` down to ``size`` bytes."""
        raise NotImplementedError

    def truncate_upload(self, stream: BinaryIO, key: str, size: int) -> None:
        """Cut the upload data at ``key``, open for appending as ``stream``, to ``size`` bytes."""
        stream.flush()
        self.truncate(key, size)

    def redirect_url(self, key: str, method: str) -> str | None:
        """A signed URL for ``method`` on ``key``, or ``None`` when the backend cannot sign."""
        return None

    # -- uploads and walks ------------------------------------------------------------

    def open_writer(self, driver: FsspecDriver, path: str, append: bool) -> FileWriter:
        """The writer of ``path``; the default stages uploads below the hidden directory."""
        return StagedWriter(driver, path, append)

    def claim_upload(self, lock_key: str, path: str) -> object:
        """Claim the upload whose lock is ``lock_key`` for one writer of ``path``.

        Returns a claim the writer holds until :meth:`release_upload`; raises
        :class:`~distfs.errors.WriterConflictError` while another writer holds it. The default
        claims within this backend object (a writer dropped without closing releases its
        claim with it); backends shared between processes override it.
        """
        claim = _Claim()
        with self._claims_lock:
            if self._claims.get(lock_key) is not None:
                raise WriterConflictError(path, self.name)
            self._claims[lock_key] = claim
        return claim

    def release_upload(self, claim: object, lock_key: str, upload_key: str, finished: bool) -> None:
        """Release ``claim``; ``finished`` (commit, cancel): the upload at ``upload_key`` is gone."""
        with self._claims_lock:
            if self._claims.get(lock_key) is claim:
                del self._claims[lock_key]
        if finished:
            self.prune(upload_key)

    def prune(self, key: str) -> None:
        """Remove the empty directories left at ``key`` and above it in the upload area."""

    def delete(self, key: str, state_key: str) -> bool:
        """Remove ``key``, everything below ``key/`` and the suspended uploads there (their
        state is below ``state_key``); False if nothing was there."""
        try:
            info = self.info(key)
        except _MISSING:
            info = None
        with contextlib.suppress(*_MISSING):
            self.remove(state_key, True)
        if info is None:
            return False
        self.remove(key, info.get("type") == "directory")
        return True

    #: The backend lists every object below a prefix in key order (:meth:`file_pages`).
    def listing(self, key: str) -> list[dict[str, Any]]:
        """The entries directly below directory ``key`` (fsspec ``ls`` detail dicts).

        Raises ``FileNotFoundError`` when nothing is there; the generic driver drops
        markers, hidden state and the entry of ``key`` itself.
        """
        entries: list[dict[str, Any]] = self.fs.ls(key, detail=True)
        return entries

    def brief_listing(self, key: str) -> list[dict[str, Any]]:
        """:meth:`listing` for ``list``, which needs names and kinds only (not sizes, times)."""
        return self.listing(key)

    flat_listing = False

    def file_pages(self, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of the objects below ``prefix`` (which ends with ``/``) sorting after ``start_after``."""
        raise NotImplementedError


class FsspecDriver(StorageDriver):
    """The StorageDriver contract over a :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.fs = backend.fs

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def capabilities(self) -> Capabilities:
        return self.backend.capabilities

    def __repr__(self) -> str:
        return f"FsspecDriver({self.backend!r})"

    def _key(self, path: str, shown: str = "") -> str:
        """The checked key of ``path``; errors name ``shown`` (the caller's path) if given."""
        key = self.backend.key(path)
        self.backend.check(key, shown or path)
        return key

    def _named(self, path: str) -> _Named:
        """Report an ``InvalidPathError`` met on distfs's own state as one of ``path``."""
        return _Named(path, self.name)

    def _missing(self, path: str) -> _Missing:
        """Turn the backend's not-found signals into ``PathNotFoundError(path)``."""
        return _Missing(path, self.name)

    # -- content ----------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        key = self._key(path)
        with self._missing(path):
            return self.backend.read_all(key)

    def put_content(self, path: str, content: bytes) -> None:
        key = self._key(path)
        backend = self.backend
        if not backend.creates_parents:
            backend.make_parents(key)
        with self._named(path):
            backend.put(key, content)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        key = self._key(path)
        with self._missing(path):
            return self.backend.open_read(key, offset)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        with self._named(path):
            return self.backend.open_writer(self, path, append)

    # -- metadata ---------------------------------------------------------------------

    def stat(self, path: str) -> FileInfo:
        key = self._key(path)
        if path == paths.ROOT:
            # The root always exists, but ask the store anyway: the health check relies on it.
            try:
                return FileInfo(path, 0, _mod_time(self.backend.info(key)), True)
            except _MISSING:
                return FileInfo(path, 0, EPOCH, True)
        try:
            info = self.backend.info(key)
        except _MISSING as exc:
            if isinstance(exc, StorageDriverError):
                raise
            raise PathNotFoundError(path, self.name) from exc
        return self._file_info(path, info)

    def list(self, path: str) -> list[str]:
        return sorted(self._list_entries(path, detail=False))

    def _list_infos(self, path: str) -> builtins.list[FileInfo]:
        try:
            infos = self.backend.file_infos(self._key(path), "" if path == paths.ROOT else path)
        except _MISSING:
            if path == paths.ROOT:
                return []
            raise PathNotFoundError(path, self.name) from None
        if infos is not None:
            return sorted(infos, key=_path_of)
        entries = self._list_entries(path)
        return [self._file_info(child, entries[child]) for child in sorted(entries)]

    def _list_entries(self, path: str, detail: bool = True) -> dict[str, dict[str, Any]]:
        """The children of directory ``path``: child path -> listing entry (unsorted)."""
        key = self._key(path)
        try:
            entries = self.backend.listing(key) if detail else self.backend.brief_listing(key)
        except _MISSING:
            if path == paths.ROOT:
                return {}
            raise PathNotFoundError(path, self.name) from None
        found: dict[str, dict[str, Any]] = {}
        is_file = False
        own_name = key.rstrip("/")
        # Hoisted out of the loop, which runs once per entry.
        prefix = "" if path == paths.ROOT else path
        hidden = paths.HIDDEN  # at every depth: an inner root's state below an outer root
        entry_of = self.backend.entry
        for raw in entries:
            name = str(raw["name"])
            is_dir = raw.get("type") == "directory"
            if name.endswith("/"):
                if not is_dir:
                    continue  # a directory marker object ("dir/"), not an entry
                name = name.rstrip("/")
            elif name == own_name and not is_dir:
                # The path itself as a file: a file (not a directory), unless children follow
                # (a marker "dir/" that adlfs reports as "dir", or an object beside its prefix).
                is_file = True
                continue
            base = name[name.rfind("/") + 1 :]
            if not base or base == hidden:
                continue
            entry = entry_of(raw)
            if entry is None:
                continue
            child = prefix + "/" + base
            if child not in found or entry.get("type") == "directory":
                found[child] = entry
        if not found and (is_file or (path != paths.ROOT and not self.backend.empty_directories)):
            raise PathNotFoundError(path, self.name)
        return found

    def _file_info(self, path: str, entry: dict[str, Any]) -> FileInfo:
        if entry.get("type") == "directory":
            return FileInfo(path, 0, _mod_time(entry), True)
        return FileInfo(path, int(entry.get("size") or 0), _mod_time(entry), False, str(entry.get("version") or ""))

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        key = self._key(path)
        if not self.backend.flat_listing:
            walk(self._list_infos, path, fn, start_after_hint)
            return
        root = self.backend.key(paths.ROOT).rstrip("/")
        prefix = key.rstrip("/") + "/"

        def pages(start_after: str) -> Iterator[builtins.list[FileInfo]]:
            after = root + start_after if start_after else ""
            for page in self.backend.file_pages(prefix, after):
                names = [(str(entry["name"])[len(root) :], entry) for entry in page]
                # Drop the hidden state of roots nested below this one (see the module
                # docstring); walk_flat skips this root's own, restarting the listing past it.
                yield [self._file_info(name, entry) for name, entry in names if not _nested_hidden(name)]

        def directory(start: str) -> None:
            if not self.stat(start).is_dir:  # a file is not a directory to walk, as for ``list``
                raise PathNotFoundError(start, self.name)

        hidden = ["/" + paths.HIDDEN] if path == paths.ROOT else []
        walk_flat(pages, path, fn, start_after_hint, exists=directory, hidden=hidden)

    # -- namespace changes ------------------------------------------------------------

    def move(self, source: str, dest: str) -> None:
        source_key, dest_key = self._key(source), self._key(dest)
        with self._missing(source):
            self.backend.info(source_key)
        if source_key == dest_key:
            return
        if dest.startswith(source + "/"):
            raise DriverError(f"cannot move {source} into itself ({dest})", self.name)
        if not self.backend.creates_parents:
            self.backend.make_parents(dest_key)
        try:
            self.backend.rename(source_key, dest_key)
        except FileNotFoundError as exc:  # the source went away meanwhile
            raise PathNotFoundError(source, self.name) from exc

    def delete(self, path: str) -> None:
        key = self._key(path)
        with self._missing(path), self._named(path):
            removed = self.backend.delete(key, self._key(_UPLOADS + path, shown=path))
        if not removed:
            raise PathNotFoundError(path, self.name)

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        return self.backend.redirect_url(self._key(path), method)  # no backend signs: expires unused

    # -- distfs's own state -----------------------------------------------------------

    def upload_keys(self, path: str) -> tuple[str, str, str, str]:
        """Checked keys of the upload of ``path``: its directory, ``data``, ``size`` and ``lock``."""
        directory = _UPLOADS + path + "/" + paths.HIDDEN
        return (
            self._key(directory, shown=path),
            self._key(directory + "/data", shown=path),
            self._key(directory + "/size", shown=path),
            self._key(directory + "/lock", shown=path),
        )


class _PathGuard:
    """A ``with`` block that rewrites errors about ``path`` (a class: cheaper than a generator)."""

    __slots__ = ("_driver_name", "_path")

    def __init__(self, path: str, driver_name: str) -> None:
        self._path = path
        self._driver_name = driver_name

    def __enter__(self) -> None:
        return None


class _Named(_PathGuard):
    """``with`` block of :meth:`FsspecDriver._named`."""

    __slots__ = ()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, InvalidPathError) and exc.path != self._path:
            raise InvalidPathError(self._path, self._driver_name) from exc


class _Missing(_PathGuard):
    """``with`` block of :meth:`FsspecDriver._missing`."""

    __slots__ = ()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, _MISSING) and not isinstance(exc, StorageDriverError):
            raise PathNotFoundError(self._path, self._driver_name) from exc


def _path_of(info: FileInfo) -> str:
    return info.path


def _nested_hidden(path: str) -> bool:
    """Whether ``path`` is hidden state of a root nested below the driver's (``/x/.distfs~/...``)."""
    return _HIDDEN_PART in path and not path.startswith(_HIDDEN_PART)


def _mod_time(entry: dict[str, Any]) -> datetime:
    """The modification time of a listing or info entry, as UTC.

    The two fsspec filesystems this driver wraps name it ``mtime`` (local: seconds as a
    float) and ``created`` (memory: a datetime); anything else reads as the epoch.
    """
    value = entry.get("mtime", entry.get("created"))
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return EPOCH


class _Claim:
    """What a writer holds while it owns an upload (weakly referenced by its backend)."""

    __slots__ = ("__weakref__",)


#: Bytes copied at a time when an append continues a committed object.
_COPY_CHUNK = 1 << 20


class StagedWriter(WriterState):
    """A resumable writer over a backend that can append to and truncate an object.

    The upload of ``path`` lives in the hidden upload directory of ``path``: ``data``
    holds the bytes, ``size`` the byte count as of the last :meth:`close`. Writes go
    straight to ``data`` (memory stays bounded by the stream's buffer); :meth:`close`
    makes them durable, then records the size, so a writer killed before ``close`` is
    resumed at the last closed size (``data`` is cut back to it). :meth:`commit` renames
    ``data`` onto the path, which is atomic where the backend's rename is.

    One writer per path at a time: the writer claims the upload
    (:meth:`Backend.claim_upload`) before it touches it and holds the claim until it is
    closed, committed or cancelled; a second ``writer(path)`` meanwhile raises
    ``WriterConflictError``, so two writers' bytes never mix in one upload. Commit and
    cancel remove the upload's files and the directories they leave empty.
    """

    def __init__(self, driver: FsspecDriver, path: str, append: bool) -> None:
        super().__init__(path, driver.name)
        self._driver = driver
        self._backend = driver.backend
        self._key = driver._key(path)
        self._upload, self._data, self._size_key, self._lock = driver.upload_keys(path)
        self._claim: object | None = self._backend.claim_upload(self._lock, path)
        self._stream: BinaryIO | None = None
        self._excess = False  # the data may hold bytes of a failed write past ``_size``
        try:
            self._size = self._resume() if append else self._start(0)
        except BaseException as exc:
            # Nothing to resume: drop the empty upload just made; otherwise keep what is there.
            self._discard(remove=isinstance(exc, PathNotFoundError))
            raise

    # -- setup ------------------------------------------------------------------------

    def _recorded_size(self) -> int | None:
        """The size of the suspended upload (its data opened), or None if there is none."""
        backend = self._backend
        try:
            text = backend.read_all(self._size_key)
            stored = int(backend.info(self._data)["size"])
        except _MISSING:
            return None
        try:
            size = int(text)
        except ValueError:
            detail = f"upload state of {self._path} is damaged (a new writer of the path replaces it)"
            raise DriverError(detail, self._driver.name) from None
        if stored < size:
            raise DriverError(f"upload data of {self._path} is shorter than recorded", self._driver.name)
        # The claim keeps other writers away between the look above and this open.
        stream = self._stream = backend.open_append(self._data)
        if stored > size:
            # bytes of a writer that never closed
            backend.truncate_upload(stream, self._data, size)
        return size

    def _resume(self) -> int:
        size = self._recorded_size()
        if size is not None:
            return size
        with self._driver._missing(self._path):
            info = self._backend.info(self._key)
        if info.get("type") == "directory":
            raise PathNotFoundError(self._path, self._driver.name)
        committed = int(info.get("size") or 0)
        self._start(committed, copy_from=self._key if committed else None)
        return committed

    def _start(self, size: int, copy_from: str | None = None) -> int:
        # No size first: a writer killed before the size is recorded left nothing to resume.
        with contextlib.suppress(*_MISSING):
            self._backend.remove(self._size_key, False)
        stream = self._stream = self._backend.open_append(self._data)
        self._backend.truncate_upload(stream, self._data, 0)
        if copy_from is not None:
            with self._backend.open_read(copy_from, 0) as source:
                shutil.copyfileobj(source, stream, _COPY_CHUNK)
            self._backend.sync(stream)
        self._backend.put(self._size_key, str(size).encode())
        return size

    # -- FileWriter -------------------------------------------------------------------

    def _open_stream(self) -> BinaryIO:
        self._require_open()
        assert self._stream is not None
        return self._stream

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Accept ``data``; a write that fails (EFBIG, ENOSPC...) accepts none of it.

        Whatever part of it reached the data is cut off again (:meth:`_cut_excess`), so no
        later ``commit`` publishes it; ``size`` stays what it was.
        """
        stream = self._open_stream()
        try:
            written = stream.write(data)
        except BaseException:
            self._excess = True
            with contextlib.suppress(OSError):  # the write's own failure is the one to report
                self._cut_excess()
            raise
        count = len(data) if written is None else written
        self._size += count
        return count

    def _cut_excess(self) -> None:
        """Cut the data back to the ``_size`` accepted bytes after a failed write.

        The stream is flushed first: bytes accepted before the failed write may still be
        buffered. If that flush fails, they are still buffered and none of the failed
        write's bytes reached the data (the stream stores its buffer before new bytes):
        nothing to cut yet, and the next flush (every close and commit) tries again.
        """
        stream = self._open_stream()
        stream.flush()
        self._backend.truncate_upload(stream, self._data, self._size)
        self._excess = False

    def _suspend(self) -> None:
        self._persist()
        self._close_stream()
        self._release(finished=False)

    def _persist(self) -> None:
        """Make every accepted byte durable (and no other), then record the size."""
        if self._excess:
            self._cut_excess()
        self._backend.sync(self._open_stream())
        with self._driver._named(self._path):
            self._backend.put(self._size_key, str(self._size).encode())

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def _release(self, *, finished: bool) -> None:
        claim, self._claim = self._claim, None
        if claim is not None:
            self._backend.release_upload(claim, self._lock, self._upload, finished)

    def _remove_files(self) -> None:
        for key in (self._data, self._size_key):
            with contextlib.suppress(*_MISSING):
                self._backend.remove(key, False)

    def _discard(self, *, remove: bool) -> None:
        """Undo a writer that failed to start: its stream, its claim, its files if ``remove``."""
        self._close_stream()
        if remove:
            self._remove_files()
        self._release(finished=remove)

    def commit(self) -> None:
        self._persist()
        self._state = "closed"  # a failed publish leaves the upload suspended, not lost
        try:
            if not self._backend.creates_parents:
                self._backend.make_parents(self._key)
            self._backend.rename(self._data, self._key)
        except BaseException:
            self._close_stream()
            self._release(finished=False)
            raise
        self._state = "committed"
        self._close_stream()
        self._remove_files()
        self._release(finished=True)

    def cancel(self) -> None:
        self._open_stream()
        self._close_stream()
        self._state = "cancelled"
        self._remove_files()
        self._release(finished=True)
