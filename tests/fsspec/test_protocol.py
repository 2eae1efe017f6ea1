"""distfs:// through fsspec, pandas, dask, pyarrow and UPath (entry points, no imports)."""

from __future__ import annotations

import bz2
import gzip
import pickle
import subprocess
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS
from conftest import write_then_fail

import distfs
from distfs.protocol import DistFileSystem

pytestmark = NO_LEAKS


@pytest.fixture(params=["inmemory", "filesystem", "s3"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Storage options of each driver, with portable paths (for hive partitions)."""
    name: str = request.param
    if name == "filesystem":
        return {"driver": name, "rootdirectory": str(tmp_path / "store"), "paths": "portable"}
    if name == "s3":
        return {"driver": name, **request.getfixturevalue("s3_parameters"), "paths": "portable"}
    # fsspec caches instances by their arguments, so pandas and the test share one store;
    # clearing the cache gives each test a store of its own.
    DistFileSystem.clear_instance_cache()
    return {"driver": name, "paths": "portable"}


@pytest.fixture
def fs(options: dict[str, Any]) -> DistFileSystem:
    filesystem = fsspec.filesystem("distfs", **options)
    assert isinstance(filesystem, DistFileSystem)
    return filesystem


def test_entry_point_registers_the_protocol() -> None:
    assert fsspec.get_filesystem_class("distfs") is DistFileSystem
    from upath import UPath

    from distfs.upath import DistPath

    assert isinstance(UPath("distfs:///a", driver="inmemory"), DistPath)


def test_urls_map_to_driver_paths() -> None:
    for url in ("distfs:///a/b.csv", "distfs://a/b.csv", "/a/b.csv", "a/b.csv/"):
        assert DistFileSystem._strip_protocol(url) == "/a/b.csv"
    # The bare protocol is no path at all, as fsspec's URL chaining needs (distfs::s3://...);
    # every method takes it as the root.
    assert DistFileSystem._strip_protocol("distfs://") == ""
    assert DistFileSystem._strip_protocol("distfs:///") == "/"


def test_listing_and_info(fs: DistFileSystem) -> None:
    fs.pipe("/d/x.bin", b"12345")
    fs.pipe("/d/sub/y.bin", b"1")
    assert fs.ls("/d", detail=False) == ["/d/sub", "/d/x.bin"]
    assert fs.ls("distfs://", detail=False) == ["/d"]  # the bare URL is the root
    info = fs.info("/d/x.bin")
    assert (info["name"], info["size"], info["type"]) == ("/d/x.bin", 5, "file")
    assert info["mtime"].tzinfo is UTC
    directory = fs.info("/d/sub")
    assert (directory["size"], directory["type"]) == (0, "directory")
    assert fs.ls("/d/x.bin", detail=False) == ["/d/x.bin"]
    assert fs.find("/d") == ["/d/sub/y.bin", "/d/x.bin"]
    # with the directory itself, as fsspec's own filesystems find (the root is not listed)
    assert fs.find("/d", withdirs=True, maxdepth=1) == ["/d", "/d/sub", "/d/x.bin"]
    assert fs.find("/", withdirs=True) == ["/d", "/d/sub", "/d/sub/y.bin", "/d/x.bin"]
    assert fs.modified("/d/x.bin") == fs.created("/d/x.bin")
    with pytest.raises(FileNotFoundError):
        fs.info("/nope")
    with pytest.raises(FileNotFoundError):
        fs.ls("/nope")


def test_read_ranges_and_cat(fs: DistFileSystem) -> None:
    data = bytes(range(256)) * 1000
    fs.pipe("/r", data)
    assert fs.cat_file("/r", 10, 20) == data[10:20]
    assert fs.cat_file("/r", -5) == data[-5:]
    assert fs.cat_file("/r", 250_000, 10**9) == data[250_000:]
    assert fs.cat_file("/r", 10**9) == b""
    with fs.open("/r", "rb", block_size=1000) as stream:
        stream.seek(123_456)
        assert stream.read(100) == data[123_456:123_556]
        stream.seek(len(data) - 3)
        assert stream.read(100) == data[-3:]


def test_writes_commit_on_close_and_cancel_on_error(fs: DistFileSystem) -> None:
    with fs.open("/w/ok.bin", "wb", block_size=5 << 20) as stream:
        for _ in range(3):
            stream.write(b"x" * (3 << 20))
    assert fs.info("/w/ok.bin")["size"] == 9 << 20

    def failing_write() -> None:
        with fs.open("/w/partial.bin", "wb") as stream:
            stream.write(b"half of it")
            raise RuntimeError("the producer failed")

    with pytest.raises(RuntimeError):
        failing_write()
    assert not fs.exists("/w/partial.bin")
    assert fs.ls("/w", detail=False) == ["/w/ok.bin"]
    with fs.open("/w/ok.bin", "ab") as stream:
        stream.write(b"yz")
    assert fs.info("/w/ok.bin")["size"] == (9 << 20) + 2
    with pytest.raises(FileExistsError):
        fs.open("/w/ok.bin", "xb")


def test_copy_move_remove(fs: DistFileSystem) -> None:
    fs.pipe({"/t/a": b"a", "/t/b/c": b"c"})
    fs.cp_file("/t/a", "/u/a2")
    fs.copy("/t/b", "/u/b", recursive=True)
    assert fs.cat("/u/b/c") == b"c"
    fs.mv("/u/a2", "/u/a3")
    assert not fs.exists("/u/a2")
    assert fs.cat("/u/a3") == b"a"
    with pytest.raises(IsADirectoryError):
        fs.rm_file("/t/b")
    fs.rm("/t", recursive=True)
    assert not fs.exists("/t")
    with pytest.raises(FileNotFoundError):
        fs.rm("/t", recursive=True)
    fs.mkdir("/empty/dir")
    fs.makedirs("/empty/dir", exist_ok=True)


def test_errors_are_builtins(fs: DistFileSystem, options: dict[str, Any]) -> None:
    with pytest.raises(FileNotFoundError):
        fs.cat("/missing")
    with pytest.raises(ValueError, match="invalid path"):
        fs.cat("/a/../b")
    if options["driver"] != "s3":  # s3 signs (test_sign_is_redirect_url)
        with pytest.raises(NotImplementedError):
            fs.sign("/anything")


def test_sign_is_redirect_url(s3_parameters: dict[str, Any]) -> None:
    fs = fsspec.filesystem("distfs", driver="s3", **s3_parameters)
    fs.pipe("/signed", b"s")
    url = fs.sign("/signed")
    assert "X-Amz-Signature=" in url


def test_paths_parameter() -> None:
    registry = distfs.create("inmemory")
    with pytest.raises(distfs.InvalidPathError):
        registry.put_content("/year=2024/part 1.csv", b"")
    portable = distfs.create("inmemory", {"paths": "portable"})
    for path in ("/year=2024/part 1.csv", "/données/ünï.txt", "/a~b/c*d"):
        portable.put_content(path, b"x")
        assert portable.get_content(path) == b"x"
    for bad in ("/a\x01b", "/a/../b", "/.", "/x/.distfs~", "//a", "/a/", "/a\udcff"):
        with pytest.raises(distfs.InvalidPathError):
            portable.put_content(bad, b"")
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("inmemory", {"paths": "lax"})
    assert info.value.parameter == "paths"


def test_pickle_rebuilds_in_another_process(fs: DistFileSystem, options: dict[str, Any]) -> None:
    if options["driver"] == "inmemory":
        pytest.skip("an inmemory store lives in one process only")
    fs.pipe("/shared.txt", b"visible everywhere")
    blob = pickle.dumps(fs)
    script = "import pickle, sys; fs = pickle.loads(sys.stdin.buffer.read()); print(fs.cat('/shared.txt').decode())"
    result = subprocess.run([sys.executable, "-c", script], input=blob, capture_output=True, check=True)
    assert result.stdout.decode().strip() == "visible everywhere"


def close_while_failing(stream: Any) -> None:
    """Write, fail, and close ``stream`` in the ``finally`` clause."""
    try:
        stream.write(b"new")
        raise RuntimeError("the producer failed")
    finally:
        stream.close()


def test_a_failed_block_publishes_nothing(options: dict[str, Any], fs: DistFileSystem) -> None:
    """fsspec's OpenFile closes its file, and the text or gzip wrapper, without the exception."""
    fs.pipe("/kept", b"old")
    for mode, data, extra in (("wb", b"new", {}), ("w", "new", {}), ("wb", b"new", {"compression": "gzip"})):
        with pytest.raises(RuntimeError):
            write_then_fail(fsspec.open("distfs:///kept", mode, **extra, **options), data)
        assert fs.cat_file("/kept") == b"old", (mode, extra)
    with pytest.raises(RuntimeError):
        close_while_failing(fs.open("/kept", "wb"))  # closed while the failure is handled
    assert fs.cat_file("/kept") == b"old"


def test_compressed_and_text_files_publish_on_close(fs: DistFileSystem) -> None:
    """The codec closes the distfs file under it: published on close, discarded on a failure."""
    with fs.open("/z.gz", "wb", compression="gzip") as f:
        f.write(b"zipped" * 100)
    assert gzip.decompress(fs.cat_file("/z.gz")) == b"zipped" * 100
    with fs.open("/z.bz2", "wt", compression="infer", encoding="utf-8") as text:
        text.write("text é")
    assert bz2.decompress(fs.cat_file("/z.bz2")) == "text é".encode()
    with fs.open("/z.gz", "rb", compression="gzip") as f:
        assert f.read() == b"zipped" * 100
    with fs.open("/z.bz2", "rt", compression="bz2", encoding="utf-8") as text:
        assert text.read() == "text é"
    with pytest.raises(RuntimeError):
        write_then_fail(fs.open("/z.gz", "wb", compression="gzip"), b"new")
    assert gzip.decompress(fs.cat_file("/z.gz")) == b"zipped" * 100


def test_mv_into_a_directory_of_a_list_and_of_a_glob(fs: DistFileSystem) -> None:
    """As fsspec's own filesystems: ``"dir/"`` is below it; lists and globs move every file."""
    fs.pipe({"/a": b"a", "/x": b"x", "/y": b"y", "/g1.txt": b"1", "/g2.txt": b"2", "/d/e": b"e"})
    fs.mv("/a", "/dir/")
    fs.mv(["/x", "/y"], "/listed/")
    fs.mv("/g*.txt", "/globbed/")
    fs.mv("/dir/a", "/d")  # an existing directory: below it
    assert fs.find("/") == ["/d/a", "/d/e", "/globbed/g1.txt", "/globbed/g2.txt", "/listed/x", "/listed/y"]
    assert fs.cat(["/d/a", "/listed/y", "/globbed/g2.txt"]) == {
        "/d/a": b"a",
        "/listed/y": b"y",
        "/globbed/g2.txt": b"2",
    }
    fs.mv("/d/e", "/renamed")
    assert fs.cat_file("/renamed") == b"e"
    with pytest.raises(FileNotFoundError):
        fs.mv("/missing", "/anywhere")


def test_touch(fs: DistFileSystem) -> None:
    fs.touch("/new", truncate=False)  # missing: created empty
    assert fs.cat_file("/new") == b""
    fs.pipe("/full", b"data")
    fs.touch("/full", truncate=False)  # existing: left as it is (as fsspec's own backends)
    assert fs.cat_file("/full") == b"data"
    fs.touch("/full")
    assert fs.cat_file("/full") == b""


def test_a_transaction_publishes_no_failed_or_unclosed_file(fs: DistFileSystem) -> None:
    fs.pipe({"/failed": b"old", "/unclosed": b"old"})
    with fs.transaction:
        with pytest.raises(RuntimeError):
            write_then_fail(fs.open("/failed", "wb"), b"new")
        unclosed = fs.open("/unclosed", "wb")
        unclosed.write(b"new")
        with fs.open("/written", "wb") as written:
            written.write(b"new")
    assert fs.cat(["/failed", "/unclosed", "/written"]) == {"/failed": b"old", "/unclosed": b"old", "/written": b"new"}


def test_pandas_csv_and_partitioned_parquet(options: dict[str, Any]) -> None:
    import pandas as pd

    frame = pd.DataFrame({"year": [2023, 2024, 2024], "value": [1.5, 2.5, 3.5]})
    frame.to_csv("distfs:///tables/values.csv", index=False, storage_options=options)
    assert pd.read_csv("distfs:///tables/values.csv", storage_options=options).equals(frame)
    frame.to_parquet("distfs:///tables/by_year", partition_cols=["year"], storage_options=options)
    fs = fsspec.filesystem("distfs", **options)
    assert fs.ls("/tables/by_year", detail=False) == ["/tables/by_year/year=2023", "/tables/by_year/year=2024"]
    back = pd.read_parquet("distfs:///tables/by_year", storage_options=options)
    assert sorted(back["value"].tolist()) == [1.5, 2.5, 3.5]


def test_dask_csv_glob_and_parquet_overwrite(options: dict[str, Any]) -> None:
    import dask.dataframe as dd
    import pandas as pd

    fs = fsspec.filesystem("distfs", **options)
    for index in range(3):
        fs.pipe(f"/csv/part-{index}.csv", f"a,b\n{index},{index * 10}\n".encode())
    frame = dd.read_csv("distfs:///csv/part-*.csv", storage_options=options)
    assert sorted(frame["b"].compute().tolist()) == [0, 10, 20]
    frame.to_parquet("distfs:///out/parquet", storage_options=options, overwrite=True)
    frame.to_parquet("distfs:///out/parquet", storage_options=options, overwrite=True)
    back = pd.read_parquet("distfs:///out/parquet", storage_options=options)
    assert sorted(back["a"].tolist()) == [0, 1, 2]


def test_pyarrow_dataset_through_fsspec_handler(fs: DistFileSystem) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    arrow_fs = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    for part in range(3):
        table = pa.table({"n": list(range(part * 100, part * 100 + 100))})
        pq.write_table(table, f"/arrow/part-{part}.parquet", filesystem=arrow_fs)
    dataset = ds.dataset("/arrow", format="parquet", filesystem=arrow_fs)
    assert sorted(dataset.to_table()["n"].to_pylist()) == list(range(300))
    assert arrow_fs.get_file_info("/arrow/part-0.parquet").type == pafs.FileType.File


def test_upath(options: dict[str, Any]) -> None:
    from upath import UPath

    root = UPath("distfs:///notes", **options)
    (root / "a.txt").write_text("hello")
    assert (root / "a.txt").read_text() == "hello"
    assert [p.name for p in root.iterdir()] == ["a.txt"]
    assert (root / "a.txt").stat().st_size == 5
    assert root.is_dir()
    (root / "a.txt").unlink()
    assert not (root / "a.txt").exists()
