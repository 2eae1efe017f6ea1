"""``gc``: mark and sweep, with the decisions of Go's ``registry garbage-collect``, online.

Mark: every manifest revision of every repository whose blob is stored is marked with
everything it references (config, layers, the child manifests of an index). With
``delete_untagged`` a revision is instead doomed when no tag reaches it -- Go 2.8 only
looks at the tags themselves and so dooms the platform manifests of a tagged index (the
image then no longer pulls); distfs keeps every manifest reachable from a tag, through
indexes too. What cannot be read stops the collection before anything is deleted, with
an error naming it (Go does the same): a live manifest (its blobs cannot be known; a
manifest over 4 MiB, which Go refuses, is never read), and with ``delete_untagged`` a
tag link (the image it names cannot be known to be untagged).

Sweep: doomed manifests lose their revision link and their tag history entries, and
every stored blob left unmarked is deleted (its directory), as in Go; ``_layers`` links
are left alone, as in Go (a link to a deleted blob answers "blob unknown", like no link).
With ``upload_age``, uploads untouched for longer are removed too. Deletions go in
batches (:meth:`~distfs.StorageDriver.delete_many`: a few listings and batch deletes per
thousand paths on object stores); each is logged once done (:mod:`.events`). An
interrupted sweep (KeyboardInterrupt) starts no further batch and raises
:class:`GcInterrupted` carrying the report of what was deleted so far.

Safe while the registry serves pushes, by identity rather than by modification time
alone: nothing modified at or after the moment the mark phase started (minus ``grace``)
is deleted; right before the sweep (not in a dry run, which deletes nothing and reports
the store as the mark found it) a second look at every repository's ``_manifests``
and ``_layers`` marks what manifests and tags written since then reference and every
digest whose ``_layers`` link was written since then (a push links each blob it
commits: on ``filesystem`` the committed upload is renamed into ``blobs/`` and keeps the
upload's old modification time, so its link is what tells); and a blob is deleted only
if a second listing of the blobs finds it unchanged since the first
(:attr:`~distfs.FileInfo.version`: the ETag or generation on object stores, inode and
``mtime_ns`` on ``filesystem``, and the modification time). An upload in progress names
no digest until its commit links it. (What remains is the window between that second
look and the delete: a push that links, in it, a blob that was unreferenced loses the
blob, as with Go's offline collector run online.)

Fast: the blobs are read with one :meth:`~distfs.StorageDriver.files_matching` of
``blobs/*/*/*/data`` (one listing per 1000 keys on object stores; on ``filesystem`` a
listing per shard and a ``stat`` per blob, no blob directory read) while the
repositories are found by listing directories and only their ``_manifests`` (and, for
the second look, ``_layers``) are walked, all concurrently. Deletes run on a bounded
thread pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from ..driver import FileInfo, StorageDriver
from ..errors import PathNotFoundError
from .cluster import runner_for
from .gc_report import GcError, GcInterrupted, GcItem, GcReport
from .layout import Layout, is_repository, scan_parts
from .manifests import Manifest, load_manifests
from .pool import DEFAULT_WORKERS
from .progress import QUIET, Progress
from .runner import Runner
from .snapshot import Snapshot, link_digest, read_snapshot
from .spec import DriverSpec
from .sweep import BATCH, delete_items, recheck_identity

__all__ = ["BATCH", "DEFAULT_GRACE", "GcError", "GcInterrupted", "GcItem", "GcReport", "gc", "mark"]


#: What is younger than this is kept: the protection of pushes in flight (a push uploads its
#: layers before its manifest links them). zot's ``gcDelay`` is one hour too. An offline
#: collection (the registry stopped or read-only) may pass ``timedelta(0)``.
DEFAULT_GRACE = timedelta(hours=1)


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


def _check_tags(snapshot: Snapshot, name: str) -> None:
    """GcError naming the first tag link of ``name`` that could not be read (gone is fine)."""
    for tag, target in sorted(snapshot.tags.get(name, {}).items()):
        if isinstance(target, Exception) and not isinstance(target, PathNotFoundError):
            path = snapshot.layout.repositories[name].tags[tag].path
            raise GcError(f"{name}: cannot read tag link {path}: {target}; nothing was deleted")


def mark(snapshot: Snapshot, delete_untagged: bool) -> tuple[set[str], list[tuple[str, str]]]:
    """The marked digests and the doomed ``(repository, manifest)`` pairs of ``snapshot``.

    GcError names what stops the collection: a live manifest that cannot be read, and
    with ``delete_untagged`` a tag link that cannot be read.
    """
    marked: set[str] = set()
    doomed: list[tuple[str, str]] = []
    blobs = snapshot.layout.blobs
    for name, repo in sorted(snapshot.layout.repositories.items()):
        if not is_repository(repo):
            continue
        if delete_untagged:
            _check_tags(snapshot, name)
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
    store: StorageDriver | DriverSpec,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    upload_age: timedelta | None = None,
    grace: timedelta = DEFAULT_GRACE,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
    dask: str | None = None,
) -> GcReport:
    """Collect the garbage of the registry store ``store`` (see the module docstring).

    ``grace`` (default :data:`DEFAULT_GRACE`, one hour) protects pushes in flight: what was
    modified less than ``grace`` before the mark began is kept. GcError (before anything
    is deleted) names what could not be read; GcInterrupted (a KeyboardInterrupt) carries
    the report of a sweep interrupted midway.

    ``dask`` is the address of a dask.distributed scheduler: the listings, reads and
    delete batches then run on its workers (:mod:`.cluster`; ``store`` must be a
    :class:`~.spec.DriverSpec`), while the mark, every check and the log stay here.
    """
    with runner_for(store, workers, dask, "gc") as runner:
        try:
            report = _collect(
                runner,
                dry_run=dry_run,
                delete_untagged=delete_untagged,
                upload_age=upload_age,
                grace=grace,
                progress=progress,
            )
        except GcInterrupted as interrupted:
            interrupted.report.dask_workers = len(getattr(runner, "ran", ()))
            raise
        report.dask_workers = len(getattr(runner, "ran", ()))
        return report


def _collect(
    runner: Runner,
    *,
    dry_run: bool,
    delete_untagged: bool,
    upload_age: timedelta | None,
    grace: timedelta,
    progress: Progress,
) -> GcReport:
    """:func:`gc` with its tasks on ``runner``."""
    driver, workers = runner.driver, runner.workers
    started = datetime.now(UTC)
    cut = started - grace
    parts = ("_manifests", "_uploads") if upload_age is not None else ("_manifests",)
    snapshot = read_snapshot(driver, workers, progress, parts=parts, runner=runner)
    marked, doomed = mark(snapshot, delete_untagged)
    if not dry_run:  # the second look guards deletions against pushes racing them: a dry run deletes nothing
        progress.phase("recheck", 0, "files")
        unmarked = set(snapshot.layout.blobs) - marked  # only their _layers links can spare a blob
        recent = scan_parts(
            driver, ("_manifests", "_layers"), lambda _: progress.advance(), blobs=False, layers=unmarked, runner=runner
        )
        _protect_recent(runner, snapshot=snapshot, recent=recent, cut=cut, marked=marked, doomed=doomed)
    report = GcReport(dry_run, delete_untagged, marked=len(marked), manifests=doomed)
    layout = snapshot.layout
    for name, digest in doomed:
        repo = layout.repositories[name]
        info = repo.revisions[digest]
        size = layout.blobs[digest].size if digest in layout.blobs else 0
        history = tuple(
            entries[digest].path.rsplit("/", 1)[0] for entries in repo.tag_index.values() if digest in entries
        )
        reason = f"{name}: no tag reaches it"
        path = info.path.rsplit("/", 1)[0]
        report.items.append(GcItem("manifest", digest, path, size, info.mod_time, reason, also=history))
    candidates: dict[str, FileInfo] = {}
    for digest in sorted(layout.blobs.keys() - marked):
        info = layout.blobs[digest]
        if _since(info.mod_time, cut):
            report.young.append(digest)
        else:
            candidates[digest] = info
    if candidates and not dry_run:
        recheck_identity(runner, candidates, report, progress)
    for digest, info in candidates.items():
        report.blobs.append(digest)
        report.blob_bytes += info.size
        directory = info.path.rpartition("/")[0]  # blob_path(digest): the layout took only such data paths
        report.items.append(GcItem("blob", digest, directory, info.size, info.mod_time, "unreferenced"))
    if upload_age is not None:
        for repo in layout.repositories.values():
            for upload in repo.uploads.values():
                if not _since(upload.mod_time, cut) and started - upload.mod_time > upload_age:
                    report.uploads.append(upload.path)
                    reason = f"untouched for longer than {upload_age}"
                    report.items.append(GcItem("upload", "", upload.path, upload.size, upload.mod_time, reason))
    report.uploads.sort()
    if not dry_run:
        try:
            for kind in ("manifest", "blob", "upload"):
                doing = [item for item in report.items if item.kind == kind]
                delete_items(runner, kind, doing, progress=progress, report=report)
        except KeyboardInterrupt:
            report.interrupted = True
            raise GcInterrupted(report) from None
    return report


def _protect_recent(
    runner: Runner,
    *,
    snapshot: Snapshot,
    recent: Layout,
    cut: datetime,
    marked: set[str],
    doomed: list[tuple[str, str]],
) -> None:
    """Mark what was linked, tagged or pushed since ``cut``; spare doomed manifests now tagged."""
    new_manifests: set[str] = set()
    new_tags: list[FileInfo] = []
    for repo in recent.repositories.values():
        new_manifests.update(d for d, info in repo.revisions.items() if _since(info.mod_time, cut))
        new_tags.extend(info for info in repo.tags.values() if _since(info.mod_time, cut))
        marked.update(d for d, info in repo.layers.items() if _since(info.mod_time, cut))
    for (path, _), result in runner.map(link_digest, [(info.path, info.size) for info in new_tags], reads=True):
        if isinstance(result, str):
            new_manifests.add(result)
        elif doomed and not isinstance(result, PathNotFoundError):  # it may tag a doomed manifest
            raise GcError(f"cannot read tag link {path} written since the mark: {result}; nothing was deleted")
    sizes = {digest: info.size for digest, info in snapshot.layout.blobs.items()}
    todo = set(new_manifests)
    fresh: set[str] = set()
    while todo:
        unknown = {d for d in todo if d not in snapshot.manifests}
        snapshot.manifests.update(load_manifests(runner, unknown, sizes))
        fresh.update(todo)
        next_todo: set[str] = set()
        for digest in todo:
            found = snapshot.manifests.get(digest)
            if isinstance(found, Manifest):
                marked.update(found.blobs)
                next_todo.update(c for c in found.children if c not in fresh)
            elif not isinstance(found, PathNotFoundError):
                raise GcError(f"cannot read manifest {digest} pushed since the mark: {found}; nothing was deleted")
        todo = next_todo
    marked.update(fresh)
    doomed[:] = [(name, digest) for name, digest in doomed if digest not in fresh]


def _since(when: datetime, cut: datetime) -> bool:
    """Whether a file last modified ``when`` was written at or after ``cut``.

    Object stores list modification times in whole seconds: a write in the second of the
    cut lists as older than the cut, so a time without microseconds counts from the
    start of the cut's second.
    """
    return when >= cut or (when.microsecond == 0 and when >= cut.replace(microsecond=0))
