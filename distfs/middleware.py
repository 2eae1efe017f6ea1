"""Storage middleware: drivers that wrap a driver and change how it redirects.

As in the registry (``middleware.storage`` in ``config.yml``), a middleware wraps the
driver built so far and overrides only :meth:`~distfs.StorageDriver.redirect_url`;
every other call goes straight to the wrapped driver. Middleware is registered by name::

    distfs.register_middleware("mycdn", init)     # init(driver, options) -> StorageDriver
    driver = distfs.apply_middleware(driver, "redirect", {"baseurl": "https://cdn.example"})

or through the ``distfs.middleware`` entry-point group. Built in:

``redirect``
    ``baseurl`` (an ``http`` or ``https`` URL with a host): every path redirects to
    ``baseurl`` + the percent-encoded path, without signing and without asking the
    wrapped driver.
``rewrite``
    ``scheme`` (``http`` or ``https``), ``host``, ``trimpathprefix``: takes the wrapped
    driver's URL and replaces its scheme and host, and trims a path prefix. Unlike Go, a
    driver that does not redirect (``None``) still does not redirect, instead of yielding
    a bogus URL.

Unlike Go, URLs are built from percent-encoded paths (with ``paths: portable``, ``/a?x``
stays the object ``/a?x``), and only ``http`` and ``https`` URLs are made (Go accepts
any scheme, ``javascript:`` included).
``cloudfront``
    CloudFront signed URLs in front of the ``s3`` driver (see
    :mod:`distfs.cloudfront`).
"""

from __future__ import annotations

import importlib
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from . import paths
from .capabilities import Capabilities
from .driver import FileInfo, FileWriter, StorageDriver, WalkFn
from .errors import InvalidParameterError, InvalidPathError
from .parameters import brief

if TYPE_CHECKING:
    from importlib import metadata

__all__ = [
    "Middleware",
    "MiddlewareInit",
    "RedirectMiddleware",
    "RewriteMiddleware",
    "apply_middleware",
    "middleware_names",
    "register_middleware",
]

MiddlewareInit = Callable[[StorageDriver, Mapping[str, Any]], StorageDriver]
ENTRY_POINT_GROUP = "distfs.middleware"

_BUILTIN = {
    "cloudfront": "distfs.cloudfront:init",
    "redirect": "distfs.middleware:RedirectMiddleware",
    "rewrite": "distfs.middleware:RewriteMiddleware",
}
_registered: dict[str, MiddlewareInit] = {}
_lock = threading.Lock()


def register_middleware(name: str, init: MiddlewareInit) -> None:
    """Make ``init(driver, options)`` available under ``name`` (names are unique)."""
    if not callable(init):
        raise TypeError(f"storage middleware {name!r} must be callable")
    with _lock:
        if name in _registered or name in _BUILTIN or name in _entry_points():
            raise ValueError(f"name already registered: {name}")
        _registered[name] = init


def middleware_names() -> list[str]:
    """Sorted names of the available storage middleware."""
    return sorted(set(_BUILTIN) | set(_registered) | set(_entry_points()))


def apply_middleware(driver: StorageDriver, name: str, options: Mapping[str, Any] | None = None) -> StorageDriver:
    """Wrap ``driver`` in the middleware registered as ``name``."""
    with _lock:
        init = _registered.get(name)
    if init is None and name in _BUILTIN:
        module, _, attribute = _BUILTIN[name].partition(":")
        init = getattr(importlib.import_module(module), attribute)
    if init is None and name in _entry_points():
        init = _entry_points()[name].load()
    if init is None:
        raise LookupError(f"no storage middleware registered with name: {name}; available: {middleware_names()}")
    if options is not None and not isinstance(options, Mapping):
        raise InvalidParameterError(name, "options", f"must be a mapping, not {brief(options)}")
    return init(driver, dict(options or {}))


def _entry_points() -> dict[str, metadata.EntryPoint]:
    from importlib import metadata  # on first use: the built-in names need no package metadata

    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


