"""``StorageDriver.files_matching`` (issue 27): the files at a path and a pattern of names.

The default (one walk skipping what the pattern rules out) and the filesystem's own
(listing only the directories a ``"*"`` stands in, looking the other names up beneath the
root) find the same files as a walk filtered by the pattern, with the same infos; on a
filesystem, links that stay inside the root are followed, links out and dangling ones left
out, and a FIFO named like a blob's data is reported, never opened (a read would block).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

import distfs
from distfs import InvalidPathError, PathNotFoundError, StorageDriver
from distfs.driver import FileInfo
from distfs.registry.layout import BLOBS
from distfs.registry.listing import BLOB_DATA

FILES = [
    f"{BLOBS}/sha256/ab/abcd/data",
    f"{BLOBS}/sha256/ab/abef/data",
    f"{BLOBS}/sha256/ab/abef/other",  # not "data": left out
    f"{BLOBS}/sha256/ab/abef/data2",
    f"{BLOBS}/sha256/cd/cdef/data/deeper",  # "data" a directory: left out, nor what is below it
    f"{BLOBS}/sha256/ef/data",  # too shallow
    f"{BLOBS}/sha512/12/1234/data",
    f"{BLOBS}/top",
    "/elsewhere/sha256/ab/abcd/data",
]


def _expected(driver: StorageDriver, path: str, pattern: Sequence[str]) -> list[tuple[str, int, object, str]]:
    """What a whole walk finds at ``path`` + ``pattern``."""
    found: list[FileInfo] = []
    driver.walk(path, lambda info: None if info.is_dir else found.append(info))
    cut = len(path) + 1
    names = tuple(pattern)

    def fits(info: FileInfo) -> bool:
        parts = info.path[cut:].split("/")
        return len(parts) == len(names) and all(n in ("*", p) for n, p in zip(names, parts, strict=True))

    return _infos([info for info in found if fits(info)])


def _infos(infos: list[FileInfo]) -> list[tuple[str, int, object, str]]:
    return sorted((info.path, info.size, info.mod_time, info.version) for info in infos)


@pytest.fixture(params=["filesystem", "inmemory"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    params = {"rootdirectory": str(tmp_path / "root")} if request.param == "filesystem" else {}
    if request.param == "filesystem":
        (tmp_path / "root").mkdir()
    made = distfs.create(request.param, params)
    for number, path in enumerate(FILES):
        made.put_content(path, b"x" * number)
    return made


@pytest.mark.parametrize(
    "pattern",
    [BLOB_DATA, ("*", "*", "*", "*"), ("sha256", "*", "*", "data"), ("*", "ab", "abef", "*"), ("*",), ("top",)],
)
def test_it_finds_what_a_filtered_walk_finds(driver: StorageDriver, pattern: tuple[str, ...]) -> None:
    found = driver.files_matching(BLOBS, pattern)
    assert _infos(found) == _expected(driver, BLOBS, pattern)
    assert found  # every pattern above matches something
    if pattern == BLOB_DATA:
        assert sorted(info.path for info in found) == [FILES[0], FILES[1], FILES[6]]


def test_from_the_root_and_nothing_matching(driver: StorageDriver) -> None:
    assert _infos(driver.files_matching("/", ("*", "sha256", "*", "*", "data"))) == [
        (FILES[8], 8, driver.stat(FILES[8]).mod_time, driver.stat(FILES[8]).version)
    ]
    assert driver.files_matching(BLOBS, ("nothing", "*")) == []


def test_a_missing_start_and_a_bad_pattern_are_typed_errors(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFoundError) as missing:
        driver.files_matching("/nowhere", BLOB_DATA)
    assert missing.value.driver_name == driver.name
    for pattern in [(), ("a/b",), ("..",), ("*", "a b"), "*", ("*", 3)]:
        with pytest.raises(InvalidPathError) as bad:
            driver.files_matching(BLOBS, pattern)  # type: ignore[arg-type]
        assert bad.value.driver_name == driver.name
        assert BLOBS in str(bad.value)


def test_filesystem_links_and_fifos(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret bytes")
    (outside / "dir").mkdir()
    (outside / "dir" / "data").write_bytes(b"outside data")
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    shard = root / BLOBS[1:] / "sha256" / "ab"
    driver.put_content(f"{BLOBS}/sha256/ab/ab00/data", b"real")
    driver.put_content("/kept/data", b"inside, through a link")
    for name in ("ab01", "ab02", "ab03", "ab04", "ab05"):
        (shard / name).mkdir()
    os.symlink(root / "kept" / "data", shard / "ab01" / "data")  # inside: followed
    os.symlink(outside / "secret", shard / "ab02" / "data")  # out: left out
    os.symlink(shard / "gone", shard / "ab03" / "data")  # dangling: left out
    os.mkfifo(shard / "ab04" / "data")  # reported (it is a file), never opened for reading
    os.symlink("../../../../../../kept", shard / "ab05" / "link")
    os.symlink(outside / "dir", shard / "ab06")  # a blob directory that is a link out: left out
    os.symlink(root / "kept", shard / "ab07")  # one that is a link inside: followed
    done: list[list[FileInfo]] = []
    worker = threading.Thread(target=lambda: done.append(driver.files_matching(BLOBS, BLOB_DATA)), daemon=True)
    worker.start()
    worker.join(10)
    assert done, "files_matching blocked (on the FIFO?)"
    found = {info.path: info for info in done[0]}
    names = sorted(path.split("/")[-2] for path in found)
    assert names == ["ab00", "ab01", "ab04", "ab07"]
    assert found[f"{BLOBS}/sha256/ab/ab01/data"].size == len(b"inside, through a link")
    assert found[f"{BLOBS}/sha256/ab/ab07/data"].size == len(b"inside, through a link")
    assert found[f"{BLOBS}/sha256/ab/ab04/data"].size == 0
    assert _infos(done[0]) == _expected(driver, BLOBS, BLOB_DATA)  # the walk decides the same
