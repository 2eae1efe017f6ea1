"""The coroutine twins of the fsspec face, for callers on an event loop.

fsspec's GenericFileSystem (rsync), zarr and ``asynchronous=True`` callers await
``_<name>`` for each name of :data:`ASYNC_MIRRORS` on their own loop, which stays free.
Those of :data:`NATIVE_COROUTINES` await an object store's engine directly (no thread);
the others, and every one on a driver without an engine, run the synchronous method on a
worker thread (its batch, if any, still gathered on the engine's loop).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from ..aio import awaiting
from .base import DriverFileSystem, found, gather, size_of
from .batches import by_name

__all__ = ["ASYNC_MIRRORS", "NATIVE_COROUTINES", "Coroutines"]

R = TypeVar("R")

#: The methods with a coroutine twin ``_<name>``.
ASYNC_MIRRORS = (
    "cat",
    "cat_file",
    "cat_ranges",
    "copy",
    "cp_file",
    "du",
    "exists",
    "expand_path",
    "find",
    "get",
    "get_file",
    "glob",
    "info",
    "isdir",
    "isfile",
    "ls",
    "makedirs",
    "mkdir",
    "mv",
    "pipe",
    "pipe_file",
    "put",
    "put_file",
    "rm",
    "rm_file",
    "size",
    "sizes",
)
#: The twins that await an object store's engine with no thread.
NATIVE_COROUTINES = ("cat", "cat_file", "cat_ranges", "exists", "info", "isdir", "isfile", "pipe", "pipe_file", "sizes")


async def _threaded(call: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    return await asyncio.to_thread(functools.partial(call, *args, **kwargs))


class Coroutines(DriverFileSystem):
    """The coroutine twins of :data:`NATIVE_COROUTINES` (a mixin of :class:`~distfs.fsspec.DistFileSystem`)."""

    async def _cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        if self._native is None:
            return await _threaded(self.cat_file, path, start, end, **kwargs)
        content: bytes = await awaiting(self._native_cat_file(self._strip_protocol(path), start, end))
        return content

    async def _cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        if self._native is None:
            return await _threaded(self.cat, path, recursive, on_error, **kwargs)
        names = await asyncio.to_thread(self.expand_path, path, recursive=recursive)
        if len(names) == 1 and not isinstance(path, list) and names[0] == self._strip_protocol(path):
            return await self._cat_file(names[0], **kwargs)
        start, end = kwargs.get("start"), kwargs.get("end")
        results = await awaiting(gather(lambda p: self._native_cat_file(p, start, end), names))
        return by_name(names, results, on_error)

    async def _cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int | None] | None,
        ends: int | list[int | None] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        if self._native is None:
            return await _threaded(self.cat_ranges, paths, starts, ends, max_gap, on_error, **kwargs)
        ranges = self._ranges(paths, starts, ends, max_gap)
        results = await awaiting(gather(lambda one: self._native_cat_file(*one), ranges))
        if on_error != "return":
            self._first_error(results)
        return results

    async def _info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        if self._native is None:
            return await _threaded(self.info, path, **kwargs)
        info: dict[str, Any] = await awaiting(self._native_info(self._strip_protocol(path)))
        return info

    async def _exists(self, path: str, **kwargs: Any) -> bool:
        return await found(self._info(path))

    async def _isfile(self, path: str) -> bool:
        return await found(self._info(path), "file")

    async def _isdir(self, path: str) -> bool:
        return await found(self._info(path), "directory")

    async def _sizes(self, paths: list[str]) -> list[int]:
        if self._native is None:
            return await _threaded(self.sizes, paths)
        names = [self._strip_protocol(path) for path in paths]
        results = await awaiting(gather(lambda path: size_of(self._native_info(path)), names))
        self._first_error(results)
        return [int(size) for size in results if not isinstance(size, BaseException)]

    async def _pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        if self._native is None or self._intrans:
            await _threaded(self.pipe_file, path, value, mode, **kwargs)
            return
        await awaiting(self._native_pipe_file(self._strip_protocol(path), value, mode))

    async def _pipe(self, path: Any, value: bytes | None = None, **kwargs: Any) -> None:
        if self._native is None or self._intrans:
            await _threaded(self.pipe, path, value, **kwargs)
            return
        items: dict[str, bytes] = {path: value or b""} if isinstance(path, str) else dict(path)
        pairs = [(self._strip_protocol(name), data) for name, data in items.items()]
        mode = kwargs.get("mode", "overwrite")
        self._first_error(await awaiting(gather(lambda item: self._native_pipe_file(item[0], item[1], mode), pairs)))


def _mirror(name: str) -> Callable[..., Any]:
    async def mirrored(self: Coroutines, *args: Any, **kwargs: Any) -> Any:
        return await _threaded(getattr(self, name), *args, **kwargs)

    mirrored.__name__ = mirrored.__qualname__ = "_" + name
    mirrored.__doc__ = f"``{name}`` on a worker thread (for callers on an event loop)."
    return mirrored


for _name in ASYNC_MIRRORS:
    if _name not in NATIVE_COROUTINES:
        setattr(Coroutines, "_" + _name, _mirror(_name))
