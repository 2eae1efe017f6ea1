"""The registry toolkit against the real Go registry, on filesystem and on s3 (moto).

Images built here are pushed with skopeo; then ``ls`` must equal the registry API,
``fsck`` must be clean, ``gc --dry-run`` must delete what Go's ``garbage-collect
--dry-run`` deletes (with ``--delete-untagged``: minus the platform manifests of a tagged
index, which Go 2.8 wrongly deletes, and their blobs), and after ``gc`` Go must still
serve every tagged image byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from registry_harness import GoRegistry, require_tools
from registry_images import many_layers, multi_platform, pull, push, single_layer

import distfs
from distfs import registry
from distfs.tools.local import LocalStores

#: gc's grace for an offline collection (no push in flight to protect): keep nothing for its age.
OFFLINE = timedelta(0)


@dataclass
class Scenario:
    """A registry filled with images, some deleted or untagged; what it served before any gc."""

    go: GoRegistry
    driver: distfs.StorageDriver
    tagged: dict[str, dict[str, bytes]] = field(default_factory=dict)
    index_children: set[str] = field(default_factory=set)
    index_blobs: set[str] = field(default_factory=set)
    workdir: Path = Path()

    def pulled(self, reference: str, label: str) -> dict[str, bytes]:
        return pull(
            self.go.address, reference, self.workdir / "pulls" / label / reference.replace("/", "_").replace(":", "@")
        )


def storage_for(backend: str, local_stores: LocalStores) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Go config ``storage:`` entry, distfs parameters) of a new, empty store."""
    parameters = local_stores.parameters(backend)
    if backend == "filesystem":
        return {"filesystem": dict(parameters)}, parameters
    go = {key: parameters[key] for key in ("accesskey", "secretkey", "region", "regionendpoint", "bucket")}
    return {"s3": go}, parameters


@pytest.fixture(scope="module", params=["filesystem", "s3"])
def scenario(
    request: pytest.FixtureRequest, local_stores: LocalStores, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    require_tools()
    backend: str = request.param
    workdir = tmp_path_factory.mktemp(f"registry-{backend}")
    storage, parameters = storage_for(backend, local_stores)
    go = GoRegistry(storage, workdir)
    with go.serve() as address:
        images = workdir / "images"
        push(single_layer(images / "one"), address, "alpha/single:1")
        push(single_layer(images / "old"), address, "alpha/single:old")
        push(single_layer(images / "new", "newer"), address, "alpha/single:old")  # the first :old is untagged now
        push(many_layers(images / "v1"), address, "beta:v1", docker=True)
        push(many_layers(images / "v2", sizes=(2 << 20, 50)), address, "beta:v2", docker=True)  # shares a layer
        push(multi_platform(images / "index"), address, "gamma:latest")
        push(multi_platform(images / "gone", seed="gone"), address, "delta:tmp")
        push(single_layer(images / "delta", "delta"), address, "delta:tmp")  # the index and children untagged
        go.delete_manifest("beta", go.digest("beta", "v2"))
        index_blobs = {f"sha256:{p.name}": p.read_bytes() for p in (images / "index/blobs/sha256").iterdir()}
        top = go.digest("gamma", "latest")
        found = Scenario(go, distfs.create(backend, parameters), workdir=workdir)
        found.index_children = set(registry.parse_manifest(top, index_blobs[top]).children)
        found.index_blobs = set(index_blobs) - {top}
        for name, tags in go.catalog().items():
            for tag in tags:
                found.tagged[f"{name}:{tag}"] = found.pulled(f"{name}:{tag}", "before")
        yield found


def test_ls_equals_the_registry_api(scenario: Scenario) -> None:
    listed = {repo.name: repo.tags for repo in registry.ls(scenario.driver)}
    assert listed == scenario.go.catalog()
    assert set(listed) == {"alpha/single", "beta", "gamma", "delta"}
    assert registry.ls(scenario.driver, "beta")[0].tags.keys() == {"v1"}  # v2 was deleted


def test_fsck_is_clean_and_every_blob_matches_its_digest(scenario: Scenario) -> None:
    report = registry.fsck(scenario.driver, verify_digests=True)
    assert report.problems == []
    assert report.blobs > 20
    assert report.verified_bytes > 3 << 20


def test_du_counts_shared_and_unique_bytes(scenario: Scenario) -> None:
    usage = registry.du(scenario.driver)
    rows = {row.name: row for row in usage.repositories}
    assert rows["beta"].bytes > 3 << 20  # the deleted v2's blobs no longer count
    assert rows["beta"].shared_bytes == 0
    assert rows["beta"].unique_bytes == rows["beta"].bytes
    assert usage.unused_bytes > 0  # the deleted v2's own layer
    assert usage.blob_bytes == sum(r.unique_bytes for r in rows.values()) + usage.shared_bytes + usage.unused_bytes


def test_gc_dry_run_deletes_what_go_deletes(scenario: Scenario) -> None:
    go_blobs, go_manifests = scenario.go.garbage_collect(dry_run=True, delete_untagged=False)
    report = registry.gc(scenario.driver, dry_run=True, grace=OFFLINE)
    assert go_blobs, "the scenario leaves garbage"
    assert set(report.blobs) == go_blobs
    assert report.manifests == []
    assert go_manifests == set()


def test_gc_dry_run_delete_untagged_deletes_what_go_deletes_but_index_children(scenario: Scenario) -> None:
    go_blobs, go_manifests = scenario.go.garbage_collect(dry_run=True, delete_untagged=True)
    report = registry.gc(scenario.driver, dry_run=True, delete_untagged=True, grace=OFFLINE)
    assert scenario.index_children <= go_manifests, "Go 2.8 dooms the children of a tagged index"
    assert {digest for _, digest in report.manifests} == go_manifests - scenario.index_children
    assert set(report.blobs) == go_blobs - scenario.index_blobs
    assert go_blobs & scenario.index_blobs, "Go 2.8 would delete the children's layers"


def test_gc_keeps_every_tagged_image_served_byte_exact(scenario: Scenario) -> None:
    for delete_untagged in (False, True):
        report = registry.gc(scenario.driver, delete_untagged=delete_untagged, grace=OFFLINE)
        assert report.errors == []
        assert report.blobs
        for reference, files in scenario.tagged.items():
            label = f"after-{delete_untagged}"
            assert scenario.pulled(reference, label) == files, reference
        assert registry.fsck(scenario.driver).problems == []
        assert scenario.go.garbage_collect(dry_run=True, delete_untagged=False) == (set(), set())
    assert registry.gc(scenario.driver, dry_run=True, delete_untagged=True, grace=OFFLINE).blobs == []
