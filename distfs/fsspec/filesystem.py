"""``DistFileSystem``: the fsspec filesystem of ``distfs://`` (see :mod:`distfs.fsspec`)."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from datetime import datetime
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from .. import paths
from ..driver import FileInfo, SkipDir, StorageDriver
from ..engine.loop import run
from ..errors import PathNotFoundError
from .asyncfiles import open_async
from .base import span
from .batches import Batches
from .coroutines import Coroutines
from .files import COPY_BLOCK, ReadFile, WriteFile, read_exactly
from .layers import TEXT_KEYWORDS, layered
from .local import LocalFile
from .oserrors import os_error
from .store import open_store
from .transactions import DistTransaction

__all__ = ["DistFileSystem"]

_FSSPEC_OPTIONS = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths", "asynchronous"}
#: Parameters shown by ``repr``: where the data is, never how to get in.
_SHOWN = ("bucket", "container", "rootdirectory", "root", "rootdir", "region", "regionendpoint", "endpoint")


def _is_glob(path: str) -> bool:
    return any(char in path for char in "*?[")


class DistFileSystem(Coroutines, Batches):
    """An fsspec filesystem over one distfs driver (see :mod:`distfs.fsspec`)."""

    protocol = ("distfs",)
    #: Coroutine mirrors exist (``_cat_file``, ``_find``, ...; see :data:`ASYNC_MIRRORS`), but
    #: the synchronous methods are the implementation: fsspec must not generate its own.
    async_impl = True
    mirror_sync_methods = False
    transaction_type = DistTransaction

    def __init__(self, driver: str | None = None, config: str | None = None, **parameters: Any) -> None:
        options = {k: v for k, v in parameters.items() if k not in _FSSPEC_OPTIONS}
        arguments: dict[str, Any] = dict(parameters)
        if driver is not None:
            arguments["driver"] = driver
        if config is not None:
            arguments["config"] = config
        super().__init__(**arguments)
        self.driver: StorageDriver = open_store(driver, config, options)
        self._shown = {k: options[k] for k in _SHOWN if k in options}
        self._source = config if config is not None else ("" if driver is not None else "environment")
        self._pool = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        self.asynchronous = bool(parameters.get("asynchronous", False))

    def __repr__(self) -> str:
        where = ", ".join(f"{k}={v!r}" for k, v in self._shown.items())
        source = f", config={self._source!r}" if self._source and self._source != "environment" else ""
        source = source or (" from the environment" if self._source == "environment" else "")
        return f"<DistFileSystem driver={self.driver.name!r}{', ' + where if where else ''}{source}>"

    # -- metadata ---------------------------------------------------------------------

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

    def du(
        self, path: str, total: bool = True, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any
    ) -> Any:
        sizes = {name: info["size"] for name, info in self.find(path, maxdepth, withdirs, detail=True).items()}
        return sum(sizes.values()) if total else sizes

    # -- content ----------------------------------------------------------------------

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        if self._native is not None and (start is not None or end is not None):
            return run(self._native_cat_file(path, start, end))  # one ranged read
        with self._errors():
            if start is None and end is None:
                return self.driver.get_content(path)
            first, last = span(self.driver.stat(path).size, start, end)
            if last <= first:
                return b""
            with self.driver.reader(path, first) as stream:
                return read_exactly(stream, last - first)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if mode == "create" and self.exists(path):
            raise os_error(errno.EEXIST, path, self.driver.name)
        if self._intrans:
            with self.open(path, "wb") as stream:  # published with the transaction
                stream.write(value)
            return
        with self._errors():
            self.driver.put_content(path, bytes(value))

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
            while block := stream.read(COPY_BLOCK):
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
                while block := stream.read(COPY_BLOCK):
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

    # -- names ------------------------------------------------------------------------

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        with self._errors():
            self.driver.move(self._strip_protocol(path1), self._strip_protocol(path2))

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        with self._errors():
            if self.driver.stat(path).is_dir:
                raise os_error(errno.EISDIR, path, self.driver.name)
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
            raise os_error(errno.EISDIR, given[0], self.driver.name)
        if given:
            with self._errors():
                self.driver.delete_many(given, files_only=not recursive)

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

    def open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """fsspec's ``open``, with layers that keep the publish rule (:mod:`distfs.fsspec.layers`)."""
        text = {k: kwargs.pop(k) for k in TEXT_KEYWORDS if k in kwargs}
        binary = mode if "b" in mode else mode.replace("t", "") + "b"
        file = super().open(path, binary, block_size, cache_options, **kwargs)
        return layered(file, self._strip_protocol(path), mode, compression, text)

    async def open_async(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        """fsspec's async file object (``rb``, ``wb``) with the publish rule (:mod:`.asyncfiles`)."""
        return await open_async(self, path, mode, **kwargs)

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
                    raise os_error(errno.EISDIR, path, self.driver.name)
                stream = self.driver.reader(path, 0)
            local = LocalFile.of(
                self,
                stream,
                path,
                info.size,
                block_size=block_size,
                cache_type=kwargs.get("cache_type"),
                cache_options=cache_options,
            )
            return local or ReadFile(self, path, info, stream, block_size=block_size, cache_options=cache_options)
        if mode in ("wb", "ab", "xb"):
            if mode == "xb" and self.exists(path):
                raise os_error(errno.EEXIST, path, self.driver.name)
            return WriteFile(self, path, mode, block_size, autocommit)
        raise ValueError(f"distfs: unsupported file mode {mode!r}")
