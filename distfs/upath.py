"""``UPath("distfs:///a/b", driver=...)``: distfs for universal_pathlib (entry point).

Importing this module registers :class:`~distfs.fsspec.DistFileSystem` with fsspec's
class registry, where universal_pathlib looks for a protocol's path flavour, so the first
``UPath("distfs://...")`` of a process finds it instead of warning about an unknown one.
"""

from __future__ import annotations

from fsspec.registry import register_implementation
from upath.core import UPath

from .fsspec import DistFileSystem

__all__ = ["DistPath"]

register_implementation("distfs", DistFileSystem, clobber=True)


class DistPath(UPath):
    """A path on a distfs driver; storage options are the driver name and parameters."""

    __slots__ = ()

    @property
    def path(self) -> str:
        path: str = super().path
        return "/" if path in {"", "."} else path
