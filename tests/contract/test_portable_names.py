"""Portable names a store cannot hold faithfully are refused there (issue 17, item 8).

With ``paths: portable``, Azure Blob Storage reads ``\\`` in a name as ``/`` (``/x/a\\b``
and ``/x/a/b`` would be one blob: a silent overwrite), and the stores whose listings or
batch deletes are XML (S3, Azure, OSS) cannot list or delete a name holding U+FFFE or
U+FFFF. Those drivers refuse such paths with ``InvalidPathError`` on every call; the
others keep them as distinct, listable, deletable names. On every built-in driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from profiles import PROFILES

import distfs

ALL_DRIVERS = list(PROFILES)

BACKSLASH = "\\"
NOT_XML = "\ufffe\uffff"  # XML 1.0 cannot carry them
#: What each built-in driver refuses in a portable name.
REFUSED = {"inmemory": "", "filesystem": "", "s3": NOT_XML, "gcs": "", "azure": BACKSLASH + NOT_XML, "oss": NOT_XML}


def every_call(driver: distfs.StorageDriver, path: str) -> list[Callable[[], object]]:
    """Each public call naming ``path`` (the walk and list of its parent directory excepted)."""
    return [
        lambda: driver.put_content(path, b"x"),
        lambda: driver.get_content(path),
        lambda: driver.reader(path),
        lambda: driver.writer(path),
        lambda: driver.stat(path),
        lambda: driver.list(path),
        lambda: driver.move(path, "/elsewhere"),
        lambda: driver.move("/elsewhere", path),
        lambda: driver.delete(path),
        lambda: driver.redirect_url(path),
        lambda: driver.walk(path, lambda info: None),
    ]


@pytest.mark.parametrize("name", ALL_DRIVERS)
@pytest.mark.parametrize("character", ["\\", "\ufffe", "\uffff"])
def test_names_the_store_cannot_hold_are_refused(
    name: str, character: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    driver = distfs.create(name, {**store_parameters(name), "paths": "portable"})
    assert getattr(driver.capabilities, "refused_characters", None) == REFUSED[name]
    driver.put_content("/elsewhere", b"e")
    path = f"/x/a{character}b"
    if character in REFUSED[name]:
        for call in every_call(driver, path):
            with pytest.raises(distfs.InvalidPathError) as caught:
                call()
            assert caught.value.path == path
            assert caught.value.driver_name == name
        assert driver.list("/") == ["/elsewhere"]
        return
    driver.put_content(path, b"odd")
    driver.put_content("/x/a/b", b"plain")
    assert driver.get_content(path) == b"odd"  # two objects, not one
    assert driver.list("/x") == ["/x/a", path]
    driver.delete(path)
    assert driver.list("/x") == ["/x/a"]


@pytest.mark.parametrize("name", ALL_DRIVERS)
def test_registry_paths_and_other_portable_names_are_unaffected(
    name: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    driver = distfs.create(name, {**store_parameters(name), "paths": "portable"})
    for path in ("/year=2024/part 1.csv", "/d/\u00e9t\u00e9-\u6587", "/d/a+b%2F&c", "/d/\U0001f600"):
        driver.put_content(path, b"v")
        assert driver.get_content(path) == b"v"
        driver.delete(path)
    registry = distfs.create(name, store_parameters(name))
    with pytest.raises(distfs.InvalidPathError):
        registry.put_content("/a\\b", b"x")  # the registry pattern refuses it anyway
