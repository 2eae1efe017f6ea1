"""``fsck``: what is broken in a registry store.

Found problems (``Problem.kind``):

* ``missing-blob``: a manifest revision or tag link names a blob that is not stored.
* ``bad-link``: a link file holds no digest, or another digest than its path names.
* ``missing-manifest``: a tag names a manifest that is no revision of its repository, or an
  index names a child manifest that is not stored or not a revision of the repository.
* ``missing-reference``: a manifest names a config or layer blob that is not stored.
* ``unlinked-reference``: a manifest names a stored blob that is not linked into the
  repository (the registry answers "blob unknown" when it is pulled).
* ``bad-manifest``: a manifest revision whose blob is no manifest distfs can parse.
* ``oversized-manifest``: a manifest revision whose blob is larger than 4 MiB
  (:data:`~.manifests.MAX_MANIFEST`: Go's registry refuses it); it is not read.
* ``digest-mismatch`` (only with ``verify_digests``): a blob whose content hashes to
  another digest than its name.
* ``stale-upload``: an upload directory untouched for longer than ``upload_age``.
* ``unknown-file``: a file under ``/docker/registry/v2`` outside the layout.

A ``_layers`` link to a blob that is not stored is no problem (the registry answers "blob
unknown", as without the link; Go's garbage collector leaves such links behind): they are
counted in ``FsckReport.dangling_layer_links``. A manifest that needs such a blob is a
``missing-reference``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..driver import StorageDriver
from ..errors import PathNotFoundError
from .cluster import runner_for
from .digests import blob_digest
from .layout import REPOSITORIES, is_repository
from .manifests import Manifest, ManifestTooLargeError
from .pool import DEFAULT_WORKERS
from .progress import QUIET, Progress
from .runner import Runner
from .snapshot import Snapshot, link_digest, read_snapshot
from .spec import DriverSpec

__all__ = ["DEFAULT_UPLOAD_AGE", "FsckReport", "Problem", "fsck"]

DEFAULT_UPLOAD_AGE = timedelta(days=7)
"""The registry's default upload purging age."""


@dataclass(frozen=True, order=True)
class Problem:
    """One problem: its kind, the path it is about and what is wrong."""

    kind: str
    path: str
    detail: str


@dataclass
class FsckReport:
    """The problems found (sorted) and what was checked; with dask, how many workers ran tasks."""

    problems: list[Problem] = field(default_factory=list)
    repositories: int = 0
    manifests: int = 0
    blobs: int = 0
    verified_bytes: int = 0
    dangling_layer_links: int = 0
    dask_workers: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def fsck(
    store: StorageDriver | DriverSpec,
    *,
    verify_digests: bool = False,
    upload_age: timedelta = DEFAULT_UPLOAD_AGE,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
    dask: str | None = None,
) -> FsckReport:
    """Check the store ``store``; reading only, never writing.

    ``dask`` is the address of a dask.distributed scheduler: the link and manifest reads
    and the hashing then run on its workers (:mod:`.cluster`; ``store`` must be a
    :class:`~.spec.DriverSpec`); the walk (one flat listing) and every check stay here.
    """
    with runner_for(store, workers, dask, "fsck") as runner:
        report = _check(runner, verify_digests=verify_digests, upload_age=upload_age, progress=progress)
        report.dask_workers = len(getattr(runner, "ran", ()))
        return report


