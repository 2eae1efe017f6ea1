"""``migrate`` of a store the Go registry filled, filesystem -> s3 (moto): then the Go
registry on s3 serves every image byte for byte; also spread over a dask LocalCluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from registry_harness import GoRegistry, require_tools
from registry_images import many_layers, multi_platform, pull, push, single_layer

import distfs
from distfs import registry
from distfs.registry.layout import blob_data_path
from distfs.tools.local import LocalStores


def s3_storage(local_stores: LocalStores) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Go ``storage:`` entry, distfs parameters) of a new, empty bucket."""
    parameters = local_stores.parameters("s3")
    keys = ("accesskey", "secretkey", "region", "regionendpoint", "bucket")
    return {"s3": {key: parameters[key] for key in keys}}, parameters


@pytest.fixture(scope="module")
def source(
    local_stores: LocalStores, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """A filesystem store the Go registry filled, and every tagged image as skopeo pulled it."""
    require_tools()
    workdir = tmp_path_factory.mktemp("migrate-source")
    root = workdir / "store"
    go = GoRegistry({"filesystem": {"rootdirectory": str(root)}}, workdir)
    images = workdir / "images"
    pulled: dict[str, dict[str, bytes]] = {}
    with go.serve() as address:
        push(single_layer(images / "one"), address, "alpha/single:1")
        push(many_layers(images / "many"), address, "beta:v1", docker=True)
        push(multi_platform(images / "index"), address, "gamma:latest")
        for reference in ("alpha/single:1", "beta:v1", "gamma:latest"):
            pulled[reference] = pull(
                address, reference, workdir / "before" / reference.replace("/", "_").replace(":", "@")
            )
    return root, pulled


def serves_the_same(storage: dict[str, Any], workdir: Path, pulled: dict[str, dict[str, bytes]]) -> None:
    with GoRegistry(storage, workdir).serve() as address:
        for reference, files in pulled.items():
            directory = workdir / "after" / reference.replace("/", "_").replace(":", "@")
            assert pull(address, reference, directory) == files, reference


def test_migrate_filesystem_to_s3_then_go_serves_every_image(
    source: tuple[Path, dict[str, dict[str, bytes]]], local_stores: LocalStores, tmp_path: Path
) -> None:
    root, pulled = source
    storage, parameters = s3_storage(local_stores)
    origin = distfs.create("filesystem", {"rootdirectory": str(root)})
    dest = distfs.create("s3", parameters)
    planned = registry.migrate(origin, dest, dry_run=True)
    assert registry.ls(dest) == []
    first = registry.migrate(origin, dest, workers=8)
    assert first.errors == []
    assert (first.copied, first.copied_bytes) == (planned.copied, planned.copied_bytes)
    assert first.copied_bytes > 3 << 20
    assert registry.ls(dest) == registry.ls(origin)
    assert registry.fsck(dest, verify_digests=True).ok
    serves_the_same(storage, tmp_path, pulled)
    # Resumable: what went missing at the destination, and only that, is copied again.
    blob = next(iter(registry.scan(origin).blobs))
    dest.delete(blob_data_path(blob))
    again = registry.migrate(origin, dest)
    assert (again.copied, again.skipped, again.errors) == (1, first.copied - 1, [])


def test_migrate_on_a_dask_cluster_of_two_worker_processes(
    source: tuple[Path, dict[str, dict[str, bytes]]], local_stores: LocalStores, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    root, pulled = source
    storage, parameters = s3_storage(local_stores)
    origin = registry.DriverSpec("filesystem", {"rootdirectory": str(root)})
    dest = registry.DriverSpec("s3", parameters)
    with LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        report = registry.migrate(origin, dest, dask=cluster.scheduler_address)
    assert report.errors == []
    assert report.copied > 20
    assert report.dask_workers == 2
    assert registry.ls(dest.open()) == registry.ls(origin.open())
    serves_the_same(storage, tmp_path, pulled)
