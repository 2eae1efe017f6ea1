"""distfs as an fsspec protocol: ``distfs://`` for pandas, dask, pyarrow, zarr and UPath.

Registered through the ``fsspec.specs`` entry point, so no import is needed::

    import pandas as pd

    options = {"driver": "s3", "bucket": "data", "region": "eu-west-1"}
    df = pd.read_csv("distfs:///tables/2024.csv", storage_options=options)
    fs = fsspec.filesystem("distfs", driver="filesystem", rootdirectory="/srv/data")

The store: ``driver`` names a registered driver and every other keyword is one of its
parameters; or ``config="/etc/docker/registry/config.yml"`` takes the driver, its
parameters and its storage middleware from a registry configuration. Without either, the
store comes from the environment (:func:`store_from_environment`): ``DISTFS_CONFIG`` (the
path of a registry config.yml), or ``DISTFS_DRIVER`` with ``DISTFS_PARAMETERS`` (a JSON
object of the driver's parameters). With nothing configured, construction raises an
``InvalidParameterError`` naming these ways; a keyword that is neither a driver parameter
nor an fsspec option is named in the error. ``inmemory`` is used only when asked for.

Paths: ``distfs:///a/b.csv`` and ``distfs://a/b.csv`` are the driver path ``/a/b.csv``.
Unless ``paths`` is given, ``distfs://`` applies the ``portable`` path rules (hive
partitions such as ``year=2024``, names with spaces); a registry config keeps its own.

Guarantees (every call goes through the driver's public contract, nothing else):

* batches run their paths concurrently: on an object store ``cat``, ``cat_ranges``,
  ``pipe`` and ``sizes`` are gathered as coroutines on the engine's loop (the async
  driver over the same engine, :mod:`distfs.aio`, bounds them); ``get``, ``put``, ``cp``
  and every batch on other drivers run on a pool of :meth:`DistFileSystem.concurrency`
  threads (the driver's ``max_concurrency``, else :data:`DEFAULT_CONCURRENCY`); ``rm`` is
  one ``delete_many`` of the driver; ``find``, ``du`` and glob expansion use one walk;
  ``ls`` uses one walk that does not descend;
* ``asynchronous=True`` (or fsspec's async callers): the coroutine methods ``_cat_file``,
  ``_pipe_file``, ``_info``, ... (:data:`ASYNC_MIRRORS`) work on any running loop; on an
  object store those of :data:`NATIVE_COROUTINES` await the engine with no thread;
* a file opened for reading holds one driver reader for its whole life, so it reads one
  version of the object: the driver's reader pins it, and where the stream cannot seek,
  a re-opened reader is checked against the size and time seen at open (a change raises
  :class:`~distfs.errors.ObjectChangedError`, chained under an ``OSError``); on the
  ``filesystem`` driver the file handed out is the local file itself (its reader,
  opened confined to the root), read at local speed;
* a file opened for writing is published only when it is closed normally: a ``with``
  block that raises, and a file dropped without ``close()`` (garbage collected), cancel
  the upload. ``"ab"`` appends to the committed object: it starts a fresh upload that
  continues the committed content, discarding any suspended upload of the path;
* ``with fs.transaction:`` publishes every file written inside when the block ends, and
  cancels all of them when it raises;
* errors: not-found is ``FileNotFoundError`` (``exists``/``isfile``/``isdir`` are False
  only then), invalid paths ``ValueError`` naming the rule and the ``paths=`` option,
  refused credentials ``PermissionError`` (:class:`~distfs.errors.AccessDeniedError`),
  unsupported calls ``NotImplementedError``, anything else an ``OSError`` whose message
  is the driver's (a missing bucket says so) and whose ``__cause__`` is the typed error.

Pickling: an instance pickles as its constructor arguments and rebuilds on dask workers.
Credentials given inline as parameters travel with it; credentials from the environment,
a config file or the SDK's credential chain are not pickled (each process resolves its
own). ``created`` reports the modification time (drivers keep no creation time); ``sign``
is the driver's ``redirect_url`` (20 minutes, whatever ``expiration`` says) and raises
``NotImplementedError`` where the driver cannot redirect.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import os
import stat
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, TypeVar

from fsspec import AbstractFileSystem
from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractBufferedFile

from . import aio, paths
from .aio.driver import EngineDriver
from .base import Base
from .config import from_config
from .driver import FileInfo, FileWriter, SkipDir, StorageDriver
from .engine.driver import ObjectStoreDriver
from .engine.loop import awaiting, run
from .errors import (
    AccessDeniedError,
    DriverError,
    InvalidParameterError,
    InvalidPathError,
    ObjectChangedError,
    PathNotFoundError,
    StorageDriverError,
    UnsupportedMethodError,
)
from .factory import create

__all__ = ["ASYNC_MIRRORS", "DEFAULT_CONCURRENCY", "NATIVE_COROUTINES", "DistFileSystem", "store_from_environment"]

#: Threads of a batch call when the driver states no ``max_concurrency``.
DEFAULT_CONCURRENCY = 32

#: The environment variables of the default store.
ENV_CONFIG = "DISTFS_CONFIG"
ENV_DRIVER = "DISTFS_DRIVER"
ENV_PARAMETERS = "DISTFS_PARAMETERS"

_FSSPEC_OPTIONS = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths", "asynchronous"}
_COPY_BLOCK = 8 << 20
#: The buffer of a local file handed to the caller (as ``open()``'s on most filesystems).
_LOCAL_BUFFER = 1 << 17
#: A forward seek of a non-seekable reader up to this many bytes reads on instead of re-opening.
_SKIP_LIMIT = 4 << 20
#: Parameters shown by ``repr``: where the data is, never how to get in.
_SHOWN = ("bucket", "container", "rootdirectory", "root", "rootdir", "region", "regionendpoint", "endpoint")

T = TypeVar("T")
R = TypeVar("R")


def store_from_environment(environ: dict[str, str] | None = None) -> StorageDriver:
    """The default store of ``distfs://``: ``DISTFS_CONFIG``, else ``DISTFS_DRIVER`` + ``DISTFS_PARAMETERS``."""
    env = os.environ if environ is None else environ
    config = env.get(ENV_CONFIG)
    if config:
        return from_config(config)
    name = env.get(ENV_DRIVER)
    if name:
        try:
            parameters = json.loads(env.get(ENV_PARAMETERS) or "{}")
        except ValueError as exc:
            raise InvalidParameterError("distfs", ENV_PARAMETERS, f"is not valid JSON: {exc.args[0]}") from None
        if not isinstance(parameters, dict):
            raise InvalidParameterError("distfs", ENV_PARAMETERS, "must be a JSON object of driver parameters")
        parameters.setdefault("paths", "portable")
        return create(name, parameters)
    raise InvalidParameterError(
        "distfs",
        "driver",
        "no store configured: pass driver=<name> and its parameters (or config=<path of a registry "
        f"config.yml>) as storage options, or set {ENV_CONFIG}=<config.yml> or {ENV_DRIVER}=<name> "
        f"with {ENV_PARAMETERS}=<JSON object> in the environment",
    )


