"""The core of :class:`~.store.LocalStore`: the root's descriptor, the mapping of
``OSError`` to the seam's errors, opening files beneath the root, and the atomic publish
(a temporary file synced and renamed onto the key) that ``put`` and uploads share."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator

from ...beneath import Beneath, EscapeError
from ...engine.seam import (
    Changed,
    Exists,
    Invalid,
    NotFound,
    ObjectInfo,
    StoreError,
)
from .files import _CREATE, _TEMP, _UPLOADS, _failure, _not_regular, _object, _read


class TreeCore:
    """The directory tree below ``root``, every path resolved beneath a descriptor of it
    (:mod:`distfs.beneath`); what the listing, upload and object parts of the store share."""

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

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, ObjectInfo]:
        fd, info = self._open_file(key)
        try:
            found = _object(key, info)
            if version is not None and found.version != version:
                raise Changed("Changed", f"{key} was replaced")
            return _read(fd, start, min(end, info.st_size)), found
        finally:
            os.close(fd)

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

    def _prune(self, directory: str) -> None:
        """Remove the emptied directories of distfs's upload state at ``directory`` and above."""
        if directory.startswith(_UPLOADS + "/"):
            with contextlib.suppress(EscapeError):
                self._beneath.prune(directory, _UPLOADS)
