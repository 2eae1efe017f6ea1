"""``filesystem``: a directory tree on the local filesystem (fsspec protocol ``file``).

Parameters (the registry's names):

``rootdirectory``
    The directory holding the store (default ``/var/lib/registry``), created if missing.
``maxthreads``
    At most this many calls run at once (default 100, minimum 25).
``storage_options``
    Keywords of fsspec's ``LocalFileSystem``, checked against :data:`OPTIONS`. None of them
    changes what the driver does: every call goes through the confined descriptor calls
    of :class:`LocalStore`, never through ``LocalFileSystem``'s own file operations (the
    table says why for each key).

The driver is the object-store engine (:mod:`distfs.engine`) over :class:`LocalStore`, a
native :class:`~distfs.engine.seam.Store` of the directory tree with the seam's optional
extensions: ``blocking`` (every call is a few system calls, run on the caller's thread),
:class:`~distfs.engine.seam.Tree` (real directories: an emptied directory stays, ``move``
is one ``rename``, ``delete`` removes the tree) and :class:`~distfs.engine.seam.Claims`
(one writer per path). Keys are paths relative to ``rootdirectory``.

Writes are atomic and durable: ``put`` (``put_content``, the writer's journal) writes a
file under ``.distfs~/tmp``, syncs it (``fsync``), renames it onto the key (``os.replace``;
a create-only put links it, which fails if the key exists) and syncs the directory.
Temporary files left by a process killed mid-write are removed by the next driver created
on the root once they are a day old (:meth:`LocalStore.sweep_temporary_files`).

Uploads append natively: an upload is ONE file, ``data``, in its scratch directory
(``.distfs~/uploads/<path>/.distfs~/<id>/``) beside ``parts``, an index of fixed-width
lines holding each part's end offset in ``data``. Part ``n`` is the range from the end of
part ``n - 1``: ``upload_part`` truncates ``data`` there and appends (so a resumed writer
sends only new bytes, and parts written after the last ``close()`` are overwritten);
``list_parts`` reads the index back, keeping the parts that ``data``'s length still
holds; ``persist_parts`` (every ``close()``) syncs both before the engine
journals them. ``complete_upload`` cuts ``data`` to the journaled parts, stamps the
upload's origin on it (extended attribute ``user.distfsupload``), syncs it and
renames it into place: the published file is the upload's file, never a concatenation.
``copy_part`` (an append to a committed file) copies the range into ``data`` locally.

``version`` tokens are ``inode:mtime_ns:size``: a pinned reader, ``copy`` and the registry
tools' identity checks see a replaced file as changed.

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
file, beside the journal) while a writer of it is open, across processes;
``writer(path)`` while another writer of ``path`` is open (here or in another process on
this machine) raises ``WriterConflictError``. Commit and cancel leave no directory behind
in ``.distfs~``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO

from fsspec.implementations.local import LocalFileSystem

from .. import paths
from ..base import Base
from ..beneath import PATH, Beneath, EscapeError
from ..capabilities import Capabilities
from ..driver import EPOCH
from ..engine import build
from ..engine.seam import (
    Busy,
    Changed,
    Denied,
    Exists,
    Invalid,
    Limits,
    NotFound,
    ObjectInfo,
    Page,
    Part,
    StoreError,
    Upload,
    origin,
)
from ..errors import InvalidParameterError
from ..parameters import DEFAULT_ROOT, Parameters
from .options import Option, OptionTable, StorageOptions, synchronous_base_options

__all__ = ["KNOWN", "OPTIONS", "LocalStore", "driver", "factory", "from_filesystem", "raw_filesystem"]

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
TEMP_MAX_AGE = 24 * 3600.0
#: The writers' part size: what a writer holds in memory, and journals at most on ``close()``.
CHUNK = 256 << 10
#: One read of a reader (a reader holds about twice this).
READ_BLOCK = 1 << 20
_TEMP = paths.HIDDEN + "/tmp"
_UPLOADS = paths.HIDDEN + "/uploads"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
_ATTEMPTS = 100
_COPY_CHUNK = 1 << 20
_ORIGIN = "user.distfsupload"
_DATA, _PARTS, _LOCK = "data", "parts", "lock"
_ENTRY = 21  # one line of ``parts``: the end offset in 20 digits and a newline
_PAGE = 1000
_MISSING = (errno.ENOENT, errno.ENOTDIR)


class LocalStore:
    """The directory tree below ``root``, every call confined beneath a descriptor of it.

    See the module docstring; ``use_openat2=False`` forces the per-component walk of
    :mod:`distfs.beneath` (for tests of the fallback).
    """

    name = NAME
    blocking = True
    capabilities = Capabilities(
        append="native", atomic_move=True, server_side_copy=True, empty_directories=True, listing_consistency="strong"
    )
    limits = Limits(min_part=0, max_parts=1 << 40, delete_batch=1000, copy_ranges=True)

    def __init__(self, root: str, *, use_openat2: bool = True) -> None:
        self.bucket = os.path.abspath(root)
        self._beneath = Beneath(self.bucket, use_openat2=use_openat2)
        #: Flat listings in progress: the token of a page -> the generator of the rest.
        self._listings: dict[str, Iterator[ObjectInfo]] = {}

    def __repr__(self) -> str:
        return f"LocalStore({self.bucket!r})"

    def __del__(self) -> None:
        beneath = getattr(self, "_beneath", None)
        if beneath is not None:
            beneath.close()

    # -- errors -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _mapped(self, key: str) -> Iterator[None]:
        """Turn ``OSError`` into the seam's errors for ``key`` (a link out: :class:`Invalid`).

        A key with a ``.`` or ``..`` component is refused first (drivers below
        :class:`~distfs.base.Base`'s path checks see such keys).
        """
        if "/." in "/" + key:
            self._check_dots(key)
        try:
            yield
        except EscapeError:
            raise Invalid(key) from None
        except OSError as exc:
            raise _failure(exc, key) from None

    @staticmethod
    def _check_dots(key: str) -> None:
        if {".", ".."} & set(key.split("/")):
            raise Invalid(key)

    # -- objects ----------------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo:
        if "/." in "/" + key:
            self._check_dots(key)
        try:  # the hot path of stat: no context manager
            fd = self._beneath.open(key, PATH)
        except EscapeError:
            raise Invalid(key) from None
        except OSError as exc:
            raise _failure(exc, key) from None
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            missing = NotFound("IsDirectory", key)
            missing.directory = datetime.fromtimestamp(info.st_mtime, UTC)
            raise missing
        return _object(key, info)  # origin: read by ``stamp`` (one more open), where it is needed

    async def stamp(self, info: ObjectInfo) -> str:
        """The upload origin stamped on the file ``info`` (``""``: none, or replaced since)."""
        try:
            fd, found = self._open_file(info.key)
        except StoreError:
            return ""
        try:
            if _object(info.key, found).version != info.version:
                return ""
            return os.getxattr(fd, _ORIGIN).decode()
        except OSError:
            return ""
        finally:
            os.close(fd)

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, ObjectInfo]:
        fd, info = self._open_file(key)
        try:
            found = _object(key, info)
            if version is not None and found.version != version:
                raise Changed("Changed", f"{key} was replaced")
            return _read(fd, start, min(end, info.st_size)), found
        finally:
            os.close(fd)

    async def open_file(self, key: str, offset: int) -> BinaryIO:
        """The file at ``key`` itself, at ``offset`` (:class:`~distfs.engine.seam.Files`)."""
        fd, info = self._open_file(key)
        try:
            stream = open(fd, "rb")  # noqa: SIM115 - the caller owns the stream
        except BaseException:
            os.close(fd)
            raise
        stream.seek(min(offset, info.st_size))
        return stream

    def _open_file(self, key: str) -> tuple[int, os.stat_result]:
        """A descriptor of the regular file at ``key`` for reading, and its ``fstat``.

        Opened with ``O_NONBLOCK`` (then made blocking), so a FIFO or a device below the
        root never blocks the call: anything but a regular file is refused at once (a
        StoreError naming the path; a directory is NotFound).
        """
        with self._mapped(key):
            try:
                fd = self._beneath.open(key, os.O_RDONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # a socket (or a device with nothing behind it)
                    raise _not_regular(key) from None
                raise
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise NotFound("IsDirectory", key)
            if not stat.S_ISREG(info.st_mode):
                raise _not_regular(key)
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd, info

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        self._publish(key, lambda fd: _write_all(fd, data), exclusive=if_absent)

    def _publish(self, key: str, fill: Callable[[int], object], *, exclusive: bool = False) -> None:
        """Atomically and durably replace ``key`` by a temporary file that ``fill(fd)`` writes.

        ``exclusive``: only create it (Exists if ``key`` is there; a hard link does not replace).
        """
        with self._mapped(key):
            parent, name = self._make_parent(key)
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
                    if exclusive:
                        try:
                            os.link(temp, name, src_dir_fd=temp_directory, dst_dir_fd=parent, follow_symlinks=False)
                        except FileExistsError:
                            raise Exists("Exists", key) from None
                        os.unlink(temp, dir_fd=temp_directory)
                    else:
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

    def _make_parent(self, key: str) -> tuple[int, str]:
        """The descriptor of ``key``'s directory, made as needed, and its last name.

        A file on the way is a failure of the write (it cannot hold children), not a missing path.
        """
        try:
            return self._beneath.parent(key, create=True)
        except (NotADirectoryError, FileExistsError):
            raise StoreError("ENOTDIR", f"{key}: a file on the way cannot hold children") from None

    def _temp(self) -> tuple[int, str]:
        """The descriptor of the temporary directory, and a fresh name in it."""
        return self._beneath.make_directories(_TEMP), os.urandom(16).hex()

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
                self._beneath.stat(key)
            except EscapeError:
                raise Invalid(key) from None
            except OSError:
                pass  # a dangling link inside the root

    def _check_target(self, key: str) -> None:
        """Refuse a destination ``key`` whose path leads out through a link."""
        try:
            with self._mapped(key):
                parent, name = self._beneath.parent(key)
        except Invalid:
            raise
        except StoreError:
            return  # no parent yet: it is created beneath the root when needed
        try:
            self._refuse_link_out(parent, name, key)
        finally:
            os.close(parent)

    async def copy(self, source: ObjectInfo, dest: str) -> None:
        fd, info = self._open_file(source.key)
        try:
            if _object(source.key, info).version != source.version:
                raise Changed("Changed", f"{source.key} was replaced")
            self._publish(dest, lambda target: _copy_into(fd, target, info.st_size))
        finally:
            os.close(fd)

    async def sign(self, key: str, method: str, seconds: int) -> str | None:
        self._check_target(key)  # a path through a link out is refused here too
        return None

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []
        for key in keys:
            try:
                with self._mapped(key):
                    parent, name = self._beneath.parent(key)
                    try:
                        self._refuse_link_out(parent, name, key)
                        with contextlib.suppress(IsADirectoryError):  # a directory is no object
                            os.unlink(name, dir_fd=parent)
                    finally:
                        os.close(parent)
            except NotFound:
                pass
            except StoreError as exc:
                failures.append((key, str(exc)))
            self._prune(key.rpartition("/")[0])
        return failures

    # -- listings ---------------------------------------------------------------------

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> Page:
        if not delimiter:
            return self._flat_page(prefix, max(start_after, token or ""), token)
        directory, _, part = prefix.rpartition("/")
        page = Page()
        try:
            with self._mapped(prefix):
                fd = self._beneath.open_directory(directory)
                try:
                    if not part and directory:  # the directory's own key: it exists (Tree)
                        page.objects.append(ObjectInfo(prefix, 0, EPOCH, ""))
                    kinds = self._kinds(fd, directory)
                finally:
                    os.close(fd)
        except NotFound:
            return page
        base = directory + "/" if directory else ""
        for name, is_dir in kinds:
            key = base + name
            if not name.startswith(part) or key <= start_after:
                continue
            if is_dir:
                page.prefixes.append(key + "/")
            else:  # names and kinds only (see the Tree extension): no stat per file
                page.objects.append(ObjectInfo(key, 0, EPOCH, ""))
        page.objects.sort(key=_key_of)
        page.prefixes.sort()
        return page

    async def children(self, prefix: str) -> list[ObjectInfo]:
        entries = self._directory(prefix.rstrip("/"))
        return [
            _object(prefix + name + "/" if stat.S_ISDIR(info.st_mode) else prefix + name, info)
            for name, info in entries
        ]

    def _kinds(self, fd: int, directory: str) -> list[tuple[str, bool]]:
        """The names in directory ``fd`` (relative path ``directory``) and whether each is a
        directory; links inside the root followed, links out and dangling ones left out."""
        found = []
        base = directory + "/" if directory else ""
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_symlink():
                        is_dir = stat.S_ISDIR(self._beneath.stat(base + entry.name).st_mode)
                    else:
                        is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:  # a link out of the store, a dangling one, or gone
                    continue
                found.append((entry.name, is_dir))
        return found

    def _directory(self, directory: str) -> list[tuple[str, os.stat_result]]:
        """The entries of ``directory`` (``""``: the root) with their stat results."""
        with self._mapped(directory):
            fd = self._beneath.open_directory(directory)
            try:
                return self._entries(fd, directory)
            finally:
                os.close(fd)

    def _entries(self, fd: int, directory: str) -> list[tuple[str, os.stat_result]]:
        """The names in directory ``fd`` (relative path ``directory``) with their ``stat``;
        links inside the root followed; links out, dangling ones and vanished names left out."""
        found = []
        base = directory + "/" if directory else ""
        with os.scandir(fd) as entries:
            for entry in entries:
                try:
                    if entry.is_symlink():
                        info = self._beneath.stat(base + entry.name)
                    else:
                        info = entry.stat(follow_symlinks=False)
                except OSError:  # a link out of the store, a dangling one, or gone
                    continue
                found.append((entry.name, info))
        return found

    def _flat_page(self, prefix: str, start_after: str, token: str | None) -> Page:
        """A page of every file below ``prefix`` in key order: continued from the generator
        that made the page ``token`` ends, else walked afresh, skipping what sorts before."""
        objects = self._listings.pop(token, None) if token else None
        if objects is None:
            objects = self._files(prefix, start_after)
        page = Page()
        for info in objects:
            page.objects.append(info)
            if len(page.objects) == _PAGE:
                page.token = info.key
                if len(self._listings) > 64:  # listings abandoned half-way
                    self._listings.clear()
                self._listings[info.key] = objects
                break
        return page

    def _files(self, prefix: str, start_after: str) -> Iterator[ObjectInfo]:
        """Every file below ``prefix`` after ``start_after``, in key order (depth first, each
        directory sorted by its keys: a directory ``d`` sorts as ``d/``); distfs's hidden
        directories are left out unless ``prefix`` lies in one."""
        directory, _, part = prefix.rpartition("/")
        return self._files_in(directory, part, start_after, paths.HIDDEN not in prefix.split("/"))

    def _files_in(self, directory: str, part: str, start_after: str, hide: bool) -> Iterator[ObjectInfo]:
        try:
            entries = self._directory(directory)
        except NotFound:
            return
        base = directory + "/" if directory else ""
        ordered: list[tuple[str, os.stat_result | None]] = []
        for name, info in entries:
            if not name.startswith(part):
                continue
            if stat.S_ISDIR(info.st_mode):
                below = base + name + "/"
                if not (hide and name == paths.HIDDEN) and (start_after < below or start_after.startswith(below)):
                    ordered.append((below, None))
            elif base + name > start_after:
                ordered.append((base + name, info))
        ordered.sort(key=_first)
        for key, found in ordered:
            if found is None:
                yield from self._files_in(key[:-1], "", start_after, hide)
            else:
                yield _object(key, found)

    # -- namespace (Tree) ---------------------------------------------------------------

    async def rename(self, source: str, dest: str) -> None:
        beneath = self._beneath
        with self._mapped(source):
            source_parent, source_name = beneath.parent(source)
        try:
            with self._mapped(dest):
                dest_parent, dest_name = self._make_parent(dest)
                try:
                    self._refuse_link_out(dest_parent, dest_name, dest)
                    try:
                        os.replace(source_name, dest_name, src_dir_fd=source_parent, dst_dir_fd=dest_parent)
                    except FileNotFoundError:
                        raise NotFound("NotFound", source) from None
                    os.fsync(dest_parent)
                finally:
                    os.close(dest_parent)
        finally:
            os.close(source_parent)

    async def remove_tree(self, key: str) -> bool:
        self._check_target(key)  # removing never follows a link; a link out is refused all the same
        try:
            with self._mapped(key):
                self._beneath.remove_tree(key)
        except NotFound:
            return False
        finally:
            self._prune(key.rpartition("/")[0])
        return True

    def _prune(self, directory: str) -> None:
        """Remove the emptied directories of distfs's upload state at ``directory`` and above."""
        if directory.startswith(_UPLOADS + "/"):
            with contextlib.suppress(EscapeError):
                self._beneath.prune(directory, _UPLOADS)

    # -- uploads ------------------------------------------------------------------------

    async def create_upload(self, key: str, scratch: str) -> Upload:
        directory = scratch.rstrip("/")
        with self._mapped(key):
            fd = self._beneath.make_directories(directory)
            try:
                for name in (_DATA, _PARTS):  # a writer killed before journaling its upload left them: reset
                    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666, dir_fd=fd))
                os.fsync(fd)  # their names, once: ``persist_parts`` syncs their contents
            finally:
                os.close(fd)
        return Upload(key, origin(scratch), scratch)

    @contextlib.contextmanager
    def _scratch(self, upload: Upload) -> Iterator[int]:
        """The descriptor of ``upload``'s scratch directory (NotFound when the upload is gone)."""
        with self._mapped(upload.key):
            fd = self._beneath.open_directory(upload.scratch.rstrip("/"))
        try:
            yield fd
        finally:
            os.close(fd)

    async def upload_part(self, upload: Upload, number: int, data: bytes) -> Part:
        with self._scratch(upload) as directory, self._mapped(upload.key):
            start = _read_end(directory, number - 1) if number > 1 else 0
            if start is None:
                raise NotFound("NoSuchPart", f"part {number - 1} of {upload.key}")
            fd = os.open(_DATA, os.O_WRONLY | os.O_CLOEXEC, dir_fd=directory)
            try:
                os.ftruncate(fd, start)
                _write_all(fd, data, start)
            finally:
                os.close(fd)
            end = start + len(data)
            fd = os.open(_PARTS, os.O_WRONLY | os.O_CLOEXEC, dir_fd=directory)
            try:
                os.ftruncate(fd, (number - 1) * _ENTRY)
                _write_all(fd, b"%020d\n" % end, (number - 1) * _ENTRY)
            finally:
                os.close(fd)
        return Part(str(end), len(data))

    async def copy_part(self, upload: Upload, number: int, source: ObjectInfo, start: int, end: int) -> Part:
        data, _ = await self.get_range(source.key, start, end, source.version)
        return await self.upload_part(upload, number, data)

    async def list_parts(self, upload: Upload) -> dict[int, Part]:
        with self._scratch(upload) as directory, self._mapped(upload.key):
            ends = _read_ends(directory)
            length = os.stat(_DATA, dir_fd=directory, follow_symlinks=False).st_size
        parts, start = {}, 0
        for number, end in enumerate(ends, 1):
            if end > length:
                break
            parts[number] = Part(str(end), end - start)
            start = end
        return parts

    async def persist_parts(self, upload: Upload, parts: Sequence[Part]) -> None:
        with self._scratch(upload) as directory, self._mapped(upload.key):
            for name in (_DATA, _PARTS):
                fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=directory)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    async def complete_upload(self, upload: Upload, parts: Sequence[Part]) -> None:
        total = sum(part.size for part in parts)
        with self._scratch(upload) as directory, self._mapped(upload.key):
            ends = _read_ends(directory)
            if [str(end) for end in ends[: len(parts)]] != [part.token for part in parts]:
                raise NotFound("NoSuchPart", f"a part of the upload of {upload.key}")
            fd = os.open(_DATA, os.O_RDWR | os.O_CLOEXEC, dir_fd=directory)
            try:
                if os.fstat(fd).st_size < total:
                    raise NotFound("NoSuchPart", f"a part of the upload of {upload.key}")
                os.ftruncate(fd, total)
                with contextlib.suppress(OSError):  # a filesystem without user attributes: no origin
                    os.setxattr(fd, _ORIGIN, origin(upload.scratch).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            parent, name = self._make_parent(upload.key)
            try:
                self._refuse_link_out(parent, name, upload.key)
                os.replace(_DATA, name, src_dir_fd=directory, dst_dir_fd=parent)
                os.fsync(parent)
            finally:
                os.close(parent)
            os.unlink(_PARTS, dir_fd=directory)  # the upload is gone from here on
        await self.abort_upload(upload)

    async def abort_upload(self, upload: Upload) -> None:
        scratch = upload.scratch.rstrip("/")
        with contextlib.suppress(NotFound), self._mapped(upload.key):
            self._beneath.remove_tree(scratch)
        self._prune(scratch.rpartition("/")[0])

    async def list_uploads(self, prefix: str) -> list[Upload]:
        return []  # uploads live under their scratch prefix: deleting it discards them

    # -- claims -------------------------------------------------------------------------

    async def claim_upload(self, key: str, state: str) -> object:
        """Lock the upload with ``flock`` on its ``lock`` file (beside the journal ``state``).

        ``key`` leading out through a link is refused first. The lock file is removed by
        the writer that finishes the upload, while it still holds the lock; a writer that
        locked a file removed meanwhile tries again.
        """
        self._check_target(key)
        beneath = self._beneath
        relative = state.rpartition("/")[0] + "/" + _LOCK
        for _ in range(_ATTEMPTS):
            with self._mapped(state):
                parent, name = beneath.parent(relative, create=True)
                try:
                    fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=parent)
                except FileNotFoundError:  # a finishing writer pruned the directory meanwhile
                    continue
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        raise Invalid(state) from None
                    raise
                finally:
                    os.close(parent)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise Busy("Busy", f"another writer holds {state}") from None
            if self._still_there(fd, relative):
                return _Lock(fd, relative)
            os.close(fd)  # the previous writer finished and removed it before we locked it
        raise Busy("Busy", f"another writer holds {state}")

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

    async def release_upload(self, claim: object, finished: bool) -> None:
        assert isinstance(claim, _Lock)
        try:
            if finished:
                with contextlib.suppress(OSError):
                    parent, name = self._beneath.parent(claim.relative)
                    try:
                        os.unlink(name, dir_fd=parent)
                    finally:
                        os.close(parent)
                self._prune(claim.relative.rpartition("/")[0])
        finally:
            claim.close()

    # -- upkeep -------------------------------------------------------------------------

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

    async def close(self) -> None:
        """Nothing to release: the root's descriptor lives as long as the store."""


