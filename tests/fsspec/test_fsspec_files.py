"""Reads through distfs:// are fsspec file objects on every driver (issue 26): name, seek/tell, cache chains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.spec import AbstractBufferedFile

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


@pytest.mark.parametrize("cache", ["blockcache", "simplecache", "filecache"])
def test_cache_chains_read_through_distfs(options: dict[str, Any], cache: str, tmp_path: Path) -> None:
    fsspec.filesystem("distfs", skip_instance_cache=True, **options).pipe("/a/b.bin", CONTENT)
    chained = {"distfs": options, cache: {"cache_storage": str(tmp_path / "cache")}}
    with fsspec.open(f"{cache}::distfs:///a/b.bin", "rb", **chained) as stream:
        stream.seek(256 * 10 + 5)
        assert stream.read(4) == CONTENT[2565:2569]
        stream.seek(0)
        assert stream.read() == CONTENT
