"""distfs errors as the ``OSError`` kinds fsspec callers catch, with ``errno`` set.

A driver error caused by an ``OSError`` (a local filesystem's ``ENOTDIR``, ``EISDIR``,
``ENOSPC``, ``EACCES``...) keeps its ``errno``, so Python picks the matching subclass
(``NotADirectoryError``, ``IsADirectoryError``, ...); a read-only store (``EROFS``,
``EPERM``) is ``PermissionError``. The message names the driver and the caller's driver
path only, never a backend key or a temporary file. Any other driver error is an
``OSError`` with ``errno`` ``EIO`` and the driver's message.
"""

from __future__ import annotations

import errno
import os

from ..errors import DriverError, StorageDriverError

__all__ = ["as_os_error"]

#: errno values that mean "not allowed" whatever Python's own mapping says.
_REFUSED = (errno.EPERM, errno.EACCES, errno.EROFS)


def _os_cause(error: BaseException) -> OSError | None:
    """The first ``OSError`` with an ``errno`` among ``error``'s causes."""
    seen: set[int] = set()
    cause = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and not isinstance(cause, StorageDriverError) and cause.errno:
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def as_os_error(error: StorageDriverError, path: str | None = None) -> OSError:
    """``error`` as an ``OSError`` subclass with ``errno`` set, naming ``path`` (else the call's path)."""
    where = path or (error.path if isinstance(error, DriverError) else None)
    cause = _os_cause(error)
    if cause is None or cause.errno is None:
        mapped = OSError(errno.EIO, str(error))
        return mapped
    number = cause.errno
    text = f"{error.driver_name}: {os.strerror(number)}"
    mapped = PermissionError(number, text) if number in _REFUSED else OSError(number, text)
    if where:
        mapped.filename = where
    return mapped


def os_error(number: int, path: str, driver_name: str) -> OSError:
    """The ``OSError`` subclass of ``number`` (``EEXIST``, ``EISDIR``...) for the caller's ``path``."""
    mapped = OSError(number, f"{driver_name}: {os.strerror(number)}")
    mapped.filename = path
    return mapped
