"""``inmemory``: a private fsspec memory filesystem per driver instance (for tests).

fsspec protocol ``memory`` (``MemoryFileSystem``). Parameters: ``storage_options`` only,
the filesystem's keywords, checked against :data:`OPTIONS`; none of them changes what the
driver does (the table says why). Nothing persists beyond the driver object, and two
drivers never share a store (fsspec's memory filesystem is process-global by default; the
driver always sets ``global_store=False``), except that ``driver.reopen()`` gives a second
instance over the same store.

One writer at a time per path: ``writer(path)`` while another writer of ``path`` of the
same driver is open raises ``WriterConflictError`` (a writer dropped without closing
releases the path when it is garbage-collected).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from fsspec.implementations.memory import MemoryFileSystem

from ..base import Base
from ..capabilities import Capabilities
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from .options import Option, OptionTable, StorageOptions, synchronous_base_options

__all__ = ["KNOWN", "OPTIONS", "MemoryBackend", "factory", "from_filesystem", "raw_filesystem"]

NAME = "inmemory"
KNOWN = ("storage_options",)
_PAGE = 1000
#: Every keyword of fsspec's ``MemoryFileSystem`` (and ``AbstractFileSystem``).
OPTIONS = OptionTable(
    NAME,
    "memory",
    "fsspec",
    (
        Option("global_store", "engine", "every driver has a private store (global_store=False)"),
        *synchronous_base_options("MemoryFileSystem"),
    ),
)


class MemoryBackend(Backend):
    """fsspec's memory filesystem, never handing out its live file objects."""

    capabilities = Capabilities(append="native", server_side_copy=True, listing_consistency="strong")

    def __init__(self, storage_options: Mapping[str, Any] | None = None) -> None:
        options = OptionTable.merge({}, {"global_store": False}, storage_options or {}, {})
        fs = MemoryFileSystem(**options, skip_instance_cache=True)
        super().__init__(NAME, fs, "")

    def read_all(self, key: str) -> bytes:
        # getvalue() hands out the stored buffer itself: immutable bytes that the store's
        # file object shares until its next write (which then copies), where cat_file
        # copies the object twice. Keys are already in the store's form.
        try:
            stored = self.fs.store[key]
        except KeyError:
            raise FileNotFoundError(key) from None
        data: bytes = stored.getvalue()
        return data

    def open_read(self, key: str, offset: int) -> BinaryIO:
        # Not the store's own file object: it has one cursor shared by every opener. A
        # BytesIO over the immutable value shares it (no copy) and pins this version.
        data = self.read_all(key)
        stream = io.BytesIO(data)
        stream.seek(min(offset, len(data)))
        return stream

    def rename(self, source: str, dest: str) -> None:
        if self.fs.isfile(source):
            # Through open(), which refuses a file below a file, as put_content does.
            self.fs.pipe_file(dest, self.read_all(source))
            self.fs.rm_file(source)
            return
        super().rename(source, dest)

    def truncate(self, key: str, size: int) -> None:
        self.fs.open(key, "r+b").truncate(size)

    def truncate_upload(self, stream: BinaryIO, key: str, size: int) -> None:
        # The stream is the store's file object: cut it and keep appending at its new end.
        stream.truncate(size)
        stream.seek(size)

    # The store is one flat mapping and every ls() or directory stat scans all of it, so
    # per-directory walks and fsspec's rm are quadratic in a tree; find() is one pass.
    flat_listing = True

    def file_pages(self, prefix: str, start_after: str) -> Iterator[list[dict[str, Any]]]:
        found = self.fs.find(prefix.rstrip("/"), detail=True)
        entries = [entry for name, entry in found.items() if name.startswith(prefix) and name > start_after]
        for start in range(0, len(entries), _PAGE):
            yield entries[start : start + _PAGE]

    def remove(self, key: str, is_dir: bool) -> None:
        if not is_dir:
            self.fs.rm_file(key)
            return
        for name in self.fs.find(key):
            self.fs.rm_file(name)
        if any(d == key or d.startswith(key + "/") for d in self.fs.pseudo_dirs):
            self.fs.rm(key, recursive=True)  # directories made explicitly (distfs never makes any)


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``inmemory`` driver; it takes ``storage_options`` only."""
    backend = MemoryBackend(_storage_options(parameters))
    # The store lives in this object: a second instance shares it (and its writer claims).
    return Base(FsspecDriver(backend), reopen=lambda: Base(FsspecDriver(backend)))


def from_filesystem(fs: MemoryFileSystem, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``inmemory`` driver over the user's ``MemoryFileSystem`` ``fs`` below ``root``: the
    generic store over that very instance (its files are the driver's); ``parameters``: the
    engine's settings (``chunksize``, ``timeout``...)."""
    from .generic import driver_over
    from .generic.settings import engine_settings

    return driver_over(fs, root, engine_settings(NAME, parameters), NAME)


def _storage_options(parameters: Mapping[str, Any]) -> StorageOptions:
    Parameters(NAME, parameters, known=KNOWN, secret=KNOWN)
    return OPTIONS.check(parameters.get("storage_options"))


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[MemoryFileSystem, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    return MemoryFileSystem(**_storage_options(parameters), skip_instance_cache=True), "/"
