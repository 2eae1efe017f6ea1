"""``distfs::<url>``: distfs's guarantees over a user's own fsspec URL (fsspec's URL chaining).

Each target is real: s3fs on moto (the conftest fixtures), the local filesystem below the
test's directory, fsspec's memory filesystem. What the chained URL writes is checked with
the plain filesystem of the same URL: the object lands at the key the plain URL names.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import fsspec
import pytest
from cases import NO_LEAKS
from conftest import new_bucket, write_then_fail

from distfs.errors import InvalidParameterError, InvalidPathError, PathNotFoundError, UnsupportedMethodError
from distfs.fsspec import DistFileSystem
from distfs.tools.servers import ACCESS_KEY, SECRET_KEY

pytestmark = NO_LEAKS


@dataclass
class Target:
    """A chained URL's target: its protocol, its options, a base of names, the plain filesystem."""

    protocol: str
    options: dict[str, Any]
    base: str  # a name in the target, below which the test writes (bucket/prefix, directory)
    plain: Any
    distfs: dict[str, Any]  # options of the distfs layer

    def url(self, name: str) -> str:
        return f"distfs::{self.protocol}://{self.base}/{name}"

    def kwargs(self) -> dict[str, Any]:
        """``fsspec.open``'s keywords: each layer's options under its protocol name."""
        return {self.protocol: self.options, "distfs": self.distfs}

    def name(self, name: str) -> str:
        return f"{self.base}/{name}"


def s3_options(endpoint: str) -> dict[str, Any]:
    """s3fs options as a user writes them (nothing distfs-specific)."""
    return {
        "endpoint_url": endpoint,
        "key": ACCESS_KEY,
        "secret": SECRET_KEY,
        "client_kwargs": {"region_name": "us-east-1"},
    }


