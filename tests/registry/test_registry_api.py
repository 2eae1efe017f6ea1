"""The registry toolkit's Python API on stores written in the Go layout by distfs itself.

(The same operations against the real Go registry: tests/registry/test_registry_go.py.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cases import filled
from hypothesis import given
from hypothesis import strategies as st

import distfs
from distfs import registry
from distfs.registry.layout import (
    blob_data_path,
    layer_link_path,
    parse_digest,
    revision_link_path,
    scan,
    tag_current_path,
)
from distfs.registry.manifests import DOCKER_LIST, DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST
from distfs.registry.pool import run_all
from distfs.tools.registry_store import put_blob, put_image

#: gc's grace for an offline collection (no push in flight to protect): keep nothing for its age.
OFFLINE = timedelta(0)

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def store(tmp_path: Path) -> distfs.StorageDriver:
    return distfs.create("filesystem", {"rootdirectory": str(tmp_path / "store")})


# -- manifests ------------------------------------------------------------------------


def descriptor(digest: str = DIGEST) -> dict[str, object]:
    return {"mediaType": "x", "digest": digest, "size": 1}


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json", None])
def test_image_manifests_reference_config_then_layers(media_type: str | None) -> None:
    layer = "sha256:" + "cd" * 32
    document = {"schemaVersion": 2, "config": descriptor(), "layers": [descriptor(layer)]}
    if media_type:
        document["mediaType"] = media_type
    manifest = registry.parse_manifest(DIGEST, json.dumps(document).encode())
    assert manifest.references == (DIGEST, layer)
    assert manifest.media_type == (media_type or OCI_MANIFEST)
    assert not manifest.is_index


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST, None])
def test_indexes_reference_their_child_manifests(media_type: str | None) -> None:
    document: dict[str, object] = {"schemaVersion": 2, "manifests": [descriptor()]}
    if media_type:
        document["mediaType"] = media_type
    manifest = registry.parse_manifest(DIGEST, json.dumps(document).encode())
    assert manifest.children == (DIGEST,)
    assert manifest.blobs == ()
    assert manifest.is_index


def test_schema1_references_its_blob_sums() -> None:
    document = {"schemaVersion": 1, "fsLayers": [{"blobSum": DIGEST}]}
    manifest = registry.parse_manifest(DIGEST, json.dumps(document).encode())
    assert manifest.media_type == DOCKER_SCHEMA1
    assert manifest.blobs == (DIGEST,)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"schemaVersion": 3}',
        b'{"mediaType": "text/plain"}',
        b'{"schemaVersion": 2, "layers": []}',
    ],
)
def test_what_is_no_manifest_is_a_manifest_error_naming_the_digest(content: bytes) -> None:
    with pytest.raises(registry.ManifestError, match=DIGEST):
        registry.parse_manifest(DIGEST, content)


@given(st.binary(max_size=200))
def test_parse_digest_accepts_only_digests(text: bytes) -> None:
    try:
        digest = parse_digest(text)
    except ValueError:
        return
    algorithm, _, hex_ = digest.partition(":")
    assert algorithm in {"sha256", "sha384", "sha512"}
    assert int(hex_, 16) >= 0


# -- layout -----------------------------------------------------------------------------


def test_scan_sorts_every_file_into_its_role(store: distfs.StorageDriver) -> None:
    digests = filled(store)
    store.put_content(tag_current_path("team/a", "_layers"), digests["a"].encode())  # a tag may start with "_"
    store.put_content("/docker/registry/v2/stray", b"x")
    layout = scan(store)
    assert set(layout.repositories) == {"team/a", "b"}
    assert layout.repositories["team/a"].tags.keys() == {"v1", "_layers"}
    assert layout.repositories["b"].revisions.keys() == {digests["b"], digests["untagged"]}
    assert digests["garbage"] in layout.blobs
    assert [info.path for info in layout.other] == ["/docker/registry/v2/stray"]


def test_an_empty_store_lists_nothing(store: distfs.StorageDriver) -> None:
    assert registry.ls(store) == []
    assert registry.du(store).blob_bytes == 0
    assert registry.fsck(store).ok
    assert registry.gc(store, grace=OFFLINE).blobs == []


def test_gc_keeps_the_last_hour_by_default(store: distfs.StorageDriver) -> None:
    """Safe by default: a layer a push uploaded moments ago, not yet linked by its manifest."""
    digest = put_blob(store, b"a layer of a push in flight")
    assert registry.gc(store).blobs == []
    assert store.stat(blob_data_path(digest)).size > 0
    assert registry.gc(store, grace=OFFLINE).blobs == [digest]


def test_run_all_returns_errors_and_bounds_pending_items() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n * 2

    results = dict(run_all(work, iter(range(100)), workers=4))
    assert isinstance(results.pop(3), ValueError)
    assert results == {n: n * 2 for n in range(100) if n != 3}
    with pytest.raises(ValueError, match="workers"):
        run_all(work, [], workers=0)


# -- ls, du -----------------------------------------------------------------------------


def test_ls_and_du(store: distfs.StorageDriver) -> None:
    digests = filled(store)
    listed = registry.ls(store)
    assert [(r.name, r.tags) for r in listed] == [("b", {"latest": digests["b"]}), ("team/a", {"v1": digests["a"]})]
    assert registry.ls(store, "b")[0].name == "b"
    assert registry.ls(store, "nope") == []
    usage = registry.du(store)
    rows = {row.name: row for row in usage.repositories}
    assert rows["b"].shared_bytes == rows["team/a"].shared_bytes == usage.shared_bytes == 3000
    assert rows["team/a"].unique_bytes > 1000
    assert usage.unused_bytes == 700
    assert usage.blob_bytes == sum(r.unique_bytes for r in rows.values()) + usage.shared_bytes + usage.unused_bytes


# -- fsck -------------------------------------------------------------------------------


def kinds(report: registry.FsckReport) -> set[str]:
    return {problem.kind for problem in report.problems}


def test_fsck_finds_each_kind_of_problem(store: distfs.StorageDriver, tmp_path: Path) -> None:
    digests = filled(store)
    assert registry.fsck(store, verify_digests=True).ok
    manifest = registry.parse_manifest(digests["a"], store.get_content(blob_data_path(digests["a"])))
    store.delete(blob_data_path(manifest.blobs[2]))  # a layer of team/a
    store.put_content(blob_data_path(manifest.blobs[0]), b"corrupt")  # its config
    store.put_content(layer_link_path("b", DIGEST), b"sha256:" + b"ef" * 32)
    store.put_content(tag_current_path("b", "ghost"), DIGEST.encode())
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor()]}).encode()
    index_digest = put_blob(store, index)
    store.put_content(revision_link_path("b", index_digest), index_digest.encode())
    junk = put_blob(store, b"{}")
    store.put_content(revision_link_path("b", junk), junk.encode())
    unlinked = put_image(store, "c", "x", [b"layer"])
    store.delete(
        layer_link_path(
            "c", registry.parse_manifest(unlinked, store.get_content(blob_data_path(unlinked))).blobs[1]
        ).rsplit("/", 1)[0]
    )
    upload = tmp_path / "store/docker/registry/v2/repositories/b/_uploads/u1/data"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"partial")
    os.utime(upload, (0, 0))
    store.put_content("/docker/registry/v2/stray", b"x")
    report = registry.fsck(store, verify_digests=True)
    assert kinds(report) == {
        "missing-blob",
        "bad-link",
        "missing-manifest",
        "missing-reference",
        "unlinked-reference",
        "bad-manifest",
        "digest-mismatch",
        "stale-upload",
        "unknown-file",
    }
    assert "stale-upload" not in kinds(registry.fsck(store, upload_age=timedelta(days=365 * 100)))
    assert "digest-mismatch" not in kinds(registry.fsck(store))


# -- gc ---------------------------------------------------------------------------------


def test_gc_collects_garbage_and_with_delete_untagged_untagged_manifests(store: distfs.StorageDriver) -> None:
    digests = filled(store)
    report = registry.gc(store, dry_run=True, grace=OFFLINE)
    assert report.blobs == [digests["garbage"]]
    assert store.stat(blob_data_path(digests["garbage"]))  # dry run: still there
    report = registry.gc(store, grace=OFFLINE)
    assert report.blobs == [digests["garbage"]]
    with pytest.raises(distfs.PathNotFoundError):
        store.stat(blob_data_path(digests["garbage"]))
    report = registry.gc(store, delete_untagged=True, grace=OFFLINE)
    assert report.manifests == [("b", digests["untagged"])]
    assert len(report.blobs) == 3  # manifest, config, layer
    assert registry.fsck(store).dangling_layer_links == 2  # config and layer links: left, as Go leaves them
    assert registry.fsck(store).ok
    assert registry.gc(store, dry_run=True, delete_untagged=True, grace=OFFLINE).blobs == []


class DuringGc:
    """Progress that runs ``action`` when the gc's recheck phase begins (after the mark)."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action

    def phase(self, name: str, total: int, unit: str = "") -> None:
        if name == "recheck":
            self.action()

    def advance(self, units: int = 1) -> None:
        pass


