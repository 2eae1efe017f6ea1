"""``migrate``: copy a registry store to another driver, verified and resumable.

Every committed object under ``/docker/registry/v2`` is copied (uploads in progress are
not): blobs first, each checked against its digest while it is copied (a blob whose
content does not match is reported and not copied); then manifest revision and layer
links; then tags, so a registry serving the destination never sees a tag before what it
names. An object already at the destination is kept only when verified: a blob of the
same size whose content hashes to its digest, any other object of the same size whose
content equals the source's; anything else is copied again. A rerun after an
interruption thus copies only what is missing or different. A tag whose ``current`` link
at the destination names another manifest than the source's is not overwritten unless
``overwrite``: it is reported as an error (the destination's tag is someone's image).
Nothing is ever deleted at the destination. Each copy is logged once done
(:mod:`.events`).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

from ..driver import FileInfo, StorageDriver
from ..errors import PathNotFoundError
from .cluster import client
from .digests import blob_digest
from .events import record
from .layout import Layout, scan
from .pool import DEFAULT_WORKERS, run_all
from .progress import QUIET, Progress
from .spec import DriverSpec, open_store
from .transfer import SMALL, DigestMismatchError, Transfer, copy_object

__all__ = ["SMALL", "DigestMismatchError", "MigrateReport", "Plan", "Transfer", "copy_object", "migrate", "plan"]


@dataclass
class MigrateReport:
    """What was copied (or, with ``dry_run``, would be), skipped as present (verified), and
    failed; ``refused`` the tags not overwritten (also in ``errors``); with dask, how many
    workers copied (in the busiest stage)."""

    dry_run: bool
    copied: int = 0
    copied_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
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


@dataclass
class Plan:
    """The transfers still needed, per stage; the count and bytes verified in place; the
    tag links that differ at the destination and are not to be overwritten."""

    stages: list[list[Transfer]]
    skipped: int = 0
    skipped_bytes: int = 0
    refused: list[str] = field(default_factory=list)


def _same(source: StorageDriver, dest: StorageDriver, transfer: Transfer) -> bool:
    """Whether the destination's object (of the source's size) may be kept: a blob that
    hashes to its digest, any other object (up to SMALL) with the source's content."""
    if transfer.digest:
        return blob_digest(dest, transfer.digest) == transfer.digest
    return transfer.size <= SMALL and source.get_content(transfer.path) == dest.get_content(transfer.path)


def plan(
    source: StorageDriver,
    dest: StorageDriver,
    *,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
    overwrite: bool = False,
) -> Plan:
    """What :func:`migrate` has to copy (see the module docstring)."""
    progress.phase("walk source", 0, "files")
    have = scan(source, lambda _: progress.advance(), skip=("_uploads",))
    progress.phase("walk destination", 0, "files")
    there = {info.path: info for stage in _stages(scan(dest, skip=("_uploads",))) for info, _ in stage}
    result = Plan([])
    current_links = {info.path for repo in have.repositories.values() for info in repo.tags.values()}
    for stage in _stages(have):
        todo: list[Transfer] = []
        compare: list[Transfer] = []
        for info, digest in stage:
            found = there.get(info.path)
            if found is None or found.size != info.size:
                (compare if found is not None and info.path in current_links else todo).append(
                    Transfer(info.path, info.size, digest)
                )
            else:
                compare.append(Transfer(info.path, info.size, digest))
        progress.phase("verify destination", len(compare), "objects")
        for transfer, same in run_all(
            lambda t: _same(source, dest, t), compare, workers, lambda *_: progress.advance()
        ):
            if same is True:
                result.skipped += 1
                result.skipped_bytes += transfer.size
            elif transfer.path in current_links and not overwrite:
                result.refused.append(transfer.path)
            else:
                todo.append(transfer)
        result.stages.append(todo)
    result.refused.sort()
    return result


def migrate(
    source: StorageDriver | DriverSpec,
    dest: StorageDriver | DriverSpec,
    *,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
    dask: str | None = None,
    overwrite: bool = False,
) -> MigrateReport:
    """Copy the registry store of ``source`` to ``dest`` (see the module docstring).

    ``dask`` is the address of a dask.distributed scheduler: the copies then run on its
    workers (see :mod:`distfs.registry.spread`); ``source`` and ``dest`` must then be
    :class:`~.spec.DriverSpec` values, which the workers open themselves. ``overwrite``
    replaces tags that name another manifest at the destination.
    """
    if dask is not None and not (isinstance(source, DriverSpec) and isinstance(dest, DriverSpec)):
        raise TypeError("migrate with dask needs DriverSpec stores: drivers cannot travel to the workers")
    with contextlib.nullcontext() if dask is None else client(dask) as cluster:  # unreachable: fails first
        return _migrate(source, dest, cluster, dry_run=dry_run, workers=workers, progress=progress, overwrite=overwrite)


def _migrate(
    source: StorageDriver | DriverSpec,
    dest: StorageDriver | DriverSpec,
    cluster: Any,
    *,
    dry_run: bool,
    workers: int,
    progress: Progress,
    overwrite: bool,
) -> MigrateReport:
    """:func:`migrate`, its copies on the dask ``cluster`` (a Client) if it is not None."""
    source_driver, dest_driver = open_store(source), open_store(dest)
    started = time.perf_counter()
    planned = plan(source_driver, dest_driver, workers=workers, progress=progress, overwrite=overwrite)
    stages = planned.stages
    report = MigrateReport(dry_run, skipped=planned.skipped, skipped_bytes=planned.skipped_bytes)
    report.refused = planned.refused
    report.errors.extend(
        f"{path}: the destination's tag names another manifest; not overwritten (overwrite to replace it)"
        for path in planned.refused
    )
    transfers = [t for stage in stages for t in stage]
    if dry_run:
        report.copied = len(transfers)
        report.copied_bytes = sum(t.size for t in transfers)
        report.seconds = time.perf_counter() - started
        return report
    progress.phase("copy", sum(t.size for t in transfers), "bytes")
    for stage in stages:
        if cluster is not None:
            from .spread import copy_on_cluster

            results, ran = copy_on_cluster(cluster, source, dest, stage, progress)  # type: ignore[arg-type]
            report.dask_workers = max(report.dask_workers, len(ran))
        else:
            results = run_all(lambda t: _copy(source_driver, dest_driver, t, progress), stage, workers)
        for transfer, result in results:
            if isinstance(result, PathNotFoundError):
                continue  # deleted at the source since the walk
            if isinstance(result, BaseException):
                report.errors.append(f"{transfer.path}: {result}")
            else:
                report.copied += 1
                report.copied_bytes += transfer.size
                if cluster is not None:
                    _log_copy(transfer)
    report.seconds = time.perf_counter() - started
    return report


def _log_copy(transfer: Transfer) -> None:
    kind = "blob" if transfer.digest else "object"
    reason = "missing or different at the destination"
    record("copy", kind, transfer.digest, transfer.size, reason=reason, path=transfer.path)


def _copy(source: StorageDriver, dest: StorageDriver, transfer: Transfer, progress: Progress) -> int:
    """Copy one object (:func:`copy_object`) and log it once done."""
    copied = copy_object(source, dest, transfer, progress)
    _log_copy(transfer)
    return copied