class _Lock:
    """An upload's lock: the descriptor holding the ``flock`` (closed when dropped)."""

    __slots__ = ("fd", "relative")

    def __init__(self, fd: int, relative: str) -> None:
        self.fd: int | None = fd
        self.relative = relative

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


def _failure(exc: OSError, key: str) -> StoreError:
    """The seam's error for ``exc``, met on ``key``."""
    code = errno.errorcode.get(exc.errno or 0, "OSError")
    if exc.errno in _MISSING:
        return NotFound(code, key)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Denied(code, f"{key}: {exc.strerror}")
    return StoreError(code, f"{key}: {exc.strerror}")


def _not_regular(key: str) -> StoreError:
    return StoreError("NotRegular", f"/{key} is not a regular file")


def _object(key: str, info: os.stat_result, stamp: str = "") -> ObjectInfo:
    modified = datetime.fromtimestamp(info.st_mtime, UTC)
    if stat.S_ISDIR(info.st_mode):
        return ObjectInfo(key, 0, modified, "", stamp)
    return ObjectInfo(key, info.st_size, modified, _version(info), stamp)


def _version(info: os.stat_result) -> str:
    """The version token of a file: the same inode, written last at the same nanosecond, of one size."""
    return f"{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"


def _key_of(info: ObjectInfo) -> str:
    return info.key


