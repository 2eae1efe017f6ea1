"""The async driver contract, its one generic wrapper, and the driver on the object-store engine.

:class:`AsyncStorageDriver` is :class:`~distfs.driver.StorageDriver` as coroutines: the
same method names, arguments, semantics and typed errors (see that class for each
method's contract), with an :class:`~distfs.aio.streams.AsyncReader`, an
:class:`~distfs.aio.streams.AsyncWriter`, and walks as async iterators
(:mod:`distfs.aio.walking`). Every async driver:

1. validates arguments exactly as the synchronous drivers do (:class:`distfs.base.Base`'s
   own checks: path rules, offsets, content types);
2. bounds concurrency: at most :attr:`~AsyncStorageDriver.max_concurrency` requests run
   at once, whatever the number of tasks (an :class:`asyncio.Semaphore` per driver; the
   limit is the driver's ``maxconcurrency`` / ``maxthreads``, else
   :data:`DEFAULT_CONCURRENCY`). Each call, each read that fetches and each write that
   uploads holds a slot while its request runs; a walk holds one only while it lists;
3. names the driver in every error (a foreign exception becomes a ``DriverError``).

An async driver belongs to the event loop that first uses it (its store's clients, its
semaphore); make one per loop. :meth:`AsyncStorageDriver.close` releases its
connections.

:class:`EngineDriver` awaits the :class:`~distfs.engine.core.Engine`'s coroutines directly
on the caller's loop (natively async on s3, gcs and azure; oss runs its SDK in threads).
:class:`~distfs.aio.offload.ThreadedDriver` runs a synchronous driver in a bounded pool
of threads.

A contract method with a default over the other methods (:func:`distfs.driver.derived`)
is a coroutine method of every async driver without further code: its paths checked as
above, then the engine's coroutine of that name where there is one, the synchronous
driver's method in a thread (``ThreadedDriver``), or else its default over this driver's
own coroutines (:meth:`AsyncStorageDriver._derived`). ``<method> = asynchronous(StorageDriver.<method>)``
in :class:`AsyncStorageDriver` gives it its typed signature.
"""

from __future__ import annotations

import abc
import asyncio
import builtins
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..base import Base, _as_driver_error
from ..capabilities import Capabilities
from ..driver import Derived, FileInfo, StorageDriver, derived_method
from ..engine.core import Engine
from ..engine.driver import Cursor, fast_path
from ..engine.driver import walk as engine_walk
from ..engine.writer import Session
from ..errors import DriverError
from .derived import asynchronous, run_default
from .streams import AsyncReader, AsyncWriter, PinnedAsyncReader, SessionAsyncWriter
from .walking import AsyncWalkFn, WalkIterator, WalkStart, drive

__all__ = ["DEFAULT_CONCURRENCY", "AsyncStorageDriver", "EngineDriver"]

T = TypeVar("T")

#: Requests in flight at once for a driver that sets no limit of its own.
DEFAULT_CONCURRENCY = 100


