"""Path rules: the registry pattern, minus "." and ".." components."""

from __future__ import annotations

import pytest

from distfs import paths
from distfs.testing.suite import VALID_PATHS

VALID = [*VALID_PATHS, "/...", "/a/..b", "/.a."]
INVALID = [
    "",
    "/",
    "abc",
    "123.abc",
    "//bcd",
    "/abc_123/",
    "/path/is/invalid*",
    "/a/../../etc",
    "/..",
    "/.",
    "/a/./b",
    "/a/..",
    "/a b",
    "/a\n",
    "/ä",
    "/a//b",
    "/.distfs~",
    "/a/.distfs~/b",
    "/a~",
]


@pytest.mark.parametrize("path", VALID)
def test_valid(path: str) -> None:
    assert paths.is_valid(path)
    assert paths.is_valid(path, root_ok=True)


@pytest.mark.parametrize("path", INVALID)
def test_invalid(path: str) -> None:
    assert not paths.is_valid(path)


def test_root_only_where_allowed() -> None:
    assert not paths.is_valid("/")
    assert paths.is_valid("/", root_ok=True)


@pytest.mark.parametrize("value", [None, 1, b"/a", ["/a"]])
def test_non_strings_are_invalid(value: object) -> None:
    assert not paths.is_valid(value, root_ok=True)


def test_helpers() -> None:
    assert paths.parent("/a/b/c") == "/a/b"
    assert paths.parent("/a") == "/"
    assert paths.parent("/") == "/"
    assert paths.join("/", "a") == "/a"
    assert paths.join("/a", "b") == "/a/b"
    assert paths.first_part("/a/b/c") == "/a"
    assert paths.first_part("/") == "/"
    assert paths.split("/a/b") == ["a", "b"]
