"""Batch calls of the fsspec face: many paths at once, concurrently and bounded.

``cat``, ``cat_ranges``, ``pipe`` and ``sizes`` on an object store gather the native
coroutines on the engine's loop (the async driver over the same engine bounds them);
``get``, ``put``, ``copy`` and every batch on other drivers run on a pool of
:meth:`Batches.concurrency` threads.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from ..aio import run
from ..driver import StorageDriver
from .base import DriverFileSystem, gather, size_of

__all__ = ["DEFAULT_CONCURRENCY", "Batches", "by_name", "is_glob"]

#: Threads of a batch call when the driver states no ``max_concurrency``.
DEFAULT_CONCURRENCY = 32

T = TypeVar("T")
R = TypeVar("R")


def is_glob(path: str) -> bool:
    """Whether fsspec expands ``path`` as a glob."""
    return any(char in path for char in "*?[")


def by_name(found: list[str], results: Sequence[object], on_error: str) -> dict[str, Any]:
    """``cat``'s answer: content by path; failures raised, returned or omitted per ``on_error``."""
    out: dict[str, Any] = {}
    for name, result in zip(found, results, strict=True):
        if isinstance(result, BaseException):
            if on_error == "raise":
                raise result
            if on_error == "return":
                out[name] = result
        else:
            out[name] = result
    return out


class Batches(DriverFileSystem):
    """The batch methods of :class:`~distfs.fsspec.DistFileSystem` (a mixin)."""

    _pool: ThreadPoolExecutor | None
    _pool_lock: threading.Lock
    _local: threading.local

    def concurrency(self) -> int:
        """Threads of a batch call: the driver's ``max_concurrency`` or :data:`DEFAULT_CONCURRENCY`."""
        driver: StorageDriver | None = self.driver
        while driver is not None and not hasattr(driver, "max_concurrency"):
            driver = driver.unwrap()  # storage middleware from a registry config
        limit = getattr(driver, "max_concurrency", None)
        return int(limit) if isinstance(limit, int) and limit > 0 else DEFAULT_CONCURRENCY

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency(), thread_name_prefix="distfs-batch")
            return self._pool

    def _batch(
        self, fn: Callable[[T], R], items: Sequence[T], native: Callable[[T], Awaitable[R]] | None = None
    ) -> list[R | BaseException]:
        """``fn`` of every item, concurrently (bounded); a failure is returned in its item's place.

        This is the one place a batch fans out: on an object store (which has a native async
        driver) ``native`` of every item is gathered on the engine's loop, bounded by that
        driver's limit; otherwise ``fn`` runs on a pool of :meth:`concurrency` threads.
        """
        if native is not None and self._native is not None and len(items) > 1:
            return run(gather(native, items))
        if len(items) <= 1:
            results: list[R | BaseException] = []
            for item in items:
                try:
                    results.append(fn(item))
                except Exception as exc:
                    results.append(exc)
            return results
        futures = [self._executor().submit(fn, item) for item in items]
        return [future.exception() or future.result() for future in futures]

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        found = self.expand_path(path, recursive=recursive)
        if len(found) == 1 and not isinstance(path, list) and found[0] == self._strip_protocol(path):
            return self.cat_file(found[0], **kwargs)
        start, end = kwargs.get("start"), kwargs.get("end")
        results = self._batch(
            lambda p: self.cat_file(p, **kwargs), found, lambda p: self._native_cat_file(p, start, end)
        )
        return by_name(found, results, on_error)

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int | None] | None,
        ends: int | list[int | None] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Byte ranges of many files, concurrently (zarr's partial reads)."""
        ranges = self._ranges(paths, starts, ends, max_gap)
        results = self._batch(
            lambda one: self.cat_file(*one, **kwargs), ranges, lambda one: self._native_cat_file(*one)
        )
        if on_error != "return":
            self._first_error(results)
        return results

    def sizes(self, paths: list[str]) -> list[int]:
        """Sizes of many paths, concurrently."""
        names = [self._strip_protocol(path) for path in paths]
        results = self._batch(
            lambda path: int(self.info(path)["size"]), names, lambda path: size_of(self._native_info(path))
        )
        self._first_error(results)
        return [int(size) for size in results if not isinstance(size, BaseException)]

    def pipe(self, path: Any, value: bytes | None = None, **kwargs: Any) -> None:
        items: dict[str, bytes] = {path: value or b""} if isinstance(path, str) else dict(path)
        pairs = [(self._strip_protocol(name), data) for name, data in items.items()]
        mode = kwargs.get("mode", "overwrite")
        native = None if self._intrans else (lambda item: self._native_pipe_file(item[0], item[1], mode))
        self._first_error(self._batch(lambda item: self.pipe_file(item[0], item[1], **kwargs), pairs, native))

    # fsspec's copy, get and put expand their paths and call cp_file, get_file or put_file
    # once per pair: the pairs are collected (in this thread only), then run as one batch.

    def _collected(self, first: str, second: str) -> bool:
        calls: list[tuple[str, str]] | None = getattr(self._local, "calls", None)
        if calls is None:
            return False
        calls.append((first, second))
        return True

    def _pairs(self, expand: Callable[[], None]) -> list[tuple[str, str]]:
        calls: list[tuple[str, str]] = []
        self._local.calls = calls
        try:
            expand()
        finally:
            self._local.calls = None
        return calls

    def _run_pairs(
        self, one: Callable[[str, str], None], pairs: list[tuple[str, str]], callback: Callback, on_error: str
    ) -> None:
        callback.set_size(len(pairs))

        def run(pair: tuple[str, str]) -> None:
            one(*pair)
            callback.relative_update(1)

        for result in self._batch(run, pairs):
            if isinstance(result, BaseException) and not (
                on_error == "ignore" and isinstance(result, FileNotFoundError)
            ):
                raise result

    def copy(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        on_error: str | None = None,
        **kwargs: Any,
    ) -> None:
        pairs = self._pairs(lambda: super(Batches, self).copy(path1, path2, recursive, maxdepth, "raise", **kwargs))
        self._run_pairs(self.cp_file, pairs, DEFAULT_CALLBACK, on_error or ("ignore" if recursive else "raise"))

    def get(
        self, rpath: Any, lpath: Any, recursive: bool = False, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        pairs = self._pairs(lambda: super(Batches, self).get(rpath, lpath, recursive=recursive, **kwargs))
        self._run_pairs(self.get_file, pairs, callback, "raise")

    def put(
        self, lpath: Any, rpath: Any, recursive: bool = False, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        pairs = self._pairs(lambda: super(Batches, self).put(lpath, rpath, recursive=recursive, **kwargs))
        self._run_pairs(self.put_file, pairs, callback, "raise")
