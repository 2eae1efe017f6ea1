"""distfs:// against fsspec's own backends: the same operations on both, the results compared.

``filesystem`` is compared with LocalFileSystem, ``s3`` (moto) with s3fs, ``inmemory`` with
memory://. Paths are compared relative to each side's root; an error is compared by kind
(FileNotFoundError, NotADirectoryError, ... or, where the references themselves disagree, any
OSError). Where LocalFileSystem has no answer of its own (``mv`` of a list or a glob, or into
``dir/`` that does not exist: it writes a file named ``dir``), fsspec's generic semantics
(memory://) are the reference for ``filesystem`` too. Deliberate differences are named in
docs/dataframes.md ("fsspec semantics").
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS
from conftest import new_bucket, s3_parameters_for
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem
from profiles import CLOUD

from distfs.fsspec import DistFileSystem
from distfs.tools.servers import ACCESS_KEY, SECRET_KEY

pytestmark = NO_LEAKS

DRIVERS = ["filesystem", "s3", "inmemory"]
_roots = itertools.count()
#: Error kinds, most specific first.
_KINDS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError, ValueError, OSError)


@dataclass
class Side:
    fs: AbstractFileSystem
    root: str

    def rel(self, value: Any) -> Any:
        """``value`` with this side's root replaced by ``@`` (lists sorted, dicts by key)."""
        if isinstance(value, str):
            return "@" + value[len(self.root) :] if value.startswith(self.root) else value
        if isinstance(value, dict):
            return {self.rel(k): self.rel(v) for k, v in value.items()}
        if isinstance(value, list):
            return sorted(self.rel(v) for v in value)
        return value

    def outcome(self, op: Callable[[AbstractFileSystem, str], Any]) -> Any:
        """What ``op(fs, root)`` returns (root-relative) or the kind of error it raises."""
        try:
            return self.rel(op(self.fs, self.root))
        except _KINDS as exc:
            return next(kind.__name__ for kind in _KINDS if isinstance(exc, kind))


@dataclass
class Pair:
    driver: str
    dist: Side
    ref: Side
    generic: Side  # fsspec's generic semantics where LocalFileSystem has none
    bucket: str = ""  # distfs's bucket (s3)

    def both(self, op: Callable[[AbstractFileSystem, str], Any], generic: bool = False) -> tuple[Any, Any]:
        return self.dist.outcome(op), (self.generic if generic else self.ref).outcome(op)

    def tree(self, files: dict[str, bytes]) -> None:
        for side in (self.dist, self.ref, self.generic):
            side.fs.pipe({f"{side.root}/{name}": data for name, data in files.items()})


