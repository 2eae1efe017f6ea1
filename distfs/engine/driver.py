"""The synchronous StorageDriver of every object store: the engine's coroutines, run on one loop thread.

:class:`ObjectStoreDriver` is a thin delegation (as fsspec's ``dirfs`` is): each method
runs the :class:`~distfs.engine.core.Engine` coroutine of the same name through
:func:`distfs.engine.loop.run` (or, for a ``blocking`` store, on the calling thread through
:func:`distfs.engine.loop.run_here`). Its reader and writer are the two stream adapters below.
"""

from __future__ import annotations

import builtins
import inspect
import io
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar

from .. import paths
from ..capabilities import Capabilities
from ..driver import Derived, FileInfo, FileWriter, StorageDriver, WalkFn
from ..errors import PathNotFoundError
from ..walk import walk as walk_tree
from ..walk import walk_flat
from ..writers import WriterState
from .core import Engine
from .loop import run, run_here
from .seam import ObjectInfo

if TYPE_CHECKING:
    from .writer import Session

__all__ = ["Cursor", "ObjectStoreDriver", "PinnedReader", "Runner", "fast_path", "walk"]

T = TypeVar("T")
#: Runs one coroutine to its end from a synchronous thread and returns its result.
Runner = Callable[[Coroutine[Any, Any, Any]], Any]


class Run(Protocol):
    """:func:`~distfs.engine.loop.run` or :func:`~distfs.engine.loop.run_here` (typed)."""

    def __call__(self, coroutine: Coroutine[Any, Any, T], /) -> T: ...


