"""distfs as an fsspec protocol: ``distfs://`` for pandas, dask, pyarrow and UPath.

Registered through the ``fsspec.specs`` entry point, so no import is needed::

    import pandas as pd

    options = {"driver": "s3", "bucket": "data", "region": "eu-west-1"}
    df = pd.read_csv("distfs:///tables/2024.csv", storage_options=options)
    fs = fsspec.filesystem("distfs", driver="filesystem", rootdirectory="/srv/data")

``driver`` names a registered driver (default ``inmemory``); every other keyword is one of
that driver's parameters. ``config="/etc/docker/registry/config.yml"`` takes the driver,
its parameters and its storage middleware from a registry configuration instead.

URLs map onto driver paths: ``distfs:///a/b.csv`` and ``distfs://a/b.csv`` are
``/a/b.csv``. Everything goes through the driver's contract, so
listings are never stale, directories are implicit (``mkdir`` succeeds and does
nothing), and a write is published only when its file closes normally: a ``with`` block
that raises cancels the upload and leaves nothing behind. Errors are the builtins fsspec
users expect (``FileNotFoundError``, ``ValueError``, ``OSError``).

Instances hold nothing but their constructor arguments, so they pickle and rebuild on
dask workers. ``created`` reports the modification time (drivers keep no creation time);
``sign`` is the driver's ``redirect_url`` (20 minutes, whatever ``expiration`` says) and
raises ``NotImplementedError`` where the driver cannot redirect.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.spec import AbstractBufferedFile

from . import paths
from .config import from_config
from .driver import FileInfo, FileWriter, SkipDir, StorageDriver
from .errors import DriverError, PathNotFoundError, StorageDriverError, UnsupportedMethodError
from .factory import create

__all__ = ["DistFileSystem"]


@contextlib.contextmanager
def _builtin_errors() -> Iterator[None]:
    """distfs errors as the builtins fsspec callers catch (typed ones already are)."""
    try:
        yield
    except (DriverError, UnsupportedMethodError) as exc:
        raise OSError(str(exc)) from exc


class DistFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """An fsspec filesystem over one distfs driver."""

    protocol = ("distfs",)
    root_marker = "/"

    def __init__(self, driver: str = "inmemory", config: str | None = None, **parameters: Any) -> None:
        storage_options = {k: v for k, v in parameters.items() if k not in _FSSPEC_OPTIONS}
        super().__init__(driver=driver, config=config, **parameters)
        self.driver: StorageDriver
        if config is not None:
            if storage_options:
                raise ValueError("distfs: give either config= or driver parameters, not both")
            self.driver = from_config(config)
        else:
            self.driver = create(driver, storage_options)

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
        text = "/" + text.strip("/")
        return text

    @classmethod
    def _parent(cls, path: str) -> str:
        return paths.parent(cls._strip_protocol(path))

    # -- metadata ---------------------------------------------------------------------

    def _info_dict(self, info: FileInfo) -> dict[str, Any]:
        return {
            "name": info.path,
            "size": info.size,
            "type": "directory" if info.is_dir else "file",
            "mtime": info.mod_time,
        }

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        with _builtin_errors():
            infos = _children(self.driver, path)
        if not infos and path != paths.ROOT:
            info = self.info(path)
            if info["type"] == "file":
                infos = [self.driver.stat(path)]
        entries = [self._info_dict(i) for i in infos]
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        with _builtin_errors():
            return self._info_dict(self.driver.stat(path))

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

        with _builtin_errors():
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
        with _builtin_errors():
            if start is None and end is None:
                return self.driver.get_content(path)
            size = self.driver.stat(path).size
            first = max(0, size + start if start is not None and start < 0 else start or 0)
            last = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
            if last <= first:
                return b""
            with self.driver.reader(path, first) as stream:
                return _read_exactly(stream, last - first)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(path)
        with _builtin_errors():
            self.driver.put_content(path, bytes(value))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        source, dest = self._strip_protocol(path1), self._strip_protocol(path2)
        with _builtin_errors():
            if self.driver.stat(source).is_dir:
                return  # directories are implicit: nothing to copy
            writer = self.driver.writer(dest)
            try:
                with self.driver.reader(source) as stream:
                    while block := stream.read(_COPY_BLOCK):
                        writer.write(block)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            writer.close()

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        with _builtin_errors():
            self.driver.move(self._strip_protocol(path1), self._strip_protocol(path2))

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        with _builtin_errors():
            if self.driver.stat(path).is_dir:
                raise IsADirectoryError(path)
            self.driver.delete(path)

    _rm = rm_file

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        for given in path if isinstance(path, list) else [path]:
            one = self._strip_protocol(given)
            if recursive:
                with _builtin_errors():
                    self.driver.delete(one)
            else:
                self.rm_file(one)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Directories are implicit: nothing to do."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Directories are implicit: nothing to do."""

    def rmdir(self, path: str) -> None:
        """Directories vanish with their last entry: nothing to do."""

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        with _builtin_errors():
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
    ) -> AbstractBufferedFile:
        path = self._strip_protocol(path)
        if mode == "rb":
            with _builtin_errors():
                size = self.driver.stat(path)
            if size.is_dir:
                raise IsADirectoryError(path)
            return _ReadFile(self, path, size.size, block_size, cache_options)
        if mode in ("wb", "ab", "xb"):
            if mode == "xb" and self.exists(path):
                raise FileExistsError(path)
            return _WriteFile(self, path, mode, block_size)
        raise ValueError(f"distfs: unsupported file mode {mode!r}")


