"""``filesystem``: a directory tree on the local filesystem (fsspec protocol ``file``).

Parameters (the registry's names):

``rootdirectory``
    The directory holding the store (default ``/var/lib/registry``), created if missing.
``maxthreads``
    At most this many calls run at once (default 100, minimum 25).
``storage_options``
    Keywords of fsspec's ``LocalFileSystem``, checked against :data:`OPTIONS`. None of them
    changes what the driver does: every call goes through the confined descriptor calls
    below, never through ``LocalFileSystem``'s own file operations (the table says why
    for each key).

Writes are atomic and durable: ``put_content`` and ``commit`` write a file under the
hidden state directory, ``fsync`` it, ``os.replace`` it onto the path and ``fsync`` the
directory. Temporary files left by a process killed mid-write are removed by the next
driver created on the root once they are a day old.

No call reads, writes, lists or deletes outside ``rootdirectory``, also while another
process changes symbolic links in the store: every call resolves its path beneath a
descriptor of the root, in one step with no gap between a check and the use
(:mod:`distfs.beneath`: ``openat2`` with ``RESOLVE_BENEATH``, or per-component
``O_NOFOLLOW`` opens). Symbolic links that stay inside the root work (relative ones, and
absolute ones naming the root's real path); a path through a link that leads out is an
``InvalidPathError`` for that path, and listings and walks leave such links (and dangling
ones) out. The root directory itself is opened once, when the driver is created.

Only regular files are read: a FIFO, socket or device below the root is refused at once
with ``DriverError`` naming the path (opened with ``O_NONBLOCK``, checked with ``fstat``),
never waited on.

Writers: one writer at a time per path. An upload is locked (``flock`` on its ``lock``
file) while a writer of it is open, across processes; ``writer(path)`` while another
writer of ``path`` is open (here or in another process on this machine) raises
``WriterConflictError``. Commit and cancel leave no directory behind in ``.distfs~``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from fsspec.implementations.local import LocalFileSystem

from .. import paths
from ..base import Base
from ..beneath import Beneath, EscapeError
from ..capabilities import Capabilities
from ..driver import FileInfo, FileWriter
from ..errors import DriverError, InvalidParameterError, InvalidPathError, WriterConflictError
from ..fsspec_driver import Backend, FsspecDriver
from ..parameters import Parameters
from .options import Option, OptionTable, StorageOptions, synchronous_base_options

__all__ = ["KNOWN", "OPTIONS", "LocalBackend", "factory", "from_filesystem", "raw_filesystem"]

NAME = "filesystem"
KNOWN = ("rootdirectory", "maxthreads", "storage_options")
#: Every keyword of fsspec's ``LocalFileSystem`` (and ``AbstractFileSystem``).
OPTIONS = OptionTable(
    NAME,
    "file",
    "fsspec",
    (
        Option(
            "auto_mkdir",
            "ignored",
            "the driver always creates parent directories itself, beneath the root (distribution's contract)",
        ),
        *synchronous_base_options("LocalFileSystem"),
    ),
)
DEFAULT_ROOT = "/var/lib/registry"
TEMP_MAX_AGE = 24 * 3600.0
_TEMP = paths.HIDDEN + "/tmp"
_UPLOADS = paths.HIDDEN + "/uploads"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_ATTEMPTS = 100
_COPY_CHUNK = 1 << 20


class LocalBackend(Backend):
    """The local filesystem, every call confined beneath a descriptor of the root.

    Keys are ``root + path`` as for every backend (the raw side of ``distfs bench`` and
    ``distfs probe`` use them with fsspec); this backend turns them into paths relative to
    the root and never hands them to a call that would follow a link out.
    """

    empty_directories = True
    creates_parents = True
    capabilities = Capabilities(
        append="native", atomic_move=True, server_side_copy=True, empty_directories=True, listing_consistency="strong"
    )

    def __init__(
        self, root: str, *, use_openat2: bool = True, storage_options: Mapping[str, Any] | None = None
    ) -> None:
        fs = LocalFileSystem(**(storage_options or {}), skip_instance_cache=True)
        super().__init__(NAME, fs, os.path.abspath(root))
        self._beneath = Beneath(self.root, use_openat2=use_openat2)
        self._cut = len(self.root) + 1

    def __del__(self) -> None:
        beneath = getattr(self, "_beneath", None)
        if beneath is not None:
            beneath.close()

    def check(self, key: str, path: str) -> None:
        # Paths from Base never hold "." or ".."; the inner driver refuses them on its own.
        if "/." in key and {".", ".."} & set(key[self._cut :].split("/")):
            raise InvalidPathError(path, self.name)

    def _relative(self, key: str) -> str:
        return key[self._cut :]

    def _path(self, key: str) -> str:
        """The driver path of ``key`` (for errors)."""
        return key[self._cut - 1 :] or paths.ROOT

    @contextlib.contextmanager
    def _confined(self, key: str) -> Any:
        """Turn an escape through a link into ``InvalidPathError`` for the path of ``key``."""
        try:
            yield
        except EscapeError:
            raise InvalidPathError(self._path(key), self.name) from None

    # -- metadata ---------------------------------------------------------------------

    def info(self, key: str) -> dict[str, Any]:
        try:
            info = self._beneath.stat(self._relative(key))
        except EscapeError:
            raise InvalidPathError(self._path(key), self.name) from None
        return _entry(key, info)

    def listing(self, key: str) -> list[dict[str, Any]]:
        return self._listing(key, detail=True)

    def brief_listing(self, key: str) -> list[dict[str, Any]]:
        return self._listing(key, detail=False)

    def _listing(self, key: str, *, detail: bool) -> list[dict[str, Any]]:
        beneath = self._beneath
        relative = self._relative(key)
        try:
            fd = beneath.open_directory(relative)
        except EscapeError:
            raise InvalidPathError(self._path(key), self.name) from None
        entries: list[dict[str, Any]] = []
        try:
            with os.scandir(fd) as found:
                for item in found:
                    name = key + "/" + item.name
                    try:
                        if item.is_symlink():
                            entry = _entry(name, beneath.stat(relative + "/" + item.name if relative else item.name))
                        elif not detail:
                            is_dir = item.is_dir(follow_symlinks=False)
                            entry = {"name": name, "type": "directory" if is_dir else "file"}
                        else:
                            entry = _entry(name, item.stat(follow_symlinks=False))
                    except OSError:  # a link out of the store, a dangling one, or gone
                        continue
                    entries.append(entry)
        finally:
            os.close(fd)
        return entries

    def file_infos(self, key: str, prefix: str) -> list[FileInfo]:
        """As :meth:`listing`, made straight into infos: the hot loop of a walk (no entry dicts)."""
        beneath = self._beneath
        relative = self._relative(key)
        try:
            fd = beneath.open_directory(relative)
        except EscapeError:
            raise InvalidPathError(self._path(key), self.name) from None
        infos: list[FileInfo] = []
        append, hidden, is_dir, utc_time = infos.append, paths.HIDDEN, stat.S_ISDIR, datetime.fromtimestamp
        base = relative + "/" if relative else ""
        try:
            with os.scandir(fd) as found:
                for item in found:
                    name = item.name
                    if name == hidden:
                        continue
                    try:
                        info = beneath.stat(base + name) if item.is_symlink() else item.stat(follow_symlinks=False)
                    except OSError:  # a link out of the store, a dangling one, or gone
                        continue
                    when = utc_time(info.st_mtime, UTC)
                    if is_dir(info.st_mode):
                        append(FileInfo(prefix + "/" + name, 0, when, True))
                    else:
                        append(FileInfo(prefix + "/" + name, info.st_size, when, False, _version(info)))
        finally:
            os.close(fd)
        return infos

    def _refuse_link_out(self, parent: int, name: str, key: str) -> None:
        """Refuse to replace or remove ``name`` (in ``parent``) if it is a link leading out.

        Replacing a link never writes through it (a rename or unlink acts on the name); the
        refusal keeps the rule simple: a path through a link out is refused for every call.
        """
        try:
            is_link = stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
        except OSError:
            return
        if is_link:
            try:
                self._beneath.stat(self._relative(key))
            except EscapeError:
                raise InvalidPathError(self._path(key), self.name) from None
            except OSError:
                pass  # a dangling link inside the root

    def _check_target(self, key: str) -> None:
        """Refuse a destination ``key`` whose path leads out through a link."""
        try:
            parent, name = self._beneath.parent(self._relative(key))
        except EscapeError:
            raise InvalidPathError(self._path(key), self.name) from None
        except OSError:
            return  # no parent yet: it is created beneath the root when needed
        try:
            self._refuse_link_out(parent, name, key)
        finally:
            os.close(parent)

    def open_writer(self, driver: FsspecDriver, path: str, append: bool) -> FileWriter:
        self._check_target(self.key(path))  # before any upload state is made
        return super().open_writer(driver, path, append)

    def redirect_url(self, key: str, method: str) -> str | None:
        self._check_target(key)
        return None

    # -- content ----------------------------------------------------------------------

    def read_all(self, key: str) -> bytes:
        fd, _ = self._open_file(key)
        with open(fd, "rb", buffering=0) as stream:
            return stream.readall()

    def open_read(self, key: str, offset: int) -> BinaryIO:
        fd, size = self._open_file(key)
        try:
            stream = open(fd, "rb")  # noqa: SIM115 - the caller owns the stream
        except BaseException:
            os.close(fd)
            raise
        stream.seek(min(offset, size))
        return stream

    def _open_file(self, key: str) -> tuple[int, int]:
        """A descriptor of the regular file at ``key`` for reading, and its size.

        Opened with ``O_NONBLOCK`` (then made blocking), so a FIFO or a device below the
        root never blocks the call: anything but a regular file is refused at once
        (DriverError naming the path; a directory: IsADirectoryError, read as not found).
        """
        try:
            with self._confined(key):
                fd = self._beneath.open(self._relative(key), os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a socket (or a device with nothing behind it)
                raise DriverError(f"{self._path(key)} is not a regular file", self.name) from None
            raise
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(self._path(key))
            if not stat.S_ISREG(info.st_mode):
                raise DriverError(f"{self._path(key)} is not a regular file", self.name)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd, info.st_size

    def put(self, key: str, data: bytes) -> None:
        self._publish(key, lambda fd: _write_all(fd, data))

    def _publish(self, key: str, fill: Callable[[int], object]) -> None:
        """Atomically and durably replace ``key`` by a temporary file that ``fill(fd)`` writes."""
        beneath = self._beneath
        with self._confined(key):
            parent, name = beneath.parent(self._relative(key), create=True)
        try:
            self._refuse_link_out(parent, name, key)
            temp_directory, temp = self._temp()
            try:
                fd = os.open(temp, _CREATE, 0o666, dir_fd=temp_directory)
                try:
                    fill(fd)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(temp, name, src_dir_fd=temp_directory, dst_dir_fd=parent)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp, dir_fd=temp_directory)
                raise
            finally:
                os.close(temp_directory)
            os.fsync(parent)
        finally:
            os.close(parent)

    def _temp(self) -> tuple[int, str]:
        """The descriptor of the temporary directory, and a fresh name in it."""
        try:
            directory = self._beneath.make_directories(_TEMP)
        except EscapeError:
            raise InvalidPathError("/" + _TEMP, self.name) from None
        return directory, os.urandom(16).hex()

    def sweep_temporary_files(self, older_than: float = TEMP_MAX_AGE) -> int:
        """Remove temporary files left by writers killed mid-write; returns how many."""
        try:
            directory = self._beneath.open_directory(_TEMP)
        except OSError:
            return 0
        cutoff = time.time() - older_than
        removed = 0
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.name, dir_fd=directory)
                        removed += 1
        finally:
            os.close(directory)
        return removed

    # -- namespace --------------------------------------------------------------------

    def rename(self, source: str, dest: str) -> None:
        beneath = self._beneath
        with self._confined(source):
            source_parent, source_name = beneath.parent(self._relative(source))
        try:
            with self._confined(dest):
                dest_parent, dest_name = beneath.parent(self._relative(dest), create=True)
            try:
                self._refuse_link_out(dest_parent, dest_name, dest)
                os.replace(source_name, dest_name, src_dir_fd=source_parent, dst_dir_fd=dest_parent)
                os.fsync(dest_parent)
            finally:
                os.close(dest_parent)
        finally:
            os.close(source_parent)

    def copy(self, source: str, dest: str) -> None:
        with self.open_read(source, 0) as stream:
            self._publish(dest, lambda fd: _copy_into(stream, fd))

    def make_parents(self, key: str) -> None:
        with self._confined(key):
            os.close(self._beneath.parent(self._relative(key), create=True)[0])

    def remove(self, key: str, is_dir: bool) -> None:
        self._check_target(key)  # removing never follows a link; a link out is refused all the same
        with self._confined(key):
            self._beneath.remove_tree(self._relative(key))

    def delete(self, key: str, state_key: str) -> bool:
        removed = super().delete(key, state_key)
        self.prune(state_key)
        return removed

    def prune(self, key: str) -> None:
        with contextlib.suppress(EscapeError):
            self._beneath.prune(self._relative(key), _UPLOADS)

    # -- uploads ----------------------------------------------------------------------

    def open_append(self, key: str) -> BinaryIO:
        with self._confined(key):
            fd = self._beneath.open(self._relative(key), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        return open(fd, "ab")

    def claim_upload(self, lock_key: str, path: str) -> object:
        """Lock the upload with ``flock`` on its ``lock`` file: one writer per path, across processes.

        The lock file is removed by the writer that finishes the upload, while it still
        holds the lock; a writer that locked a file removed meanwhile tries again.
        """
        beneath = self._beneath
        relative = self._relative(lock_key)
        for _ in range(_ATTEMPTS):
            with self._confined(lock_key):
                parent, name = beneath.parent(relative, create=True)
            try:
                fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=parent)
            except FileNotFoundError:  # a finishing writer pruned the directory meanwhile
                continue
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise InvalidPathError(path, self.name) from None
                raise
            finally:
                os.close(parent)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise WriterConflictError(path, self.name) from None
            if self._still_there(fd, relative):
                return _Lock(fd)
            os.close(fd)  # the previous writer finished and removed it before we locked it
        raise WriterConflictError(path, self.name)

    def _still_there(self, fd: int, relative: str) -> bool:
        try:
            here = os.fstat(fd)
            parent, name = self._beneath.parent(relative)
        except OSError:
            return False
        try:
            there = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except OSError:
            return False
        finally:
            os.close(parent)
        return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)

    def release_upload(self, claim: object, lock_key: str, upload_key: str, finished: bool) -> None:
        assert isinstance(claim, _Lock)
        try:
            if finished:
                with contextlib.suppress(OSError):
                    parent, name = self._beneath.parent(self._relative(lock_key))
                    try:
                        os.unlink(name, dir_fd=parent)
                    finally:
                        os.close(parent)
                self.prune(upload_key)
        finally:
            claim.close()

    def sync(self, stream: BinaryIO) -> None:
        stream.flush()
        os.fsync(stream.fileno())

    def truncate_upload(self, stream: BinaryIO, key: str, size: int) -> None:
        stream.flush()
        os.ftruncate(stream.fileno(), size)


class _Lock:
    """An upload's lock: the descriptor holding the ``flock`` (closed when dropped)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


