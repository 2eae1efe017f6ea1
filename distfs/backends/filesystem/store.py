""":class:`LocalStore`, the ``filesystem`` driver's native store: its objects (head, reads,
put, copy, batched deletes) and namespace (rename, remove a tree), on top of its listings
(:mod:`.listing`) and uploads (:mod:`.uploads`)."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import BinaryIO

from ...beneath import PATH, EscapeError
from ...capabilities import Capabilities
from ...engine.seam import (
    Changed,
    Invalid,
    Limits,
    NotFound,
    ObjectInfo,
    StoreError,
)
from .files import _ORIGIN, _TEMP, NAME, TEMP_MAX_AGE, _copy_into, _failure, _object, _write_all
from .listing import Listing
from .uploads import Uploads


class LocalStore(Listing, Uploads):
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

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> None:
        self._publish(key, lambda fd: _write_all(fd, data), exclusive=if_absent)

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
