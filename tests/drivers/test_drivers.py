"""Semantics of the built-in drivers beyond the Go suite."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pytest

import distfs
from distfs.base import Base
from distfs.engine import ObjectStoreDriver


def test_list_of_a_file_is_not_found(driver: distfs.StorageDriver) -> None:
    driver.put_content("/a/file", b"x")
    with pytest.raises(distfs.PathNotFoundError) as info:
        driver.list("/a/file")
    assert info.value.path == "/a/file"


def test_list_is_sorted_absolute_and_free_of_hidden_state(driver: distfs.StorageDriver) -> None:
    for name in ("/d/b", "/d/a-1", "/d/a/x", "/d/c/y/z"):
        driver.put_content(name, b"")
    w = driver.writer("/d/pending")
    w.close()
    assert driver.list("/d") == ["/d/a", "/d/a-1", "/d/b", "/d/c"]
    assert driver.list("/") == ["/d"]


def test_directories_exist_by_prefix_only(driver: distfs.StorageDriver) -> None:
    driver.put_content("/ab/x", b"x")
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/a")
    with pytest.raises(distfs.PathNotFoundError):
        driver.list("/a")


def test_stat(driver: distfs.StorageDriver) -> None:
    driver.put_content("/s/f", b"12345")
    info = driver.stat("/s/f")
    assert (info.path, info.size, info.is_dir) == ("/s/f", 5, False)
    assert info.mod_time.tzinfo is UTC
    directory = driver.stat("/s")
    assert (directory.path, directory.size, directory.is_dir) == ("/s", 0, True)
    root = driver.stat("/")
    assert root.is_dir
    assert root.size == 0


def test_get_content_of_a_directory_is_not_found(driver: distfs.StorageDriver) -> None:
    driver.put_content("/g/f", b"x")
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/g")
    with pytest.raises(distfs.PathNotFoundError):
        driver.reader("/g")


def test_reader_past_the_end_is_empty(driver: distfs.StorageDriver) -> None:
    driver.put_content("/r", b"abc")
    for offset, expected in [(0, b"abc"), (2, b"c"), (3, b""), (4, b""), (10**12, b"")]:
        with driver.reader("/r", offset) as stream:
            assert stream.read() == expected
    driver.put_content("/empty", b"")
    with driver.reader("/empty", 0) as stream:
        assert stream.read() == b""


def test_readers_are_independent(driver: distfs.StorageDriver) -> None:
    driver.put_content("/ind", b"0123456789")
    first, second = driver.reader("/ind"), driver.reader("/ind")
    assert first.read(3) == b"012"
    assert second.read(3) == b"012"
    first.close()
    second.close()


def test_move_directory_and_parents(driver: distfs.StorageDriver) -> None:
    driver.put_content("/m/a/1", b"1")
    driver.put_content("/m/a/2/3", b"3")
    driver.move("/m/a", "/n/deep/b")
    assert driver.get_content("/n/deep/b/1") == b"1"
    assert driver.get_content("/n/deep/b/2/3") == b"3"
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/m/a")


def test_move_onto_itself_keeps_the_object(driver: distfs.StorageDriver) -> None:
    driver.put_content("/same", b"x")
    driver.move("/same", "/same")
    assert driver.get_content("/same") == b"x"


def test_move_into_itself_is_refused(driver: distfs.StorageDriver) -> None:
    driver.put_content("/in/x", b"x")
    with pytest.raises(distfs.DriverError, match="into itself"):
        driver.move("/in", "/in/deeper")
    assert driver.get_content("/in/x") == b"x"
    assert driver.list("/in") == ["/in/x"]


def test_delete_boundaries(driver: distfs.StorageDriver) -> None:
    for name in ("/b/a", "/b/a/x", "/b/ab", "/b/a-b", "/b/a.b"):
        try:
            driver.put_content(name, b"x")
        except distfs.DriverError:
            assert name == "/b/a/x"  # a file cannot hold children on these drivers
    driver.delete("/b/a")
    assert driver.list("/b") == ["/b/a-b", "/b/a.b", "/b/ab"]


def test_deleting_the_last_entry_empties_the_root(driver: distfs.StorageDriver) -> None:
    driver.put_content("/top/inner/file", b"x")
    driver.delete("/top")
    assert driver.list("/") == []


def test_inmemory_instances_are_isolated() -> None:
    first, second = distfs.create("inmemory"), distfs.create("inmemory")
    first.put_content("/only/here", b"1")
    assert second.list("/") == []
    with pytest.raises(distfs.PathNotFoundError):
        second.get_content("/only/here")


def test_filesystem_keeps_empty_directories(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    driver.put_content("/e/f", b"x")
    driver.delete("/e/f")
    assert driver.list("/e") == []
    assert driver.stat("/e").is_dir


def test_filesystem_creates_its_root(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet"
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    assert driver.list("/") == []
    assert root.is_dir()


def test_filesystem_root_must_be_usable(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("filesystem", {"rootdirectory": str(tmp_path / "file")})
    assert info.value.parameter == "rootdirectory"
    with pytest.raises(distfs.InvalidParameterError):
        distfs.create("filesystem", {"rootdirectory": ""})
    with pytest.raises(distfs.InvalidParameterError):
        distfs.create("filesystem", {"rootdirectory": ["a"]})


def test_filesystem_default_root() -> None:
    from distfs.backends import filesystem

    assert filesystem.DEFAULT_ROOT == "/var/lib/registry"


def test_an_engine_driver_says_where_its_store_lives(tmp_path: Path) -> None:
    """The ``location`` extension (docs/extension.md), found below ``Base`` by ``unwrap()``."""
    below = distfs.create("filesystem", {"rootdirectory": str(tmp_path)}).unwrap()
    assert isinstance(below, ObjectStoreDriver)
    assert below.location == str(tmp_path).strip("/")
    generic = distfs.create("fsspec", {"protocol": "memory", "root": "/location/a/b"}).unwrap()
    assert isinstance(generic, ObjectStoreDriver)
    assert generic.location == "location/a/b"


def test_filesystem_put_leaves_no_temporary_files(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    driver.put_content("/dir/file", b"x")
    os.mkdir(tmp_path / "adir")
    (tmp_path / "adir" / "child").write_bytes(b"c")
    with pytest.raises(distfs.DriverError):
        driver.put_content("/adir", b"over a directory")
    leftovers = [name for _, _, files in os.walk(tmp_path / ".distfs~") for name in files]
    assert leftovers == []
    assert (tmp_path / "adir" / "child").read_bytes() == b"c"


def test_filesystem_sees_other_writers_at_once(tmp_path: Path) -> None:
    params = {"rootdirectory": str(tmp_path)}
    first, second = distfs.create("filesystem", params), distfs.create("filesystem", params)
    assert first.list("/") == []
    second.put_content("/new", b"n")
    assert first.list("/") == ["/new"]
    second.delete("/new")
    assert first.list("/") == []


def test_driver_repr_holds_no_secrets(make_driver: Callable[[str], distfs.StorageDriver]) -> None:
    driver = make_driver("filesystem")
    assert isinstance(driver, Base)
    assert isinstance(driver.inner, ObjectStoreDriver)
    assert "filesystem" in repr(driver)
