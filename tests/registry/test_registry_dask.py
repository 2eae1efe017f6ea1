"""gc and fsck on a dask cluster of two worker processes (issue 27, "beyond one machine").

The cluster run takes the same decisions as the local run on the same store, on
filesystem and on s3 (moto), and its listing, reading, hashing and deleting ran on both
worker processes.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_registry_safety import At, age

import distfs
from distfs import registry
from distfs.registry.layout import blob_data_path, blob_path, layer_link_path, revision_link_path
from distfs.tools.local import LocalStores
from distfs.tools.registry_store import put_blob, put_image

BACKENDS = ["filesystem", "s3"]
#: Everything written by the test counts as old (object stores list times in whole seconds).
PAST = timedelta(seconds=-3)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The scheduler address of a LocalCluster of two worker processes (two threads each)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=2, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local.scheduler_address


def fill(driver: distfs.StorageDriver) -> None:
    """The same store every time: two tagged images sharing a layer, an untagged manifest,
    an upload, and 40 unreferenced blobs spread over the blob directories."""
    shared = b"shared layer" * 100
    put_image(driver, "team/a", "v1", [shared, b"a only" * 50])
    put_image(driver, "b", "latest", [shared])
    put_image(driver, "b", None, [b"untagged layer" * 40])
    for n in range(40):
        put_blob(driver, b"garbage %d" % n)
    driver.put_content(f"{registry.layout.REPOSITORIES}/b/_uploads/0a1b/data", b"partial")


def decisions(report: registry.GcReport) -> dict[str, Any]:
    """What a report decided (not when: the modification times of two stores differ)."""
    return {
        "marked": report.marked,
        "blobs": sorted(report.blobs),
        "blob_bytes": report.blob_bytes,
        "manifests": sorted(report.manifests),
        "young": sorted(report.young),
        "changed": sorted(report.changed),
        "uploads": sorted(path.rsplit("/_uploads/", 1)[1] for path in report.uploads),
        "errors": report.errors,
        "items": sorted((i.kind, i.digest, i.size, i.reason) for i in report.items),
        "deleted": sorted((i.kind, i.digest, i.size, i.reason) for i in report.deleted),
    }


def stored(local_stores: LocalStores, backend: str) -> registry.DriverSpec:
    spec = registry.DriverSpec(backend, local_stores.parameters(backend))
    fill(spec.open())
    return spec


@pytest.mark.parametrize("backend", BACKENDS)
def test_gc_on_the_cluster_decides_as_the_local_run(cluster: str, local_stores: LocalStores, backend: str) -> None:
    here, there = stored(local_stores, backend), stored(local_stores, backend)
    options: dict[str, Any] = {"delete_untagged": True, "upload_age": timedelta(0), "grace": PAST}
    planned = registry.gc(here.open(), dry_run=True, **options)
    assert len(planned.blobs) >= 40
    assert len(planned.manifests) == 1
    assert len(planned.uploads) == 1
    dry = registry.gc(there, dry_run=True, dask=cluster, **options)
    assert decisions(dry) == decisions(planned)
    assert dry.dask_workers == 2  # both worker processes listed and read
    done_here = registry.gc(here.open(), **options)
    done_there = registry.gc(there, dask=cluster, **options)
    assert decisions(done_there) == decisions(done_here)
    assert len(done_there.deleted) == len(planned.items)
    assert done_there.dask_workers == 2
    after = there.open()
    assert not any(registry.gc(after, dry_run=True, **options).items)
    assert registry.ls(after) == registry.ls(here.open())
    assert registry.fsck(after, verify_digests=True).ok


def test_a_tag_link_that_cannot_be_read_stops_the_cluster_run(cluster: str, local_stores: LocalStores) -> None:
    spec = stored(local_stores, "filesystem")
    driver = spec.open()
    link = registry.layout.tag_current_path("b", "latest")
    driver.put_content(link, b"sha256:torn")
    with pytest.raises(registry.GcError, match=link):
        registry.gc(spec, delete_untagged=True, grace=PAST, dask=cluster)
    assert len(registry.gc(driver, dry_run=True, delete_untagged=False, grace=PAST).blobs) >= 40  # nothing deleted


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_blob_replaced_after_the_listing_is_kept_on_the_cluster(
    cluster: str, local_stores: LocalStores, backend: str
) -> None:
    """The identity recheck (FileInfo.version) holds on the cluster's second listing."""
    spec = stored(local_stores, backend)
    driver = spec.open()
    garbage = put_blob(driver, b"pushed again")
    content = driver.get_content(blob_data_path(garbage))

    def push_again() -> None:
        time.sleep(1.1)  # object stores keep modification times in seconds
        driver.delete(blob_path(garbage))
        driver.put_content(blob_data_path(garbage), content)

    report = registry.gc(spec, progress=At("recheck", push_again), grace=PAST, dask=cluster)
    assert report.changed == [garbage]
    assert garbage not in report.blobs
    assert len(report.deleted) >= 40
    assert driver.get_content(blob_data_path(garbage)) == content


