"""The engine's base: driver paths as keys below the root, the one error mapping, the retry policy.

:class:`EnginePolicy` is what every part of :class:`~distfs.engine.core.Engine` stands on
(:mod:`distfs.engine.reads` reads and lists over it; :mod:`distfs.engine.core` changes the
namespace). distfs's own state lives below :data:`distfs.paths.HIDDEN` (see
:mod:`distfs.engine.core`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeVar

from .. import paths
from ..errors import (
    AccessDeniedError,
    DriverError,
    InvalidParameterError,
    InvalidPathError,
    ObjectChangedError,
    PathNotFoundError,
    StorageDriverError,
    StoreNotFoundError,
    WriterConflictError,
)
from ..retry import again
from .loop import track
from .seam import Busy, Changed, Denied, Files, Invalid, NotFound, Store, StoreError, StoreMissing, Transient, Tree

__all__ = ["EnginePolicy", "utc"]

_HIDDEN_PART = "/" + paths.HIDDEN + "/"
_UPLOADS = "/" + paths.HIDDEN + "/uploads"
#: The journal's name in a path's :meth:`EnginePolicy.upload_dir`.
_STATE = "state"

T = TypeVar("T")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, Transient)


class EnginePolicy:
    """The contract over ``store``: ``root`` is the key prefix of driver path ``/`` (``""`` or ``"a/b"``).

    ``retries`` is how often the engine retries a :class:`~distfs.engine.seam.Transient`
    failure (with exponential backoff and jitter); ``read_block`` is the size of one ranged
    read; ``chunk`` the part size of writers.
    """

    def __init__(
        self, store: Store, *, root: str = "", retries: int = 5, chunk: int, read_block: int = 8 << 20
    ) -> None:
        self.store = store
        self.name = store.name
        self.root = root.strip("/")
        if paths.HIDDEN in self.root.split("/"):
            reason = f"must not lie inside another root's {paths.HIDDEN} (distfs's own state)"
            raise InvalidParameterError(self.name, "rootdirectory", reason)
        self.retries = retries
        self.chunk = chunk
        self.read_block = read_block
        #: The store's :class:`~distfs.engine.seam.Tree` (real directories), or None.
        self.tree: Tree | None = store if getattr(store, "remove_tree", None) is not None else None  # type: ignore[assignment]
        #: The store's :class:`~distfs.engine.seam.Files` (readers are local files), or None.
        self.local_files: Files | None = store if getattr(store, "open_file", None) is not None else None  # type: ignore[assignment]
        track(store)

    def __repr__(self) -> str:
        return f"Engine({self.name}, bucket={self.store.bucket!r}, root={self.root!r})"

    # -- keys -------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The store key of driver path ``path`` (``/`` is the root's prefix, ``""`` or ``"a/b/"``)."""
        if path == paths.ROOT:
            return self.root + "/" if self.root else ""
        return self.root + path if self.root else path[1:]

    def path(self, key: str) -> str:
        """The driver path of a store key below the root."""
        return "/" + key[len(self.root) + 1 :] if self.root else "/" + key

    def prefix(self, path: str) -> str:
        """The key prefix of everything below directory ``path``."""
        return self.key(path) if path == paths.ROOT else self.key(path) + "/"

    def upload_dir(self, path: str) -> str:
        """The hidden directory of ``path``'s suspended upload (a driver path)."""
        return _UPLOADS + path + "/" + paths.HIDDEN

    # -- errors and retries -----------------------------------------------------------

    def failure(self, exc: StoreError, path: str, doing: str = "") -> StorageDriverError:
        """The distfs error for store error ``exc`` met while working on ``path``."""
        if isinstance(exc, NotFound):
            return PathNotFoundError(path, self.name)
        if isinstance(exc, StoreMissing):
            return StoreNotFoundError(exc.store, self.name, exc.kind)
        if isinstance(exc, Denied):
            detail = f"access denied ({exc.code})" + (f": {exc.message}" if exc.message else "")
            return AccessDeniedError(detail, self.name, path)
        if isinstance(exc, Changed):
            return ObjectChangedError(path, self.name)
        if isinstance(exc, Busy):
            return WriterConflictError(path, self.name)
        if isinstance(exc, Invalid):  # a key of distfs's own state stands for the caller's path
            key = exc.key.rstrip("/")
            own = paths.HIDDEN in key.split("/") or key == self.key(path).rstrip("/") or not key.startswith(self.root)
            return InvalidPathError(path if own else self.path(key), self.name)
        what = f"{doing} {path}".strip()
        error = DriverError(f"{what} failed: {exc}", self.name)
        error.path = path  # the driver path of the call (the fsspec face names it, with errno)
        return error

    def errors(self, path: str, doing: str = "") -> _Mapped:
        """``async with``/``with`` block turning store errors into distfs errors about ``path``."""
        return _Mapped(self, path, doing)

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()``, retrying Transient failures ``retries`` times with backoff (:mod:`distfs.retry`)."""
        try:
            return await make()  # the first attempt: no retry machinery unless it fails
        except Transient:
            if not self.retries:
                raise
        return await again(make, self.retries, _transient)


class _Mapped:
    """The ``with`` block of :meth:`Engine.errors` (sync and async)."""

    __slots__ = ("_doing", "_engine", "_path")

    def __init__(self, engine: EnginePolicy, path: str, doing: str) -> None:
        self._engine = engine
        self._path = path
        self._doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if isinstance(exc, StoreError):
            raise self._engine.failure(exc, self._path, self._doing) from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, exc, tb)


def utc(value: datetime) -> datetime:
    """A store's modification time as ``datetime.UTC`` (botocore's ``tzutc()`` is the same instant)."""
    if value.tzinfo is UTC:
        return value
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
