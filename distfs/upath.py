"""``UPath("distfs:///a/b", driver=...)``: distfs for universal_pathlib (entry point)."""

from __future__ import annotations

from upath.core import UPath

__all__ = ["DistPath"]


class DistPath(UPath):
    """A path on a distfs driver; storage options are the driver name and parameters."""

    __slots__ = ()

    @property
    def path(self) -> str:
        path: str = super().path
        return "/" if path in {"", "."} else path
