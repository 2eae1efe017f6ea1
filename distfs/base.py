"""The wrapper every driver goes through (Go's ``base`` plus ``regulator``).

:class:`Base` wraps an inner :class:`StorageDriver` and, for every call:

1. validates arguments before the inner driver sees them: paths must be valid driver
   paths under the driver's path rules (``registry`` or ``portable``, see
   :mod:`distfs.paths`; ``/`` only for ``stat``, ``list`` and ``walk``), and portable
   paths must not hold a character the store cannot hold faithfully
   (``capabilities.refused_characters``); ``move`` checks the source first, ``reader``
   checks the offset before the path;
2. bounds concurrency: at most ``max_concurrency`` calls run in the inner driver at once
   (the call only; reading a returned stream or writing to a returned writer is not
   bounded), like Go's regulator;
3. names the driver in every error: typed errors get the driver name, anything else
   becomes a ``DriverError`` whose ``detail`` is the original message (chained as
   ``__cause__``); writers returned by ``writer`` get the same treatment;
4. logs each call at DEBUG on the ``distfs`` logger and, when OpenTelemetry is installed
   and a tracer provider is set, records a span named like the Go method
   (``GetContent``, ...) with Go's attribute names (``io.cncf.distribution.storage.*``).
"""

from __future__ import annotations

import builtins
import inspect
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, BinaryIO

from . import paths
from .capabilities import Capabilities
from .driver import Derived, FileInfo, FileWriter, StorageDriver, WalkFn
from .errors import DriverError, InvalidOffsetError, InvalidPathError, StorageDriverError
from .tracing import _ATTRIBUTE_PREFIX, _Trace, _tracing

__all__ = ["Base"]

logger = logging.getLogger("distfs")


def _as_driver_error(exc: BaseException, name: str, path: str | None = None) -> StorageDriverError:
    """``exc`` as a typed error naming the driver (and, for a new ``DriverError``, the call's ``path``)."""
    if isinstance(exc, StorageDriverError):
        return exc.with_driver_name(name)
    detail = str(exc) or type(exc).__name__
    error = DriverError(detail, name)
    error.path = path
    error.__cause__ = exc
    return error


def _raise_named(exc: Exception, name: str) -> None:
    """Raise ``exc`` as a typed error naming the driver; a typed error keeps its own cause
    (raising it ``from`` itself would lose the chain, and the ``errno`` found in it)."""
    error = _as_driver_error(exc, name)
    if error is not exc:
        raise error from exc


class _Slots:
    """The regulator's slots: ``acquire`` blocks while ``limit`` calls run (constant memory).

    A counter under a lock, with a condition for the waiters: a free slot costs two lock
    operations (``threading.Semaphore`` takes a Python-level condition every time, the
    largest cost of a ``stat`` on a local filesystem).
    """

    __slots__ = ("_free", "_lock", "_ready", "_waiting")

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting = 0
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)

    def acquire(self) -> None:
        with self._lock:
            if self._free:
                self._free -= 1
                return
            self._waiting += 1
            try:
                while not self._free:
                    self._ready.wait()
            finally:
                self._waiting -= 1
            self._free -= 1

    def release(self) -> None:
        with self._lock:
            self._free += 1
            if self._waiting:
                self._ready.notify()


class _Call:
    """One call into the inner driver: span, regulator slot, error naming, log line."""

    __slots__ = ("_attributes", "_base", "_method", "_slots", "_span", "_start")

    def __init__(self, base: Base, method: str, attributes: dict[str, Any], *, regulated: bool = True) -> None:
        self._base = base
        self._method = method
        self._attributes = attributes
        self._slots = base._slots if regulated else None
        self._span: Any = None
        self._start = 0.0

    def __enter__(self) -> None:
        if _tracing():
            attributes = {_ATTRIBUTE_PREFIX + key: value for key, value in self._attributes.items()}
            attributes[_ATTRIBUTE_PREFIX + "storage.driver.name"] = self._base.name
            self._span = _Trace.module.get_tracer("distfs").start_as_current_span(
                self._method, attributes=attributes, record_exception=False
            )
            self._span.__enter__()
        self._start = time.perf_counter()
        if self._slots is not None:
            self._slots.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        base = self._base
        if self._slots is not None:
            self._slots.release()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s %.3f ms%s",
                base.name,
                self._method,
                self._attributes.get("storage.path", ""),
                (time.perf_counter() - self._start) * 1000,
                f" error: {exc_type.__name__}" if exc_type is not None else "",
            )
        path = self._attributes.get("storage.path")
        error = _as_driver_error(exc, base.name, path) if isinstance(exc, Exception) else None
        if self._span is not None:
            span = _Trace.module.get_current_span()
            if error is not None:
                span.record_exception(error)
                span.set_status(_Trace.module.Status(_Trace.module.StatusCode.ERROR, str(error)))
            self._span.__exit__(None, None, None)
        if error is not None and error is not exc:
            raise error


