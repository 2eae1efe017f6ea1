"""The built-in ``redirect`` and ``rewrite`` middleware, and the URL checks middleware shares."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from ..driver import StorageDriver
from ..errors import InvalidParameterError
from ..parameters import brief
from .wrapper import Middleware

__all__ = ["SCHEMES", "RedirectMiddleware", "RewriteMiddleware", "split_url", "url_path"]


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