def _entry(name: str, info: os.stat_result) -> dict[str, Any]:
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file" if stat.S_ISREG(info.st_mode) else "other"
    return {"name": name, "size": info.st_size, "type": kind, "mtime": info.st_mtime, "version": _version(info)}


def _version(info: os.stat_result) -> str:
    """FileInfo.version on this backend: the same inode, written last at the same nanosecond."""
    return f"{info.st_ino}:{info.st_mtime_ns}"


def _copy_into(source: BinaryIO, fd: int) -> None:
    with open(fd, "wb", closefd=False) as target:
        shutil.copyfileobj(source, target, _COPY_CHUNK)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build a ``filesystem`` driver from ``rootdirectory``, ``maxthreads`` and ``storage_options``."""
    params, storage_options = _parameters(parameters)
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
    backend = LocalBackend(root, storage_options=storage_options)
    backend.sweep_temporary_files()
    return Base(FsspecDriver(backend), max_concurrency=limit)


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[LocalFileSystem, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    params, storage_options = _parameters(parameters)
    root = os.path.abspath(params.string("rootdirectory", DEFAULT_ROOT))
    return LocalFileSystem(**storage_options, skip_instance_cache=True), root


def _parameters(parameters: Mapping[str, Any]) -> tuple[Parameters, StorageOptions]:
    params = Parameters(NAME, parameters, known=KNOWN, secret=("storage_options",))
    return params, OPTIONS.check(parameters.get("storage_options"))


def from_filesystem(fs: LocalFileSystem, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``filesystem`` driver of directory ``root`` for the user's ``LocalFileSystem`` ``fs``
    (which holds no configuration the driver uses); ``parameters``: ``maxthreads`` only."""
    Parameters(NAME, parameters, known=("maxthreads",))
    directory = fs._strip_protocol(root) if root else ""
    if not directory.strip("/"):
        raise InvalidParameterError(NAME, "root", "must name a directory (the registry's root directory)")
    return factory({**parameters, "rootdirectory": directory})
