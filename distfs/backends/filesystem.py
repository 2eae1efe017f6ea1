"""``filesystem``: a directory tree on the local filesystem.

Parameters (the registry's names):

``rootdirectory``
    The directory holding the store (default ``/var/lib/registry``), created if missing.
``maxthreads``
    At most this many calls run at once (default 100, minimum 25).

Writes are atomic and durable: ``put_content`` and ``commit`` write a file under the
hidden state directory, ``fsync`` it, ``os.replace`` it onto the path and ``fsync`` the
directory. Temporary files left by a process killed mid-write are removed by the next
driver created on the root once they are a day old.

No call reads, writes, lists or deletes outside ``rootdirectory``: paths cannot hold ``..``,
and a path that resolves outside the root through a symbolic link is
an ``InvalidPathError`` (such links are left out of listings).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

from fsspec.implementations.local import LocalFileSystem

from .. import paths
from ..base import Base
from ..capabilities import Capabilities
from ..errors import InvalidParameterError, InvalidPathError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters

__all__ = ["LocalBackend", "factory", "raw_filesystem"]

NAME = "filesystem"
DEFAULT_ROOT = "/var/lib/registry"
TEMP_MAX_AGE = 24 * 3600.0


class LocalBackend(Backend):
    """fsspec's local filesystem with atomic writes and the root as a hard boundary."""

    empty_directories = True
    capabilities = Capabilities(
        append="native", atomic_move=True, server_side_copy=True, empty_directories=True, listing_consistency="strong"
    )

    def __init__(self, root: str) -> None:
        fs = LocalFileSystem(skip_instance_cache=True)
        super().__init__(NAME, fs, os.path.abspath(root))
        self._real_root = os.path.realpath(self.root)

    def check(self, key: str, path: str) -> None:
        if not self._inside(key):
            raise InvalidPathError(path, self.name)

    def _inside(self, key: str) -> bool:
        real = os.path.realpath(key)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def entry(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        if not entry.get("islink"):
            return entry
        name = str(entry["name"])
        if not self._inside(name):
            return None  # a link out of the store
        try:
            followed: dict[str, Any] = self.fs.info(name)
        except OSError:
            return None  # a dangling link
        return followed

    def put(self, key: str, data: bytes) -> None:
        temp = self._temp()
        try:
            with open(temp, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, key)
        except BaseException:
            _unlink(temp)
            raise
        _sync_directory(os.path.dirname(key))

    def _temp(self) -> str:
        directory = self._temp_directory()
        self.check(directory, "/" + paths.HIDDEN)
        os.makedirs(directory, exist_ok=True)
        return os.path.join(directory, os.urandom(16).hex())

    def _temp_directory(self) -> str:
        return os.path.join(self.root, paths.HIDDEN, "tmp")

    def sweep_temporary_files(self, older_than: float = TEMP_MAX_AGE) -> int:
        """Remove temporary files left by writers killed mid-write; returns how many."""
        directory = self._temp_directory()
        if not self._inside(directory):
            return 0
        cutoff = time.time() - older_than
        removed = 0
        with contextlib.suppress(FileNotFoundError), os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    _unlink(entry.path)
                    removed += 1
        return removed

    def open_read(self, key: str, offset: int) -> BinaryIO:
        stream = open(key, "rb")  # noqa: SIM115 - the caller owns the stream
        stream.seek(offset)
        return stream

    def rename(self, source: str, dest: str) -> None:
        os.replace(source, dest)
        _sync_directory(os.path.dirname(dest))

    def make_parents(self, key: str) -> None:
        os.makedirs(os.path.dirname(key), exist_ok=True)

    def open_append(self, key: str) -> BinaryIO:
        fd = os.open(key, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        return os.fdopen(fd, "ab")

    def sync(self, stream: BinaryIO) -> None:
        stream.flush()
        os.fsync(stream.fileno())

    def truncate(self, key: str, size: int) -> None:
        os.truncate(key, size)


def _sync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build a ``filesystem`` driver from ``rootdirectory`` and ``maxthreads``."""
    params = Parameters(NAME, parameters, known=("rootdirectory", "maxthreads"))
    root = params.string("rootdirectory", DEFAULT_ROOT)
    if not root:
        raise params.error("rootdirectory", "must not be empty")
    limit = params.limit("maxthreads", default=100, minimum=25)
    if "\x00" in root:
        raise params.error("rootdirectory", "must not contain NUL characters")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise InvalidParameterError(NAME, "rootdirectory", f"cannot create {root}: {exc.strerror}") from None
    if not os.path.isdir(root):
        raise InvalidParameterError(NAME, "rootdirectory", f"{root} is not a directory")
    backend = LocalBackend(root)
    backend.sweep_temporary_files()
    return Base(FsspecDriver(backend), max_concurrency=limit)


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[LocalFileSystem, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    params = Parameters(NAME, parameters, known=("rootdirectory", "maxthreads"))
    root = os.path.abspath(params.string("rootdirectory", DEFAULT_ROOT))
    return LocalFileSystem(skip_instance_cache=True), root