def _check(runner: Runner, *, verify_digests: bool, upload_age: timedelta, progress: Progress) -> FsckReport:
    """:func:`fsck` with its tasks on ``runner``."""
    snapshot = read_snapshot(runner.driver, runner.workers, progress, runner=runner)
    layout = snapshot.layout
    report = FsckReport(
        repositories=sum(is_repository(r) for r in layout.repositories.values()),
        manifests=sum(isinstance(m, Manifest) for m in snapshot.manifests.values()),
        blobs=len(layout.blobs),
    )
    problems = report.problems
    problems.extend(_check_links(runner, snapshot, progress))
    report.dangling_layer_links = sum(
        digest not in layout.blobs for repo in layout.repositories.values() for digest in repo.layers
    )
    problems.extend(_check_manifests(snapshot))
    now = datetime.now(UTC)
    for repo in layout.repositories.values():
        for upload in repo.uploads.values():
            if now - upload.mod_time > upload_age:
                problems.append(Problem("stale-upload", upload.path, f"last written {upload.mod_time.isoformat()}"))
    for info in layout.other:
        problems.append(Problem("unknown-file", info.path, "not part of the registry layout"))
    if verify_digests:
        total = sum(info.size for info in layout.blobs.values())
        progress.phase("verify", total, "bytes")

        def hashed(digest: str, _: str) -> None:  # on a cluster, progress as each blob comes back
            progress.advance(layout.blobs[digest].size)

        task: Callable[[StorageDriver, str], str] = blob_digest
        if not runner.spread:  # here, progress as the bytes are read
            task = functools.partial(blob_digest, on_bytes=progress.advance)
        for digest, result in runner.map(task, sorted(layout.blobs), hashed if runner.spread else None):
            path = layout.blobs[digest].path
            if isinstance(result, PathNotFoundError):
                continue  # deleted since the walk
            if isinstance(result, BaseException):
                problems.append(Problem("digest-mismatch", path, f"cannot read: {result}"))
            elif result != digest:
                problems.append(Problem("digest-mismatch", path, f"content hashes to {result}"))
            report.verified_bytes += layout.blobs[digest].size
    problems.sort()
    return report


def _check_links(runner: Runner, snapshot: Snapshot, progress: Progress) -> list[Problem]:
    """Every link must hold the digest its path names, and that blob must be stored."""
    layout = snapshot.layout
    problems = []
    links = {
        info.path: (digest, info.size, entries is repo.layers)
        for repo in layout.repositories.values()
        for entries in (repo.layers, repo.revisions, *repo.tag_index.values())
        for digest, info in entries.items()
    }
    progress.phase("links", len(links), "links")
    sized = [(path, size) for path, (_, size, _) in links.items()]
    for (path, _), result in runner.map(link_digest, sized, reads=True):
        progress.advance()
        digest, _, layer = links[path]
        if isinstance(result, PathNotFoundError):
            continue
        if isinstance(result, BaseException):
            problems.append(Problem("bad-link", path, str(result)))
        elif result != digest:
            problems.append(Problem("bad-link", path, f"holds {result}"))
        elif digest not in layout.blobs and not layer:
            problems.append(Problem("missing-blob", path, f"{digest} is not stored"))
    for name, tags in snapshot.tags.items():
        repo = layout.repositories[name]
        for tag, target in tags.items():
            path = repo.tags[tag].path
            if isinstance(target, PathNotFoundError):
                continue
            if isinstance(target, BaseException):
                problems.append(Problem("bad-link", path, str(target)))
            elif target not in layout.blobs:
                problems.append(Problem("missing-blob", path, f"{target} is not stored"))
            elif target not in repo.revisions:
                problems.append(Problem("missing-manifest", path, f"{target} is no revision of {name}"))
    return problems


def _check_manifests(snapshot: Snapshot) -> list[Problem]:
    layout = snapshot.layout
    problems = []
    for repo in layout.repositories.values():
        base = f"{REPOSITORIES}/{repo.name}"
        for digest, info in repo.revisions.items():
            if digest not in layout.blobs:
                continue  # reported as a link to a missing blob
            manifest = snapshot.manifests.get(digest)
            if isinstance(manifest, ManifestTooLargeError):
                problems.append(Problem("oversized-manifest", info.path, str(manifest)))
                continue
            if not isinstance(manifest, Manifest):
                problems.append(Problem("bad-manifest", info.path, str(manifest)))
                continue
            for blob in manifest.blobs:
                if blob not in layout.blobs:
                    problems.append(Problem("missing-reference", info.path, f"{blob} is not stored"))
                elif blob not in repo.layers:
                    problems.append(
                        Problem("unlinked-reference", info.path, f"{blob} is not linked into {base}/_layers")
                    )
            for child in manifest.children:
                if child not in layout.blobs:
                    problems.append(Problem("missing-manifest", info.path, f"child {child} is not stored"))
                elif child not in repo.revisions:
                    problems.append(Problem("missing-manifest", info.path, f"child {child} is no revision of {base}"))
    return problems
