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
from ..aio.driver import EngineDriver
from ..base import Base
from ..driver import FileInfo, StorageDriver
from ..engine.driver import ObjectStoreDriver
from ..errors import (
    AccessDeniedError,
    InvalidPathError,
    PathNotFoundError,
    StorageDriverError,
    UnsupportedMethodError,
)
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


def _native_of(driver: StorageDriver) -> EngineDriver | None:
    """The async driver over ``driver``'s engine (object stores), else None."""
    inner = driver.inner if isinstance(driver, Base) else driver
    native = aio.wrap(driver) if isinstance(inner, ObjectStoreDriver) else None
    return native if isinstance(native, EngineDriver) else None


class DriverFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """The driver, its paths and errors as fsspec has them; subclasses set :attr:`driver`."""

    root_marker = "/"
    driver: StorageDriver
    _native_pid = 0  # the process that made _native_driver (made again after a fork)
    _native_driver: EngineDriver | None = None

    # -- paths ------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(path)
        for prefix in ("distfs://", "distfs:"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        return "/" + text.strip("/")

    @classmethod
    def _parent(cls, path: str) -> str:
        return paths.parent(cls._strip_protocol(path))

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
            raise InvalidPathError(exc.path, exc.driver_name, explain(exc.path, portable)) from exc
        except (PathNotFoundError, AccessDeniedError, UnsupportedMethodError):
            raise
        except StorageDriverError as exc:  # DriverError, or a third-party subclass
            raise as_os_error(exc, path) from exc

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

    @staticmethod
    def _info_dict(info: FileInfo) -> dict[str, Any]:
        return {
            "name": info.path,
            "size": info.size,
            "type": "directory" if info.is_dir else "file",
            "mtime": info.mod_time,
        }

    # -- object stores: coroutines on the engine's loop ------------------------------

    @property
    def _native(self) -> EngineDriver | None:
        """The async driver over this driver's engine (object stores only), one per process.

        Its concurrency slots belong to the engine's loop, which a forked child replaces.
        """
        if self._native_pid != os.getpid():
            self._native_driver, self._native_pid = _native_of(self.driver), os.getpid()
        return self._native_driver

    async def _native_cat_file(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        native = self._native
        assert native is not None
        with self._errors():
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
            return self._info_dict(await self._native.stat(path))

    async def _native_pipe_file(self, path: str, value: bytes, mode: str) -> None:
        assert self._native is not None
        if mode == "create" and await found(self._native_info(path)):
            raise os_error(errno.EEXIST, path, self.driver.name)
        with self._errors():
            await self._native.put_content(path, bytes(value))