def _first(item: tuple[str, Any]) -> str:
    return item[0]


def _read(fd: int, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of ``fd`` (fewer at its end)."""
    if end <= start:
        return b""
    data = os.pread(fd, end - start, start)
    if len(data) == end - start or not data:
        return data
    chunks = [data]
    position = start + len(data)
    while position < end:
        more = os.pread(fd, end - position, position)
        if not more:
            break
        chunks.append(more)
        position += len(more)
    return b"".join(chunks)


def _read_ends(directory: int) -> list[int]:
    """The end offsets of an upload's parts, from its ``parts`` index (in ``directory``)."""
    fd = os.open(_PARTS, os.O_RDONLY | os.O_CLOEXEC, dir_fd=directory)
    try:
        raw = _read(fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return [int(raw[i : i + _ENTRY - 1]) for i in range(0, len(raw) - _ENTRY + 1, _ENTRY)]


def _read_end(directory: int, number: int) -> int | None:
    """The end offset of part ``number`` from the ``parts`` index (in ``directory``), or None."""
    fd = os.open(_PARTS, os.O_RDONLY | os.O_CLOEXEC, dir_fd=directory)
    try:
        raw = os.pread(fd, _ENTRY, (number - 1) * _ENTRY)
    finally:
        os.close(fd)
    return int(raw[:-1]) if len(raw) == _ENTRY else None


def _copy_into(source: int, target: int, size: int) -> None:
    position = 0
    while position < size:
        copied = os.copy_file_range(source, target, min(_COPY_CHUNK << 4, size - position), position)
        if not copied:
            break
        position += copied


def _write_all(fd: int, data: bytes, offset: int | None = None) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        view = view[written:]
        if offset is not None:
            offset += written


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
    if paths.HIDDEN in os.path.abspath(root).split("/"):
        reason = f"must not lie inside another root's {paths.HIDDEN} (distfs's own state)"
        raise InvalidParameterError(NAME, "rootdirectory", reason)
    del storage_options  # checked: none of them changes what the driver does
    store = LocalStore(root)
    store.sweep_temporary_files()
    return driver(store, max_concurrency=limit)


def driver(store: LocalStore, *, max_concurrency: int | None = None) -> Base:
    """The ``filesystem`` driver over ``store`` (the engine, wrapped in :class:`~distfs.base.Base`)."""
    return build(store, retries=0, chunk=CHUNK, read_block=READ_BLOCK, max_concurrency=max_concurrency)


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
