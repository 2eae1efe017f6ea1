"""The raw side of a probe: :class:`RawTarget`, a plain fsspec filesystem, and its builders."""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from fsspec import AbstractFileSystem

from ...base import Base
from ...driver import StorageDriver
from ...factory import BUILTIN_DRIVERS
from .target import Stat, Target
from .underneath import TREE_PROTOCOLS, _filesystem_of, _protocols, wipe

__all__ = ["RAW_BUILDERS", "RawTarget", "backend_raw_target", "raw_target"]

RAW_BUILDERS = {name: builtin.module for name, builtin in BUILTIN_DRIVERS.items()}
"""Modules whose ``raw_filesystem(parameters)`` builds the raw counterpart of a driver."""


def _relative(name: str, root: str) -> str:
    """``name`` relative to ``root`` (both without protocol); unchanged if outside."""
    prefix = root.rstrip("/") + "/"
    return name[len(prefix) :] if name.startswith(prefix) else name


class RawTarget(Target):
    """A raw fsspec filesystem below ``root`` (a bucket, container or directory)."""

    kind = "raw"

    def __init__(
        self,
        backend: str,
        fs: AbstractFileSystem,
        root: str,
        build: Callable[[], AbstractFileSystem],
        admin: AbstractFileSystem | None = None,
    ) -> None:
        super().__init__(backend)
        self.fs = fs
        self._second: RawTarget | None = None
        self.root: str = str(fs._strip_protocol(root)).rstrip("/") or str(fs.root_marker)
        self._build = build
        self._admin = admin if admin is not None else build()
        self._local = "file" in _protocols(fs) or "local" in _protocols(fs)
        self._tree = bool(TREE_PROTOCOLS.intersection(_protocols(fs)))

    def __repr__(self) -> str:
        return f"RawTarget({self.backend!r})"

    def key(self, path: str) -> str:
        if not path:
            return self.root
        return (self.root.rstrip("/") + "/" + path) if self.root != "/" else "/" + path

    def _relative(self, name: str) -> str:
        return _relative(name, self.root)

    def put(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(self.key(path), data)

    def get(self, path: str) -> bytes:
        data: bytes = self.fs.cat_file(self.key(path))
        return data

    def read(self, path: str, start: int, end: int | None) -> bytes:
        data: bytes = self.fs.cat_file(self.key(path), start=start, end=end)
        return data

    def open_reader(self, path: str) -> BinaryIO:
        stream: BinaryIO = self.fs.open(self.key(path), "rb")
        return stream

    def _ls(self, path: str) -> builtins.list[Any]:
        entries: builtins.list[Any] = self.fs.ls(self.key(path))
        return entries

    def list(self, path: str) -> builtins.list[str]:
        names = [e["name"] if isinstance(e, dict) else e for e in self._ls(path)]
        return sorted(self._relative(str(n)) for n in names)

    def list_form(self, path: str) -> builtins.list[str]:
        names = [str(e["name"] if isinstance(e, dict) else e) for e in self._ls(path)]
        root = self.root.rstrip("/")
        return sorted(n.replace(root, "ROOT", 1) if root else n for n in names)

    def list_entry_type(self, path: str) -> str:
        entries = self._ls(path)
        return type(entries[0]).__name__ if entries else "nothing listed"

    def stat(self, path: str) -> Stat:
        info = self.fs.info(self.key(path))
        size = info.get("size")
        return Stat(str(info.get("type")), None if size is None else int(size))

    def mtime(self, path: str) -> object:
        return self.fs.modified(self.key(path))

    def move(self, source: str, dest: str) -> None:
        self.fs.mv(self.key(source), self.key(dest))

    def delete(self, path: str) -> None:
        self.fs.rm(self.key(path), recursive=True)

    def append(self, path: str, data: bytes, before_close: Callable[[], None]) -> None:
        with self.fs.open(self.key(path), "ab") as stream:
            stream.write(data)
            stream.flush()
            before_close()

    def create_exclusive(self, path: str, data: bytes) -> None:
        with self.fs.open(self.key(path), "xb") as stream:
            if data:
                stream.write(data)

    def presign(self, path: str, method: str) -> str | None:
        if method != "GET":
            return None  # fsspec's sign() has no method: it signs reads (GET) only
        url: str = self.fs.sign(self.key(path))
        return url

    def second(self) -> RawTarget:
        # Built once per target and reset by clear(): a fresh client per probe costs ~0.1 s.
        if self._second is None:
            self._second = RawTarget(self.backend, self._build(), self.root, self._build, admin=self._admin)
        return self._second

    def seed(self, path: str, data: bytes) -> None:
        key = self.key(path)
        if self._local:
            self._admin.makedirs(self._admin._parent(key), exist_ok=True)
        self._admin.pipe_file(key, data)
        self._admin.invalidate_cache()

    def mark_directory(self, path: str) -> None:
        if self._tree:
            self._admin.makedirs(self.key(path), exist_ok=True)
        else:
            self._admin.pipe_file(self.key(path) + "/", b"")
        self._admin.invalidate_cache()

    def files(self, path: str) -> builtins.list[str]:
        self._admin.invalidate_cache()
        try:
            found = self._admin.find(self.key(path))
        except FileNotFoundError:
            return []
        return sorted(self._relative(str(n)) for n in found)

    def remove_object(self, path: str) -> None:
        self._admin.rm_file(self.key(path))
        self._admin.invalidate_cache()

    def clear(self) -> None:
        wipe(self._admin, self.root, self._tree)
        self.fs.invalidate_cache()
        if self._second is not None:
            self._second.fs.invalidate_cache()


def raw_target(name: str, parameters: Mapping[str, Any]) -> RawTarget:
    """The raw fsspec counterpart of built-in driver ``name`` with ``parameters``.

    The in-memory raw store is fsspec's process-global memory filesystem below a private
    prefix, so that independent instances share it as they would in one process.
    """
    module = importlib.import_module(RAW_BUILDERS[name])
    fs, root = module.raw_filesystem(parameters)

    def build() -> AbstractFileSystem:
        built: AbstractFileSystem = module.raw_filesystem(parameters)[0]
        return built

    if name == "inmemory":
        root = f"/distfs-probe-{id(fs):x}"
        fs.makedirs(root, exist_ok=True)
    return RawTarget(name, fs, root, build)


def backend_raw_target(name: str, driver: StorageDriver) -> RawTarget | None:
    """The raw counterpart of a driver over an fsspec filesystem (the generic store, or an
    :mod:`distfs.backends.generic`): that filesystem below the driver's root
    (None for any other driver).

    The second instance is the filesystem of ``driver.reopen()`` (a driver made by
    :func:`distfs.create` builds it like the first, on the same store).
    """
    found = _filesystem_of(driver)
    if found is None:
        return None
    fs, root = found

    def build() -> AbstractFileSystem:
        again = driver.reopen() if isinstance(driver, Base) and driver.can_reopen else driver
        return (_filesystem_of(again) or (fs, root))[0]

    return RawTarget(name, fs, root, build)
