"""The Go registry's storage layout, and one walk that reads it.

Everything the registry stores lives under ``/docker/registry/v2``::

    blobs/<algorithm>/<first two hex>/<hex>/data              blob content
    repositories/<name>/_layers/<algorithm>/<hex>/link        blob linked into a repository
    repositories/<name>/_manifests/revisions/<algorithm>/<hex>/link       manifest revision
    repositories/<name>/_manifests/tags/<tag>/current/link                 tag -> digest
    repositories/<name>/_manifests/tags/<tag>/index/<algorithm>/<hex>/link tag history
    repositories/<name>/_uploads/<uuid>/...                   upload in progress

A link file holds the digest it points to (``sha256:<hex>``). A repository is a
directory holding ``_manifests`` (as in Go's catalog); its name may have several
components (``library/alpine``). :func:`scan` reads the whole tree with one
:meth:`~distfs.StorageDriver.walk` (one flat listing on object stores) and sorts every
file into a :class:`Layout`; it never reads a file's content.

The paths are :mod:`.storage_paths`'s, the listings that gc, fsck and migrate run as
tasks :mod:`.listing`'s; both are re-exported here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..driver import FileInfo, SkipDir, StorageDriver
from ..errors import PathNotFoundError
from .listing import (
    blob_ranges,
    files_between,
    list_blobs,
    part_files,
    repository_parts,
    scan_files,
    stat_files,
)
from .pool import DEFAULT_WORKERS, Pace, run_all
from .runner import Runner
from .storage_paths import (
    BLOBS,
    REPOSITORIES,
    ROOT,
    blob_data_path,
    blob_path,
    is_digest,
    layer_link_path,
    parse_digest,
    repository_path,
    revision_link_path,
    tag_current_path,
    tag_index_path,
)

__all__ = [
    "BLOBS",
    "REPOSITORIES",
    "ROOT",
    "Layout",
    "Repository",
    "Upload",
    "blob_data_path",
    "blob_path",
    "blob_ranges",
    "files_between",
    "is_repository",
    "layer_link_path",
    "list_blobs",
    "parse_digest",
    "part_files",
    "repository_parts",
    "repository_path",
    "revision_link_path",
    "scan",
    "scan_files",
    "scan_parts",
    "stat_files",
    "tag_current_path",
    "tag_index_path",
]


_BLOBS_BELOW, _REPOSITORIES_BELOW, _BLOBS_CUT = BLOBS + "/", REPOSITORIES + "/", len(BLOBS) + 1
_ALGORITHM_HEX = re.compile(r"(sha256|sha384|sha512)/([0-9a-f]+)")


@dataclass
class Upload:
    """An upload directory ``_uploads/<uuid>``: its files and the newest modification time."""

    repository: str
    uuid: str
    size: int = 0
    mod_time: datetime = datetime(1970, 1, 1, tzinfo=UTC)

    @property
    def path(self) -> str:
        return f"{REPOSITORIES}/{self.repository}/_uploads/{self.uuid}"


@dataclass
class Repository:
    """The link files of one repository, keyed by digest (or tag), as found by the walk."""

    name: str
    layers: dict[str, FileInfo] = field(default_factory=dict)
    revisions: dict[str, FileInfo] = field(default_factory=dict)
    tags: dict[str, FileInfo] = field(default_factory=dict)
    tag_index: dict[str, dict[str, FileInfo]] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)


@dataclass
class Layout:
    """Every file of a registry store, sorted by role.

    ``blobs`` maps a digest to the info of its ``data`` file; ``other`` holds files that
    fit no role of the layout (they are reported by fsck, copied by migrate, and never
    deleted by gc).
    """

    blobs: dict[str, FileInfo] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    other: list[FileInfo] = field(default_factory=list)

    def repository(self, name: str) -> Repository:
        if name not in self.repositories:
            self.repositories[name] = Repository(name)
        return self.repositories[name]

    @property
    def files(self) -> int:
        """How many files the walk found."""
        count = len(self.blobs) + len(self.other)
        for repo in self.repositories.values():
            count += len(repo.layers) + len(repo.revisions) + len(repo.tags)
            count += sum(len(entries) for entries in repo.tag_index.values())
        return count

    def add(self, info: FileInfo) -> None:
        """Sort the file ``info`` into this layout."""
        if info.is_dir:
            return
        path = info.path
        if path.startswith(_BLOBS_BELOW):
            self.add_blobs((info,))
        elif path.startswith(_REPOSITORIES_BELOW):
            self._add_repository_file(info)
        else:
            self.other.append(info)

    def add_blobs(self, infos: Iterable[FileInfo]) -> None:
        """:meth:`add` of files below ``blobs/`` (one loop: a listing's thousands of blobs)."""
        blobs, other = self.blobs, self.other
        for info in infos:
            parts = info.path[_BLOBS_CUT:].split("/")
            if len(parts) == 4 and parts[3] == "data" and parts[2][:2] == parts[1]:
                digest = f"{parts[0]}:{parts[2]}"
                if is_digest(digest):
                    blobs[digest] = info
                    continue
            other.append(info)

    def _add_repository_file(self, info: FileInfo) -> None:
        parts = info.path[len(REPOSITORIES) + 1 :].split("/")
        at = next((i for i, part in enumerate(parts) if part.startswith("_")), None)
        if not at:
            self.other.append(info)
            return
        name, kind, rest = "/".join(parts[:at]), parts[at], parts[at + 1 :]
        repo = self.repository(name) if kind == "_manifests" or name in self.repositories else None
        if kind == "_uploads" and rest:
            repo = repo or self.repository(name)
            upload = repo.uploads.setdefault(rest[0], Upload(name, rest[0]))
            upload.size += info.size
            upload.mod_time = max(upload.mod_time, info.mod_time)
            return
        if kind == "_layers":
            repo = repo or self.repository(name)
            digest = _link_digest(rest)
            if digest is not None:
                repo.layers[digest] = info
                return
        if kind == "_manifests" and repo is not None:
            if rest[:1] == ["revisions"]:
                digest = _link_digest(rest[1:])
                if digest is not None:
                    repo.revisions[digest] = info
                    return
            elif rest[:1] == ["tags"] and len(rest) == 4 and rest[2:] == ["current", "link"]:
                repo.tags[rest[1]] = info
                return
            elif rest[:1] == ["tags"] and len(rest) == 6 and rest[2] == "index":
                digest = _link_digest(rest[3:])
                if digest is not None:
                    repo.tag_index.setdefault(rest[1], {})[digest] = info
                    return
        self.other.append(info)


def _link_digest(parts: list[str]) -> str | None:
    """The digest named by ``<algorithm>/<hex>/link``, or None."""
    if len(parts) != 3 or parts[2] != "link":
        return None
    match = _ALGORITHM_HEX.fullmatch("/".join(parts[:2]))
    if match is None:
        return None
    try:
        return parse_digest(f"{match[1]}:{match[2]}")
    except ValueError:
        return None


def scan(
    driver: StorageDriver,
    on_file: Callable[[FileInfo], None] | None = None,
    *,
    under: str = ROOT,
    skip: Collection[str] = (),
) -> Layout:
    """Walk the registry tree of ``driver`` (or only ``under``) once and sort its files.

    ``skip`` names repository parts not to walk (``_layers``, ``_uploads``); an empty
    store is an empty layout. Repositories with only ``_layers`` or ``_uploads`` (a push
    that never wrote a manifest) appear in :attr:`Layout.repositories` too;
    :func:`is_repository` tells the ones Go's catalog lists.
    """
    layout = Layout()

    def visit(info: FileInfo) -> None:
        if info.is_dir:
            if skip and info.path.startswith(REPOSITORIES + "/"):
                parts = info.path[len(REPOSITORIES) + 1 :].split("/")
                if parts[-1] in skip and not any(part.startswith("_") for part in parts[:-1]):
                    raise SkipDir
            return
        layout.add(info)
        if on_file is not None:
            on_file(info)

    with contextlib.suppress(PathNotFoundError):
        driver.walk(under, visit)
    return layout


def scan_parts(
    driver: StorageDriver,
    parts: Collection[str],
    on_file: Callable[[FileInfo], None] | None = None,
    *,
    blobs: bool = True,
    workers: int = DEFAULT_WORKERS,
    layers: Collection[str] | None = None,
    runner: Runner | None = None,
) -> Layout:
    """Like :func:`scan`, but of the blobs (if ``blobs``) and only the named ``parts`` of
    each repository: the blobs are listed (:func:`list_blobs`) while the repositories are
    found and their parts walked concurrently, one task per repository part on
    ``runner`` (a thread pool over ``driver`` by default). ``layers``: only the
    ``_layers`` links of these digests are read (the walk skips the directories of the
    others)."""
    run = runner or Runner(driver, workers)
    targets: list[str] = []

    def walk_into(path: str) -> list[FileInfo]:
        if path == BLOBS:
            return list_blobs(run, on_file)
        # a pace of its own: beside the blobs' listing its calls also wait for the GIL
        for name, have in repository_parts(run.driver, run.workers, Pace()).items():
            targets.extend(f"{REPOSITORIES}/{name}/{part}" for part in sorted(have & set(parts)))
        return []

    layout = Layout()
    first = [BLOBS, REPOSITORIES] if blobs else [REPOSITORIES]
    for path, infos in run_all(walk_into, first, 2):
        if isinstance(infos, BaseException):
            raise infos
        if path == BLOBS:
            layout.add_blobs(infos)  # files only, all below blobs/
            continue
        for info in infos:
            layout.add(info)
    shared = {"layers": None if layers is None else frozenset(layers)}  # sent to a cluster's workers once
    for _, infos in run.map(part_files, targets, shared=shared, reads=True):
        if isinstance(infos, BaseException):
            raise infos
        for info in infos:
            layout.add(info)
            if on_file is not None:
                on_file(info)
    return layout


def is_repository(repo: Repository) -> bool:
    """Whether Go's catalog lists ``repo``: it has a ``_manifests`` directory with a file."""
    return bool(repo.revisions or repo.tags or repo.tag_index)