def test_a_layer_committed_during_the_cluster_gc_is_kept(cluster: str, local_stores: LocalStores) -> None:
    """The second look at ``_layers`` runs on the workers too (filesystem: the committed
    upload keeps its old modification time)."""
    spec = stored(local_stores, "filesystem")
    driver = spec.open()
    layer = b"committed during gc"
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    upload = f"{registry.layout.REPOSITORIES}/b/_uploads/u1/data"
    driver.put_content(upload, layer)
    age(spec.parameters, upload)

    def commit() -> None:  # after the mark, before the blobs are listed
        driver.move(upload, blob_data_path(digest))
        driver.put_content(layer_link_path("b", digest), digest.encode())

    # A grace of a second: file times lag the clock by up to a kernel tick, so a link written
    # right after the mark began may read as older than a cut of zero grace.
    report = registry.gc(spec, progress=At("walk", commit), grace=timedelta(seconds=1), dask=cluster)
    assert digest not in report.blobs
    assert report.dask_workers == 2
    assert driver.get_content(blob_data_path(digest)) == layer


@pytest.mark.parametrize("backend", BACKENDS)
def test_fsck_on_the_cluster_finds_a_corrupted_blob(cluster: str, local_stores: LocalStores, backend: str) -> None:
    spec = stored(local_stores, backend)
    driver = spec.open()
    victim = put_blob(driver, b"will rot")
    driver.put_content(blob_data_path(victim), b"rotten!!")
    local = registry.fsck(driver, verify_digests=True)
    remote = registry.fsck(spec, verify_digests=True, dask=cluster)
    assert [(p.kind, p.path) for p in remote.problems] == [("digest-mismatch", blob_data_path(victim))]
    assert remote.problems == local.problems
    assert remote.verified_bytes == local.verified_bytes > 0
    assert remote.dask_workers == 2


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from distfs.tools.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_gc_and_fsck_with_dask(cluster: str, local_stores: LocalStores) -> None:
    spec = stored(local_stores, "filesystem")
    root = spec.parameters["rootdirectory"]
    driver = spec.open()
    untagged = registry.gc(driver, dry_run=True, delete_untagged=True, grace=PAST).manifests[0][1]
    planned = registry.gc(driver, dry_run=True, grace=PAST)
    store = ["filesystem", "-p", f"rootdirectory={root}", "--dask", cluster]
    run = cli("registry", "gc", *store, "--grace", "0", "--force", "--json", "--log-json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert sorted(report["blobs"]) == sorted(planned.blobs)
    assert report["dask_workers"] == 2
    logged = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert sorted(event["digest"] for event in logged) == sorted(planned.blobs)  # logged here, as deleted
    assert not any(registry.gc(driver, dry_run=True, grace=PAST).items)
    assert driver.get_content(revision_link_path("b", untagged))  # no --delete-untagged: kept
    checked = cli("registry", "fsck", *store, "--verify-digests")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.rstrip().endswith(": 0 problems")


def test_an_unreachable_scheduler_is_one_line_and_exit_2(
    local_stores: LocalStores, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from distfs.registry import cluster as dask_cluster
    from distfs.tools.cli import main

    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT", 1.0)
    spec = stored(local_stores, "filesystem")
    before = registry.gc(spec.open(), dry_run=True, grace=PAST).items
    nowhere = "tcp://127.0.0.1:1"
    with pytest.raises(dask_cluster.ClusterUnavailableError, match=nowhere):
        registry.fsck(spec, dask=nowhere)
    store = ["filesystem", "-p", f"rootdirectory={spec.parameters['rootdirectory']}", "--dask", nowhere]
    assert main(["registry", "gc", *store, "--grace", "0", "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"distfs registry gc: dask scheduler {nowhere}: cannot connect"), err
    assert registry.gc(spec.open(), dry_run=True, grace=PAST).items == before  # nothing deleted


def test_migrate_to_an_unreachable_scheduler_is_one_line_and_exit_2(
    local_stores: LocalStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As gc and fsck: the scheduler is reached before anything is copied (issue 27)."""
    from distfs.registry import cluster as dask_cluster
    from distfs.tools.cli import main

    monkeypatch.setattr(dask_cluster, "CONNECT_TIMEOUT", 1.0)
    spec = stored(local_stores, "filesystem")
    dest = tmp_path / "dest"
    nowhere = "tcp://127.0.0.1:1"
    with pytest.raises(dask_cluster.ClusterUnavailableError, match=nowhere):
        registry.migrate(spec, registry.DriverSpec("filesystem", {"rootdirectory": str(dest)}), dask=nowhere)
    store = ["-p", f"rootdirectory={spec.parameters['rootdirectory']}", "-q", f"rootdirectory={dest}"]
    capsys.readouterr()
    assert main(["registry", "migrate", "filesystem", "filesystem", *store, "--dask", nowhere]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"distfs registry migrate: dask scheduler {nowhere}: cannot connect"), err
    assert registry.scan(distfs.create("filesystem", {"rootdirectory": str(dest)})).files == 0  # nothing copied


def test_the_filter_of_unmarked_digests_goes_to_each_worker_once(
    cluster: str, local_stores: LocalStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc's second look reads only the ``_layers`` links of the unmarked digests: that filter
    (5,000 digests here, about 360 KB pickled) is scattered once, and every task names it by
    its future instead of carrying it (issue 27)."""
    from distributed import Future

    from distfs.registry.cluster import connect
    from distfs.registry.layout import scan_parts

    spec = stored(local_stores, "filesystem")
    driver = spec.open()
    linked = sorted(registry.scan(driver).repositories["team/a"].layers)[:2]
    unmarked = frozenset(linked + [f"sha256:{n:064x}" for n in range(5000)])
    assert len(pickle.dumps(unmarked)) > 300_000
    sent: list[int] = []
    named: list[bool] = []
    with connect(cluster, spec, driver, 4) as runner:
        submit = runner.client.submit

        def measured(*args: Any, **kwargs: Any) -> Any:
            sent.append(len(pickle.dumps((args, kwargs))))
            named.append(any(isinstance(v, Future) for a in args if isinstance(a, dict) for v in a.values()))
            return submit(*args, **kwargs)

        monkeypatch.setattr(runner.client, "submit", measured)
        layout = scan_parts(driver, ("_layers",), blobs=False, layers=unmarked, runner=runner)
    assert sorted(layout.repositories["team/a"].layers) == linked  # the filter was applied on the workers
    assert sent  # one task per repository part
    assert max(sent) < 4096, sent
    assert all(named)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_key_ranges_of_the_blobs_hold_every_file_once(local_stores: LocalStores, backend: str) -> None:
    """The cluster lists ``blobs/`` as key ranges (issue 27): together they hold every file
    of the one flat walk, once, also files of other algorithms and outside the layout."""
    from distfs.registry.layout import BLOBS, blob_ranges, files_between, scan_files

    driver = stored(local_stores, backend).open()
    for odd in ("sha512/aa/" + "a" * 128 + "/data", "sha256/ab-x/data", "sha256/data", "zz-stray", "0-first"):
        driver.put_content(f"{BLOBS}/{odd}", b"odd")
    everything = sorted(info.path for info in scan_files(driver, BLOBS))
    assert len(everything) > 45
    for count in (1, 3, 7, 256):
        found = [info.path for span in blob_ranges(count) for info in files_between(driver, span)]
        assert sorted(found) == everything, count
        assert len(blob_ranges(count)) == count


def test_the_cluster_lists_the_blobs_with_a_request_per_key_range(cluster: str, setup: Any) -> None:
    """Not one listing per two-hex-digit directory (256 and more; issue 27): on s3 one
    ListObjectsV2 per key range of up to 1000 keys, as many ranges as the cluster has threads."""
    from distfs.registry.cluster import connect
    from distfs.registry.layout import BLOBS, list_blobs, scan_files

    stores = setup("s3")
    fill(stores.clean())
    spec = registry.DriverSpec("s3", {**stores.parameters, "regionendpoint": stores.proxy.endpoint})
    expected = sorted(info.path for info in scan_files(stores.clean(), BLOBS))
    with connect(cluster, spec, spec.open(), 4) as runner:
        stores.proxy.heard = []
        files = list_blobs(runner)
        heard = list(stores.proxy.heard)
        threads = sum(runner.client.nthreads().values())
    assert sorted(info.path for info in files) == expected
    lists = [path for method, path, _ in heard if method == "GET" and "list-type=2" in path]
    assert threads == 4
    assert 1 <= len(lists) <= threads, heard
    assert len(heard) == len(lists)  # nothing else: no directory listings, no stat
