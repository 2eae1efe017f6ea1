"""The ``filesystem`` store's constants and its helpers on descriptors: reads, writes,
copies, the upload index's lines, and ``os.stat_result`` as the seam's ``ObjectInfo``."""

from __future__ import annotations

import errno
import os
import stat
from datetime import UTC, datetime
from typing import Any

from ... import paths
from ...engine.seam import (
    Denied,
    NotFound,
    ObjectInfo,
    StoreError,
)

NAME = "filesystem"
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
