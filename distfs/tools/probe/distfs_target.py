"""The distfs side of a probe: :class:`DistfsTarget`, a StorageDriver."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from fsspec import AbstractFileSystem

from ...base import Base
from ...driver import FileInfo, StorageDriver
from ...engine import ObjectStoreDriver
from ...engine.loop import run
from ...errors import DriverError
from .target import Stat, Target, Unsupported
from .underneath import TREE_PROTOCOLS, _filesystem_of, _local_tree, _protocols, wipe

__all__ = ["DistfsTarget"]


class DistfsTarget(Target):
    """A distfs driver; ``make`` builds another driver on the same store (for :meth:`second`).

    Set-up and inspection go through the driver too, except directory markers, which only
    the store underneath can hold: they need a driver over the object-store engine (every
    built-in one); for others ``mark_directory`` raises NotImplementedError.
    """

    kind = "distfs"

    def __init__(self, backend: str, driver: StorageDriver, make: Callable[[], StorageDriver] | None = None) -> None:
        super().__init__(backend)
        self.driver = driver
        self._make = make
        self._second: DistfsTarget | None = None

    def __repr__(self) -> str:
        return f"DistfsTarget({self.backend!r})"

    @staticmethod
    def path(path: str) -> str:
        return "/" + path

    def put(self, path: str, data: bytes) -> None:
        self.driver.put_content(self.path(path), data)

    def get(self, path: str) -> bytes:
        return self.driver.get_content(self.path(path))

    def read(self, path: str, start: int, end: int | None) -> bytes:
        with self.driver.reader(self.path(path), start) as stream:
            return stream.read() if end is None else stream.read(end - start)

    def open_reader(self, path: str) -> BinaryIO:
        return self.driver.reader(self.path(path))

    def list(self, path: str) -> builtins.list[str]:
        return sorted(name[1:] for name in self.driver.list(self.path(path)))

    def list_form(self, path: str) -> builtins.list[str]:
        return self.driver.list(self.path(path))

    def list_entry_type(self, path: str) -> str:
        entries = self.driver.list(self.path(path))
        return type(entries[0]).__name__ if entries else "nothing listed"

    def stat(self, path: str) -> Stat:
        info = self.driver.stat(self.path(path))
        return Stat("directory" if info.is_dir else "file", info.size)

    def mtime(self, path: str) -> object:
        return self.driver.stat(self.path(path)).mod_time

    def move(self, source: str, dest: str) -> None:
        self.driver.move(self.path(source), self.path(dest))

    def delete(self, path: str) -> None:
        self.driver.delete(self.path(path))

    def append(self, path: str, data: bytes, before_close: Callable[[], None]) -> None:
        writer = self.driver.writer(self.path(path), append=True)
        try:
            writer.write(data)
            before_close()
            writer.commit()
        except BaseException:
            if not writer.closed:  # not committed: nothing published, no upload left behind
                with contextlib.suppress(Exception):
                    writer.cancel()
            raise
        writer.close()  # after commit, close releases (cancel would be refused)

    def create_exclusive(self, path: str, data: bytes) -> None:
        raise Unsupported("StorageDriver has no exclusive create")

    def presign(self, path: str, method: str) -> str | None:
        return self.driver.redirect_url(self.path(path), method)

    def second(self) -> DistfsTarget:
        if self._second is None:
            self._second = self._build_second()
        return self._second

    def _build_second(self) -> DistfsTarget:
        if self._make is not None:
            return DistfsTarget(self.backend, self._make(), self._make)
        # A driver made by distfs.create (also inmemory's private store) builds its own second instance.
        if isinstance(self.driver, Base) and self.driver.can_reopen:
            return DistfsTarget(self.backend, self.driver.reopen())
        raise Unsupported("no way to build a second driver on this store")

    def seed(self, path: str, data: bytes) -> None:
        self.driver.put_content(self.path(path), data)

    @contextlib.contextmanager
    def portable_names(self) -> Iterator[None]:
        before = getattr(self.driver, "portable_paths", False)
        self.driver.portable_paths = True  # type: ignore[attr-defined]
        try:
            yield
        finally:
            self.driver.portable_paths = before  # type: ignore[attr-defined]

    def mark_directory(self, path: str) -> None:
        inner = self.driver.unwrap()
        local = _local_tree(inner)
        if local is not None:  # real directories: the marker is an empty directory
            fs, root = local
            fs.makedirs(root + self.path(path), exist_ok=True)
            return
        if isinstance(inner, ObjectStoreDriver):  # an object store: the marker is the key ``path/``
            from ...backends.generic import FsspecStore

            engine = inner.engine
            store, key = engine.store, engine.key(self.path(path))
            if isinstance(store, FsspecStore) and (store.traits.directories or store.protocol == "memory"):
                store.fs.makedirs(store.full(key), exist_ok=True)  # a directory of its own
                return
            run(store.put(key + "/", b""))
            return
        raise Unsupported("directory markers need a driver over the object-store engine")

    def files(self, path: str) -> builtins.list[str]:
        found: builtins.list[str] = []

        def collect(info: FileInfo) -> None:
            if not info.is_dir:
                found.append(info.path[1:])

        try:
            self.driver.walk(self.path(path) if path else "/", collect)
        except FileNotFoundError:
            return []
        return sorted(found)

    def is_empty(self) -> bool:
        if self.driver.list("/"):
            return False
        found = self._underneath()
        if found is None:
            return True
        fs, root, _ = found
        try:  # distfs's hidden state (suspended uploads) and markers count too
            names = fs.find(root, withdirs=True)
        except FileNotFoundError:
            return True
        return not [name for name in names if str(name).rstrip("/") != root.rstrip("/")]

    def _underneath(self) -> tuple[AbstractFileSystem, str, bool] | None:
        """The fsspec filesystem the driver stands on, its root, and whether it has real
        directories (the ``filesystem`` driver, the generic store), else None."""
        local = _local_tree(self.driver.unwrap())
        if local is not None:
            return *local, True
        found = _filesystem_of(self.driver)
        if found is None:
            return None
        fs, root = found
        tree = self.driver.capabilities.empty_directories or bool(TREE_PROTOCOLS.intersection(_protocols(fs)))
        return fs, root, tree

    def clear(self) -> None:
        underneath = self._underneath()
        # FileNotFoundError: e.g. a prefix held only by a marker; DriverError: a backend that
        # cannot delete what a probe wrote (sshfs and a name with a backslash), wiped below.
        refused = (FileNotFoundError, DriverError) if underneath is not None else (FileNotFoundError,)
        for name in self.driver.list("/"):
            with contextlib.suppress(*refused):
                self.driver.delete(name)
        if underneath is not None:  # empty directories, markers and hidden state the driver does not show
            wipe(*underneath)