class ObjectStoreDriver(StorageDriver):
    """The StorageDriver contract over an :class:`Engine` (see :mod:`distfs.engine.core`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: How a call runs: on the loop thread, or on the caller's (a ``blocking`` store).
        self.run: Run = run_here if getattr(engine.store, "blocking", False) else run

    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def capabilities(self) -> Capabilities:
        return self.engine.store.capabilities

    @property
    def location(self) -> str:
        """Where the store keeps driver path ``/`` (a distfs extension, see docs/extension.md):
        the bucket, container or directory and the root prefix, ``"bucket/prefix"``. What an
        error must never show; never a credential."""
        return "/".join(part for part in (str(self.engine.store.bucket).strip("/"), self.engine.root) if part)

    def __repr__(self) -> str:
        return repr(self.engine)

    def get_content(self, path: str) -> bytes:
        return self.run(self.engine.get_content(path))

    def put_content(self, path: str, content: bytes) -> None:
        self.run(self.engine.put_content(path, content))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        engine = self.engine
        if engine.local_files is not None:  # the file itself: it keeps the version it opened
            return self.run(engine.open_file(path, offset))
        data, info = self.run(engine.read_range(path, offset, offset + engine.read_block, None))
        raw = PinnedReader(engine, path, info, offset, data, runner=self.run)
        # the cursor holds a block already: a blocking store's reads cost no round trip, so
        # its buffer stays small (one copy of a block in memory, not two)
        buffer = engine.read_block if self.run is run else min(engine.read_block, 1 << 16)
        return io.BufferedReader(raw, buffer_size=buffer)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        from .writer import Session  # with the journal: imported by the first writer, not by every driver

        session = Session(self.engine, path)
        self.run(session.open(append))
        return SessionWriter(session, path, self.name, self.run)

    def stat(self, path: str) -> FileInfo:
        return self.run(self.engine.stat(path))

    def list(self, path: str) -> builtins.list[str]:
        return self.run(self.engine.list(path))

    def move(self, source: str, dest: str) -> None:
        self.run(self.engine.move(source, dest))

    def delete(self, path: str) -> None:
        self.run(self.engine.delete(path))

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        return self.run(self.engine.redirect_url(path, method, expires))

    def _run_derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """The engine's coroutine of ``method``'s name (its fast path: ``delete_many``), else the default."""
        fast = fast_path(self.engine, method)
        if fast is None:
            return super()._run_derived(method, arguments)
        return self.run(fast(*arguments.args, **arguments.kwargs))

    def files_matching(self, path: str, pattern: Sequence[str]) -> builtins.list[FileInfo]:
        if self.engine.tree is not None:  # real directories: only those a "*" stands in are listed
            return self.run(self.engine.matching(path, tuple(pattern)))
        return super().files_matching(path, pattern)

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        if self.engine.tree is not None:  # real directories: one listing per directory entered
            engine = self.engine
            walk_tree(lambda directory: self.run(engine.children(directory)), path, fn, start_after_hint)
            return
        walk(self.engine, path, fn, start_after_hint, self.run)


def fast_path(engine: Engine, method: Derived) -> Callable[..., Coroutine[Any, Any, Any]] | None:
    """The engine's coroutine for a contract method with a default: the one of the same name
    and signature (``Engine.delete_many``), or None where the engine has none."""
    found = getattr(engine, method.name, None)
    return found if inspect.iscoroutinefunction(found) else None


def walk(engine: Engine, path: str, fn: WalkFn, start_after_hint: str, runner: Runner) -> None:
    """The flat walk of ``path`` (:func:`distfs.walk.walk_flat`) over the engine's ``files`` pages.

    ``runner`` runs one engine coroutine to its end from this (synchronous) thread: the
    loop thread's :func:`~distfs.engine.loop.run` for the synchronous driver, the
    caller's event loop for ``distfs.aio``.
    """

    def pages(start_after: str) -> Iterator[builtins.list[FileInfo]]:
        iterator = engine.files(path, start_after).__aiter__()
        while True:
            try:
                page = runner(_next(iterator))
            except StopAsyncIteration:
                return
            yield [engine.file_info(info) for info in page]

    def directory(start: str) -> None:
        if not runner(engine.stat(start)).is_dir:  # a file is not a directory to walk, as for ``list``
            raise PathNotFoundError(start, engine.name)

    hidden = ["/" + paths.HIDDEN] if path == paths.ROOT else []
    walk_flat(pages, path, fn, start_after_hint, exists=directory, hidden=hidden)


async def _next(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


class Cursor:
    """The position in one pinned version of an object, shared by the sync and async readers.

    ``info`` is the version read (``info.version``); ``first`` holds bytes already read at
    ``offset``. :meth:`take` copies buffered bytes; :meth:`fill` fetches the next range,
    pinned to that version (the object replaced meanwhile is ObjectChangedError, never a
    mix; faults are retried by the engine from the byte reached).
    """

    __slots__ = ("_engine", "_path", "_pending", "info", "position")

    def __init__(self, engine: Engine, path: str, info: ObjectInfo, offset: int, first: bytes) -> None:
        self._engine = engine
        self._path = path
        self.info = info
        self.position = offset
        self._pending = memoryview(first)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.info.size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        if position != self.position:
            self._pending = memoryview(b"")
            self.position = position
        return position

    def take(self, view: memoryview) -> int | None:
        """Copy buffered bytes into ``view``: their count, 0 at the end, None when :meth:`fill` is needed."""
        if self.position >= self.info.size or not len(view):
            return 0
        if not self._pending:
            return None
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self.position += count
        return count

    async def fill(self, size: int) -> None:
        """Fetch at least ``size`` bytes (one read block) from the position, pinned to the version."""
        end = self.position + max(size, self._engine.read_block)
        self._pending = memoryview(b"")  # an exhausted view still holds the last block: free it first
        data, _ = await self._engine.read_range(self._path, self.position, end, self.info.version)
        self._pending = memoryview(data)

    def clear(self) -> None:
        self._pending = memoryview(b"")


class PinnedReader(io.RawIOBase):
    """A seekable raw stream of one version of an object (a :class:`Cursor`, run on the loop thread)."""

    def __init__(
        self, engine: Engine, path: str, info: ObjectInfo, offset: int, first: bytes, *, runner: Run = run
    ) -> None:
        super().__init__()
        self._cursor = Cursor(engine, path, info, offset, first)
        self._run = runner

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._cursor.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._cursor.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = self._cursor.take(view)
        if count is None:
            self._run(self._cursor.fill(len(view)))
            count = self._cursor.take(view)
        return count or 0

    def close(self) -> None:
        self._cursor.clear()
        super().close()


class SessionWriter(WriterState):
    """The FileWriter of an engine :class:`Session` (state rules from :class:`WriterState`)."""

    def __init__(self, session: Session, path: str, driver_name: str, runner: Run = run) -> None:
        super().__init__(path, driver_name)
        self._session = session
        self._run = runner

    @property
    def size(self) -> int:
        return self._session.size

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._require_open()
        return self._run(self._session.write(data))

    def _suspend(self) -> None:
        self._run(self._session.close())

    def commit(self) -> None:
        self._require_open()
        self._state = "closed"  # a failed commit leaves the upload suspended, not lost
        self._run(self._session.commit())
        self._state = "committed"

    def cancel(self) -> None:
        self._require_open()
        self._state = "cancelled"
        self._run(self._session.cancel())
