"""``inmemory``: a private fsspec memory filesystem per driver instance (for tests).

Parameters: none. Nothing persists beyond the driver object, and two drivers never
share a store (fsspec's memory filesystem is process-global by default).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, BinaryIO

from fsspec.implementations.memory import MemoryFileSystem

from ..base import Base
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters

__all__ = ["MemoryBackend", "factory"]

NAME = "inmemory"


class MemoryBackend(Backend):
    """fsspec's memory filesystem, never handing out its live file objects."""

    def __init__(self) -> None:
        fs = MemoryFileSystem(global_store=False, skip_instance_cache=True)
        super().__init__(NAME, fs, "")

    def open_read(self, key: str, offset: int) -> BinaryIO:
        # A copy: the store's own file object has one cursor shared by every opener.
        return io.BytesIO(self.fs.cat_file(key, start=offset))

    def rename(self, source: str, dest: str) -> None:
        if self.fs.isfile(source):
            # Through open(), which refuses a file below a file, as put_content does.
            self.fs.pipe_file(dest, self.fs.cat_file(source))
            self.fs.rm_file(source)
            return
        super().rename(source, dest)

    def truncate(self, key: str, size: int) -> None:
        self.fs.open(key, "r+b").truncate(size)


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``inmemory`` driver; it takes no parameters."""
    Parameters(NAME, parameters, known=())
    return Base(FsspecDriver(MemoryBackend()))
