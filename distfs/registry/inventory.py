"""What a registry store holds: ``ls`` (repositories, tags) and ``du`` (bytes per repository)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..driver import StorageDriver
from .layout import is_repository
from .manifests import Manifest
from .pool import DEFAULT_WORKERS
from .progress import QUIET, Progress
from .snapshot import Snapshot, read_snapshot

__all__ = ["RepositoryTags", "RepositoryUsage", "Usage", "du", "ls", "repository_blobs"]


@dataclass(frozen=True)
class RepositoryTags:
    """A repository and its tags, each with the digest of the manifest it points to."""

    name: str
    tags: dict[str, str]


def ls(
    driver: StorageDriver, repository: str | None = None, *, workers: int = DEFAULT_WORKERS, progress: Progress = QUIET
) -> list[RepositoryTags]:
    """The repositories of the store (as the registry's ``/v2/_catalog`` lists them), sorted,
    with their tags (as ``/v2/<name>/tags/list``); only ``repository`` if given (empty if
    the store has no such repository)."""
    snapshot = read_snapshot(driver, workers, progress, manifests=False, parts=("_manifests",), blobs=False)
    names = sorted(name for name, repo in snapshot.layout.repositories.items() if is_repository(repo))
    if repository is not None:
        names = [name for name in names if name == repository]
    return [RepositoryTags(name, dict(sorted(snapshot.tag_digests(name).items()))) for name in names]


@dataclass(frozen=True)
class RepositoryUsage:
    """Bytes of the blobs a repository's manifests use (manifests, configs, layers).

    ``unique_bytes`` are used by no other repository, ``shared_bytes`` by some other too.
    """

    name: str
    blobs: int
    bytes: int
    unique_bytes: int
    shared_bytes: int


@dataclass(frozen=True)
class Usage:
    """``du`` of a whole store.

    ``blob_bytes`` is every blob stored; ``unused_bytes`` the blobs no repository's
    manifest uses (what ``gc`` may free, and more with ``--delete-untagged``);
    ``upload_bytes`` the uploads in progress.
    """

    repositories: list[RepositoryUsage] = field(default_factory=list)
    blobs: int = 0
    blob_bytes: int = 0
    shared_bytes: int = 0
    unused_bytes: int = 0
    upload_bytes: int = 0


def repository_blobs(snapshot: Snapshot, name: str) -> set[str]:
    """The existing blobs used by the manifest revisions of repository ``name``, through indexes."""
    repo = snapshot.layout.repositories[name]
    seen: set[str] = set()
    todo = list(repo.revisions)
    while todo:
        digest = todo.pop()
        if digest in seen:
            continue
        seen.add(digest)
        manifest = snapshot.manifests.get(digest)
        if isinstance(manifest, Manifest):
            seen.update(manifest.blobs)
            todo.extend(manifest.children)
    return {digest for digest in seen if digest in snapshot.layout.blobs}


def du(driver: StorageDriver, *, workers: int = DEFAULT_WORKERS, progress: Progress = QUIET) -> Usage:
    """Bytes per repository, shared and unique, and for the whole store."""
    snapshot = read_snapshot(driver, workers, progress, parts=("_manifests", "_uploads"))
    blobs = snapshot.layout.blobs
    used = {
        name: repository_blobs(snapshot, name)
        for name, repo in sorted(snapshot.layout.repositories.items())
        if is_repository(repo)
    }
    users: dict[str, int] = {}
    for digests in used.values():
        for digest in digests:
            users[digest] = users.get(digest, 0) + 1
    rows = []
    for name, digests in used.items():
        unique = sum(blobs[d].size for d in digests if users[d] == 1)
        total = sum(blobs[d].size for d in digests)
        rows.append(RepositoryUsage(name, len(digests), total, unique, total - unique))
    return Usage(
        repositories=rows,
        blobs=len(blobs),
        blob_bytes=sum(info.size for info in blobs.values()),
        shared_bytes=sum(blobs[d].size for d, count in users.items() if count > 1),
        unused_bytes=sum(info.size for d, info in blobs.items() if d not in users),
        upload_bytes=sum(u.size for repo in snapshot.layout.repositories.values() for u in repo.uploads.values()),
    )
