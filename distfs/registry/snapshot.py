"""A consistent read of a registry store: its layout, tag targets and manifests.

:func:`read_snapshot` walks the store once (:func:`~distfs.registry.layout.scan`), reads
every tag's ``current`` link and parses every manifest revision whose blob exists, each
on a bounded thread pool. ``started`` is when the walk began: everything the snapshot
knows was written before it or during the read.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..driver import StorageDriver
from .layout import Layout, parse_digest, scan, scan_parts
from .manifests import Manifest, load_manifests
from .pool import DEFAULT_WORKERS
from .progress import QUIET, Progress
from .runner import Runner

__all__ = ["MAX_LINK", "Snapshot", "link_digest", "read_link", "read_snapshot"]


@dataclass
class Snapshot:
    """``tags[repo][tag]`` is a digest or the error reading the link;
    ``manifests[digest]`` a :class:`Manifest` or the error reading or parsing it."""

    layout: Layout
    started: datetime
    tags: dict[str, dict[str, str | Exception]] = field(default_factory=dict)
    manifests: dict[str, Manifest | Exception] = field(default_factory=dict)

    def tag_digests(self, repository: str) -> dict[str, str]:
        """The tags of ``repository`` whose link holds a digest."""
        return {tag: d for tag, d in self.tags.get(repository, {}).items() if isinstance(d, str)}

    def manifest(self, digest: str) -> Manifest | None:
        found = self.manifests.get(digest)
        return found if isinstance(found, Manifest) else None


MAX_LINK = 4096
"""The largest link file read, in bytes (a link holds one digest: at most 135 bytes)."""


def read_link(driver: StorageDriver, path: str, size: int | None = None) -> str:
    """The digest held by the link file ``path`` (of ``size`` bytes as listed, if known).

    A link larger than :data:`MAX_LINK` is a ValueError, and is not read.
    """
    if size is not None and size > MAX_LINK:
        raise ValueError(f"{path}: {size} bytes, too large for a link; not read")
    return parse_digest(driver.get_content(path))


def link_digest(driver: StorageDriver, item: tuple[str, int | None]) -> str:
    """:func:`read_link` of ``(path, size)``: a task for a :class:`~.runner.Runner`."""
    return read_link(driver, *item)


def read_snapshot(
    driver: StorageDriver,
    workers: int = DEFAULT_WORKERS,
    progress: Progress = QUIET,
    *,
    manifests: bool = True,
    parts: Collection[str] | None = None,
    blobs: bool = True,
    runner: Runner | None = None,
) -> Snapshot:
    """Walk ``driver``'s registry tree, read its tags and (if ``manifests``) parse its manifests.

    ``parts`` limits the repositories' walk to those parts (``_manifests``, ``_layers``,
    ``_uploads``; see :func:`~distfs.registry.layout.scan_parts`), and ``blobs=False``
    leaves the blobs out; ``parts=None`` walks everything (one walk, here). The links,
    the manifests and the parts' walks are tasks of ``runner`` (a thread pool over
    ``driver`` by default).
    """
    run = runner or Runner(driver, workers)
    started = datetime.now(UTC)
    progress.phase("walk", 0, "files")
    if parts is None:
        layout = scan(driver, lambda _: progress.advance())
    else:
        layout = scan_parts(driver, parts, lambda _: progress.advance(), blobs=blobs, runner=run)
    snapshot = Snapshot(layout, started)
    links = {info.path: (repo.name, tag) for repo in layout.repositories.values() for tag, info in repo.tags.items()}
    sized = [(info.path, info.size) for repo in layout.repositories.values() for info in repo.tags.values()]
    progress.phase("tags", len(links), "links")
    for (path, _), result in run.map(link_digest, sized, lambda *_: progress.advance(), reads=True):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
        name, tag = links[path]
        snapshot.tags.setdefault(name, {})[tag] = result
    if not manifests:
        return snapshot
    digests = {d for repo in layout.repositories.values() for d in repo.revisions if d in layout.blobs}
    progress.phase("manifests", len(digests), "manifests")
    sizes = {digest: info.size for digest, info in layout.blobs.items()}
    snapshot.manifests = load_manifests(run, digests, sizes)
    progress.advance(len(digests))
    while True:  # children of indexes that are no revision anywhere (fsck reports them)
        children = {c for m in snapshot.manifests.values() if isinstance(m, Manifest) for c in m.children}
        missing = {c for c in children if c not in snapshot.manifests and c in layout.blobs}
        if not missing:
            return snapshot
        snapshot.manifests.update(load_manifests(run, missing, sizes))
