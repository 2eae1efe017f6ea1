"""The storage driver contract: ``StorageDriver``, ``FileWriter``, ``FileInfo``.

This is the registry's Go ``StorageDriver`` interface in Python. Paths are driver paths
(see :mod:`distfs.paths`); every method raises the typed errors of :mod:`distfs.errors`,
whose messages name the driver and driver paths only -- never where the store keeps them
(the host directory of a ``filesystem`` root, a bucket key).
Drivers returned by :func:`distfs.create` validate paths, name themselves in every error
and bound their concurrency (see :mod:`distfs.base`), so an implementation only has to
honour the semantics stated here.
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, BinaryIO

from .capabilities import UNKNOWN, Capabilities
from .derived import PATH_LISTS, PATHS, Derived, derived
from .errors import PathNotFoundError

__all__ = [
    "EPOCH",
    "PATHS",
    "PATH_LISTS",
    "Derived",
    "FileInfo",
    "FileWriter",
    "SkipDir",
    "StopWalk",
    "StorageDriver",
    "WalkFn",
    "derived",
    "derived_method",
]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The modification time reported where a backend keeps none."""


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What ``stat`` knows of a path.

    ``path`` is the path as the caller gave it; ``size`` is 0 for directories;
    ``mod_time`` is timezone-aware UTC (the epoch where a backend keeps no time, as for
    directories on object stores).

    ``version`` (a distfs extension, not in Go's interface) is the backend's token for
    this exact object, where it has one: the ETag (s3, oss, azure) or generation (gcs) on
    object stores, ``"<inode>:<mtime_ns>"`` on ``filesystem``; ``""`` where the backend
    gives none (directories, ``inmemory``, fsspec backends). It is opaque, compared only
    for equality between two looks at one path: an equal non-empty token (with an equal
    ``mod_time``) means the object was not replaced in between. It takes no part in
    ``==`` of two infos.
    """

    path: str
    size: int
    mod_time: datetime
    is_dir: bool
    version: str = field(default="", compare=False)


class SkipDir(Exception):
    """Raised by a walk callback on a directory: do not descend into it."""


class StopWalk(Exception):
    """Raised by a walk callback: stop the whole walk; ``walk`` then returns normally."""


WalkFn = Callable[[FileInfo], None]


class FileWriter(abc.ABC):
    """A resumable writer returned by :meth:`StorageDriver.writer`.

    Content is readable at the path only after :meth:`commit`, and then whole: whatever
    publishes at a path (``commit``, ``put_content``, ``move``), also concurrently, leaves
    exactly one writer's complete content there, never a mix; the last to publish wins.
    Writers of distinct paths never interfere. A second ``writer(path)`` while a writer
    of ``path`` is open either gets its own private upload (both proceed; the last
    ``commit`` wins whole) or is refused with
    :class:`~distfs.errors.WriterConflictError` (drivers that keep one upload per path:
    ``filesystem``, ``inmemory``); it never shares the first writer's upload. :meth:`close` without
    :meth:`commit` *suspends*: everything written is persisted, and a later
    ``writer(path, append=True)`` -- from another driver instance, process or machine --
    resumes with :attr:`size` equal to the bytes persisted. :meth:`cancel` removes
    everything written. State rules: ``write`` after close, commit or cancel fails;
    ``commit`` after close, commit or cancel fails; ``close`` after ``commit`` succeeds;
    ``close`` twice fails; ``cancel`` after ``close`` or ``commit`` fails.

    Used as a context manager, the writer is closed (suspended, or finished after a
    commit) when the block ends, also when it ends with an exception.
    """

    @abc.abstractmethod
    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``; returns the number of bytes accepted (all of them)."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Bytes written through this writer, including those persisted before a resume."""

    @abc.abstractmethod
    def close(self) -> None:
        """Persist everything written and release resources; after ``commit``, just release."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Discard everything written, including upload state kept by the backend."""

    @abc.abstractmethod
    def commit(self) -> None:
        """Publish the content at the path, replacing what was there."""

    @property
    @abc.abstractmethod
    def closed(self) -> bool:
        """True once the writer was closed, committed-and-closed or cancelled."""

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.closed:
            self.close()


def derived_method(name: str) -> Derived | None:
    """The contract method ``name`` if it has a default over the other methods, else None."""
    method = getattr(StorageDriver, name, None) if not name.startswith("_") else None
    found = getattr(method, "derived", None)
    return found if isinstance(found, Derived) else None


class StorageDriver(abc.ABC):
    """A store of byte objects under slash-separated paths.

    Directories are implicit: a directory exists while something exists below it.
    """

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The driver's name, by convention its registration name; used in every error."""

    @abc.abstractmethod
    def get_content(self, path: str) -> bytes:
        """The whole content of the object at ``path`` (meant for small objects)."""

    @abc.abstractmethod
    def put_content(self, path: str, content: bytes) -> None:
        """Store ``content`` at ``path``, atomically replacing any previous content."""

    @abc.abstractmethod
    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        """A stream of the object at ``path`` from byte ``offset``.

        The stream is a readable, seekable binary stream and a context manager, positioned
        at ``offset``, and behaves as :class:`io.BufferedReader`: ``read(n)``, ``read()``,
        ``read(-1)``, ``readinto``, ``readline`` and iteration over lines; ``tell()`` is
        the absolute position in the object (``reader(p, 10).tell() == 10``); ``seek(pos,
        whence)`` works with whence 0, 1 and 2, forward and backward, ``SEEK_END`` being
        relative to the size of the version being read. An offset at or past the end
        (including offsets of ``2**63`` and above) gives an empty stream positioned at the
        end, never an error; a negative offset is an ``InvalidOffsetError``; a missing
        object a ``PathNotFoundError``.
        """

    @abc.abstractmethod
    def writer(self, path: str, append: bool = False) -> FileWriter:
        """A :class:`FileWriter` for ``path``.

        ``append=False`` starts a new upload (discarding a suspended one). ``append=True``
        resumes the suspended upload of ``path``; with none, it continues the committed
        object at ``path`` (for a zero-length one: from nothing); with neither, it raises
        ``PathNotFoundError``.
        """

    @abc.abstractmethod
    def stat(self, path: str) -> FileInfo:
        """Size, modification time and kind of ``path``."""

    @abc.abstractmethod
    def list(self, path: str) -> list[str]:
        """Absolute paths of the direct children of directory ``path``, sorted.

        A missing directory is a ``PathNotFoundError``; ``list("/")`` never is.
        """

    @abc.abstractmethod
    def move(self, source: str, dest: str) -> None:
        """Move the object at ``source`` to ``dest``, overwriting ``dest``.

        Parents of ``dest`` are created. A missing ``source`` is a ``PathNotFoundError``
        and leaves ``dest`` untouched.
        """

    @abc.abstractmethod
    def delete(self, path: str) -> None:
        """Remove ``path`` and everything below ``path + "/"`` (never ``path-suffix``)."""

    @derived()
    def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        """``delete`` every path of ``paths``, as a batch where the store can.

        The outcome is that of deleting them one by one: everything at and below each path
        is gone, suspended uploads too. Paths that did not exist raise ``PathNotFoundError``
        for the first of them, after every other path was deleted.

        With ``files_only``, only the object stored at each path goes, with the suspended
        upload of that path: nothing below a path is touched (a path that is a directory
        keeps its content), and a path holding no object is skipped without error. That
        needs no lookup first, so an object store deletes in one round of batch requests.

        Not part of Go's interface: the default deletes one path after another; object
        stores look up and delete many paths in a few requests.
        """
        if files_only:
            for path in paths:
                try:
                    if not self.stat(path).is_dir:
                        self.delete(path)
                except PathNotFoundError:
                    with contextlib.suppress(PathNotFoundError):
                        self.delete(path)  # no object; a suspended upload of the path goes
            return
        missing: list[PathNotFoundError] = []
        for path in paths:
            try:
                self.delete(path)
            except PathNotFoundError as exc:
                missing.append(exc)
        if missing:
            raise missing[0]

    def _run_derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """Run ``method`` (a :func:`derived` method this driver does not define) with ``arguments``.

        Here: its default, over this driver's own methods. Drivers that wrap another
        override it to check the arguments and hand the call on (``Base``, middleware), or
        to run a faster path (the engine's driver).
        """
        return method.default(self, *arguments.args, **arguments.kwargs)

    @derived(root_ok=True)
    def files_matching(self, path: str, pattern: Sequence[str]) -> builtins.list[FileInfo]:
        """The files at ``path`` followed by the names of ``pattern``, ``"*"`` standing for any one name.

        Not part of Go's interface: what the registry tools list blobs with,
        ``files_matching("/docker/registry/v2/blobs", ("*", "*", "*", "data"))``. Every file
        (never a directory, nor anything below a matched file) exactly ``len(pattern)``
        levels below ``path`` whose names match ``pattern`` one by one, in no particular
        order, with what :meth:`walk` reports of it (links, hidden state and vanished
        entries as there). A missing ``path`` is a ``PathNotFoundError``.

        The default is one :meth:`walk` (a flat listing on object stores) that skips the
        directories the pattern rules out; a filesystem lists only the directories where
        ``"*"`` stands and looks the other names up directly.
        """
        names = tuple(pattern)
        cut = 1 if path == "/" else len(path) + 1
        found: builtins.list[FileInfo] = []

        def visit(info: FileInfo) -> None:
            parts = info.path[cut:].split("/")
            level = len(parts)
            wanted = names[level - 1] if level <= len(names) else None
            fits = wanted is not None and wanted in ("*", parts[-1])
            if info.is_dir:
                if not fits or level >= len(names):
                    raise SkipDir
            elif fits and level == len(names):
                found.append(info)

        self.walk(path, visit)
        return found

    @property
    def capabilities(self) -> Capabilities:
        """What the backend does natively (:class:`~distfs.capabilities.Capabilities`).

        The default, for drivers that declare nothing, is every ability unknown or absent;
        a third-party driver overrides this property. ``distfs probe`` shows whether a
        declaration matches what the backend does.
        """
        return UNKNOWN

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        """A URL from which a client may ``method`` the object directly, or ``None``.

        ``None`` means the content must be served through the caller. No existence
        check is made. ``expires`` (a distfs extension, not in Go's interface) is how many
        seconds a signed URL stays valid; ``None`` is the driver's default (20 minutes on
        the object stores). A driver that signs nothing ignores it.
        """
        return None

    def unwrap(self) -> StorageDriver | None:
        """The driver this one wraps, or ``None`` (a distfs extension, not in Go's interface).

        Middleware and :class:`~distfs.base.Base` (the checks around every driver
        :func:`distfs.create` returns) wrap another driver. What Go finds by a type assertion
        on the driver below (cloudfront's ``S3BucketKeyer``) a face finds by unwrapping.
        """
        return None

    @abc.abstractmethod
    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        """Call ``fn`` for every file and directory below ``path`` (not ``path`` itself).

        Directories come before their contents. ``fn`` raises :class:`SkipDir` on a
        directory to skip its contents and :class:`StopWalk` to end the walk. The walk
        may skip everything up to ``start_after_hint`` in its own order; callers filter
        again. A missing ``path`` is a ``PathNotFoundError``.
        """
