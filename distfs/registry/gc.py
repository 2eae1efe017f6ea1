"""``gc``: mark and sweep, with the decisions of Go's ``registry garbage-collect``, online.

Mark: every manifest revision of every repository whose blob is stored is marked with
everything it references (config, layers, the child manifests of an index). With
``delete_untagged`` a revision is instead doomed when no tag reaches it -- Go 2.8 only
looks at the tags themselves and so dooms the platform manifests of a tagged index (the
image then no longer pulls); distfs keeps every manifest reachable from a tag, through
indexes too. A live manifest that cannot be read stops the collection (Go does the same),
since its blobs cannot be known.

Sweep: doomed manifests lose their revision link and their tag history entries, and
every stored blob left unmarked is deleted (its directory), as in Go; ``_layers`` links
are left alone, as in Go (a link to a deleted blob answers "blob unknown", like no link).
With ``upload_age``, uploads untouched for longer are removed too.

Safe while the registry serves pushes: nothing modified at or after the moment the mark
phase started (minus ``grace``, for clocks that disagree) is deleted, and right before
the sweep a second look at every repository's ``_manifests`` marks what manifests and
tags written since then reference, so a push that reuses an old unreferenced blob keeps
it. (What remains is the window between that look and the delete: a manifest the
registry accepts in it, naming such a blob, loses the blob, as with Go's offline
collector run online.)

Fast: the blobs are read with one flat walk (one listing per 1000 keys on object stores)
while the repositories are found by listing directories and only their ``_manifests``
are walked, all concurrently; ``_layers`` is never read. Deletes run on a bounded thread
pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..driver import StorageDriver
from ..errors import PathNotFoundError
from .layout import Layout, blob_path, is_repository, scan_parts
from .manifests import Manifest, load_manifests
from .pool import DEFAULT_WORKERS, run_all
from .progress import QUIET, Progress
from .snapshot import Snapshot, read_link, read_snapshot

__all__ = ["GcError", "GcReport", "gc", "mark"]


class GcError(RuntimeError):
    """The collection stopped before deleting anything (e.g. a live manifest is unreadable)."""


@dataclass
class GcReport:
    """What ``gc`` deleted (or, with ``dry_run``, would delete).

    ``blobs`` are digests, ``manifests`` ``(repository, digest)`` pairs, ``young`` the
    unmarked blobs kept because they were written after the mark phase started,
    ``errors`` the deletions that failed.
    """

    dry_run: bool
    delete_untagged: bool
    marked: int = 0
    blobs: list[str] = field(default_factory=list)
    blob_bytes: int = 0
    manifests: list[tuple[str, str]] = field(default_factory=list)
    young: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _reachable(snapshot: Snapshot, roots: Iterable[str]) -> set[str]:
    """Manifests reachable from ``roots`` through index children (``roots`` included)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        digest = todo.pop()
        if digest not in seen:
            seen.add(digest)
            manifest = snapshot.manifest(digest)
            if manifest is not None:
                todo.extend(manifest.children)
    return seen


def mark(snapshot: Snapshot, delete_untagged: bool) -> tuple[set[str], list[tuple[str, str]]]:
    """The marked digests and the doomed ``(repository, manifest)`` pairs of ``snapshot``."""
    marked: set[str] = set()
    doomed: list[tuple[str, str]] = []
    blobs = snapshot.layout.blobs
    for name, repo in sorted(snapshot.layout.repositories.items()):
        if not is_repository(repo):
            continue
        tagged = _reachable(snapshot, snapshot.tag_digests(name).values()) if delete_untagged else set()
        for digest in sorted(repo.revisions):
            if digest not in blobs:
                continue  # Go skips revisions whose blob is gone
            if delete_untagged and digest not in tagged:
                doomed.append((name, digest))
                continue
            manifest = snapshot.manifests.get(digest)
            if not isinstance(manifest, Manifest):
                raise GcError(f"{name}: cannot read manifest {digest}: {manifest}; nothing was deleted")
            marked.add(digest)
            marked.update(manifest.references)
    return marked, doomed


