"""Reads through distfs:// are fsspec file objects on every driver (issue 26): name, seek/tell, cache chains."""

from __future__ import annotations

import contextlib
import gc
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS
from fsspec.spec import AbstractBufferedFile

pytestmark = NO_LEAKS

CONTENT = bytes(range(256)) * 1000


@pytest.fixture(params=["filesystem", "s3"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "filesystem":
        return {"driver": "filesystem", "rootdirectory": str(tmp_path / "store")}
    return {"driver": "s3", **request.getfixturevalue("s3_parameters")}


def test_open_rb_is_an_fsspec_file(options: dict[str, Any]) -> None:
    fs = fsspec.filesystem("distfs", skip_instance_cache=True, **options)
    fs.pipe("/a/b.bin", CONTENT)
    with fs.open("/a/b.bin", "rb") as stream:
        assert isinstance(stream, AbstractBufferedFile)
        assert (stream.name, stream.path, stream.size) == ("/a/b.bin", "/a/b.bin", len(CONTENT))
        stream.seek(1000)
        assert stream.read(3) == CONTENT[1000:1003]
        assert stream.tell() == 1003
        stream.seek(-2, 2)
        assert stream.read() == CONTENT[-2:]


@contextlib.contextmanager
def fsspec_mmap_leak(cache: str) -> Iterator[None]:
    """fsspec's own MMapCache (``blockcache``) opens its cache file for ``mmap`` and drops it
    unclosed (fsspec 2026.9, ``caching.MMapCache._makefile``) whatever the target filesystem:
    that one ResourceWarning is not distfs's leak, and is ignored (only for that file)."""
    with warnings.catch_warnings():
        if cache == "blockcache":
            cache_file = r"unclosed file <_io\.(BufferedRandom|FileIO) name='[^']*/cache/"
            warnings.filterwarnings("ignore", cache_file, ResourceWarning)
        yield


@pytest.mark.parametrize("cache", ["blockcache", "simplecache", "filecache"])
def test_cache_chains_read_through_distfs(options: dict[str, Any], cache: str, tmp_path: Path) -> None:
    fsspec.filesystem("distfs", skip_instance_cache=True, **options).pipe("/a/b.bin", CONTENT)
    chained = {"distfs": options, cache: {"cache_storage": str(tmp_path / "cache")}}
    with fsspec_mmap_leak(cache), fsspec.open(f"{cache}::distfs:///a/b.bin", "rb", **chained) as stream:
        stream.seek(256 * 10 + 5)
        assert stream.read(4) == CONTENT[2565:2569]
        stream.seek(0)
        assert stream.read() == CONTENT


def test_a_local_file_dropped_unclosed_releases_its_descriptor_quietly(tmp_path: Path) -> None:
    """pyarrow's dataset reader drops the files it opens without closing them. The
    ``filesystem`` driver's file object used to own an ``io.FileIO`` from inside a reference
    cycle (fsspec's cache holds the file's bound fetcher), so the collector could finalize the
    FileIO first: ``ResourceWarning: unclosed file <_io.FileIO name=N>`` (an error here)."""
    fs = fsspec.filesystem("distfs", driver="filesystem", rootdirectory=str(tmp_path), skip_instance_cache=True)
    fs.pipe("/a.bin", CONTENT)
    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):  # the collector finalizes a cycle in no set order: 20 make a wrong order near-certain
        stream = fs.open("/a.bin", "rb")
        assert stream.read(3) == CONTENT[:3]
    del stream
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == before