_FSSPEC_OPTIONS = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths", "asynchronous"}
_COPY_BLOCK = 8 << 20


def _children(driver: StorageDriver, path: str) -> list[FileInfo]:
    """Infos of the direct children of ``path`` from one listing (no stat per entry)."""
    from .base import Base
    from .fsspec_driver import FsspecDriver

    inner = driver.inner if isinstance(driver, Base) else driver
    if isinstance(inner, FsspecDriver):
        if not paths.is_valid(path, root_ok=True):
            raise ValueError(f"{driver.name}: invalid path: {path}")
        try:
            return inner._list_infos(path)
        except PathNotFoundError:
            return []
    try:
        return [driver.stat(child) for child in driver.list(path)]
    except PathNotFoundError:
        return []


def _read_exactly(stream: Any, size: int) -> bytes:
    chunks = []
    while size > 0:
        block = stream.read(size)
        if not block:
            break
        chunks.append(block)
        size -= len(block)
    return b"".join(chunks)


class _ReadFile(AbstractBufferedFile):  # type: ignore[misc]
    """Ranged reads through ``reader(path, offset)``, clamped at the end."""

    def __init__(
        self, fs: DistFileSystem, path: str, size: int, block_size: int | None, cache_options: dict[str, Any] | None
    ) -> None:
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size or "default",
            cache_type="readahead",
            cache_options=cache_options,
            size=size,
        )

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        with _builtin_errors(), self.fs.driver.reader(self.path, start) as stream:
            return _read_exactly(stream, end - start)


class _WriteFile(AbstractBufferedFile):  # type: ignore[misc]
    """Writes through a distfs writer: committed on a normal close, cancelled otherwise."""

    def __init__(self, fs: DistFileSystem, path: str, mode: str, block_size: int | None) -> None:
        super().__init__(fs, path, mode="wb", block_size=block_size or "default")
        self._append = mode == "ab"
        self._writer: FileWriter | None = None

    def _initiate_upload(self) -> None:
        with _builtin_errors():
            try:
                self._writer = self.fs.driver.writer(self.path, append=self._append)
            except PathNotFoundError:
                self._writer = self.fs.driver.writer(self.path, append=False)

    def _upload_chunk(self, final: bool = False) -> bool:
        if self._writer is None:
            self._initiate_upload()
        assert self._writer is not None
        with _builtin_errors():
            self._writer.write(self.buffer.getbuffer())
            if final:
                self._writer.commit()
                self._writer.close()
        return True

    def discard(self) -> None:
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
