"""distfs:// under the data tools that use it, on ``filesystem`` and ``s3`` (moto).

pandas (hive-partitioned parquet, default options), dask distributed with two worker
processes, zarr v3 through ``fsspec.get_mapper``, xarray, a pyarrow dataset, fsspec's
rsync and UPath. Everything goes through the ``distfs://`` URL or the fsspec instance, as
a user would write it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS

from distfs.protocol import DistFileSystem

pytestmark = NO_LEAKS


@pytest.fixture(params=["filesystem", "s3"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "filesystem":
        return {"driver": "filesystem", "rootdirectory": str(tmp_path / "store")}
    return {"driver": "s3", **request.getfixturevalue("s3_parameters")}


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A dask distributed cluster of two worker processes (one thread each)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_pandas_hive_partitions_with_default_options(options: dict[str, Any]) -> None:
    import pandas as pd

    frame = pd.DataFrame({"year": [2023, 2024, 2024], "city": ["a b", "c", "d"], "value": [1.5, 2.5, 3.5]})
    frame.to_parquet("distfs:///sales", partition_cols=["year", "city"], storage_options=options)
    fs = fsspec.filesystem("distfs", **options)
    assert fs.ls("/sales", detail=False) == ["/sales/year=2023", "/sales/year=2024"]
    assert fs.ls("/sales/year=2023", detail=False) == ["/sales/year=2023/city=a%20b"]  # pyarrow escapes the value
    back = pd.read_parquet("distfs:///sales", storage_options=options)
    assert sorted(back["value"].tolist()) == [1.5, 2.5, 3.5]
    filtered = pd.read_parquet("distfs:///sales", storage_options=options, filters=[("year", "=", 2024)])
    assert sorted(filtered["value"].tolist()) == [2.5, 3.5]


def test_dask_distributed_two_worker_processes(options: dict[str, Any], dask_client: Any) -> None:
    import dask.dataframe as dd
    import pandas as pd

    fs = fsspec.filesystem("distfs", **options)
    for index in range(4):
        fs.pipe(f"/csv/part-{index}.csv", f"a,b\n{index},{index * 10}\n".encode())
    frame = dd.read_csv("distfs:///csv/part-*.csv", storage_options=options)
    frame.to_parquet("distfs:///out/parquet", storage_options=options, overwrite=True)
    assert len(dask_client.nthreads()) == 2
    back = pd.read_parquet("distfs:///out/parquet", storage_options=options)
    assert sorted(back["b"].tolist()) == [0, 10, 20, 30]
    total = dd.read_parquet("distfs:///out/parquet", storage_options=options)["b"].sum().compute()
    assert total == 60


def test_zarr_v3_through_get_mapper_and_xarray(options: dict[str, Any]) -> None:
    import numpy as np
    import xarray as xr
    import zarr

    mapper = fsspec.get_mapper("distfs:///cube.zarr", **options)
    array = zarr.create_array(store=mapper, shape=(40, 30), chunks=(10, 10), dtype="f8")
    array[:] = np.arange(1200.0).reshape(40, 30)
    again = zarr.open_array(store=fsspec.get_mapper("distfs:///cube.zarr", **options), mode="r")
    assert float(again[39, 29]) == 1199.0
    fs = fsspec.filesystem("distfs", **options)
    assert fs.exists("/cube.zarr/zarr.json")

    dataset = xr.Dataset({"t": (("x", "y"), np.ones((4, 5)))}, coords={"x": np.arange(4)})
    dataset.to_zarr(fsspec.get_mapper("distfs:///climate.zarr", **options), mode="w", consolidated=False)
    opened = xr.open_zarr(fsspec.get_mapper("distfs:///climate.zarr", **options), consolidated=False)
    assert float(opened["t"].sum()) == 20.0


def test_pyarrow_dataset(options: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs

    fs = fsspec.filesystem("distfs", **options)
    arrow_fs = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    table = pa.table({"k": ["x", "y"] * 50, "n": list(range(100))})
    ds.write_dataset(table, "/ds", format="parquet", filesystem=arrow_fs, partitioning=["k"])
    back = ds.dataset("/ds", format="parquet", filesystem=arrow_fs, partitioning=["k"]).to_table()
    assert sorted(back["n"].to_pylist()) == list(range(100))


def test_rsync_both_ways(options: dict[str, Any], tmp_path: Path) -> None:
    from fsspec.generic import rsync

    source = tmp_path / "src"
    (source / "d").mkdir(parents=True)
    for name in ("a.txt", "d/b.txt", "d/c d.txt"):
        (source / name).write_text(name)
    DistFileSystem.clear_instance_cache()
    fsspec.config.conf["distfs"] = options
    try:
        rsync(str(source), "distfs:///mirror")
        fs = fsspec.filesystem("distfs", **options)
        assert fs.find("/mirror") == ["/mirror/a.txt", "/mirror/d/b.txt", "/mirror/d/c d.txt"]
        back = tmp_path / "back"
        rsync("distfs:///mirror", str(back))
        assert (back / "d" / "c d.txt").read_text() == "d/c d.txt"
    finally:
        fsspec.config.conf.pop("distfs", None)


def test_upath(options: dict[str, Any]) -> None:
    from upath import UPath

    root = UPath("distfs:///notes", **options)
    (root / "year=2024" / "a b.txt").write_text("hello")
    assert (root / "year=2024" / "a b.txt").read_text() == "hello"
    assert [p.name for p in (root / "year=2024").iterdir()] == ["a b.txt"]
    assert (root / "year=2024").is_dir()
    assert not (root / "missing").exists()
    assert sorted(p.name for p in root.glob("**/*.txt")) == ["a b.txt"]
