"""Files read from an object store: nothing fetched at open, each fetch one ranged read of one version.

``open(path, "rb")`` on an object store costs one ``stat`` (HEAD): it learns the size and the
version token (ETag, generation). Every fetch of fsspec's cache (``cache_type``, default
``readahead``; ``block_size``, default fsspec's 5 MiB) is one ranged GET pinned to that
version, so the file reads one version of the object whatever is written meanwhile (another
version is :class:`~distfs.errors.ObjectChangedError`, under an ``OSError``). Reading a
parquet footer moves the footer, not a read block.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from ..aio import run
from ..errors import ObjectChangedError
from .files import Named
from .oserrors import os_error

if TYPE_CHECKING:
    from ..aio import EngineDriver
    from .base import DriverFileSystem

__all__ = ["ObjectFile"]


class ObjectFile(Named, AbstractBufferedFile):  # type: ignore[misc]
    """A read-only fsspec file of one version of an object, fetched block by block."""

    fs: DriverFileSystem

    def __init__(
        self,
        fs: DriverFileSystem,
        native: EngineDriver,
        path: str,
        *,
        block_size: int | None,
        cache_type: str,
        cache_options: dict[str, Any] | None,
    ) -> None:
        with fs._errors(path):
            key = fs._key(path)  # the driver path of the name ``path``
            info = run(native.stat(key))
        if info.is_dir:
            raise os_error(errno.EISDIR, path, fs.driver.name)
        self._native = native
        self._key = key
        self.version = info.version
        self.mtime = info.mod_time
        super().__init__(
            fs,
            path,
            mode="rb",
            block_size=block_size or "default",
            cache_type=cache_type,
            cache_options=cache_options,
            size=info.size,
        )

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if end <= start:
            return b""
        with self.fs._errors(self.path):
            data: bytes = run(self._native.read_range(self._key, start, end, self.version))
        if len(data) != end - start:  # shorter than the version opened: it changed
            error = ObjectChangedError(self.path, self.fs.driver.name)
            raise OSError(str(error)) from error
        return data
