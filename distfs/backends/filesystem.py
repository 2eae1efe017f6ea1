"""``filesystem``: a directory tree on the local filesystem.

Parameters (the registry's names):

``rootdirectory``
    The directory holding the store (default ``/var/lib/registry``), created if missing.
``maxthreads``
    At most this many calls run at once (default 100, minimum 25).

Writes are atomic and durable: ``put_content`` and ``commit`` write a file under the
hidden state directory, ``fsync`` it, ``os.replace`` it onto the path and ``fsync`` the
directory. No call reads, writes, lists or deletes outside ``rootdirectory``: paths
cannot hold ``..``, and a path that resolves outside the root through a symbolic link is
an ``InvalidPathError`` (such links are left out of listings).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

from fsspec.implementations.local import LocalFileSystem

from .. import paths
from ..base import Base
from ..errors import InvalidParameterError, InvalidPathError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters

__all__ = ["LocalBackend", "factory"]

NAME = "filesystem"
DEFAULT_ROOT = "/var/lib/registry"


class LocalBackend(Backend):
    """fsspec's local filesystem with atomic writes and the root as a hard boundary."""

    empty_directories = True

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
        directory = os.path.join(self.root, paths.HIDDEN, "tmp")
        self.check(directory, "/" + paths.HIDDEN)
        os.makedirs(directory, exist_ok=True)
        return os.path.join(directory, os.urandom(16).hex())

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
        return open(key, "ab")

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
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise InvalidParameterError(NAME, "rootdirectory", f"cannot create {root}: {exc.strerror}") from None
    if not os.path.isdir(root):
        raise InvalidParameterError(NAME, "rootdirectory", f"{root} is not a directory")
    return Base(FsspecDriver(LocalBackend(root)), max_concurrency=limit)
