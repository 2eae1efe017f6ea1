"""The base of storage middleware: a driver that delegates every call to the driver it wraps."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import BinaryIO

from .. import paths
from ..capabilities import Capabilities
from ..driver import FileInfo, FileWriter, StorageDriver, WalkFn
from ..errors import InvalidPathError

__all__ = ["Middleware"]


class Middleware(StorageDriver):
    """A driver that delegates everything to ``wrapped``; subclasses override ``redirect_url``."""

    def __init__(self, wrapped: StorageDriver) -> None:
        self.wrapped = wrapped

    def unwrap(self) -> StorageDriver:
        """The driver this middleware wraps (one layer down: itself middleware when several are stacked)."""
        return self.wrapped

    @property
    def name(self) -> str:
        return self.wrapped.name

    @property
    def capabilities(self) -> Capabilities:
        """The wrapped driver's capabilities."""
        return self.wrapped.capabilities

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self.wrapped!r}>"

    def _check(self, path: str) -> None:
        if not paths.is_valid(path, portable=bool(getattr(self.wrapped, "portable_paths", False))):
            raise InvalidPathError(str(path), self.name)

    def get_content(self, path: str) -> bytes:
        return self.wrapped.get_content(path)

    def put_content(self, path: str, content: bytes) -> None:
        self.wrapped.put_content(path, content)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self.wrapped.reader(path, offset)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        return self.wrapped.writer(path, append)

    def stat(self, path: str) -> FileInfo:
        return self.wrapped.stat(path)

    def list(self, path: str) -> list[str]:
        return self.wrapped.list(path)

    def move(self, source: str, dest: str) -> None:
        self.wrapped.move(source, dest)

    def delete(self, path: str) -> None:
        self.wrapped.delete(path)

    def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        self.wrapped.delete_many(paths, files_only=files_only)

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        if expires is None:
            return self.wrapped.redirect_url(path, method)
        return self.wrapped.redirect_url(path, method, expires=expires)

    def files_matching(self, path: str, pattern: Sequence[str]) -> builtins.list[FileInfo]:
        return self.wrapped.files_matching(path, pattern)

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        self.wrapped.walk(path, fn, start_after_hint=start_after_hint)
