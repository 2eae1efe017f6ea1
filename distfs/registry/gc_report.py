"""What :func:`~distfs.registry.gc` reports: what it deleted (or would), and how it stopped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["GcError", "GcInterrupted", "GcItem", "GcReport"]


class GcError(RuntimeError):
    """The collection stopped before deleting anything (e.g. a live manifest is unreadable)."""


@dataclass(frozen=True)
class GcItem:
    """One thing gc deletes: ``kind`` (``manifest``, ``blob``, ``upload``), its ``digest``
    (``""`` for an upload), the ``path`` deleted, ``size`` in bytes, when it was last
    modified and why it goes; ``also`` the paths deleted with it (a doomed manifest's
    revision link is ``path``, its tag history entries are ``also``)."""

    kind: str
    digest: str
    path: str
    size: int
    mod_time: datetime
    reason: str
    also: tuple[str, ...] = ()

    @property
    def paths(self) -> tuple[str, ...]:
        return (*self.also, self.path)


@dataclass
class GcReport:
    """What ``gc`` deleted (or, with ``dry_run``, would delete).

    ``blobs`` are digests, ``manifests`` ``(repository, digest)`` pairs, ``young`` the
    unmarked blobs kept because they were written after the mark phase started,
    ``changed`` those kept because the second listing found them replaced or gone,
    ``errors`` the deletions that failed. ``items`` details every planned deletion;
    ``deleted`` those done (so far, when ``interrupted``); with dask, how many workers ran
    tasks.
    """

    dry_run: bool
    delete_untagged: bool
    marked: int = 0
    blobs: list[str] = field(default_factory=list)
    blob_bytes: int = 0
    manifests: list[tuple[str, str]] = field(default_factory=list)
    young: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    items: list[GcItem] = field(default_factory=list)
    deleted: list[GcItem] = field(default_factory=list)
    interrupted: bool = False
    dask_workers: int = 0

    @property
    def deleted_bytes(self) -> int:
        return sum(item.size for item in self.deleted)


class GcInterrupted(KeyboardInterrupt):
    """The sweep was interrupted: ``report`` holds what was deleted so far."""

    def __init__(self, report: GcReport) -> None:
        super().__init__("gc interrupted")
        self.report = report
