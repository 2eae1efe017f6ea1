"""The uploads and claims of :class:`~.store.LocalStore` (see the package docstring): one
``data`` file per upload beside its ``parts`` index, appended to natively and renamed into
place on completion; one writer per path, held with ``flock`` on a ``lock`` file."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator, Sequence

from ...engine.seam import (
    Busy,
    Invalid,
    NotFound,
    ObjectInfo,
    Part,
    Upload,
    origin,
)
from .files import _ATTEMPTS, _DATA, _ENTRY, _LOCK, _ORIGIN, _PARTS, _read_end, _read_ends, _write_all
from .tree import TreeCore


class Uploads(TreeCore):
    """The seam's upload calls and its :class:`~distfs.engine.seam.Claims` extension."""

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