@pytest.fixture(params=DRIVERS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    name: str = request.param
    tag = f"t{next(_roots)}"
    memory = MemoryFileSystem(skip_instance_cache=True)
    bucket = ""
    generic = Side(memory, f"/generic-{tag}")
    if name == "filesystem":
        dist = fsspec.filesystem("distfs", driver=name, rootdirectory=str(tmp_path / "dist"), skip_instance_cache=True)
        ref = Side(LocalFileSystem(auto_mkdir=True), str(tmp_path / "ref"))
    elif name == "s3":
        endpoint, admin = request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_admin")
        bucket = new_bucket(admin)
        options = s3_parameters_for(endpoint, bucket)
        dist = fsspec.filesystem("distfs", driver=name, skip_instance_cache=True, **options)
        s3fs = pytest.importorskip("s3fs")
        reference = s3fs.S3FileSystem(
            key=ACCESS_KEY, secret=SECRET_KEY, endpoint_url=endpoint, skip_instance_cache=True
        )
        ref = Side(reference, new_bucket(admin) + "/" + tag)  # s3fs's recursive mv fails: generic is memory://
    else:
        dist = fsspec.filesystem("distfs", driver=name, skip_instance_cache=True)
        ref = generic
    assert isinstance(dist, DistFileSystem)
    yield Pair(name, Side(dist, "/" + tag), ref, generic, bucket)
    for path in list(memory.store):
        if path.startswith(generic.root):
            memory.store.pop(path, None)


def _find(fs: AbstractFileSystem, root: str) -> Any:
    return fs.find(root)


# -- mv ---------------------------------------------------------------------------------


def test_mv_file_into_an_existing_directory(pair: Pair) -> None:
    pair.tree({"a": b"1", "sub/x": b"2"})
    ours, theirs = pair.both(lambda fs, r: (fs.mv(f"{r}/a", f"{r}/sub/"), fs.find(r))[1])
    assert ours == theirs == ["@/sub/a", "@/sub/x"]


def test_mv_file_into_a_new_directory_named_with_a_slash(pair: Pair) -> None:
    pair.tree({"b": b"1"})
    ours, theirs = pair.both(lambda fs, r: (fs.mv(f"{r}/b", f"{r}/nd/"), fs.find(r))[1], generic=True)
    assert ours == theirs == ["@/nd/b"]  # never a file named /nd


def test_mv_of_a_list_and_of_a_glob(pair: Pair) -> None:
    pair.tree({"l1": b"1", "l2": b"2", "g1.csv": b"3", "g2.csv": b"4", "keep.txt": b"5"})

    def op(fs: AbstractFileSystem, r: str) -> Any:
        fs.mv([f"{r}/l1", f"{r}/l2"], f"{r}/ld/")
        fs.mv(f"{r}/g*.csv", f"{r}/gd/")
        return fs.find(r)

    ours, theirs = pair.both(op, generic=True)
    assert ours == theirs == ["@/gd/g1.csv", "@/gd/g2.csv", "@/keep.txt", "@/ld/l1", "@/ld/l2"]


def test_mv_of_a_directory_moves_it_whole(pair: Pair) -> None:
    pair.tree({"sub/a": b"1", "sub/deep/b": b"2", "subway": b"3"})
    op = lambda fs, r: (fs.mv(f"{r}/sub", f"{r}/moved", recursive=True), fs.find(r, withdirs=True))[1]  # noqa: E731
    ours, theirs = pair.both(op, generic=True)
    assert ours == theirs
    assert "@/sub" not in ours
    assert "@/moved/deep/b" in ours
    assert "@/subway" in ours


def test_mv_of_a_missing_source_moves_nothing(pair: Pair) -> None:
    pair.tree({"here": b"1"})
    ours, theirs = pair.both(lambda fs, r: fs.mv(f"{r}/missing", f"{r}/here"))
    assert ours == theirs == "FileNotFoundError"
    assert pair.dist.fs.cat(pair.dist.root + "/here") == b"1"


# -- listing ----------------------------------------------------------------------------


def test_find_with_directories_and_glob(pair: Pair) -> None:
    pair.tree({"d/a.csv": b"1", "d/e/b.csv": b"2", "c.txt": b"3"})
    # s3fs includes the root only with a maxdepth (its own find omits it otherwise)
    for op in (
        lambda fs, r: fs.find(r, withdirs=True, maxdepth=5),
        lambda fs, r: fs.find(r, withdirs=True, maxdepth=1),
        lambda fs, r: fs.find(f"{r}/c.txt", withdirs=True),
        lambda fs, r: fs.find(f"{r}/missing"),
        lambda fs, r: fs.glob(f"{r}/*/*.csv"),
        lambda fs, r: fs.glob(f"{r}/**/*.csv"),
        lambda fs, r: fs.ls(r, detail=False),
        lambda fs, r: fs.ls(f"{r}/c.txt", detail=False),
        lambda fs, r: fs.ls(f"{r}/missing"),
        lambda fs, r: {k: v for k, v in fs.info(f"{r}/d").items() if k in ("name", "type")},
    ):
        ours, theirs = pair.both(op)
        assert ours == theirs
    assert pair.dist.outcome(lambda fs, r: fs.find(r, withdirs=True))[0] == "@"  # the root, as fsspec's find


def test_ls_lists_a_name_that_is_an_object_and_a_prefix_once(pair: Pair, request: pytest.FixtureRequest) -> None:
    if pair.driver != "s3":
        pytest.skip("only an object store holds an object and a prefix of one name")
    fs, bucket = pair.dist.fs, pair.bucket
    admin = request.getfixturevalue("s3_admin")
    admin.put_object(Bucket=bucket, Key=pair.dist.root[1:] + "/x", Body=b"file")
    admin.put_object(Bucket=bucket, Key=pair.dist.root[1:] + "/x/y", Body=b"below")
    entries = fs.ls(pair.dist.root, detail=True)
    assert [e["name"] for e in entries] == [pair.dist.root + "/x"]
    assert entries[0]["type"] == fs.info(pair.dist.root + "/x")["type"] == "file"
    assert fs.ls("/", detail=False) == [pair.dist.root]


# -- directories ------------------------------------------------------------------------


def test_rmdir(pair: Pair) -> None:
    pair.tree({"full/a": b"1", "file": b"2"})
    for op in (
        lambda fs, r: fs.rmdir(f"{r}/missing"),
        lambda fs, r: "raised" if isinstance(_raised(lambda: fs.rmdir(f"{r}/full")), OSError) else "quiet",
        lambda fs, r: "raised" if isinstance(_raised(lambda: fs.rmdir(f"{r}/file")), OSError) else "quiet",
        lambda fs, r: fs.find(r),
    ):
        ours, theirs = pair.both(op)
        assert ours == theirs
    dist = pair.dist
    dist.fs.mkdir(dist.root + "/empty")
    assert dist.fs.isdir(dist.root + "/empty")
    dist.fs.rmdir(dist.root + "/empty")
    assert not dist.fs.exists(dist.root + "/empty")  # today a no-op: it stays


def _raised(call: Callable[[], Any]) -> BaseException | None:
    try:
        call()
    except Exception as exc:
        return exc
    return None


def test_touch(pair: Pair) -> None:
    ours, theirs = pair.both(lambda fs, r: (fs.touch(f"{r}/new", truncate=False), fs.cat(f"{r}/new"))[1])
    assert ours == theirs == b""
    pair.tree({"old": b"abc"})
    ours, theirs = pair.both(lambda fs, r: (fs.touch(f"{r}/old"), fs.cat(f"{r}/old"))[1])
    assert ours == theirs == b""
    pair.tree({"kept": b"abc"})
    if pair.driver == "filesystem":  # s3fs refuses (ValueError), memory:// raises NotImplementedError
        ours, theirs = pair.both(lambda fs, r: (fs.touch(f"{r}/kept", truncate=False), fs.cat(f"{r}/kept"))[1])
        assert ours == theirs == b"abc"
    else:
        pair.dist.fs.touch(pair.dist.root + "/kept", truncate=False)
        assert pair.dist.fs.cat(pair.dist.root + "/kept") == b"abc"


def test_modified_of_a_directory(pair: Pair) -> None:
    pair.tree({"d/a": b"1"})
    ours, theirs = pair.both(lambda fs, r: type(fs.modified(f"{r}/d")).__name__)
    if pair.driver == "filesystem":
        assert ours == theirs == "datetime"
        stamp = pair.dist.fs.modified(pair.dist.root + "/d")
        assert isinstance(stamp, datetime)
        assert stamp.year > 2000
    else:  # s3fs: IsADirectoryError; memory:// FileNotFoundError (a pseudo-directory)
        assert ours == "IsADirectoryError"
        assert theirs in ("IsADirectoryError", "FileNotFoundError")


def test_mkdir_is_remembered_by_the_instance_only(pair: Pair) -> None:
    fs, root = pair.dist.fs, pair.dist.root
    fs.mkdir(f"{root}/made/deeper")
    assert fs.isdir(f"{root}/made")
    assert fs.isdir(f"{root}/made/deeper")
    assert fs.ls(root, detail=False) == [f"{root}/made"]
    assert fs.ls(f"{root}/made/deeper") == []
    assert f"{root}/made/deeper" in fs.find(root, withdirs=True)
    assert asyncio.run(fs._isdir(f"{root}/made"))  # the coroutine twins (zarr, asynchronous=True) too
    other = type(fs)(**fs.storage_options)  # nothing was stored
    assert not other.exists(f"{root}/made")
    fs.pipe(f"{root}/made/deeper/f", b"1")
    fs.rm(f"{root}/made", recursive=True)
    assert not fs.exists(f"{root}/made")
    fs.pipe(f"{root}/file", b"1")
    with pytest.raises(FileExistsError):
        fs.mkdir(f"{root}/file")


def test_duckdb_copy_partition_by(pair: Pair) -> None:
    _copy_partition_by(pair.dist.fs, pair.dist.root)


@pytest.mark.parametrize("driver", [name for name in CLOUD if name not in DRIVERS])
def test_duckdb_copy_partition_by_on_the_other_object_stores(
    driver: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    fs = fsspec.filesystem("distfs", driver=driver, skip_instance_cache=True, **store_parameters(driver))
    _copy_partition_by(fs, "/duck")


def _copy_partition_by(fs: AbstractFileSystem, root: str) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.register_filesystem(fs)
    query = "SELECT i, i % 3 AS part FROM range(30) t(i)"
    con.sql(f"COPY ({query}) TO 'distfs://{root}/out' (FORMAT parquet, PARTITION_BY (part))")
    assert sorted(fs.ls(f"{root}/out", detail=False)) == [f"{root}/out/part={p}" for p in range(3)]
    back = con.sql(f"SELECT count(*), sum(i) FROM read_parquet('distfs://{root}/out/*/*.parquet')").fetchall()
    assert back == [(30, sum(range(30)))]


# -- identity ---------------------------------------------------------------------------


def test_ukey_and_checksum_change_with_a_same_size_rewrite(pair: Pair) -> None:
    def keys(fs: AbstractFileSystem, r: str) -> Any:
        fs.pipe(f"{r}/f", b"aaaa")
        first = (fs.ukey(f"{r}/f"), fs.checksum(f"{r}/f"))
        fs.pipe(f"{r}/f", b"bbbb")
        second = (fs.ukey(f"{r}/f"), fs.checksum(f"{r}/f"))
        return [first[0] != second[0], first[1] != second[1]]

    ours, theirs = pair.both(keys)
    assert ours == [True, True]
    assert ours == theirs or pair.driver == "inmemory"  # memory:// may keep a same-second key


def test_sign_honours_expiration(pair: Pair) -> None:
    if pair.driver != "s3":
        with pytest.raises(NotImplementedError):
            pair.dist.fs.sign(pair.dist.root + "/f")
        return
    pair.tree({"f": b"1"})

    def expires(fs: AbstractFileSystem, r: str) -> Any:
        """Seconds the URL stays valid: SigV4's X-Amz-Expires, or SigV2's Expires (epoch) from now."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(fs.sign(f"{r}/f", expiration=3600)).query)
        if "X-Amz-Expires" in query:
            return int(query["X-Amz-Expires"][0])
        return round((int(query["Expires"][0]) - time.time()) / 60) * 60

    ours, theirs = pair.both(expires)
    assert ours == theirs == 3600  # today 1200 whatever expiration says
    assert re.search(r"X-Amz-Expires=60\b", pair.dist.fs.sign(pair.dist.root + "/f", expiration=60))