def test_gc_spares_what_a_push_writes_while_it_runs(store: distfs.StorageDriver) -> None:
    digests = filled(store)
    old_garbage = digests["garbage"]
    young: list[str] = []

    def push() -> None:
        young.append(put_blob(store, b"an upload that just finished"))
        # A push that reuses the old unreferenced blob: its manifest arrives after the mark.
        young.append(put_image(store, "b", "new", [store.get_content(blob_data_path(old_garbage))]))

    report = registry.gc(store, progress=DuringGc(push), grace=OFFLINE)
    assert report.blobs == []
    assert young[0] not in report.blobs
    assert store.get_content(blob_data_path(old_garbage))
    assert registry.fsck(store).ok


def test_gc_stops_before_deleting_when_a_live_manifest_is_unreadable(store: distfs.StorageDriver) -> None:
    digests = filled(store)
    store.put_content(blob_data_path(digests["a"]), b"not a manifest")
    with pytest.raises(registry.GcError, match="team/a"):
        registry.gc(store, grace=OFFLINE)
    assert store.get_content(blob_data_path(digests["garbage"]))


def test_gc_purges_old_uploads_only_when_asked(store: distfs.StorageDriver, tmp_path: Path) -> None:
    filled(store)
    upload = tmp_path / "store/docker/registry/v2/repositories/b/_uploads/u1/data"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"partial")
    os.utime(upload, (0, 0))
    assert registry.gc(store, grace=OFFLINE).uploads == []
    assert registry.gc(store, upload_age=timedelta(days=1), grace=OFFLINE).uploads == [
        str(upload.parent).split("/store", 1)[1]
    ]
    assert not upload.exists()


