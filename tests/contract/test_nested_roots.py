"""Roots nested in one store never show each other's hidden state (issue 17, item 7).

Two drivers on one bucket or directory, the inner one with its root at ``x`` below the
outer one's: the outer driver sees the inner one's data below ``/x`` but never its
hidden state (``/x/.distfs~``), in ``list`` or ``walk``, whatever the depth; and a root
inside another root's hidden state is refused. On every built-in driver.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem
from profiles import PROFILES

import distfs
from distfs import paths
from distfs.base import Base
from distfs.engine import ObjectStoreDriver
from distfs.engine.loop import run

ALL_DRIVERS = list(PROFILES)


def below(name: str, parameters: dict[str, Any], child: str) -> dict[str, Any]:
    """``parameters`` with the root moved to ``child`` below the current one."""
    root = str(parameters.get("rootdirectory", ""))
    return {**parameters, "rootdirectory": os.path.join(root, child) if name == "filesystem" else f"{root}/{child}"}


def put_hidden(driver: distfs.StorageDriver) -> None:
    """Store an object at the driver's hidden ``/.distfs~/state`` (as its own state would be)."""
    assert isinstance(driver, Base)
    inner = driver.inner
    hidden = "/" + paths.HIDDEN + "/state"
    assert isinstance(inner, ObjectStoreDriver)
    run(inner.engine.store.put(inner.engine.key(hidden), b"h"))


def nested(name: str, parameters: dict[str, Any], outer: distfs.StorageDriver, child: str) -> distfs.StorageDriver:
    """A driver whose root is ``child`` below ``outer``'s, on the same store."""
    if name == "inmemory":  # no rootdirectory parameter: the outer driver's filesystem, below a root
        assert isinstance(outer, Base)
        assert isinstance(outer.inner, ObjectStoreDriver)
        return distfs.from_filesystem(outer.inner.engine.store.fs, "/" + child)
    return distfs.create(name, below(name, parameters, child))


def walked(driver: distfs.StorageDriver, path: str) -> list[str]:
    seen: list[str] = []
    driver.walk(path, lambda info: seen.append(info.path))
    return seen


@pytest.mark.parametrize("name", ALL_DRIVERS)
def test_outer_root_never_shows_inner_hidden_state(
    name: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    parameters = store_parameters(name)
    outer = distfs.create(name, parameters)
    inner = nested(name, parameters, outer, "x")
    deeper = nested(name, parameters, outer, "y/z")
    for driver in (inner, deeper):
        driver.put_content("/f", b"1")
        writer = driver.writer("/pending/upload")
        writer.write(b"suspended")
        writer.close()  # the upload's state, where the driver keeps it
        put_hidden(driver)  # hidden state on every driver
    outer.put_content("/x/g", b"2")

    assert outer.list("/") == ["/x", "/y"]
    assert outer.list("/x") == ["/x/f", "/x/g"]
    assert outer.list("/y/z") == ["/y/z/f"]
    everything = walked(outer, "/")
    assert everything == ["/x", "/x/f", "/x/g", "/y", "/y/z", "/y/z/f"]
    assert walked(outer, "/x") == ["/x/f", "/x/g"]
    assert walked(outer, "/y") == ["/y/z", "/y/z/f"]
    for path in everything:
        outer.stat(path)  # every listed or walked path is one stat accepts
    # the inner drivers still see their own upload
    assert inner.writer("/pending/upload", append=True).size == len(b"suspended")
    assert inner.list("/") == ["/f", "/g"]


@pytest.mark.parametrize("name", ALL_DRIVERS)
def test_root_inside_hidden_state_is_refused(name: str, store_parameters: Callable[[str], dict[str, Any]]) -> None:
    parameters = store_parameters(name)
    for child in (paths.HIDDEN, paths.HIDDEN + "/uploads", "a/" + paths.HIDDEN + "/b"):
        if name == "inmemory":  # no rootdirectory parameter: from_filesystem's root
            with pytest.raises(distfs.InvalidParameterError) as caught:
                distfs.from_filesystem(MemoryFileSystem(global_store=False), "/" + child)
        else:
            with pytest.raises(distfs.InvalidParameterError) as caught:
                distfs.create(name, below(name, parameters, child))
        assert caught.value.parameter == ("root" if name == "inmemory" else "rootdirectory")
        assert caught.value.driver == name