def _open_store(driver: str | None, config: str | None, options: dict[str, Any]) -> StorageDriver:
    if config is not None:
        if driver is not None or options:
            raise InvalidParameterError("distfs", "config", "give either config= or driver parameters, not both")
        return from_config(config)
    if driver is None:
        if options:
            key = sorted(options)[0]
            raise InvalidParameterError(
                "distfs", key, "unknown option: driver parameters need driver=<name> (or config=<config.yml>)"
            )
        return store_from_environment()
    return create(driver, {"paths": "portable", **options})


def _explain(path: str, portable: bool) -> str:
    """Which path rule ``path`` breaks, and how to allow it when another rule would."""
    for part in path.split("/")[1:]:
        if part in ("", ".", ".."):
            return f"empty, '.' and '..' components are not allowed ({part!r})"
        if part == paths.HIDDEN:
            return f"{paths.HIDDEN!r} is reserved"
        for char in part:
            if ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF:
                return f"character {char!r} is not allowed"
            if not portable and not (char.isascii() and (char.isalnum() or char in "._-")):
                return f"character {char!r} is not allowed by paths=registry; pass paths='portable' to allow it"
    return "not a driver path"


def _is_glob(path: str) -> bool:
    return any(char in path for char in "*?[")


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks = []
    while size > 0:
        block = stream.read(size)
        if not block:
            break
        chunks.append(block)
        size -= len(block)
    return b"".join(chunks)


