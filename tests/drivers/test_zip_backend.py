"""fsspec's ``zip`` filesystem over the fixture zip (tests/zips.py), measured.

What a read-only driver over a zip has to cope with, each behaviour pinned by an assertion
that fails if fsspec changes (then docs/backends-measured.md changes too): names are
relative, directories are implied by member names, ``ls`` of an absolute path lists the
wrong thing, ``info`` is the member's ``ZipInfo`` (a CRC-32, a 2-second timestamp, no
mtime), ranged ``cat_file`` honours the range, and every write is refused, each kind with
a different exception type (some not at all).
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path
from typing import Any

import fsspec
import pytest
from zips import LARGE_SIZE, ZIP_CONTENTS, build_zip, zip_directories


@pytest.fixture(scope="module")
def fs(zip_file: Path) -> Any:
    """fsspec's zip filesystem reading the fixture zip."""
    return fsspec.filesystem("zip", fo=str(zip_file))


def test_the_fixture_holds_what_zips_promises(fs: Any) -> None:
    assert sorted(fs.find("")) == sorted(ZIP_CONTENTS)
    assert fs.cat_file("a/empty") == b""
    assert fs.info("a/empty")["size"] == 0
    assert fs.size("large/blob") == LARGE_SIZE
    assert fs.cat_file("large/blob") == ZIP_CONTENTS["large/blob"]
    assert zip_directories(["a/b/c/x", "y"]) == {"a", "a/b", "a/b/c"}


def test_ls_names_are_relative_and_directories_implied(fs: Any) -> None:
    assert fs.ls("", detail=False) == ["a", "docker", "large", "top.txt"]
    assert fs.ls("/", detail=False) == ["a", "docker", "large", "top.txt"]
    assert fs.ls("a", detail=False) == ["a/b", "a/empty"]
    assert fs.ls("a/", detail=False) == ["a/b", "a/empty"]  # a trailing / is fine
    assert {e["name"]: e["type"] for e in fs.ls("a/b")} == {"a/b/c": "directory", "a/b/sibling.bin": "file"}
    assert fs.ls("a/empty", detail=False) == ["a/empty"]  # ls of a file: the file
    assert sorted(fs.find("", withdirs=True)) == sorted([*ZIP_CONTENTS, *zip_directories(ZIP_CONTENTS)])


def test_ls_of_an_absolute_path_lists_the_wrong_thing(fs: Any) -> None:
    assert fs.ls("/a/b", detail=False) == ["a"]  # not a/b/c, a/b/sibling.bin: strip the / first
    assert fs.ls("/a/b/", detail=False) == ["a"]
    assert fs.info("/top.txt")["name"] == "top.txt"  # info and cat_file strip it
    assert fs.cat_file("/top.txt") == b"0123456789"


def test_info_is_the_members_zipinfo(fs: Any) -> None:
    info = fs.info("a/b/sibling.bin")
    assert (info["name"], info["size"], info["type"]) == ("a/b/sibling.bin", 256, "file")
    assert info["CRC"] == zlib.crc32(ZIP_CONTENTS["a/b/sibling.bin"])  # an identity of the content
    assert info["date_time"] == (2024, 1, 2, 3, 4, 4)  # written as 03:04:05: 2-second steps, no time zone
    assert {"file_size", "compress_size", "compress_type", "header_offset"} <= set(info)
    assert not {"mtime", "etag", "ino", "created"} & set(info)
    with pytest.raises(NotImplementedError):
        fs.modified("top.txt")
    assert fs.info("a/b") == {"name": "a/b", "size": 0, "type": "directory"}  # an implied directory
    assert fs.info("a/b/")["name"] == "a/b"
    assert fs.info("")["type"] == "directory"


def test_directory_entries_and_an_empty_directory(tmp_path: Path) -> None:
    path = build_zip(tmp_path / "dirs.zip", {"a/b/x": b"1", "emptydir/": b""}, directory_entries=True)
    fs = fsspec.filesystem("zip", fo=str(path))
    assert fs.ls("", detail=False) == ["a", "emptydir"]
    assert fs.ls("emptydir", detail=False) == []  # a zip can hold an empty directory
    explicit = fs.info("a/b")
    assert (explicit["name"], explicit["type"], explicit["filename"]) == ("a/b", "directory", "a/b/")
    assert "CRC" in explicit  # an explicit entry's info is its ZipInfo, an implied one's is not
    assert fs.find("") == ["a/b/x"]


def test_ranged_cat_file_returns_the_range(fs: Any) -> None:
    assert fs.cat_file("top.txt", 2, 5) == b"234"
    assert fs.cat_file("top.txt", start=-3) == b"789"
    assert fs.cat_file("top.txt", 8, 100) == b"89"
    blob = ZIP_CONTENTS["large/blob"]
    middle = 4 << 20
    assert fs.cat_file("large/blob", middle, middle + 10) == blob[middle : middle + 10]
    with fs.open("large/blob", "rb") as file:  # zipfile's own reader: seekable, decompresses up to the offset
        file.seek(LARGE_SIZE - 5)
        assert file.read() == blob[-5:]
        assert file.size == LARGE_SIZE


def test_missing_paths_and_paths_below_a_file(fs: Any) -> None:
    for path in ("missing", "a/missing", "top.txt/below"):
        for call in (fs.cat_file, fs.info, fs.ls, fs.open):
            with pytest.raises(FileNotFoundError):
                call(path)
        assert not fs.exists(path)
    with pytest.raises(FileNotFoundError):  # a directory cannot be read
        fs.cat_file("a/b")


def test_writes_are_refused_each_its_own_way(fs: Any, zip_file: Path) -> None:
    before = hashlib.sha256(zip_file.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="requires mode 'w'"):
        fs.pipe_file("new", b"x")
    with pytest.raises(OSError, match="only be open for reading or writing"):
        fs.open("new", "wb")
    with pytest.raises(NotImplementedError):
        fs.rm_file("top.txt")
    with pytest.raises(NotImplementedError):
        fs.mv("top.txt", "moved")
    fs.mkdir("newdir")  # silently does nothing
    fs.makedirs("newdir/deeper")
    assert "newdir" not in fs.ls("", detail=False)
    assert hashlib.sha256(zip_file.read_bytes()).hexdigest() == before
    assert fs.cat_file("top.txt") == b"0123456789"