# -- migrate ----------------------------------------------------------------------------


def test_migrate_copies_everything_and_a_rerun_only_what_changed(store: distfs.StorageDriver, tmp_path: Path) -> None:
    digests = filled(store)
    dest = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "dest")})
    planned = registry.migrate(store, dest, dry_run=True)
    assert planned.copied > 10
    assert registry.ls(dest) == []
    done = registry.migrate(store, dest, workers=4)
    assert (done.copied, done.copied_bytes, done.errors) == (planned.copied, planned.copied_bytes, [])
    assert registry.ls(dest) == registry.ls(store)
    assert registry.fsck(dest, verify_digests=True).ok
    again = registry.migrate(store, dest)
    assert (again.copied, again.skipped) == (0, done.copied)
    # An interrupted copy (objects missing) and a moved tag: only those are copied, the tag
    # only when asked to overwrite it.
    dest.delete(blob_data_path(digests["a"]))
    store.put_content(tag_current_path("b", "latest"), digests["untagged"].encode())
    resumed = registry.migrate(store, dest)
    assert (resumed.copied, resumed.refused) == (1, [tag_current_path("b", "latest")])
    assert registry.migrate(store, dest, overwrite=True).copied == 1
    assert registry.ls(dest) == registry.ls(store)


def test_migrate_refuses_a_blob_whose_content_does_not_match(store: distfs.StorageDriver, tmp_path: Path) -> None:
    digests = filled(store)
    store.put_content(blob_data_path(digests["garbage"]), b"tampered")
    big = put_blob(store, os.urandom(9 << 20))  # streamed, not read whole
    with store.writer(blob_data_path(big), append=True) as writer:
        writer.write(b"tail")
        writer.commit()
    dest = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "dest")})
    report = registry.migrate(store, dest)
    assert len(report.errors) == 2
    assert all("hashes to" in error for error in report.errors)
    for digest in (digests["garbage"], big):
        with pytest.raises(distfs.PathNotFoundError):
            dest.stat(blob_data_path(digest))
    assert registry.fsck(dest).ok


def test_migrate_with_dask_needs_driver_specs(store: distfs.StorageDriver) -> None:
    with pytest.raises(TypeError, match="DriverSpec"):
        registry.migrate(store, store, dask="tcp://127.0.0.1:1")


def test_driver_spec_repr_shows_no_parameter_values(tmp_path: Path) -> None:
    spec = registry.DriverSpec("s3", {"bucket": "b", "secretkey": "hunter2"})
    assert "hunter2" not in repr(spec)
    assert "secretkey" in repr(spec)
    assert registry.DriverSpec("filesystem", {"rootdirectory": str(tmp_path)}).open().name == "filesystem"
