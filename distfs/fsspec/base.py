"""An fsspec filesystem bound to one driver: its paths, its error mapping, its native async twin.

:class:`DriverFileSystem` is the base of :class:`~distfs.fsspec.DistFileSystem` and of its
mixins (batches, coroutines): every driver call of the fsspec face goes through the helpers
here. An object store's driver has an async twin over the same engine (:mod:`distfs.aio`);
its coroutines run on the engine's loop thread, where the store's clients live.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from fsspec import AbstractFileSystem

from .. import aio, paths
from ..driver import FileInfo, StorageDriver
from ..errors import (
    AccessDeniedError,
    DriverError,
    InvalidPathError,
    PathNotFoundError,
    StorageDriverError,
    UnsupportedMethodError,
)
from .chain import Chain
from .oserrors import as_os_error, os_error
from .store import explain

__all__ = ["DriverFileSystem", "found", "gather", "size_of", "span"]

T = TypeVar("T")
R = TypeVar("R")


async def gather(native: Callable[[T], Awaitable[R]], items: Sequence[T]) -> list[R | BaseException]:
    """``native`` of every item, gathered (the async driver bounds them); failures in place."""
    return await asyncio.gather(*(native(item) for item in items), return_exceptions=True)


async def found(info: Awaitable[dict[str, Any]], kind: str | None = None) -> bool:
    """Whether the ``info`` awaited names something (of ``kind``); False only for not-found."""
    try:
        entry = await info
    except FileNotFoundError:
        return False
    return kind is None or entry["type"] == kind


async def size_of(info: Awaitable[dict[str, Any]]) -> int:
    return int((await info)["size"])


def span(size: int, start: int | None, end: int | None) -> tuple[int, int]:
    """Byte offsets ``[first, last)`` of fsspec's ``start``/``end`` (negative: from the end) in ``size`` bytes."""
    first = max(0, size + start if start is not None and start < 0 else start or 0)
    last = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
    return first, last


class DriverFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """The driver, its paths and errors as fsspec has them; subclasses set :attr:`driver`."""

    root_marker = "/"
    driver: StorageDriver
    #: The target of a chained filesystem (``distfs::<url>``), else None.
    _chain: Chain | None = None
    _native_pid = 0  # the process that made _native_driver (made again after a fork)
    _native_driver: aio.EngineDriver | None = None

    # -- paths ------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """``path`` as this filesystem names it: ``/a/b`` (a chained filesystem: its target's names).

        The bare ``distfs://`` is no path at all (``""``, the root to every method), as fsspec's
        URL chaining needs of a chained filesystem's own part of ``distfs::s3://bucket/key``.
        """
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(path)
        for prefix in ("distfs://", "distfs::", "distfs:"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                if not text:
                    return ""
                break
        return "/" + text.strip("/")

    @classmethod
    def _parent(cls, path: str) -> str:
        return paths.parent(cls._strip_protocol(path) or "/")

    def _key(self, path: str) -> str:
        """The driver path of ``path`` (a URL or a name of this filesystem)."""
        name: str = self._strip_protocol(path)
        return (name or "/") if self._chain is None else self._chain.key(name)

    def _name(self, key: str) -> str:
        """The name this filesystem gives the driver path ``key``."""
        return key if self._chain is None else self._chain.name(key)

    def _named(self, path: str) -> str:
        """The path of a driver's error as the caller named it (a chained filesystem: the target's name)."""
        return self._name(path) if path.startswith("/") else path

    # -- errors and metadata ----------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, path: str | None = None) -> Iterator[None]:
        """One mapping of distfs errors onto the builtins fsspec callers catch (see :mod:`.oserrors`).

        ``path``: the caller's path, named by the error (else the path of the driver call).
        """
        try:
            yield
        except InvalidPathError as exc:
            if exc.__dict__.get("reason"):
                raise
            portable = bool(getattr(self.driver, "portable_paths", False))
            raise InvalidPathError(self._named(exc.path), exc.driver_name, explain(exc.path, portable)) from exc
        except PathNotFoundError as exc:
            if self._chain is None:
                raise
            raise PathNotFoundError(self._named(exc.path), exc.driver_name) from exc
        except AccessDeniedError as exc:  # PermissionError, EACCES, naming the caller's path
            named = path or (self._named(exc.path) if exc.path else None)
            if named == exc.path:
                raise
            raise AccessDeniedError(exc.detail, exc.driver_name, named) from exc
        except UnsupportedMethodError:
            raise
        except StorageDriverError as exc:  # DriverError, or a third-party subclass
            where = path
            if where is None and isinstance(exc, DriverError) and exc.path:
                where = self._named(exc.path)  # a chained filesystem: the target's name
            raise as_os_error(exc, where) from exc

    @staticmethod
    def _first_error(results: Sequence[object]) -> None:
        """Raise the first failure of a batch's ``results``."""
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _ranges(
        self, paths: list[str], starts: int | list[int | None] | None, ends: int | list[int | None] | None, max_gap: Any
    ) -> list[tuple[str, int | None, int | None]]:
        """``cat_ranges``' arguments as one (path, start, end) per range."""
        if max_gap is not None:
            raise NotImplementedError("distfs: max_gap is not supported")
        if not isinstance(paths, list):
            raise TypeError("distfs: cat_ranges takes a list of paths")
        first = starts if isinstance(starts, list) else [starts] * len(paths)
        last = ends if isinstance(ends, list) else [ends] * len(paths)
        if len(first) != len(paths) or len(last) != len(paths):
            raise ValueError("distfs: cat_ranges needs as many starts and ends as paths")
        return [(self._strip_protocol(p), s, e) for p, s, e in zip(paths, first, last, strict=True)]

    def _entry(self, info: FileInfo) -> dict[str, Any]:
        """fsspec's info dictionary of ``info``, named as this filesystem names it; ``version``
        (ETag, generation, inode and mtime_ns) where the driver has one, so fsspec's ``ukey``
        and ``checksum`` change whenever the content does."""
        entry = {
            "name": self._name(info.path),
            "size": info.size,
            "type": "directory" if info.is_dir else "file",
            "mtime": info.mod_time,
        }
        if info.version:
            entry["version"] = info.version
        return entry

    # -- object stores: coroutines on the engine's loop ------------------------------

    @property
    def _native(self) -> aio.EngineDriver | None:
        """The async driver over this driver's engine (object stores only), one per process.

        Its concurrency slots belong to the engine's loop, which a forked child replaces.
        """
        if self._native_pid != os.getpid():
            self._native_driver, self._native_pid = aio.engine_driver(self.driver), os.getpid()
        return self._native_driver

    async def _native_cat_file(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        native = self._native
        assert native is not None
        with self._errors():
            path = self._key(path)
            if start is None and end is None:
                return await native.get_content(path)
            if start is not None and start >= 0 and end is not None and end >= 0:
                first, last = start, end  # no size needed: the ranged read stops at the end
            else:
                first, last = span((await native.stat(path)).size, start, end)
            if last <= first:
                await native.stat(path)  # a missing path is still FileNotFoundError
                return b""
            return await native.read_range(path, first, last)

    async def _native_info(self, path: str) -> dict[str, Any]:
        assert self._native is not None
        with self._errors():
            return self._entry(await self._native.stat(self._key(path)))

    async def _native_pipe_file(self, path: str, value: bytes, mode: str) -> None:
        assert self._native is not None
        if mode == "create" and await found(self._native_info(path)):
            raise os_error(errno.EEXIST, self._strip_protocol(path), self.driver.name)
        with self._errors():
            await self._native.put_content(self._key(path), bytes(value))