class _Writer(FileWriter):
    """A writer whose errors name the driver."""

    __slots__ = ("_inner", "_name")

    def __init__(self, inner: FileWriter, name: str) -> None:
        self._inner = inner
        self._name = name

    def write(self, data: bytes | bytearray | memoryview) -> int:
        try:
            return self._inner.write(data)
        except Exception as exc:
            _raise_named(exc, self._name)
            raise

    @property
    def size(self) -> int:
        return self._inner.size

    @property
    def closed(self) -> bool:
        return self._inner.closed

    def close(self) -> None:
        self._run(self._inner.close)

    def cancel(self) -> None:
        self._run(self._inner.cancel)

    def commit(self) -> None:
        self._run(self._inner.commit)

    def _run(self, method: Any) -> None:
        try:
            method()
        except Exception as exc:
            _raise_named(exc, self._name)
            raise


class Base(StorageDriver):
    """Validation, error naming, concurrency bound and instrumentation around ``inner``."""

    def __init__(
        self,
        inner: StorageDriver,
        *,
        max_concurrency: int | None = None,
        portable_paths: bool = False,
        reopen: Callable[[], StorageDriver] | None = None,
    ) -> None:
        self._inner = inner
        self._reopen = reopen
        self._name = inner.name
        self.portable_paths = portable_paths
        # The regulator: a semaphore, constant memory whatever the limit.
        self._slots: _Slots | None = _Slots(max_concurrency) if max_concurrency else None
        self.max_concurrency = max_concurrency
        refused = inner.capabilities.refused_characters
        self._refused = re.compile("[" + re.escape(refused) + "]") if refused else None

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        """The inner driver's capabilities."""
        return self._inner.capabilities

    @property
    def inner(self) -> StorageDriver:
        """The wrapped driver (no validation, no error naming)."""
        return self._inner

    def unwrap(self) -> StorageDriver:
        """The wrapped driver (:attr:`inner`)."""
        return self._inner

    def __repr__(self) -> str:
        return f"<distfs driver {self._name!r} {self._inner!r}>"

    @property
    def can_reopen(self) -> bool:
        """Whether :meth:`reopen` can build a second instance (drivers made by :func:`distfs.create`)."""
        return self._reopen is not None

    def reopen_with(self, build: Callable[[], StorageDriver]) -> None:
        """Let :meth:`reopen` call ``build``, unless the driver's factory already said how."""
        if self._reopen is None:
            self._reopen = build

    def reopen(self) -> StorageDriver:
        """A second instance of this driver on the same store, as another process would build it.

        For a driver made by :func:`distfs.create`, that is ``create`` again with the same
        name and parameters, kept privately (never in ``repr``, errors or logs); a factory
        whose store lives in the driver object (``inmemory``) gives a new instance over the
        same store. The conformance suite's cases on two instances use it. Raises
        ``DriverError`` for a driver built otherwise.
        """
        if self._reopen is None:
            raise DriverError("not made by distfs.create: cannot build a second instance", self._name)
        other = self._reopen()
        if isinstance(other, Base):
            other.portable_paths = self.portable_paths
        return other

    def check_path(self, path: object, *, root_ok: bool = False) -> str:
        """``path`` if it is a valid driver path for this driver, else InvalidPathError naming it."""
        if not paths.is_valid(path, root_ok=root_ok, portable=self.portable_paths):
            raise InvalidPathError(str(path), self._name)
        if self.portable_paths and self._refused is not None and self._refused.search(path):  # type: ignore[call-overload]
            raise InvalidPathError(str(path), self._name)
        return path  # type: ignore[return-value]

    _path = check_path

    def check_offset(self, path: object, offset: object) -> None:
        """InvalidOffsetError unless ``offset`` is a non-negative int (checked before the path)."""
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise InvalidOffsetError(str(path), offset, self._name)  # type: ignore[arg-type]

    def check_arguments(self, method: Derived, arguments: inspect.BoundArguments) -> str:
        """Check the path parameters of a call of ``method`` (a path list becomes a list); its first path.

        InvalidPathError naming the driver and the path, as for every method; ``""`` when
        the call names no path.
        """
        given = arguments.arguments
        first = ""
        for name in method.paths:
            if name in given:
                first = first or self.check_path(given[name], root_ok=method.root_ok)
        for name in method.path_lists:
            if name in given:
                given[name] = [self.check_path(path, root_ok=method.root_ok) for path in given[name]]
                first = first or next(iter(given[name]), "")
        return first

    def _run_derived(self, method: Derived, arguments: inspect.BoundArguments) -> Any:
        """The paths checked, the inner driver's ``method`` (its own, or its default over its
        methods) under one regulator slot, errors named, with a span named like Go's."""
        path = self.check_arguments(method, arguments)
        with self._call(method.span, path):
            return method.call(self._inner, arguments)

    def _call(self, method: str, path: str, **attributes: Any) -> _Call:
        attributes["storage.path"] = path
        return _Call(self, method, attributes)

    def get_content(self, path: str) -> bytes:
        self._path(path)
        with self._call("GetContent", path):
            return self._inner.get_content(path)

    def put_content(self, path: str, content: bytes) -> None:
        self._path(path)
        if not isinstance(content, bytes | bytearray | memoryview):
            raise DriverError(f"content for {path} must be bytes, not {type(content).__name__}", self._name)
        with self._call("PutContent", path, **{"storage.content.length": len(content)}):
            self._inner.put_content(path, bytes(content))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        self.check_offset(path, offset)
        self._path(path)
        with self._call("Reader", path, **{"storage.offset": offset}):
            return self._inner.reader(path, offset)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        self._path(path)
        with self._call("Writer", path, **{"storage.append": bool(append)}):
            return _Writer(self._inner.writer(path, bool(append)), self._name)

    def stat(self, path: str) -> FileInfo:
        self._path(path, root_ok=True)
        with self._call("Stat", path):
            return self._inner.stat(path)

    def list(self, path: str) -> list[str]:
        self._path(path, root_ok=True)
        with self._call("List", path):
            return self._inner.list(path)

    def move(self, source: str, dest: str) -> None:
        self._path(source)
        self._path(dest)
        attributes = {"storage.source.path": source, "storage.dest.path": dest}
        with self._call("Move", source, **attributes):
            self._inner.move(source, dest)

    def delete(self, path: str) -> None:
        self._path(path)
        with self._call("Delete", path):
            self._inner.delete(path)

    def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        checked = [self._path(path) for path in paths]
        if not checked:
            return
        attributes = {"storage.paths.count": len(checked), "storage.files_only": bool(files_only)}
        with self._call("DeleteMany", checked[0], **attributes):
            self._inner.delete_many(checked, files_only=bool(files_only))

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        self._path(path)
        if not isinstance(method, str):
            raise DriverError(f"HTTP method must be a string, not {type(method).__name__}", self._name)
        if expires is not None and (not isinstance(expires, int) or isinstance(expires, bool) or expires <= 0):
            raise DriverError(f"expires must be a positive number of seconds, not {expires!r}", self._name)
        with self._call("RedirectURL", path):
            if expires is None:  # a third-party driver may not know the keyword
                return self._inner.redirect_url(path, method.upper())
            return self._inner.redirect_url(path, method.upper(), expires=expires)

    def files_matching(self, path: str, pattern: Sequence[str]) -> builtins.list[FileInfo]:
        self._path(path, root_ok=True)
        names = () if isinstance(pattern, str) else tuple(pattern)
        base = "" if path == paths.ROOT else path
        if not names or not all(isinstance(n, str) and "/" not in n for n in names):
            raise InvalidPathError(f"{base}/{pattern}", self._name)
        try:  # each name a valid path component, or "*"
            self._path(base + "/" + "/".join("x" if n == "*" else n for n in names))
        except InvalidPathError:
            raise InvalidPathError(base + "/" + "/".join(names), self._name) from None
        with self._call("FilesMatching", path, **{"storage.pattern": "/".join(names)}):
            return self._inner.files_matching(path, names)

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        self._path(path, root_ok=True)
        if not isinstance(start_after_hint, str):
            raise DriverError("start_after_hint must be a string", self._name)
        # Like Go, a walk takes no regulator slot: fn may block or call the driver itself.
        with _Call(self, "Walk", {"storage.path": path}, regulated=False):
            self._inner.walk(path, fn, start_after_hint=start_after_hint)