class AsyncStorageDriver(abc.ABC):
    """The StorageDriver contract as coroutines (see the module docstring).

    ``walk(path, fn)`` calls ``fn`` (a function or a coroutine function) for every
    entry, ``fn`` raising SkipDir / StopWalk as in the sync API; ``iter_walk(path)`` is
    the same walk as an async iterator (``skip()`` on it after a directory skips that
    directory; leaving the loop ends the walk).
    """

    def __init__(self, base: Base) -> None:
        self._base = base
        limit = base.max_concurrency or DEFAULT_CONCURRENCY
        self._limit = limit
        self._slots = _Slots(limit)
        #: False until a first request finished: the first requests then run one at a time, so
        #: that a store makes its SDK clients in this loop once, not once per concurrent task.
        self._warm = not self.first_request_alone

    # -- what the driver is -----------------------------------------------------------

    @property
    def name(self) -> str:
        """The driver's name, used in every error."""
        return self._base.name

    @property
    def capabilities(self) -> Capabilities:
        """What the backend does natively (as the synchronous driver's)."""
        return self._base.capabilities

    @property
    def max_concurrency(self) -> int:
        """Requests this driver runs at once, at most."""
        return self._limit

    def __repr__(self) -> str:
        return f"<distfs async driver {self.name!r} {self._base.inner!r}>"

    #: Whether the first request runs alone (see ``_warm``).
    first_request_alone = False

    async def bound(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await ``make()`` holding one concurrency slot; its errors name the driver."""
        if not self._warm:
            async with self._slots.first:
                if not self._warm:
                    try:
                        return await self._bound(make)
                    finally:
                        self._warm = True
        return await self._bound(make)

    async def _bound(self, make: Callable[[], Awaitable[T]]) -> T:
        async with self._slots:
            try:
                return await make()
            except StopAsyncIteration:  # the end of a listing, not a failure
                raise
            except Exception as exc:
                error = _as_driver_error(exc, self.name)
                if error is exc:
                    raise
                raise error from exc

    # -- the contract -----------------------------------------------------------------

    async def get_content(self, path: str) -> bytes:
        """The whole content of the object at ``path``."""
        self._base.check_path(path)
        return await self.bound(lambda: self._get_content(path))

    async def put_content(self, path: str, content: bytes) -> None:
        """Store ``content`` at ``path``, atomically replacing any previous content."""
        self._base.check_path(path)
        if not isinstance(content, bytes | bytearray | memoryview):
            raise DriverError(f"content for {path} must be bytes, not {type(content).__name__}", self.name)
        data = bytes(content)
        await self.bound(lambda: self._put_content(path, data))

    async def reader(self, path: str, offset: int = 0) -> AsyncReader:
        """An :class:`~distfs.aio.streams.AsyncReader` of ``path`` from ``offset``."""
        self._base.check_offset(path, offset)
        self._base.check_path(path)
        return await self.bound(lambda: self._reader(path, offset))

    async def writer(self, path: str, append: bool = False) -> AsyncWriter:
        """An :class:`~distfs.aio.streams.AsyncWriter` of ``path`` (``append``: resume)."""
        self._base.check_path(path)
        return await self.bound(lambda: self._writer(path, bool(append)))

    async def stat(self, path: str) -> FileInfo:
        """Size, modification time and kind of ``path``."""
        self._base.check_path(path, root_ok=True)
        return await self.bound(lambda: self._stat(path))

    async def list(self, path: str) -> builtins.list[str]:
        """Absolute paths of the direct children of directory ``path``, sorted."""
        self._base.check_path(path, root_ok=True)
        return await self.bound(lambda: self._list(path))

    async def move(self, source: str, dest: str) -> None:
        """Move ``source`` to ``dest``, overwriting it (a missing source leaves ``dest`` alone)."""
        self._base.check_path(source)
        self._base.check_path(dest)
        await self.bound(lambda: self._move(source, dest))

    async def delete(self, path: str) -> None:
        """Remove ``path`` and everything below ``path + "/"``."""
        self._base.check_path(path)
        await self.bound(lambda: self._delete(path))

    async def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        """``delete`` every path of ``paths`` as a batch (see the sync contract, ``files_only`` too)."""
        if paths:  # none: no request
            await _delete_many(self, paths, files_only=files_only)

    async def _run_derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """A contract method with a default: its paths checked as ``Base`` checks them, then :meth:`_derived`."""
        self._base.check_arguments(method, arguments)
        return await self._derived(method, arguments)

    async def _derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """``method``'s default over this driver's own coroutines (:func:`~distfs.aio.derived.run_default`)."""
        return await run_default(self, method, arguments)

    if not TYPE_CHECKING:  # at run time only: a typo stays a type error

        def __getattr__(self, name: str) -> Any:
            """A contract method with a default that this class does not list (see the module docstring)."""
            method = derived_method(name)
            if method is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            return asynchronous(getattr(StorageDriver, name)).__get__(self)

    files_matching = asynchronous(StorageDriver.files_matching)

    async def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        """A URL from which a client may ``method`` the object directly (signed ``expires`` seconds), or None."""
        self._base.check_path(path)
        if not isinstance(method, str):
            raise DriverError(f"HTTP method must be a string, not {type(method).__name__}", self.name)
        upper = method.upper()
        return await self.bound(lambda: self._redirect_url(path, upper, expires))

    def iter_walk(self, path: str, *, start_after_hint: str = "") -> WalkIterator:
        """The walk below ``path`` as an async iterator (see :mod:`distfs.aio.walking`)."""
        self._base.check_path(path, root_ok=True)
        if not isinstance(start_after_hint, str):
            raise DriverError("start_after_hint must be a string", self.name)
        return WalkIterator(self._walk_start(path, start_after_hint), self.name)

    async def walk(self, path: str, fn: AsyncWalkFn, *, start_after_hint: str = "") -> None:
        """Call ``fn`` (sync or async) for every file and directory below ``path``, in key order."""
        await drive(self.iter_walk(path, start_after_hint=start_after_hint), fn)

    async def close(self) -> None:
        """Release the driver's connections and threads (it is not used afterwards)."""
        await self._close()

    async def __aenter__(self) -> AsyncStorageDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what an implementation supplies (arguments already valid) ----------------------

    @abc.abstractmethod
    async def _get_content(self, path: str) -> bytes: ...

    @abc.abstractmethod
    async def _put_content(self, path: str, content: bytes) -> None: ...

    @abc.abstractmethod
    async def _reader(self, path: str, offset: int) -> AsyncReader: ...

    @abc.abstractmethod
    async def _writer(self, path: str, append: bool) -> AsyncWriter: ...

    @abc.abstractmethod
    async def _stat(self, path: str) -> FileInfo: ...

    @abc.abstractmethod
    async def _list(self, path: str) -> builtins.list[str]: ...

    @abc.abstractmethod
    async def _move(self, source: str, dest: str) -> None: ...

    @abc.abstractmethod
    async def _delete(self, path: str) -> None: ...

    @abc.abstractmethod
    async def _redirect_url(self, path: str, method: str, expires: int | None) -> str | None: ...

    @abc.abstractmethod
    def _walk_start(self, path: str, start_after_hint: str) -> WalkStart: ...

    async def _close(self) -> None:
        return None


class _Slots:
    """An :class:`asyncio.Semaphore` of ``limit`` slots, and the ``first`` request's lock."""

    __slots__ = ("_semaphore", "first")

    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(limit)
        self.first = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._semaphore.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._semaphore.release()


class EngineDriver(AsyncStorageDriver):
    """An object store's driver: the engine's coroutines, awaited on the caller's loop."""

    first_request_alone = True

    def __init__(self, base: Base, engine: Engine) -> None:
        super().__init__(base)
        self.engine = engine

    async def read_range(self, path: str, start: int, end: int, version: str | None = None) -> bytes:
        """Bytes ``[start, end)`` of ``path`` in one ranged read: fewer at the object's end, none
        past it (a missing path is PathNotFoundError). With ``version`` (a ``stat``'s
        ``FileInfo.version``) the read is pinned to it: another version is ObjectChangedError.
        Not part of the contract: what ``distfs://`` uses for byte ranges (zarr's partial
        reads) and for the blocks of its files, where :meth:`reader` would fetch a whole read
        block."""
        self._base.check_path(path)
        data, _ = await self.bound(lambda: self.engine.read_range(path, start, end, version or None))
        return data

    async def copy(self, source: str, dest: str) -> None:
        """``source``'s object copied to ``dest`` by the store (see :meth:`Engine.copy`); not in the contract."""
        self._base.check_path(source)
        self._base.check_path(dest)
        await self.bound(lambda: self.engine.copy(source, dest))

    async def children(self, path: str) -> builtins.list[FileInfo]:
        """The direct children of directory ``path`` from one delimiter listing (its pages).
        Not part of the contract: what ``distfs://``'s ``ls`` uses (see :meth:`Engine.children`)."""
        self._base.check_path(path, root_ok=True)
        return await self.bound(lambda: self.engine.children(path))

    async def _get_content(self, path: str) -> bytes:
        return await self.engine.get_content(path)

    async def _put_content(self, path: str, content: bytes) -> None:
        await self.engine.put_content(path, content)

    async def _reader(self, path: str, offset: int) -> AsyncReader:
        engine = self.engine
        data, info = await engine.read_range(path, offset, offset + engine.read_block, None)
        return PinnedAsyncReader(Cursor(engine, path, info, offset, data), self.bound, engine.read_block)

    async def _writer(self, path: str, append: bool) -> AsyncWriter:
        session = Session(self.engine, path)
        await session.open(append)
        return SessionAsyncWriter(session, path, self.name, self.bound)

    async def _stat(self, path: str) -> FileInfo:
        return await self.engine.stat(path)

    async def _list(self, path: str) -> builtins.list[str]:
        return await self.engine.list(path)

    async def _move(self, source: str, dest: str) -> None:
        await self.engine.move(source, dest)

    async def _delete(self, path: str) -> None:
        await self.engine.delete(path)

    async def _derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """The engine's coroutine of ``method``'s name (its fast path: ``delete_many``), else the default."""
        fast = fast_path(self.engine, method)
        if fast is None:
            return await super()._derived(method, arguments)
        return await self.bound(lambda: fast(*arguments.args, **arguments.kwargs))

    async def _redirect_url(self, path: str, method: str, expires: int | None) -> str | None:
        return await self.engine.redirect_url(path, method, expires)

    def _walk_start(self, path: str, start_after_hint: str) -> WalkStart:
        engine = self.engine

        def start(fn: Any, runner: Any) -> None:
            # Listing requests run on the caller's loop, each under a slot.
            engine_walk(engine, path, fn, start_after_hint, lambda c: runner(self.bound(lambda: c)))

        return start

    async def _close(self) -> None:
        await self.engine.close()


_delete_many = asynchronous(StorageDriver.delete_many)
