"""What a probe runs against: a raw fsspec filesystem or a distfs driver, behind one interface.

A :class:`Target` addresses objects by *scratch paths*: slash-separated names relative to
the target's root, without a leading slash (``"t/a/b"``; ``""`` is the root). Every method
is the plainest call a user of that kind of target would make, so that what a probe
observes is what users get:

* :class:`RawTarget` calls fsspec directly, with fsspec's defaults (listings cache on,
  default ``ls`` detail, ``mv`` without ``recursive``...). Its filesystem comes from the
  backend module's ``raw_filesystem(parameters)`` hook.
* :class:`DistfsTarget` calls a :class:`~distfs.driver.StorageDriver` (driver paths are
  ``"/" + scratch path``).

Set-up steps that are not under test (``seed``, ``mark_directory``, ``files``, ``clear``)
go through an uncached view of the same store so that they always succeed.
"""

from __future__ import annotations

import abc
import builtins
import contextlib
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from fsspec import AbstractFileSystem

from ...base import Base
from ...driver import FileInfo, StorageDriver
from ...engine import ObjectStoreDriver
from ...engine.loop import run
from ...errors import DriverError
from ...factory import BUILTIN_DRIVERS

#: fsspec protocols whose directories are real (made and removed apart from the files in
#: them; ``rm_file`` refuses one): set-up and clean-up walk them as trees, not as keys.
TREE_PROTOCOLS = frozenset({"file", "local", "memory", "sftp", "ssh"})

__all__ = [
    "TREE_PROTOCOLS",
    "DistfsTarget",
    "RawTarget",
    "Stat",
    "Target",
    "Unsupported",
    "backend_raw_target",
    "raw_target",
    "url_targets",
]


class Unsupported(NotImplementedError):
    """The target's API has no way to express a probe's call (observed as ``not supported``)."""


RAW_BUILDERS = {name: builtin.module for name, builtin in BUILTIN_DRIVERS.items()}
"""Modules whose ``raw_filesystem(parameters)`` builds the raw counterpart of a driver."""


@dataclass(frozen=True)
class Stat:
    """What ``stat``/``info`` said: ``kind`` is ``file`` or ``directory``; ``size`` may be None."""

    kind: str
    size: int | None


