"""The distfs exception tree.

Every error a driver raises names the driver, and keeps the message formats of the Go
registry (``"s3: Path not found: /a/b"``)::

    StorageDriverError(Exception)                            .driver_name
     +-- PathNotFoundError(.., FileNotFoundError)            .path
     +-- InvalidPathError(.., ValueError)                    .path
     +-- InvalidOffsetError(.., ValueError)                  .path .offset
     +-- UnsupportedMethodError(.., NotImplementedError)
     +-- DriverError                                         .detail  (catch-all)
          +-- AccessDeniedError(.., PermissionError)         the store refused the credentials
          +-- StoreNotFoundError                             .store  the bucket/container is missing
          +-- ObjectChangedError                             .path  replaced while it was read
          +-- WriterConflictError                            .path  another writer of the path is open
          +-- PartialCommitError(.., OSError)               .published .unpublished  a transaction half committed
    InvalidStorageDriverError(LookupError)                   .name
     +-- DriverNotInstalledError                             .extra  (pip install 'distfs[extra]')
    InvalidParameterError(ValueError)                        .driver .parameter
    ConfigError(ValueError)                                  .key  (a registry config.yml)

``SkipDir`` and ``StopWalk`` are not errors: a walk callback raises them to steer the walk
(see :mod:`distfs.driver`).

Messages never contain parameter values of secret keys, credentials or request
signatures; backends strip them before building a ``DriverError``.
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "AccessDeniedError",
    "ConfigError",
    "DriverError",
    "DriverNotInstalledError",
    "InvalidOffsetError",
    "InvalidParameterError",
    "InvalidPathError",
    "InvalidStorageDriverError",
    "ObjectChangedError",
    "PartialCommitError",
    "PathNotFoundError",
    "StorageDriverError",
    "StoreNotFoundError",
    "UnsupportedMethodError",
    "WriterConflictError",
]


class _Portable(Exception):
    """Pickles as its class, ``args`` and attributes, whatever its ``__init__`` signature.

    Errors cross process boundaries (dask, multiprocessing): the copy has the same type,
    message, ``args`` and fields as the original.
    """

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[_Portable], args: tuple[object, ...], state: dict[str, object]) -> _Portable:
    err = cls.__new__(cls, *args)
    err.__dict__.update(state)
    err.args = args
    if isinstance(err, StorageDriverError):
        err._refresh()
    return err


class StorageDriverError(_Portable):
    """Base of every error raised by a storage driver; ``driver_name`` names the driver.

    ``args`` is ``(message,)`` -- for the ``OSError`` kinds ``(errno, message)`` with
    ``errno``, ``strerror`` and ``filename`` (the driver path) set -- so ``repr`` and
    tracebacks of copies in other processes show the message.
    """

    driver_name: str

    #: The ``errno`` of the ``OSError`` kinds (``ENOENT``, ``EACCES``).
    os_errno: int | None = None

    def __init__(self, driver_name: str) -> None:
        self.driver_name = driver_name
        super().__init__()
        self._refresh()

    def __str__(self) -> str:
        return self.message()

    def message(self) -> str:
        """The Go-format message."""
        return f"{self.driver_name}: storage driver error"

    def with_driver_name(self, name: str) -> StorageDriverError:
        """Name the driver that reports this error (the base wrapper stamps every error)."""
        self.driver_name = name
        self._refresh()
        return self

    def _refresh(self) -> None:
        """Keep ``args`` (and the ``OSError`` fields) in step with the message."""
        text = self.message()
        if isinstance(self, OSError):
            _set_os_fields(self, self.os_errno, text, self.__dict__.get("path"))
        else:
            self.args = (text,)


def _set_os_fields(error: OSError, number: int | None, text: str, filename: object) -> None:
    error.args = (number, text)
    error.errno = number
    error.strerror = text
    error.filename = filename


class PathNotFoundError(StorageDriverError, FileNotFoundError):
    """Nothing exists at ``path`` (the caller's driver path, never a backend key)."""

    os_errno = _errno.ENOENT

    def __init__(self, path: str, driver_name: str = "") -> None:
        self.path = path
        super().__init__(driver_name)

    def message(self) -> str:
        return f"{self.driver_name}: Path not found: {self.path}"


class InvalidPathError(StorageDriverError, ValueError):
    """``path`` is not a valid driver path (see :mod:`distfs.paths`).

    ``reason``, when given, says which rule the path broke and how to allow it; it follows
    the message in parentheses.
    """

    def __init__(self, path: str, driver_name: str = "", reason: str = "") -> None:
        self.path = path
        self.reason = reason
        super().__init__(driver_name)

    def message(self) -> str:
        text = f"{self.driver_name}: invalid path: {self.path}"
        return f"{text} ({self.reason})" if self.__dict__.get("reason") else text


class InvalidOffsetError(StorageDriverError, ValueError):
    """A read was asked to start at an impossible ``offset`` of ``path``."""

    def __init__(self, path: str, offset: int, driver_name: str = "") -> None:
        self.path = path
        self.offset = offset
        super().__init__(driver_name)

    def message(self) -> str:
        return f"{self.driver_name}: invalid offset: {self.offset} for path: {self.path}"


class UnsupportedMethodError(StorageDriverError, NotImplementedError):
    """The driver does not implement this operation; ``detail`` (optional) says which, on what path."""

    def __init__(self, driver_name: str = "", detail: str = "") -> None:
        self.detail = detail
        super().__init__(driver_name)

    def message(self) -> str:
        detail = self.__dict__.get("detail")
        return f"{self.driver_name}: unsupported method" + (f": {detail}" if detail else "")


class DriverError(StorageDriverError):
    """Any other failure; ``detail`` says what went wrong (the original exception is chained).

    ``path``, when known, is the driver path of the call that failed (never a backend key).
    """

    path: str | None = None

    def __init__(self, detail: str, driver_name: str = "") -> None:
        self.detail = detail
        super().__init__(driver_name)

    def message(self) -> str:
        return f"{self.driver_name}: {self.detail}"


class AccessDeniedError(DriverError, PermissionError):
    """The store refused the request: bad or expired credentials, or no permission.

    ``detail`` carries the store's own error code (``AccessDenied``, ``403``,
    ``AuthenticationFailed``, ...), never a credential. ``path``, when known, is the path of
    the refused call (also ``filename``); the message ends with it.
    """

    os_errno = _errno.EACCES

    def __init__(self, detail: str, driver_name: str = "", path: str | None = None) -> None:
        if path is not None:
            self.path = path
        super().__init__(detail, driver_name)

    def message(self) -> str:
        path = self.__dict__.get("path")
        return super().message() + (f": {path}" if path else "")


class StoreNotFoundError(DriverError):
    """The bucket or container ``store`` itself does not exist (not a missing path below it)."""

    def __init__(self, store: str, driver_name: str = "", kind: str = "bucket") -> None:
        self.store = store
        self.kind = kind
        super().__init__(f"{kind} {store} does not exist", driver_name)


class ObjectChangedError(DriverError):
    """The object at ``path`` was replaced while a reader was reading it.

    A reader pins the version it opened; rather than return bytes of two versions it raises
    this error.
    """

    def __init__(self, path: str, driver_name: str = "") -> None:
        self.path = path
        super().__init__(f"{path} changed while it was read", driver_name)


class WriterConflictError(DriverError):
    """``writer(path)`` was called while another writer of ``path`` is open.

    Drivers that keep one upload per path (``filesystem``, ``inmemory``) allow one open
    writer per path: the second is refused rather than mixing two writers' bytes.
    """

    def __init__(self, path: str, driver_name: str = "") -> None:
        self.path = path
        super().__init__(f"another writer of {path} is open", driver_name)


class PartialCommitError(DriverError, OSError):
    """A transaction's commit failed part-way: ``published`` paths are visible, ``unpublished`` are not.

    The files of a transaction are published one after another, not atomically as a group;
    the first failure stops the commit, and its error is chained (``__cause__``).
    """

    os_errno = _errno.EIO

    def __init__(self, published: list[str], unpublished: list[str], driver_name: str = "") -> None:
        self.published = list(published)
        self.unpublished = list(unpublished)
        done = ", ".join(self.published) or "nothing"
        super().__init__(
            f"transaction commit failed part-way: published {done}; not published {', '.join(self.unpublished)}",
            driver_name,
        )


class InvalidStorageDriverError(_Portable, LookupError):
    """No driver is registered under ``name``."""

    def __init__(self, name: str, available: list[str] | None = None, hint: str = "") -> None:
        self.name = name
        self.available = list(available or [])
        self.hint = hint
        super().__init__(name)

    def __str__(self) -> str:
        text = f"StorageDriver not registered: {self.name}"
        if self.hint:
            text += f" ({self.hint})"
        if self.available:
            text += f"; available drivers: {', '.join(self.available)}"
        return text


class DriverNotInstalledError(InvalidStorageDriverError):
    """Built-in driver ``name`` needs the optional dependencies of extra ``extra``."""

    def __init__(self, name: str, extra: str, missing: str = "") -> None:
        self.extra = extra
        self.missing = missing
        super().__init__(name)

    def __str__(self) -> str:
        lacking = f" ({self.missing} is not installed)" if self.missing else ""
        return f"StorageDriver {self.name} needs its extra{lacking}: pip install 'distfs[{self.extra}]'"


class InvalidParameterError(_Portable, ValueError):
    """The parameter ``parameter`` of driver ``driver`` is missing, unknown or malformed.

    The message explains the rule that was broken; it never quotes the value of a
    secret parameter.
    """

    def __init__(self, driver: str, parameter: str, reason: str) -> None:
        self.driver = driver
        self.parameter = parameter
        self.reason = reason
        super().__init__(driver, parameter, reason)

    def __str__(self) -> str:
        return f"{self.driver}: invalid parameter {self.parameter!r}: {self.reason}"


class ConfigError(_Portable, ValueError):
    """A registry configuration is wrong at ``key``, a YAML key path such as ``storage.s3.bucket``."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(key, reason)

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}" if self.key else self.reason
