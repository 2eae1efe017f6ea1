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

from .redirect import RedirectMiddleware, RewriteMiddleware
from .registry import MiddlewareInit, apply_middleware, middleware_names, register_middleware
from .wrapper import Middleware

__all__ = [
    "Middleware",
    "MiddlewareInit",
    "RedirectMiddleware",
    "RewriteMiddleware",
    "apply_middleware",
    "middleware_names",
    "register_middleware",
]
