"""``migrate``: copy a registry store to another driver, verified and resumable.

Every committed object under ``/docker/registry/v2`` is copied (uploads in progress are
not): blobs first, each checked against its digest while it is copied (a blob whose
content does not match is reported and not copied); then manifest revision and layer
links; then tags, so a registry serving the destination never sees a tag before what it
names. An object already at the destination is skipped when its size matches (blobs and
links are named by their digest) and, for a tag's ``current`` link, its content too: a
rerun after an interruption copies only what is missing or different. Nothing is ever
deleted at the destination.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..driver import FileInfo, StorageDriver
from ..errors import PathNotFoundError
from .layout import Layout, scan
from .pool import DEFAULT_WORKERS, run_all
from .progress import QUIET, Progress
from .spec import DriverSpec, open_store
from .transfer import SMALL, DigestMismatchError, Transfer, copy_object

__all__ = ["SMALL", "DigestMismatchError", "MigrateReport", "Transfer", "copy_object", "migrate", "plan"]


@dataclass
class MigrateReport:
    """What was copied (or, with ``dry_run``, would be), skipped as present, and failed;
    with dask, how many workers copied (in the busiest stage)."""

    dry_run: bool
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dask_workers: int = 0

    @property
    def bytes_per_second(self) -> float:
        return self.copied_bytes / self.seconds if self.seconds > 0 else 0.0


def _stages(layout: Layout) -> list[list[tuple[FileInfo, str]]]:
    """``(info, digest)`` per object, in three stages: blobs and the rest; links; tags."""
    blobs = [(info, digest) for digest, info in layout.blobs.items()] + [(info, "") for info in layout.other]
    links: list[tuple[FileInfo, str]] = []
    tags: list[tuple[FileInfo, str]] = []
    for repo in layout.repositories.values():
        links.extend((info, "") for info in (*repo.layers.values(), *repo.revisions.values()))
        for entries in repo.tag_index.values():
            tags.extend((info, "") for info in entries.values())
        tags.extend((info, "") for info in repo.tags.values())
    return [sorted(stage, key=lambda item: item[0].path) for stage in (blobs, links, tags)]


def plan(
    source: StorageDriver, dest: StorageDriver, *, workers: int = DEFAULT_WORKERS, progress: Progress = QUIET
) -> tuple[list[list[Transfer]], int, int]:
    """The transfers still needed, per stage, and the count and bytes already in place."""
    progress.phase("walk source", 0, "files")
    have = scan(source, lambda _: progress.advance(), skip=("_uploads",))
    progress.phase("walk destination", 0, "files")
    there = {info.path: info for stage in _stages(scan(dest, skip=("_uploads",))) for info, _ in stage}
    stages: list[list[Transfer]] = []
    skipped = skipped_bytes = 0
    current_links = {info.path for repo in have.repositories.values() for info in repo.tags.values()}
    for stage in _stages(have):
        todo: list[Transfer] = []
        compare = []
        for info, digest in stage:
            found = there.get(info.path)
            if found is None or found.size != info.size:
                todo.append(Transfer(info.path, info.size, digest))
            elif info.path in current_links:
                compare.append(Transfer(info.path, info.size, digest))
            else:
                skipped += 1
                skipped_bytes += info.size
        for transfer, same in run_all(
            lambda t: source.get_content(t.path) == dest.get_content(t.path), compare, workers
        ):
            if same is True:
                skipped += 1
                skipped_bytes += transfer.size
            else:
                todo.append(transfer)
        stages.append(todo)
    return stages, skipped, skipped_bytes


def migrate(
    source: StorageDriver | DriverSpec,
    dest: StorageDriver | DriverSpec,
    *,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
    dask: str | None = None,
) -> MigrateReport:
    """Copy the registry store of ``source`` to ``dest`` (see the module docstring).

    ``dask`` is the address of a dask.distributed scheduler: the copies then run on its
    workers (see :mod:`distfs.registry.spread`); ``source`` and ``dest`` must then be
    :class:`~.spec.DriverSpec` values, which the workers open themselves.
    """
    if dask is not None and not (isinstance(source, DriverSpec) and isinstance(dest, DriverSpec)):
        raise TypeError("migrate with dask needs DriverSpec stores: drivers cannot travel to the workers")
    source_driver, dest_driver = open_store(source), open_store(dest)
    started = time.perf_counter()
    stages, skipped, skipped_bytes = plan(source_driver, dest_driver, workers=workers, progress=progress)
    report = MigrateReport(dry_run, skipped=skipped, skipped_bytes=skipped_bytes)
    transfers = [t for stage in stages for t in stage]
    if dry_run:
        report.copied = len(transfers)
        report.copied_bytes = sum(t.size for t in transfers)
        report.seconds = time.perf_counter() - started
        return report
    progress.phase("copy", sum(t.size for t in transfers), "bytes")
    for stage in stages:
        if dask is not None:
            from .spread import copy_on_cluster

            results, ran = copy_on_cluster(dask, source, dest, stage, progress)  # type: ignore[arg-type]
            report.dask_workers = max(report.dask_workers, len(ran))
        else:
            results = run_all(lambda t: copy_object(source_driver, dest_driver, t, progress), stage, workers)
        for transfer, result in results:
            if isinstance(result, PathNotFoundError):
                continue  # deleted at the source since the walk
            if isinstance(result, BaseException):
                report.errors.append(f"{transfer.path}: {result}")
            else:
                report.copied += 1
                report.copied_bytes += transfer.size
    report.seconds = time.perf_counter() - started
    return report