class Middleware(StorageDriver):
    """A driver that delegates everything to ``wrapped``; subclasses override ``redirect_url``."""

    def __init__(self, wrapped: StorageDriver) -> None:
        self.wrapped = wrapped

    @property
    def name(self) -> str:
        return self.wrapped.name

    @property
    def capabilities(self) -> Capabilities:
        """The wrapped driver's capabilities."""
        return self.wrapped.capabilities

    def __repr__(self) -> str:
        return f"<{type(self).__name__} over {self.wrapped!r}>"

    def _check(self, path: str) -> None:
        if not paths.is_valid(path, portable=bool(getattr(self.wrapped, "portable_paths", False))):
            raise InvalidPathError(str(path), self.name)

    def get_content(self, path: str) -> bytes:
        return self.wrapped.get_content(path)

    def put_content(self, path: str, content: bytes) -> None:
        self.wrapped.put_content(path, content)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self.wrapped.reader(path, offset)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        return self.wrapped.writer(path, append)

    def stat(self, path: str) -> FileInfo:
        return self.wrapped.stat(path)

    def list(self, path: str) -> list[str]:
        return self.wrapped.list(path)

    def move(self, source: str, dest: str) -> None:
        self.wrapped.move(source, dest)

    def delete(self, path: str) -> None:
        self.wrapped.delete(path)

    def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        self.wrapped.delete_many(paths, files_only=files_only)

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        if expires is None:
            return self.wrapped.redirect_url(path, method)
        return self.wrapped.redirect_url(path, method, expires=expires)

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        self.wrapped.walk(path, fn, start_after_hint=start_after_hint)


def _string_option(options: Mapping[str, Any], middleware: str, key: str, default: str = "") -> str:
    value = options.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidParameterError(middleware, key, f"{key} must be a string, not {brief(value)}")
    return value


#: The URL schemes middleware redirects to.
SCHEMES = ("http", "https")


def url_path(path: str) -> str:
    """``path`` percent-encoded for a URL (``/`` kept): the object a client asks for is ``path``."""
    return urllib.parse.quote(path, safe="/")


def split_url(url: str, middleware: str, key: str) -> urllib.parse.SplitResult:
    """``urlsplit(url)``, or ``InvalidParameterError`` naming option ``key`` of ``middleware``
    when the URL is malformed (``http://[::1``: an unclosed IPv6 host)."""
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:
        raise InvalidParameterError(middleware, key, f"is not a valid URL: {brief(url)}") from None


class RedirectMiddleware(Middleware):
    """Redirect every path to ``baseurl`` + path (no signing, any method)."""

    def __init__(self, wrapped: StorageDriver, options: Mapping[str, Any]) -> None:
        super().__init__(wrapped)
        if "baseurl" not in options:
            raise InvalidParameterError("redirect", "baseurl", "no baseurl provided")
        base = _string_option(options, "redirect", "baseurl")
        parts = split_url(base, "redirect", "baseurl")
        if not parts.scheme:
            raise InvalidParameterError("redirect", "baseurl", "no scheme specified for redirect baseurl")
        if parts.scheme.lower() not in SCHEMES:
            raise InvalidParameterError("redirect", "baseurl", f"must be an http or https URL, not {brief(base)}")
        if not parts.netloc:
            raise InvalidParameterError("redirect", "baseurl", "no host specified for redirect baseurl")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path.rstrip("/")

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        self._check(path)  # unsigned: ``expires`` does not apply
        return self._origin + self._base_path + url_path(path)


class RewriteMiddleware(Middleware):
    """Rewrite the wrapped driver's redirect URL: new scheme and host, a trimmed path prefix."""

    def __init__(self, wrapped: StorageDriver, options: Mapping[str, Any]) -> None:
        super().__init__(wrapped)
        self._scheme = _string_option(options, "rewrite", "scheme")
        if self._scheme and self._scheme.lower() not in SCHEMES:
            raise InvalidParameterError("rewrite", "scheme", f"must be http or https, not {brief(self._scheme)}")
        self._host = _string_option(options, "rewrite", "host")
        self._trim = _string_option(options, "rewrite", "trimpathprefix")

    def redirect_url(self, path: str, method: str = "GET", expires: int | None = None) -> str | None:
        url = super().redirect_url(path, method, expires)
        if url is None:
            return None  # Go would return a bogus "https://host" here
        parts = urllib.parse.urlsplit(url)
        rewritten_path = parts.path.removeprefix(self._trim) if self._trim else parts.path
        return urllib.parse.urlunsplit(
            (self._scheme or parts.scheme, self._host or parts.netloc, rewritten_path, parts.query, parts.fragment)
        )