class Target(abc.ABC):
    """One store seen through one API; see the module docstring."""

    #: ``"raw"`` or ``"distfs"``.
    kind: str = ""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    @property
    def label(self) -> str:
        """``<backend> <kind>``, e.g. ``s3 raw``."""
        return f"{self.backend} {self.kind}"

    # -- calls under test -------------------------------------------------------------

    @abc.abstractmethod
    def put(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``."""

    @abc.abstractmethod
    def get(self, path: str) -> bytes:
        """The content of ``path``."""

    @abc.abstractmethod
    def read(self, path: str, start: int, end: int | None) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive; None: to the end) of ``path``."""

    @abc.abstractmethod
    def open_reader(self, path: str) -> BinaryIO:
        """A stream of ``path``."""

    @abc.abstractmethod
    def list(self, path: str) -> builtins.list[str]:
        """Names listed for ``path``, as scratch paths (trailing slashes kept), sorted."""

    @abc.abstractmethod
    def list_form(self, path: str) -> builtins.list[str]:
        """Names listed for ``path`` as returned, the root key replaced by ``ROOT``."""

    @abc.abstractmethod
    def list_entry_type(self, path: str) -> str:
        """The type of the entries a plain listing call returns."""

    @abc.abstractmethod
    def stat(self, path: str) -> Stat:
        """Kind and size of ``path``."""

    @abc.abstractmethod
    def mtime(self, path: str) -> object:
        """The modification time of ``path`` as the API returns it."""

    @abc.abstractmethod
    def move(self, source: str, dest: str) -> None:
        """Move ``source`` to ``dest``."""

    @abc.abstractmethod
    def delete(self, path: str) -> None:
        """Remove ``path`` and everything below it."""

    @abc.abstractmethod
    def append(self, path: str, data: bytes, before_close: Callable[[], None]) -> None:
        """Append ``data`` to ``path``; ``before_close`` runs once ``data`` is written and flushed."""

    @abc.abstractmethod
    def create_exclusive(self, path: str, data: bytes) -> None:
        """Create ``path`` only if it does not exist (NotImplementedError where the API has none)."""

    @abc.abstractmethod
    def presign(self, path: str, method: str) -> str | None:
        """A signed URL for ``method`` on ``path``; None where the API cannot sign ``method``."""

    @abc.abstractmethod
    def second(self) -> Target:
        """An independent instance on the same store (another process would build it alike)."""

    # -- set-up, inspection, cleanup (uncached, always through the store) --------------

    @abc.abstractmethod
    def seed(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``, creating parents where the store needs them."""

    @abc.abstractmethod
    def mark_directory(self, path: str) -> None:
        """Create a directory marker for ``path`` (``path/`` object; a real directory locally)."""

    @abc.abstractmethod
    def files(self, path: str) -> builtins.list[str]:
        """Every object below ``path`` as the store holds it, sorted."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove everything below the root and forget cached listings."""

    @contextlib.contextmanager
    def portable_names(self) -> Iterator[None]:
        """Within the block a distfs driver applies its ``portable`` path rules (raw: no rules)."""
        yield

    def remove_object(self, path: str) -> None:
        """Remove the one object at ``path`` by name, without listing (a listing may fail on it)."""
        self.delete(path)

    def is_empty(self) -> bool:
        """Nothing at all is stored below the root (probes refuse to run otherwise)."""
        return not [name for name in self.files("") if name]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (nothing by default)."""


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


def wipe(fs: AbstractFileSystem, root: str, tree: bool) -> None:
    """Remove everything below ``root`` of ``fs``, directory marker objects included.

    Recursive ``rm`` leaves ``dir/`` marker blobs behind on adlfs, and asyncssh's recursive
    remove (sshfs) refuses a name with a backslash in it, so leftovers are removed one by
    one, deepest first, with and without their trailing slash (then, in a tree, as emptied
    directories); ``root`` itself stays. Backends raise their own error types here (an
    asyncssh ``SFTPError`` is no ``OSError``): a removal that fails is retried, then left.
    """
    for attempt in range(3):
        fs.invalidate_cache()
        if tree and not fs.exists(root):
            fs.makedirs(root, exist_ok=True)
        try:
            found = [str(n) for n in fs.find(root, withdirs=True) if str(n).rstrip("/") != root.rstrip("/")]
        except FileNotFoundError:
            found = []
        if not found:
            return
        if tree and attempt == 0:
            for entry in fs.ls(root, detail=True):
                with contextlib.suppress(Exception):
                    fs.rm(entry["name"], recursive=entry["type"] == "directory")
            continue
        for name in sorted(found, key=len, reverse=True):
            for candidate in (name, name.rstrip("/") + "/"):
                with contextlib.suppress(Exception):
                    fs.rm_file(candidate)
            if tree:  # an emptied directory: rmdir (local), rm (sshfs, whose rmdir does nothing)
                for remove in (fs.rmdir, fs.rm):
                    with contextlib.suppress(Exception):
                        remove(name)


def _local_tree(inner: object) -> tuple[AbstractFileSystem, str] | None:
    """For the ``filesystem`` driver: fsspec's local filesystem and the store's root directory."""
    from ...backends.filesystem import LocalStore

    if isinstance(inner, ObjectStoreDriver) and isinstance(inner.engine.store, LocalStore):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(), inner.engine.store.bucket
    return None


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


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


def _filesystem_of(driver: StorageDriver) -> tuple[AbstractFileSystem, str] | None:
    """The fsspec filesystem and root a driver stands on, where it says."""
    from ...backends.generic import FsspecStore
    from ...engine import ObjectStoreDriver

    inner = driver.inner if isinstance(driver, Base) else driver
    if isinstance(inner, ObjectStoreDriver) and isinstance(inner.engine.store, FsspecStore):
        store = inner.engine.store
        return store.fs, store.full("")
    return None


def url_targets(url: str, options: Mapping[str, Any], raw: bool = True) -> builtins.list[Target]:
    """The targets of fsspec URL ``url`` (``memory://bucket/prefix``, ``file:///tmp/x``...).

    The raw target is the URL's own fsspec filesystem (``options``: its storage options);
    the distfs target is :func:`distfs.from_filesystem` of another instance of it at the
    URL's root: the ``filesystem`` driver for a local URL, ``inmemory`` for a ``memory``
    URL, the native store of a built-in backend's class, else the generic store. Each
    :meth:`Target.second` builds a fresh filesystem instance (no shared listing cache).
    """
    from fsspec.core import url_to_fs

    from ...factory import create, from_filesystem

    fs, root = url_to_fs(url, **options)

    def build() -> AbstractFileSystem:
        built: AbstractFileSystem = url_to_fs(url, skip_instance_cache=True, **options)[0]
        return built

    def make() -> StorageDriver:
        if "file" in _protocols(fs) or "local" in _protocols(fs):
            return create("filesystem", {"rootdirectory": root})
        return from_filesystem(build(), root)

    targets: builtins.list[Target] = [RawTarget(url, fs, root, build)] if raw else []
    return [*targets, DistfsTarget(url, make(), make)]


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
        inner = getattr(self.driver, "inner", None)
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
        local = _local_tree(getattr(self.driver, "inner", None))
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
