"""``DistFileSystem``: the fsspec filesystem of ``distfs://`` (see :mod:`distfs.fsspec`)."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.implementations.chained import ChainedFileSystem

from .. import paths
from ..aio import run
from ..driver import FileInfo, SkipDir, StorageDriver
from ..errors import InvalidParameterError, PathNotFoundError
from ..factory import from_filesystem
from .asyncfiles import open_async
from .base import span
from .batches import Batches
from .chain import ChainRoot, open_chain
from .coroutines import Coroutines
from .files import COPY_BLOCK, ReadFile, WriteFile, read_exactly
from .layers import TEXT_KEYWORDS, layered
from .local import LocalFile
from .names import Names
from .oserrors import os_error
from .reads import ObjectFile
from .store import open_store
from .transactions import DistTransaction

__all__ = ["DistFileSystem"]

_FSSPEC_OPTIONS = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths", "asynchronous"}
#: Parameters shown by ``repr``: where the data is, never how to get in.
_SHOWN = ("bucket", "container", "rootdirectory", "root", "rootdir", "region", "regionendpoint", "endpoint")


class DistFileSystem(Names, Coroutines, Batches, ChainedFileSystem, metaclass=ChainRoot):  # type: ignore[misc]
    """An fsspec filesystem over one distfs driver (see :mod:`distfs.fsspec`).

    Chained (``distfs::<url>``, see :mod:`distfs.fsspec.chain`): fsspec passes the URL's
    protocol as ``target_protocol``, its options as ``target_options`` and its path as
    ``fo``; the driver is :func:`distfs.from_filesystem` of the target filesystem below
    ``root`` (default: ``fo``'s first component), and every other keyword is one of that
    driver's parameters (``paths`` defaults to ``portable``).
    """

    protocol = ("distfs",)
    #: Coroutine mirrors exist (``_cat_file``, ``_find``, ...; see :data:`ASYNC_MIRRORS`), but
    #: the synchronous methods are the implementation: fsspec must not generate its own.
    async_impl = True
    mirror_sync_methods = False
    transaction_type = DistTransaction

    def __init__(
        self,
        driver: str | None = None,
        config: str | None = None,
        *,
        target_protocol: str | None = None,
        target_options: dict[str, Any] | None = None,
        fo: str | None = None,
        **parameters: Any,
    ) -> None:
        options = {k: v for k, v in parameters.items() if k not in _FSSPEC_OPTIONS}
        arguments: dict[str, Any] = dict(parameters)
        if driver is not None:
            arguments["driver"] = driver
        if config is not None:
            arguments["config"] = config
        super().__init__(**arguments)
        if target_protocol is None:
            self.driver: StorageDriver = open_store(driver, config, options)
            self._shown = {k: options[k] for k in _SHOWN if k in options}
            self._source = config if config is not None else ("" if driver is not None else "environment")
        else:
            for given, key in ((driver, "driver"), (config, "config")):
                if given is not None:
                    reason = f"a distfs:: URL's store is the URL after '::', not {key}="
                    raise InvalidParameterError("distfs", key, reason)
            self.driver = self._chained(target_protocol, target_options, fo, options)
        self._pool = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        self.asynchronous = bool(parameters.get("asynchronous", False))

    def _chained(
        self, protocol: str, target_options: dict[str, Any] | None, fo: str | None, options: dict[str, Any]
    ) -> StorageDriver:
        """The driver of ``distfs::<protocol>://<fo>``; this instance takes the target's names."""
        chain = open_chain(protocol, target_options or {}, fo or "", options.pop("root", None))
        self._chain = chain
        self._strip_protocol = chain.strip  # type: ignore[method-assign]
        self._parent = chain.parent  # type: ignore[method-assign]
        self._shown = {"root": f"{protocol}://{chain.root}"}
        self._source = ""
        paths_rule = options.pop("paths", "portable")
        return from_filesystem(chain.target, chain.root, paths=paths_rule, **options)

    def __repr__(self) -> str:
        where = ", ".join(f"{k}={v!r}" for k, v in self._shown.items())
        source = f", config={self._source!r}" if self._source and self._source != "environment" else ""
        source = source or (" from the environment" if self._source == "environment" else "")
        return f"<DistFileSystem driver={self.driver.name!r}{', ' + where if where else ''}{source}>"

    # -- metadata ---------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The entries of directory ``path`` (a file lists as itself), each name once, sorted.

        On an object store one delimiter listing (its pages); a name that is both an object
        and a prefix lists once, as the file (what ``info`` says of it). Directories made by
        this instance's ``mkdir`` are listed too.
        """
        entries: dict[str, dict[str, Any]] = {}  # by driver path
        with self._errors():
            key = self._key(path)
            try:
                for info in self._children(key):
                    if info.path not in entries or entries[info.path]["type"] == "directory":
                        entries[info.path] = self._entry(info)
            except PathNotFoundError:
                made = list(self._made_below(key, 1))
                if not made and self._made_dir(key) is None:
                    info = self.driver.stat(key)  # a file lists as itself; missing raises
                    entries = {} if info.is_dir else {info.path: self._entry(info)}
        for made_key in self._made_below(key, 1):
            entries.setdefault(made_key, self._made_entry(made_key))
        ordered = [entries[k] for k in sorted(entries)]
        return ordered if detail else [e["name"] for e in ordered]

    def _children(self, key: str) -> list[FileInfo]:
        """The direct children of driver path ``key``: one delimiter listing, or a walk that does not descend."""
        native = self._native
        if native is not None:
            return run(native.children(key))
        infos: list[FileInfo] = []

        def visit(info: FileInfo) -> None:
            infos.append(info)
            if info.is_dir:
                raise SkipDir

        self.driver.walk(key, visit)
        return infos

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        with self._errors():
            key = self._key(path)
        try:
            with self._errors():
                return self._entry(self.driver.stat(key))
        except FileNotFoundError:
            made = self._made_dir(key)  # made by mkdir on this instance
            if made is None:
                raise
            return made

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

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        with self._errors():
            key = self._key(path)
        found: dict[str, dict[str, Any]] = {}
        base_depth = len(paths.split(key))

        def visit(info: FileInfo) -> None:
            depth = len(paths.split(info.path)) - base_depth
            if maxdepth is not None and depth > maxdepth:
                raise SkipDir
            if withdirs or not info.is_dir:
                found[info.path] = self._entry(info)
            if info.is_dir and maxdepth is not None and depth >= maxdepth:
                raise SkipDir

        with self._errors():
            try:
                self.driver.walk(key, visit)
                is_dir = True
            except PathNotFoundError:
                is_dir = self._made_dir(key) is not None
                with contextlib.suppress(PathNotFoundError):
                    info = self.driver.stat(key)
                    if not info.is_dir:
                        found[key] = self._entry(info)
        if withdirs:
            for made_key in self._made_below(key, maxdepth):
                found.setdefault(made_key, self._made_entry(made_key))
            if is_dir and key != paths.ROOT:  # as fsspec's find: the directory itself too (not the root)
                found.setdefault(key, self._made_entry(key))
        ordered = {self._name(k): found[k] for k in sorted(found)}
        return ordered if detail else list(ordered)

    def du(
        self, path: str, total: bool = True, maxdepth: int | None = None, withdirs: bool = False, **kwargs: Any
    ) -> Any:
        sizes = {name: info["size"] for name, info in self.find(path, maxdepth, withdirs, detail=True).items()}
        return sum(sizes.values()) if total else sizes

    # -- content ----------------------------------------------------------------------

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        if self._native is not None and (start is not None or end is not None):
            return run(self._native_cat_file(path, start, end))  # one ranged read
        with self._errors():
            path = self._key(path)
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
            self.driver.put_content(self._key(path), bytes(value))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        if self._collected(path1, path2):
            return
        with self._errors():
            source, dest = self._key(path1), self._key(path2)
        if self._native is not None:  # the store copies: one HEAD and one copy request
            try:
                with self._errors():
                    return run(self._native.copy(source, dest))
            except FileNotFoundError:
                if self.info(path1)["type"] != "directory":
                    raise
                return  # directories are implicit: nothing to copy
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
        with self._errors():
            source = self._key(rpath)
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
            self._write_stream(self._key(rpath), local, callback)

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
        cache_type = str(kwargs.get("cache_type", "readahead"))
        if mode == "rb" and self._native is not None:  # nothing fetched at open: one HEAD
            return ObjectFile(
                self, self._native, path, block_size=block_size, cache_type=cache_type, cache_options=cache_options
            )
        if mode == "rb":
            with self._errors():
                key = self._key(path)
                info = self.driver.stat(key)
                if info.is_dir:
                    raise os_error(errno.EISDIR, path, self.driver.name)
                stream = self.driver.reader(key, 0)
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
