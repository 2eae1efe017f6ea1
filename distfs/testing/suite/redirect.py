"""Redirect URLs (Go's TestRedirectURL): a URL, when the driver gives one, serves the object."""

from __future__ import annotations

from ..context import Case, Context, check_equal
from .helpers import http_request
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


@case()
def test_redirect_url(ctx: Context) -> None:
    """A redirect URL, if any, serves the content to GET and its length to HEAD."""
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(32)
    ctx.driver.put_content(path, data)
    url = ctx.driver.redirect_url(path, "GET")
    if url is not None:
        status, headers, body = http_request(url, "GET")
        check_equal(status, 200, f"GET {url} status")
        check_equal(body, data, "GET body")
    url = ctx.driver.redirect_url(path, "HEAD")
    if url is not None:
        status, headers, _ = http_request(url, "HEAD")
        check_equal(status, 200, f"HEAD {url} status")
        check_equal(headers.get("content-length"), "32", "HEAD Content-Length")