class _Coroutines:
    """The coroutine twins of :data:`NATIVE_COROUTINES` (mixed into :class:`DistFileSystem`)."""

    async def _cat_file(self: Any, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        if self._native is None:
            return await _threaded(self.cat_file, path, start, end, **kwargs)
        content: bytes = await awaiting(self._native_cat_file(self._strip_protocol(path), start, end))
        return content

    async def _cat(self: Any, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        if self._native is None:
            return await _threaded(self.cat, path, recursive, on_error, **kwargs)
        found = await asyncio.to_thread(self.expand_path, path, recursive=recursive)
        if len(found) == 1 and not isinstance(path, list) and found[0] == self._strip_protocol(path):
            return await self._cat_file(found[0], **kwargs)
        start, end = kwargs.get("start"), kwargs.get("end")
        results = await awaiting(_gather(lambda p: self._native_cat_file(p, start, end), found))
        return _by_name(found, results, on_error)

    async def _cat_ranges(
        self: Any,
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
        results = await awaiting(_gather(lambda one: self._native_cat_file(*one), ranges))
        if on_error != "return":
            self._first_error(results)
        return results

    async def _info(self: Any, path: str, **kwargs: Any) -> dict[str, Any]:
        if self._native is None:
            return await _threaded(self.info, path, **kwargs)
        info: dict[str, Any] = await awaiting(self._native_info(self._strip_protocol(path)))
        return info

    async def _exists(self: Any, path: str, **kwargs: Any) -> bool:
        return await _found(self._info(path))

    async def _isfile(self: Any, path: str) -> bool:
        return await _found(self._info(path), "file")

    async def _isdir(self: Any, path: str) -> bool:
        return await _found(self._info(path), "directory")

    async def _sizes(self: Any, paths: list[str]) -> list[int]:
        if self._native is None:
            return await _threaded(self.sizes, paths)
        names = [self._strip_protocol(path) for path in paths]
        results = await awaiting(_gather(lambda path: _size_of(self._native_info(path)), names))
        self._first_error(results)
        return [int(size) for size in results if not isinstance(size, BaseException)]

    async def _pipe_file(self: Any, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        if self._native is None or self._intrans:
            await _threaded(self.pipe_file, path, value, mode, **kwargs)
            return
        await awaiting(self._native_pipe_file(self._strip_protocol(path), value, mode))

    async def _pipe(self: Any, path: Any, value: bytes | None = None, **kwargs: Any) -> None:
        if self._native is None or self._intrans:
            await _threaded(self.pipe, path, value, **kwargs)
            return
        items: dict[str, bytes] = {path: value or b""} if isinstance(path, str) else dict(path)
        pairs = [(self._strip_protocol(name), data) for name, data in items.items()]
        mode = kwargs.get("mode", "overwrite")
        self._first_error(await awaiting(_gather(lambda item: self._native_pipe_file(item[0], item[1], mode), pairs)))


class DistFileSystem(_Coroutines, AbstractFileSystem):  # type: ignore[misc]
    """An fsspec filesystem over one distfs driver (see the module docstring)."""

    protocol = ("distfs",)
    root_marker = "/"
    #: Coroutine mirrors exist (``_cat_file``, ``_find``, ...; see :data:`ASYNC_MIRRORS`), but
    #: the synchronous methods are the implementation: fsspec must not generate its own.
    async_impl = True
    mirror_sync_methods = False

    def __init__(self, driver: str | None = None, config: str | None = None, **parameters: Any) -> None:
        options = {k: v for k, v in parameters.items() if k not in _FSSPEC_OPTIONS}
        arguments: dict[str, Any] = dict(parameters)
        if driver is not None:
            arguments["driver"] = driver
        if config is not None:
            arguments["config"] = config
        super().__init__(**arguments)
        self.driver: StorageDriver = _open_store(driver, config, options)
        self._shown = {k: options[k] for k in _SHOWN if k in options}
        self._source = config if config is not None else ("" if driver is not None else "environment")
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        self._native_pid = 0  # the process that made _native_driver (made again after a fork)
        self._native_driver: EngineDriver | None = None
        self.asynchronous = bool(parameters.get("asynchronous", False))

    def __repr__(self) -> str:
        where = ", ".join(f"{k}={v!r}" for k, v in self._shown.items())
        source = f", config={self._source!r}" if self._source and self._source != "environment" else ""
        source = source or (" from the environment" if self._source == "environment" else "")
        return f"<DistFileSystem driver={self.driver.name!r}{', ' + where if where else ''}{source}>"

    # -- the seam: every driver call, and the batches --------------------------------

    def concurrency(self) -> int:
        """Threads of a batch call: the driver's ``max_concurrency`` or :data:`DEFAULT_CONCURRENCY`."""
        driver: object = self.driver
        while not hasattr(driver, "max_concurrency") and hasattr(driver, "wrapped"):
            driver = driver.wrapped  # storage middleware from a registry config
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
            return run(_gather(native, items))
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

    @staticmethod
    def _first_error(results: Sequence[object]) -> None:
        for result in results:
            if isinstance(result, BaseException):
                raise result

    # -- object stores: coroutines on the engine's loop ------------------------------
    #
    # An object store's driver has an async twin over the same engine (distfs.aio); these
    # run on the engine's loop thread (where the store's clients live): the synchronous
    # batches gather them there, and the coroutine methods below await them from any loop.

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
                first, last = _span((await native.stat(path)).size, start, end)
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
        if mode == "create" and await _found(self._native_info(path)):
            raise FileExistsError(path)
        with self._errors():
            await self._native.put_content(path, bytes(value))

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """One mapping of distfs errors onto the builtins fsspec callers catch."""
        try:
            yield
        except InvalidPathError as exc:
            if exc.__dict__.get("reason"):
                raise
            portable = bool(getattr(self.driver, "portable_paths", False))
            raise InvalidPathError(exc.path, exc.driver_name, _explain(exc.path, portable)) from exc
        except (PathNotFoundError, AccessDeniedError, UnsupportedMethodError):
            raise
        except DriverError as exc:
            raise OSError(str(exc)) from exc
        except StorageDriverError as exc:  # a third-party subclass: keep the message
            raise OSError(str(exc)) from exc

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

    # -- metadata ---------------------------------------------------------------------

    @staticmethod
    def _info_dict(info: FileInfo) -> dict[str, Any]:
        return {
            "name": info.path,
            "size": info.size,
            "type": "directory" if info.is_dir else "file",
            "mtime": info.mod_time,
        }

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        infos: list[FileInfo] = []

        def visit(info: FileInfo) -> None:
            infos.append(info)
            if info.is_dir:
                raise SkipDir

        with self._errors():
            try:
                self.driver.walk(path, visit)
            except PathNotFoundError:
                info = self.driver.stat(path)  # a file lists as itself; missing raises
                infos = [info] if not info.is_dir else []
        infos.sort(key=lambda i: i.path)
        entries = [self._info_dict(i) for i in infos]
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        with self._errors():
            return self._info_dict(self.driver.stat(path))

    def exists(self, path: str, **kwargs: Any) -> bool:
        """True if ``path`` exists; False only when the driver says not found (other errors raise)."""
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def isdir(self, path: str) -> bool:
        try:
            return bool(self.info(path)["type"] == "directory")
        except FileNotFoundError:
            return False

    def isfile(self, path: str) -> bool:
        try:
            return bool(self.info(path)["type"] == "file")
        except FileNotFoundError:
            return False

    def modified(self, path: str) -> datetime:
        mtime: datetime = self.info(path)["mtime"]
        return mtime

    created = modified

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        path = self._strip_protocol(path)
        found: dict[str, dict[str, Any]] = {}
        base_depth = len(paths.split(path))

        def visit(info: FileInfo) -> None:
            depth = len(paths.split(info.path)) - base_depth
            if maxdepth is not None and depth > maxdepth:
                raise SkipDir
            if withdirs or not info.is_dir:
                found[info.path] = self._info_dict(info)
            if info.is_dir and maxdepth is not None and depth >= maxdepth:
                raise SkipDir

        with self._errors():
            try:
                self.driver.walk(path, visit)
            except PathNotFoundError:
                with contextlib.suppress(PathNotFoundError):
                    info = self.driver.stat(path)
                    if not info.is_dir:
                        found[path] = self._info_dict(info)
        ordered = {name: found[name] for name in sorted(found)}
        return ordered if detail else list(ordered)

    # -- content ----------------------------------------------------------------------

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        if self._native is not None and (start is not None or end is not None):
            return run(self._native_cat_file(path, start, end))  # one ranged read
        with self._errors():
            if start is None and end is None:
                return self.driver.get_content(path)
            first, last = _span(self.driver.stat(path).size, start, end)
            if last <= first:
                return b""
            with self.driver.reader(path, first) as stream:
                return _read_exactly(stream, last - first)

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        found = self.expand_path(path, recursive=recursive)
        if len(found) == 1 and not isinstance(path, list) and found[0] == self._strip_protocol(path):
            return self.cat_file(found[0], **kwargs)
        start, end = kwargs.get("start"), kwargs.get("end")
        results = self._batch(
            lambda p: self.cat_file(p, **kwargs), found, lambda p: self._native_cat_file(p, start, end)
        )
        return _by_name(found, results, on_error)

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

    @classmethod
    def _ranges(
        cls, paths: list[str], starts: int | list[int | None] | None, ends: int | list[int | None] | None, max_gap: Any
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
        return [(cls._strip_protocol(p), s, e) for p, s, e in zip(paths, first, last, strict=True)]

    def sizes(self, paths: list[str]) -> list[int]:
        """Sizes of many paths, concurrently."""
        names = [self._strip_protocol(path) for path in paths]
        results = self._batch(
            lambda path: int(self.info(path)["size"]), names, lambda path: _size_of(self._native_info(path))
        )
        self._first_error(results)
        return [int(size) for size in results if not isinstance(size, BaseException)]

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(path)
        if self._intrans:
            with self.open(path, "wb") as stream:  # published with the transaction
                stream.write(value)
            return
        with self._errors():
            self.driver.put_content(path, bytes(value))

    def pipe(self, path: Any, value: bytes | None = None, **kwargs: Any) -> None:
        items: dict[str, bytes] = {path: value or b""} if isinstance(path, str) else dict(path)
        pairs = [(self._strip_protocol(name), data) for name, data in items.items()]
        mode = kwargs.get("mode", "overwrite")
        native = None if self._intrans else (lambda item: self._native_pipe_file(item[0], item[1], mode))
        self._first_error(self._batch(lambda item: self.pipe_file(item[0], item[1], **kwargs), pairs, native))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        if self._collected(path1, path2):
            return
        source, dest = self._strip_protocol(path1), self._strip_protocol(path2)
        with self._errors():
            if self.driver.stat(source).is_dir:
                return  # directories are implicit: nothing to copy
            with self.driver.reader(source) as stream:
                self._write_stream(dest, stream)

    def _write_stream(self, dest: str, stream: Any, callback: Callback = DEFAULT_CALLBACK) -> None:
        """Publish everything ``stream`` holds at ``dest`` (cancelled on any failure)."""
        writer = self.driver.writer(dest)
        try:
            while block := stream.read(_COPY_BLOCK):
                writer.write(block)
                callback.relative_update(len(block))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        writer.close()

    def get_file(self, rpath: str, lpath: str, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any) -> None:
        """Copy ``rpath`` to local ``lpath``; ``callback`` gets the size, then each block."""
        if self._collected(rpath, lpath):
            return
        source = self._strip_protocol(rpath)
        with self._errors():
            info = self.driver.stat(source)
            if info.is_dir:
                os.makedirs(lpath, exist_ok=True)
                return
            os.makedirs(os.path.dirname(os.path.abspath(lpath)), exist_ok=True)
            callback.set_size(info.size)
            with self.driver.reader(source) as stream, open(lpath, "wb") as local:
                while block := stream.read(_COPY_BLOCK):
                    local.write(block)
                    callback.relative_update(len(block))

    def put_file(self, lpath: str, rpath: str, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any) -> None:
        """Publish local ``lpath`` at ``rpath``; ``callback`` gets the size, then each block."""
        if self._collected(lpath, rpath):
            return
        if os.path.isdir(lpath):
            return  # directories are implicit
        with self._errors(), open(lpath, "rb") as local:
            callback.set_size(os.fstat(local.fileno()).st_size)
            self._write_stream(self._strip_protocol(rpath), local, callback)

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
        pairs = self._pairs(
            lambda: super(DistFileSystem, self).copy(path1, path2, recursive, maxdepth, "raise", **kwargs)
        )
        self._run_pairs(self.cp_file, pairs, DEFAULT_CALLBACK, on_error or ("ignore" if recursive else "raise"))

    def get(
        self, rpath: Any, lpath: Any, recursive: bool = False, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        pairs = self._pairs(lambda: super(DistFileSystem, self).get(rpath, lpath, recursive=recursive, **kwargs))
        self._run_pairs(self.get_file, pairs, callback, "raise")

    def put(
        self, lpath: Any, rpath: Any, recursive: bool = False, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        pairs = self._pairs(lambda: super(DistFileSystem, self).put(lpath, rpath, recursive=recursive, **kwargs))
        self._run_pairs(self.put_file, pairs, callback, "raise")

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        with self._errors():
            self.driver.move(self._strip_protocol(path1), self._strip_protocol(path2))

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        with self._errors():
            if self.driver.stat(path).is_dir:
                raise IsADirectoryError(path)
            self.driver.delete_many([path], files_only=True)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Remove ``path``: one path, a glob or a list of paths; one ``delete_many`` of the driver.

        ``recursive``: each path with everything below it (a path with nothing stored is
        ``FileNotFoundError``, raised after the others went). Otherwise files only: one
        path that is not a glob must be a file (``IsADirectoryError``,
        ``FileNotFoundError``); of a list or a glob, every file is removed, a directory keeps
        its content and a name with nothing stored is skipped (as s3fs and gcsfs do), so an
        object store removes them in one round of batch requests, with no lookup first.
        """
        given = self.expand_path(path)
        one_file = not recursive and isinstance(path, str) and len(given) == 1 and not _is_glob(path)
        if one_file and self.info(given[0])["type"] == "directory":  # missing: FileNotFoundError
            raise IsADirectoryError(given[0])
        if given:
            with self._errors():
                self.driver.delete_many(given, files_only=not recursive)

    def du(
        self, path: str, total: bool = True, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any
    ) -> Any:
        sizes = {name: info["size"] for name, info in self.find(path, maxdepth, withdirs, detail=True).items()}
        return sum(sizes.values()) if total else sizes

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Directories are implicit: nothing to do."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Directories are implicit: nothing to do."""

    def rmdir(self, path: str) -> None:
        """Directories vanish with their last entry: nothing to do."""

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        with self._errors():
            url = self.driver.redirect_url(self._strip_protocol(path), "GET")
        if url is None:
            raise NotImplementedError(f"the {self.driver.name} driver cannot sign URLs")
        return url

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        path = self._strip_protocol(path)
        if mode == "rb":
            with self._errors():
                info = self.driver.stat(path)
                if info.is_dir:
                    raise IsADirectoryError(path)
                stream = self.driver.reader(path, 0)
            return _LocalFile.of(stream, path, info.size) or _ReadFile(
                self, path, info, stream, block_size=block_size, cache_options=cache_options
            )
        if mode in ("wb", "ab", "xb"):
            if mode == "xb" and self.exists(path):
                raise FileExistsError(path)
            return _WriteFile(self, path, mode, block_size, autocommit)
        raise ValueError(f"distfs: unsupported file mode {mode!r}")


#: The methods with a coroutine twin ``_<name>``: fsspec's GenericFileSystem (rsync), zarr
#: and ``asynchronous=True`` callers await these on their event loop, which stays free.
#: Those of :data:`NATIVE_COROUTINES` await an object store's engine directly (no thread);
#: the others, and every one on a driver without an engine, run the synchronous method on
#: a worker thread (its batch, if any, still gathered on the engine's loop).
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
NATIVE_COROUTINES = ("cat", "cat_file", "cat_ranges", "exists", "info", "isdir", "isfile", "pipe", "pipe_file", "sizes")


def _mirror(name: str) -> Callable[..., Any]:
    async def mirrored(self: DistFileSystem, *args: Any, **kwargs: Any) -> Any:
        return await _threaded(getattr(self, name), *args, **kwargs)

    mirrored.__name__ = mirrored.__qualname__ = "_" + name
    mirrored.__doc__ = f"``{name}`` on a worker thread (for callers on an event loop)."
    return mirrored


for _name in ASYNC_MIRRORS:
    if _name not in NATIVE_COROUTINES:
        setattr(DistFileSystem, "_" + _name, _mirror(_name))


async def _threaded(call: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    return await asyncio.to_thread(functools.partial(call, *args, **kwargs))


async def _gather(native: Callable[[T], Awaitable[R]], items: Sequence[T]) -> list[R | BaseException]:
    """``native`` of every item, gathered (the async driver bounds them); failures in place."""
    return await asyncio.gather(*(native(item) for item in items), return_exceptions=True)


async def _found(info: Awaitable[dict[str, Any]], kind: str | None = None) -> bool:
    """Whether the ``info`` awaited names something (of ``kind``); False only for not-found."""
    try:
        found = await info
    except FileNotFoundError:
        return False
    return kind is None or found["type"] == kind


async def _size_of(info: Awaitable[dict[str, Any]]) -> int:
    return int((await info)["size"])


def _native_of(driver: StorageDriver) -> EngineDriver | None:
    """The async driver over ``driver``'s engine (object stores), else None."""
    inner = driver.inner if isinstance(driver, Base) else driver
    native = aio.wrap(driver) if isinstance(inner, ObjectStoreDriver) else None
    return native if isinstance(native, EngineDriver) else None


def _span(size: int, start: int | None, end: int | None) -> tuple[int, int]:
    """Byte offsets ``[first, last)`` of fsspec's ``start``/``end`` (negative: from the end) in ``size`` bytes."""
    first = max(0, size + start if start is not None and start < 0 else start or 0)
    last = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
    return first, last


def _by_name(found: list[str], results: Sequence[object], on_error: str) -> dict[str, Any]:
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


class _ReadFile(AbstractBufferedFile):  # type: ignore[misc]
    """One driver reader for the file's whole life: the bytes of one version of the object."""

    def __init__(
        self,
        fs: DistFileSystem,
        path: str,
        info: FileInfo,
        stream: BinaryIO,
        *,
        block_size: int | None,
        cache_options: dict[str, Any] | None,
    ) -> None:
        self._info = info
        self._stream: BinaryIO | None = stream
        self._position = 0
        self._seekable = _seekable(self._stream)
        size = info.size
        if self._seekable:  # the pinned version's own size, whatever stat saw
            size = self._stream.seek(0, os.SEEK_END)
            self._stream.seek(0)
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size or "default",
            cache_type="readahead",
            cache_options=cache_options,
            size=size,
        )

    def _changed(self) -> OSError:
        error = ObjectChangedError(self.path, self.fs.driver.name)
        mapped = OSError(str(error))
        mapped.__cause__ = error
        return mapped

    def _at(self, start: int) -> BinaryIO:
        stream = self._stream
        if stream is not None and start != self._position:
            if self._seekable:
                stream.seek(start)
            elif 0 < start - self._position <= _SKIP_LIMIT:
                _read_exactly(stream, start - self._position)
            else:
                stream.close()
                stream = None
        if stream is None:
            with self.fs._errors():
                stream = self.fs.driver.reader(self.path, start)
                now = self.fs.driver.stat(self.path)
            if (now.size, now.mod_time) != (self._info.size, self._info.mod_time):
                stream.close()
                raise self._changed()
        self._stream, self._position = stream, start
        return stream

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        with self.fs._errors():
            stream = self._at(start)
            data = _read_exactly(stream, end - start)
            extra = stream.read(1) if end == self.size and not self._seekable else b""
        self._position = start + len(data) + len(extra)
        if len(data) < end - start or extra:
            raise self._changed()  # shorter or longer than the version opened
        return data

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        super().close()


class _LocalFile(io.BufferedReader):
    """The driver's own local file, handed to the caller: read at local speed.

    A ``filesystem`` driver's reader is the file itself, opened confined to its root
    (``openat2`` beneath the root, no symlink out); an open descriptor keeps reading the
    version it opened, since the driver only ever replaces files atomically. ``path`` and
    ``size`` are the driver path and the size at open, as fsspec files have them.
    """

    path: str
    size: int

    @classmethod
    def of(cls, stream: BinaryIO, path: str, size: int) -> _LocalFile | None:
        """``stream`` as a local file, or None when it is not a plain local file at offset 0."""
        if type(stream) is not io.BufferedReader or not isinstance(stream.raw, io.FileIO) or stream.tell() != 0:
            return None
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return None
        local = cls(stream.detach(), buffer_size=_LOCAL_BUFFER)
        local.path, local.size = path, size
        return local


def _seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class _WriteFile(AbstractBufferedFile):  # type: ignore[misc]
    """Writes through a distfs writer: committed on a normal close, cancelled otherwise.

    With ``autocommit=False`` (inside ``fs.transaction``) a normal close only flushes;
    the transaction calls :meth:`commit` or :meth:`discard`.
    """

    def __init__(self, fs: DistFileSystem, path: str, mode: str, block_size: int | None, autocommit: bool) -> None:
        super().__init__(fs, path, mode="wb", block_size=block_size or "default", autocommit=autocommit)
        self._append = mode == "ab"
        self._writer: FileWriter | None = None

    def _initiate_upload(self) -> None:
        driver = self.fs.driver
        with self.fs._errors():
            self._writer = driver.writer(self.path)  # a fresh upload: never a suspended one
            if self._append:
                try:
                    with driver.reader(self.path) as committed:
                        while block := committed.read(_COPY_BLOCK):
                            self._writer.write(block)
                except PathNotFoundError:
                    pass
                except BaseException:
                    self._writer.cancel()
                    raise

    def _upload_chunk(self, final: bool = False) -> bool:
        if self._writer is None:
            self._initiate_upload()
        assert self._writer is not None
        with self.fs._errors():
            self._writer.write(self.buffer.getbuffer())
            if final and self.autocommit:
                self._writer.commit()
                self._writer.close()
        return True

    def commit(self) -> None:
        """Publish (a transaction's end)."""
        if self._writer is None:
            self._initiate_upload()
        assert self._writer is not None
        with self.fs._errors():
            self._writer.commit()
            self._writer.close()

    def discard(self) -> None:
        """Cancel the upload: nothing is published."""
        if self._writer is not None and not self._writer.closed:
            with contextlib.suppress(StorageDriverError):
                self._writer.cancel()
        self._writer = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
            return
        self.discard()  # a failed block publishes nothing
        self.closed = True

    def __del__(self) -> None:
        # Dropped without close() (a producer raised outside a with block): never publish.
        if not self.closed:
            with contextlib.suppress(Exception):  # also at interpreter exit: best effort
                self.discard()
            self.closed = True
