"""distfs:// on s3 (moto) moves what is read, lists in one listing, writes small files in one request.

Requests and bytes are counted on each client's own botocore event hooks
(:class:`distfs.tools.fetching.Meter`), on distfs's client and on an s3fs client of the same
server, so each figure is compared with s3fs's where the issue asks (docs/performance.md,
"fsspec face: requests and bytes moved").
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS
from conftest import new_bucket, s3_parameters_for

from distfs.fsspec import DistFileSystem
from distfs.tools.delayproxy import DelayProxy
from distfs.tools.fetching import Meter, duckdb_count_bytes, footer_bytes, metered, s3fs_for

pytestmark = NO_LEAKS

pytest.importorskip("s3fs")


@dataclass
class Sides:
    ours: DistFileSystem
    theirs: Any  # s3fs.S3FileSystem
    root: str  # s3fs's bucket; ours is its own bucket's root
    our_meter: Meter
    their_meter: Meter


@pytest.fixture
def sides(s3_endpoint: str, s3_admin: Any) -> Sides:
    parameters = s3_parameters_for(s3_endpoint, new_bucket(s3_admin))
    ours = fsspec.filesystem("distfs", driver="s3", skip_instance_cache=True, **parameters)
    assert isinstance(ours, DistFileSystem)
    theirs = s3fs_for(parameters)
    root = new_bucket(s3_admin)
    our_meter, their_meter = metered(ours, theirs)
    return Sides(ours, theirs, root, our_meter, their_meter)


def test_open_fetches_nothing_and_each_fetch_is_one_block(sides: Sides) -> None:
    data = os.urandom(3 << 20)
    sides.ours.pipe("/big", data)
    sides.our_meter.reset()
    with sides.ours.open("/big", "rb", block_size=1 << 20) as f:
        assert sides.our_meter.calls["GetObject"] == 0  # today 10 MiB here
        f.seek(-8, os.SEEK_END)
        assert f.read(8) == data[-8:]
        assert sides.our_meter.got == [8]
        f.seek(0)
        assert b"".join(iter(lambda: f.read(256 << 10), b"")) == data
    # readahead: a fetch is the bytes asked for and at most one block more, never a fixed 10 MiB
    assert max(sides.our_meter.got) <= (256 << 10) + (1 << 20)
    assert sum(sides.our_meter.got) <= len(data) + 8
    sides.our_meter.reset()
    with sides.ours.open("/big", "rb", block_size=1 << 20, cache_type="none") as f:
        f.seek(100)
        assert f.read(10) == data[100:110]
    assert sides.our_meter.got == [10]


def test_a_read_stays_on_the_version_opened(sides: Sides) -> None:
    """Kept: a block fetched after the object was replaced is an error, never the new bytes."""
    sides.ours.pipe("/v", b"a" * 1000)
    with sides.ours.open("/v", "rb", block_size=100, cache_type="none") as f:
        assert f.read(10) == b"a" * 10
        sides.ours.pipe("/v", b"b" * 1000)  # same size, another version
        with pytest.raises(OSError, match="changed"):
            f.read(10)


def test_parquet_footer_moves_what_s3fs_moves(sides: Sides) -> None:
    pytest.importorskip("pyarrow")
    moved, reference, size = footer_bytes(sides.ours, sides.theirs, sides.root)
    assert 0 < moved <= 1.2 * reference, (moved, reference, size)  # today the whole read block (the file here)
    pytest.importorskip("duckdb")
    moved, reference = duckdb_count_bytes(sides.ours, sides.theirs, sides.root)
    assert 0 < moved <= 1.2 * reference, (moved, reference, size)


def _partitions(fs: Any, root: str, partitions: int, files: int) -> None:
    fs.pipe({f"{root}/part={p}/f{i:04}.parquet": b"x" for p in range(partitions) for i in range(files)})


def test_listing_a_partitioned_prefix_costs_what_s3fs_pays(sides: Sides) -> None:
    _partitions(sides.ours, "/data", 8, 30)
    _partitions(sides.theirs, f"{sides.root}/data", 8, 30)
    for ours, theirs in (
        (lambda fs: fs.ls("/data"), lambda fs: fs.ls(f"{sides.root}/data")),
        (lambda fs: fs.find("/data"), lambda fs: fs.find(f"{sides.root}/data")),
        (lambda fs: fs.glob("/data/part=*/*.parquet"), lambda fs: fs.glob(f"{sides.root}/data/part=*/*.parquet")),
    ):
        sides.our_meter.reset()
        sides.their_meter.reset()
        sides.theirs.invalidate_cache()
        assert len(ours(sides.ours)) == len(theirs(sides.theirs))
        assert sum(sides.our_meter.calls.values()) <= sum(sides.their_meter.calls.values()), (
            sides.our_meter.calls,
            sides.their_meter.calls,
        )
    sides.our_meter.reset()
    assert len(sides.ours.ls("/data")) == 8
    assert sides.our_meter.calls == Counter({"ListObjectsV2": 1})  # today one request per partition


def test_a_small_file_written_is_one_request(sides: Sides) -> None:
    sides.our_meter.reset()
    with sides.ours.open("/small", "wb") as f:
        f.write(b"hello")
    assert sides.our_meter.calls == Counter({"PutObject": 1})  # today journal, put, journal delete
    assert sides.ours.cat("/small") == b"hello"


def test_cp_copies_inside_the_store(sides: Sides) -> None:
    data = os.urandom(1 << 20)
    sides.ours.pipe("/src", data)
    sides.our_meter.reset()
    sides.ours.cp("/src", "/dst")
    assert sides.our_meter.calls["GetObject"] == 0  # today the bytes pass through the client
    assert sides.our_meter.calls["CopyObject"] == 1
    assert sides.ours.cat("/dst") == data


def test_batch_calls_hold_more_requests_than_botocore_default_pool(s3_endpoint: str, s3_admin: Any) -> None:
    parameters = s3_parameters_for(s3_endpoint, new_bucket(s3_admin))
    with DelayProxy(s3_endpoint, 0.05) as proxy:
        fs = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": proxy.endpoint})
        names = [f"/batch/f{i:02}" for i in range(64)]
        fs.pipe(dict.fromkeys(names, b"x" * 100))
        proxy.peak = 0
        assert set(fs.cat(names).values()) == {b"x" * 100}
        assert proxy.peak >= 32  # today botocore's 10 connections


def test_append_continues_the_object_inside_the_store(sides: Sides) -> None:
    data = os.urandom(6 << 20)  # above s3's smallest part: the store copies it
    sides.ours.pipe("/log", data)
    sides.our_meter.reset()
    with sides.ours.open("/log", "ab") as f:
        f.write(b"tail")
    # today all 6 MiB pass through the client; now the store copies whole parts (5 MiB here)
    # and only the remainder below a part's size is read back to continue the upload
    assert sides.our_meter.calls["UploadPartCopy"] >= 1
    assert sum(sides.our_meter.got) <= len(data) - (5 << 20)
    assert sides.ours.cat("/log") == data + b"tail"
    with sides.ours.open("/new-log", "ab") as f:
        f.write(b"first")
    assert sides.ours.cat("/new-log") == b"first"