def gc(
    driver: StorageDriver,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    upload_age: timedelta | None = None,
    grace: timedelta = timedelta(0),
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
) -> GcReport:
    """Collect the garbage of the registry store of ``driver`` (see the module docstring)."""
    started = datetime.now(UTC)
    cut = started - grace
    parts = ("_manifests", "_uploads") if upload_age is not None else ("_manifests",)
    snapshot = read_snapshot(driver, workers, progress, parts=parts)
    marked, doomed = mark(snapshot, delete_untagged)
    progress.phase("recheck", 0, "files")
    recent = scan_parts(driver, ("_manifests",), lambda _: progress.advance(), blobs=False, workers=workers)
    _protect_recent(driver, snapshot=snapshot, recent=recent, cut=cut, marked=marked, doomed=doomed, workers=workers)
    report = GcReport(dry_run, delete_untagged, marked=len(marked), manifests=doomed)
    for digest, info in sorted(snapshot.layout.blobs.items()):
        if digest in marked:
            continue
        if info.mod_time >= cut:
            report.young.append(digest)
        else:
            report.blobs.append(digest)
            report.blob_bytes += info.size
    if upload_age is not None:
        for repo in snapshot.layout.repositories.values():
            for upload in repo.uploads.values():
                if upload.mod_time < cut and started - upload.mod_time > upload_age:
                    report.uploads.append(upload.path)
    report.uploads.sort()
    if not dry_run:
        paths = []
        for name, digest in doomed:
            repo = snapshot.layout.repositories[name]
            for entries in repo.tag_index.values():
                if digest in entries:
                    paths.append(entries[digest].path.rsplit("/", 1)[0])
            paths.append(repo.revisions[digest].path.rsplit("/", 1)[0])
        _delete(driver, "manifests", paths, workers=workers, progress=progress, report=report)
        _delete(
            driver, "blobs", [blob_path(d) for d in report.blobs], workers=workers, progress=progress, report=report
        )
        _delete(driver, "uploads", report.uploads, workers=workers, progress=progress, report=report)
    return report


def _protect_recent(
    driver: StorageDriver,
    *,
    snapshot: Snapshot,
    recent: Layout,
    cut: datetime,
    marked: set[str],
    doomed: list[tuple[str, str]],
    workers: int,
) -> None:
    """Mark what was linked, tagged or pushed since ``cut``; spare doomed manifests now tagged."""
    new_manifests: set[str] = set()
    new_tags: list[str] = []
    for repo in recent.repositories.values():
        new_manifests.update(d for d, info in repo.revisions.items() if info.mod_time >= cut)
        new_tags.extend(info.path for info in repo.tags.values() if info.mod_time >= cut)
    for _, result in run_all(lambda path: read_link(driver, path), new_tags, workers):
        if isinstance(result, str):
            new_manifests.add(result)
        elif not isinstance(result, PathNotFoundError):
            raise GcError(f"cannot read a tag written during the collection: {result}; nothing was deleted")
    todo = set(new_manifests)
    fresh: set[str] = set()
    while todo:
        unknown = {d for d in todo if d not in snapshot.manifests}
        snapshot.manifests.update(load_manifests(driver, unknown, workers))
        found = [snapshot.manifest(d) for d in todo]
        fresh.update(todo)
        next_todo: set[str] = set()
        for manifest in found:
            if manifest is not None:
                marked.update(manifest.blobs)
                next_todo.update(c for c in manifest.children if c not in fresh)
        todo = next_todo
    marked.update(fresh)
    doomed[:] = [(name, digest) for name, digest in doomed if digest not in fresh]


def _delete(
    driver: StorageDriver, phase: str, paths: list[str], *, workers: int, progress: Progress, report: GcReport
) -> None:
    progress.phase(f"delete {phase}", len(paths), phase)

    def delete(path: str) -> None:
        with contextlib.suppress(PathNotFoundError):
            driver.delete(path)
        progress.advance()

    for path, result in run_all(delete, paths, workers):
        if isinstance(result, BaseException):
            report.errors.append(f"{path}: {result}")