@pytest.fixture(params=["s3", "file", "memory"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "s3":
        bucket: str = request.getfixturevalue("s3_bucket")
        options = s3_options(request.getfixturevalue("s3_endpoint"))
        yield Target("s3", options, f"{bucket}/pre", fsspec.filesystem("s3", **options), {})
    elif request.param == "file":
        # The default root (the first path component) would be /tmp: the test's directory instead.
        yield Target("file", {}, str(tmp_path), fsspec.filesystem("file"), {"root": str(tmp_path)})
    else:
        bucket = f"chain-{tmp_path.name}"
        memory = fsspec.filesystem("memory")
        yield Target("memory", {}, f"/{bucket}", memory, {})
        memory.rm(f"/{bucket}", recursive=True)


def test_chained_write_lands_at_the_plain_key(target: Target) -> None:
    with fsspec.open(target.url("year=2024/a b.csv"), "wb", **target.kwargs()) as f:
        f.write(b"a,b\n1,2\n")
    assert target.plain.cat_file(target.name("year=2024/a b.csv")) == b"a,b\n1,2\n"
    with fsspec.open(target.url("year=2024/a b.csv"), "rb", **target.kwargs()) as f:
        assert f.read() == b"a,b\n1,2\n"

    fs, path = fsspec.core.url_to_fs(target.url("year=2024/a b.csv"), **target.kwargs())
    assert isinstance(fs, DistFileSystem)
    assert path == target.name("year=2024/a b.csv")
    assert fs.ls(target.name("year=2024"), detail=False) == [target.name("year=2024/a b.csv")]
    assert fs.info(target.name("year=2024"))["type"] == "directory"
    assert fs.glob(target.name("*/*.csv")) == [target.name("year=2024/a b.csv")]
    # distfs's own state is hidden: the listing is the user's objects only
    assert fs.find(target.base) == [target.name("year=2024/a b.csv")]
    fs.pipe(target.name("b.bin"), b"bee")
    assert target.plain.cat_file(target.name("b.bin")) == b"bee"
    assert fs.cat([target.name("b.bin"), target.name("year=2024/a b.csv")]) == {
        target.name("b.bin"): b"bee",
        target.name("year=2024/a b.csv"): b"a,b\n1,2\n",
    }
    fs.rm(target.name("b.bin"))
    assert not target.plain.exists(target.name("b.bin"))
    with pytest.raises(FileNotFoundError) as missing:
        fs.info(target.name("b.bin"))
    assert isinstance(missing.value, PathNotFoundError)
    assert missing.value.path == target.name("b.bin")  # the caller's name, not the driver path


def test_fsspec_semantics_take_and_give_the_targets_names(target: Target) -> None:
    """mkdir, ls, find, mv, cp, "ab", open, info, touch, rm, rmdir and sign of a chained URL:
    each takes the target's names (``bucket/pre/...``) and lists them back."""
    fs, _ = fsspec.core.url_to_fs(target.url("a.bin"), **target.kwargs())
    n = target.name
    fs.pipe(n("a.bin"), b"abc")
    fs.mkdir(n("made/sub"))  # remembered by the instance
    assert fs.isdir(n("made/sub"))
    assert fs.ls(target.base, detail=False) == [n("a.bin"), n("made")]
    assert fs.find(n("made"), withdirs=True) == [n("made"), n("made/sub")]
    fs.mv(n("a.bin"), n("made/sub/"))  # into the directory
    assert target.plain.cat_file(n("made/sub/a.bin")) == b"abc"
    assert not target.plain.exists(n("a.bin"))
    fs.cp_file(n("made/sub/a.bin"), n("copy.bin"))
    with fs.open(n("copy.bin"), "ab") as f:
        f.write(b"def")
    assert target.plain.cat_file(n("copy.bin")) == b"abcdef"
    with fs.open(n("copy.bin"), "rb") as f:
        assert (f.path, f.read()) == (n("copy.bin"), b"abcdef")
    info = fs.info(n("copy.bin"))
    assert info["name"] == n("copy.bin")
    fs.touch(n("copy.bin"), truncate=False)  # existing: left as it is
    assert fs.cat_file(n("copy.bin")) == b"abcdef"
    fs.rm(n("made/sub/a.bin"))
    assert fs.ls(n("made/sub"), detail=False) == []  # the emptied directory stays on the instance
    fs.rmdir(n("made/sub"))
    assert not fs.exists(n("made/sub"))
    with pytest.raises(FileNotFoundError) as missing:
        fs.mv(n("nothing.bin"), n("made/"))
    assert isinstance(missing.value, PathNotFoundError)
    assert missing.value.path == n("nothing.bin")  # the caller's name; nothing moved
    if target.protocol == "s3":
        assert info["version"]  # the ETag: ukey and checksum follow the content
        url = urlsplit(fs.sign(n("copy.bin"), expiration=60))
        assert url.path == "/" + n("copy.bin")  # the object the name names
        query = parse_qs(url.query)
        expires = int(query["Expires"][0]) - time.time() if "Expires" in query else int(query["X-Amz-Expires"][0])
        assert 30 < expires <= 61  # expiration honoured, not the driver's default


def test_chained_filesystem_pickles_and_rebuilds(target: Target) -> None:
    fs, path = fsspec.core.url_to_fs(target.url("p.bin"), **target.kwargs())
    fs.pipe(path, b"pickled")
    again = pickle.loads(pickle.dumps(fs))
    assert isinstance(again, DistFileSystem)
    assert again.cat_file(path) == b"pickled"
    if target.protocol != "memory":  # another process (a dask worker) rebuilds it from its root and options
        script = "import pickle, sys; fs, path = pickle.load(sys.stdin.buffer); print(fs.cat_file(path).decode())"
        blob = pickle.dumps((fs, path))
        result = subprocess.run([sys.executable, "-c", script], input=blob, capture_output=True, check=True)
        assert result.stdout.decode().strip() == "pickled"


def test_a_with_block_that_raises_publishes_nothing(target: Target) -> None:
    name = target.name("kept.txt")
    target.plain.pipe_file(name, b"old")
    for mode, data, extra in (("wb", b"new", {}), ("w", "new", {}), ("wb", b"new", {"compression": "gzip"})):
        with pytest.raises(RuntimeError):
            write_then_fail(fsspec.open(target.url("kept.txt"), mode, **extra, **target.kwargs()), data)
        assert target.plain.cat_file(name) == b"old", (mode, extra)
    with pytest.raises(RuntimeError):
        write_then_fail(fsspec.open(target.url("never.txt"), "w", **target.kwargs()), "partial")
    assert not target.plain.exists(target.name("never.txt"))
    with fsspec.open(target.url("kept.txt"), "w", **target.kwargs()) as f:
        f.write("new")
    assert target.plain.cat_file(name) == b"new"


def test_pandas_parquet_and_csv_through_a_chained_s3_url(s3_endpoint: str, s3_bucket: str) -> None:
    import pandas as pd

    options = {"s3": s3_options(s3_endpoint)}
    plain = fsspec.filesystem("s3", **options["s3"])
    frame = pd.DataFrame({"year": [2023, 2024, 2024], "value": [1.5, 2.5, 3.5]})
    frame.to_parquet(f"distfs::s3://{s3_bucket}/t/values.parquet", storage_options=options)
    assert plain.exists(f"{s3_bucket}/t/values.parquet")
    back = pd.read_parquet(f"distfs::s3://{s3_bucket}/t/values.parquet", storage_options=options)
    assert back.equals(frame)
    frame.to_csv(f"distfs::s3://{s3_bucket}/t/values.csv", index=False, storage_options=options)
    assert plain.cat_file(f"{s3_bucket}/t/values.csv") == b"year,value\n2023,1.5\n2024,2.5\n2024,3.5\n"
    assert pd.read_csv(f"distfs::s3://{s3_bucket}/t/values.csv", storage_options=options).equals(frame)
    frame.to_parquet(f"distfs::s3://{s3_bucket}/by_year", partition_cols=["year"], storage_options=options)
    assert sorted(plain.ls(f"{s3_bucket}/by_year")) == [
        f"{s3_bucket}/by_year/year=2023",
        f"{s3_bucket}/by_year/year=2024",
    ]
    whole = pd.read_parquet(f"distfs::s3://{s3_bucket}/by_year", storage_options=options)
    assert sorted(whole["value"].tolist()) == [1.5, 2.5, 3.5]


def test_a_failing_pandas_export_publishes_nothing(s3_endpoint: str, s3_bucket: str) -> None:
    import pandas as pd

    options = {"s3": s3_options(s3_endpoint)}
    plain = fsspec.filesystem("s3", **options["s3"])
    plain.pipe_file(f"{s3_bucket}/t.csv", b"old\n")

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("cannot format this cell")

    frame = pd.DataFrame({"a": [1] * 1000 + [Unprintable()]})  # type: ignore[list-item]
    with pytest.raises(RuntimeError):
        frame.to_csv(f"distfs::s3://{s3_bucket}/t.csv", storage_options=options)
    assert plain.cat_file(f"{s3_bucket}/t.csv") == b"old\n"


def test_dask_reads_a_chained_glob(s3_endpoint: str, s3_bucket: str) -> None:
    import dask.dataframe as dd

    options = s3_options(s3_endpoint)
    plain = fsspec.filesystem("s3", **options)
    for index in range(3):
        plain.pipe_file(f"{s3_bucket}/csv/part-{index}.csv", f"a,b\n{index},{index * 10}\n".encode())
    frame = dd.read_csv(f"distfs::s3://{s3_bucket}/csv/part-*.csv", storage_options={"s3": options})
    assert sorted(frame["b"].compute(scheduler="sync").tolist()) == [0, 10, 20]


def test_bad_target_options_name_the_option_never_its_value(s3_endpoint: str, s3_bucket: str) -> None:
    secret = "do-not-show-this-value"
    with pytest.raises(InvalidParameterError) as caught:
        fsspec.open(f"distfs::s3://{s3_bucket}/k", "wb", s3={"endpoint_uri": secret}).open()
    assert caught.value.parameter == "s3.endpoint_uri"
    assert secret not in str(caught.value)
    with pytest.raises(InvalidParameterError) as caught:
        fsspec.open("distfs::memory://bucket/k", "wb", memory={"bogus": secret}).open()
    assert caught.value.parameter == "memory.bogus"
    assert secret not in str(caught.value)
    with pytest.raises(InvalidParameterError) as caught:
        fsspec.open("distfs::memory://bucket/k", "wb", distfs={"driver": "inmemory"}).open()
    assert caught.value.parameter == "driver"


def test_instances_are_cached_by_root_and_options(s3_endpoint: str, s3_bucket: str, s3_admin: Any) -> None:
    options = s3_options(s3_endpoint)
    one, _ = fsspec.core.url_to_fs(f"distfs::s3://{s3_bucket}/a/x", s3=options)
    same, _ = fsspec.core.url_to_fs(f"distfs::s3://{s3_bucket}/b/y", s3=options)
    assert same is one  # every key of a bucket shares one filesystem
    other_options, _ = fsspec.core.url_to_fs(
        f"distfs::s3://{s3_bucket}/a/x", s3={**options, "default_block_size": 6 << 20}
    )
    assert other_options is not one
    other_bucket = new_bucket(s3_admin)
    elsewhere, _ = fsspec.core.url_to_fs(f"distfs::s3://{other_bucket}/a/x", s3=options)
    assert elsewhere is not one
    with pytest.raises(InvalidPathError) as caught:
        one.pipe_file(f"{other_bucket}/a/x", b"wrong bucket")
    assert f"{other_bucket}/a/x" in str(caught.value)
    assert not fsspec.filesystem("s3", **options).exists(f"{other_bucket}/a/x")
    assert ACCESS_KEY not in repr(one)
    assert SECRET_KEY not in repr(one)


def test_any_protocol_after_the_chain_gets_the_generic_store(tmp_path: Path) -> None:
    """A zip archive (fsspec's ``zip``, read-only): reads and listings work, writes are refused."""
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as archive:
        archive.writestr("inner/a.txt", "hello")
        archive.writestr("inner/sub/b.txt", "bee")
    url = f"distfs::zip://inner/a.txt::file://{tmp_path}/x.zip"
    with fsspec.open(url, "rb") as f:
        assert f.read() == b"hello"
    fs, path = fsspec.core.url_to_fs(url)
    assert fs.driver.name == "fsspec+zip"
    assert path == "inner/a.txt"
    assert fs.find("inner") == ["inner/a.txt", "inner/sub/b.txt"]
    with pytest.raises(UnsupportedMethodError) as refused:
        fs.pipe_file(path, b"x")
    assert "fsspec+zip" in str(refused.value)
    assert fs.cat_file(path) == b"hello"
