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
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..driver import FileInfo, SkipDir, StopWalk, StorageDriver
from ..errors import PathNotFoundError
from .pool import DEFAULT_WORKERS, run_all
from .runner import Runner

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

ROOT = "/docker/registry/v2"
"""Where the registry keeps everything."""
BLOBS = ROOT + "/blobs"
REPOSITORIES = ROOT + "/repositories"

_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})")
_ALGORITHM_HEX = re.compile(r"(sha256|sha384|sha512)/([0-9a-f]+)")


def parse_digest(text: str | bytes) -> str:
    """The digest ``text`` holds (surrounding whitespace ignored); ValueError if it holds none."""
    value = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    value = value.strip()
    if _DIGEST.fullmatch(value) is None:
        raise ValueError(f"not a digest: {value[:80]!r}")
    return value


def _split(digest: str) -> tuple[str, str]:
    algorithm, _, hex_ = parse_digest(digest).partition(":")
    return algorithm, hex_


def blob_path(digest: str) -> str:
    """The directory of a blob: what Go's garbage collector deletes."""
    algorithm, hex_ = _split(digest)
    return f"{BLOBS}/{algorithm}/{hex_[:2]}/{hex_}"


def blob_data_path(digest: str) -> str:
    """The content of a blob."""
    return blob_path(digest) + "/data"


def repository_path(name: str) -> str:
    return f"{REPOSITORIES}/{name}"


def layer_link_path(name: str, digest: str) -> str:
    algorithm, hex_ = _split(digest)
    return f"{REPOSITORIES}/{name}/_layers/{algorithm}/{hex_}/link"


def revision_link_path(name: str, digest: str) -> str:
    algorithm, hex_ = _split(digest)
    return f"{REPOSITORIES}/{name}/_manifests/revisions/{algorithm}/{hex_}/link"


def tag_current_path(name: str, tag: str) -> str:
    return f"{REPOSITORIES}/{name}/_manifests/tags/{tag}/current/link"


def tag_index_path(name: str, tag: str, digest: str) -> str:
    algorithm, hex_ = _split(digest)
    return f"{REPOSITORIES}/{name}/_manifests/tags/{tag}/index/{algorithm}/{hex_}/link"


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
        if info.path.startswith(BLOBS + "/"):
            self._add_blob(info)
        elif info.path.startswith(REPOSITORIES + "/"):
            self._add_repository_file(info)
        else:
            self.other.append(info)

    def _add_blob(self, info: FileInfo) -> None:
        parts = info.path[len(BLOBS) + 1 :].split("/")
        if len(parts) == 4 and parts[3] == "data" and parts[2][:2] == parts[1]:
            try:
                digest = parse_digest(f"{parts[0]}:{parts[2]}")
            except ValueError:
                pass
            else:
                self.blobs[digest] = info
                return
        self.other.append(info)

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


def repository_parts(driver: StorageDriver, workers: int = DEFAULT_WORKERS) -> dict[str, set[str]]:
    """Every repository directory and the parts it holds (``_manifests``, ``_layers``, ``_uploads``).

    Found by listing the tree level by level (concurrently, one request per directory,
    never entering a part): far fewer keys than a walk of every link when repositories
    hold many layers.
    """
    found: dict[str, set[str]] = {}
    frontier = [REPOSITORIES]
    while frontier:
        level, frontier = frontier, []
        for directory, children in run_all(driver.list, level, workers):
            if isinstance(children, PathNotFoundError):
                continue  # gone, or a file
            if isinstance(children, BaseException):
                raise children
            for child in children:
                name = child.rsplit("/", 1)[1]
                if name.startswith("_"):
                    if directory != REPOSITORIES:
                        found.setdefault(directory[len(REPOSITORIES) + 1 :], set()).add(name)
                else:
                    frontier.append(child)
    return found


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
        for name, have in repository_parts(run.driver, run.workers).items():
            targets.extend(f"{REPOSITORIES}/{name}/{part}" for part in sorted(have & set(parts)))
        return []

    layout = Layout()
    first = [BLOBS, REPOSITORIES] if blobs else [REPOSITORIES]
    for _, infos in run_all(walk_into, first, 2):
        if isinstance(infos, BaseException):
            raise infos
        for info in infos:
            layout.add(info)
    shared = {"layers": None if layers is None else frozenset(layers)}  # sent to a cluster's workers once
    for _, infos in run.map(part_files, targets, shared=shared):
        if isinstance(infos, BaseException):
            raise infos
        for info in infos:
            layout.add(info)
            if on_file is not None:
                on_file(info)
    return layout


def part_files(driver: StorageDriver, path: str, layers: Collection[str] | None = None) -> list[FileInfo]:
    """The files of one repository part ``path`` (a task of :func:`scan_parts`): of a
    ``_layers`` part only the links of ``layers`` (all if None). Where directories are real
    (``capabilities.empty_directories``: a filesystem, one listing per directory) those are
    found by listing ``_layers/<algorithm>`` (names only) and a ``stat`` of each wanted link,
    not by listing every link's directory; elsewhere by one walk (a flat listing) that skips
    the others."""
    if layers is not None and path.endswith("/_layers") and driver.capabilities.empty_directories:
        return _layer_links(driver, path, layers)

    def skip_layers(info: FileInfo) -> None:
        if layers is not None and info.is_dir:
            digest = _layer_dir_digest(info.path)
            if digest is not None and digest not in layers:
                raise SkipDir

    return scan_files(driver, path, on_dir=skip_layers if path.endswith("/_layers") else None)


def _layer_links(driver: StorageDriver, path: str, layers: Collection[str]) -> list[FileInfo]:
    """The ``link`` files of the ``_layers`` part ``path`` that name a digest of ``layers``."""
    links: list[FileInfo] = []
    for directory in _children(driver, path):
        algorithm = directory.rpartition("/")[2]
        for linked in _children(driver, directory):
            if f"{algorithm}:{linked.rpartition('/')[2]}" in layers:
                with contextlib.suppress(PathNotFoundError):  # unlinked since the listing
                    info = driver.stat(linked + "/link")
                    if not info.is_dir:
                        links.append(info)
    return links


def stat_files(driver: StorageDriver, paths: tuple[str, ...]) -> list[FileInfo]:
    """The infos of the files among ``paths`` (a task: those missing, or directories, are left out)."""
    infos: list[FileInfo] = []
    for path in paths:
        with contextlib.suppress(PathNotFoundError):
            info = driver.stat(path)
            if not info.is_dir:
                infos.append(info)
    return infos


def _children(driver: StorageDriver, path: str) -> list[str]:
    """The entries of directory ``path`` (none if it is missing or a file)."""
    try:
        return driver.list(path)
    except PathNotFoundError:
        return []


def list_blobs(runner: Runner, on_file: Callable[[FileInfo], None] | None = None) -> list[FileInfo]:
    """Every file below ``blobs/``: one flat walk (one listing per 1000 keys on object
    stores), or on a ``spread`` runner one task per key range of :func:`blob_ranges`, as
    many ranges as the runner has threads (a few listings each, not one per directory)."""
    if not runner.spread:
        return scan_files(runner.driver, BLOBS, on_file)
    files: list[FileInfo] = []
    for _, infos in runner.map(files_between, blob_ranges(runner.parallelism)):
        if isinstance(infos, BaseException):
            raise infos
        files.extend(infos)
        if on_file is not None:
            for info in infos:
                on_file(info)
    return files


def blob_ranges(count: int) -> list[tuple[str, str]]:
    """``count`` key ranges ``(after, until)`` (at most 256) that together hold every path
    below ``blobs/`` exactly once: a path belongs to the range with ``after < path <=
    until`` (``""``: unbounded). They are cut at the two-hex-digit directories of
    ``sha256``, so the ranges of a store's (uniformly spread) digests are of one size;
    other algorithms fall in the first or the last range."""
    count = max(1, min(count, 256))
    cuts = [f"{BLOBS}/sha256/{i * 256 // count:02x}" for i in range(1, count)]
    bounds = ["", *cuts, ""]
    return list(itertools.pairwise(bounds))


def files_between(driver: StorageDriver, span: tuple[str, str]) -> list[FileInfo]:
    """The files below ``blobs/`` in the key range ``span`` of :func:`blob_ranges` (a task
    of :func:`list_blobs`): one walk started after ``span[0]`` and stopped at the first
    entry past ``span[1]`` (walks run in key order): on an object store one listing per
    1000 keys of the range, on a filesystem the listings of the range's directories."""
    after, until = span
    files: list[FileInfo] = []

    def visit(info: FileInfo) -> None:
        if until and (info.path + "/" if info.is_dir else info.path) > until:
            raise StopWalk
        if not info.is_dir and info.path > after:
            files.append(info)

    with contextlib.suppress(PathNotFoundError):
        driver.walk(BLOBS, visit, start_after_hint=after)
    return files


def scan_files(
    driver: StorageDriver,
    under: str,
    on_file: Callable[[FileInfo], None] | None = None,
    *,
    on_dir: Callable[[FileInfo], None] | None = None,
) -> list[FileInfo]:
    """The files below ``under`` (none if it is missing), from one walk; ``on_dir`` may
    raise :class:`~distfs.driver.SkipDir` on a directory not to enter."""
    files: list[FileInfo] = []

    def visit(info: FileInfo) -> None:
        if info.is_dir:
            if on_dir is not None:
                on_dir(info)
            return
        files.append(info)
        if on_file is not None:
            on_file(info)

    with contextlib.suppress(PathNotFoundError):
        driver.walk(under, visit)
    return files


def _layer_dir_digest(path: str) -> str | None:
    """The digest of ``.../_layers/<algorithm>/<hex>`` (None for any other directory, e.g.
    ``.../_layers/<algorithm>``, which the walk must enter)."""
    head, _, hex_ = path.rpartition("/")
    algorithm = head.rpartition("/")[2]
    if head.rpartition("/")[0].endswith("/_layers") and algorithm in ("sha256", "sha384", "sha512"):
        return f"{algorithm}:{hex_}"
    return None


def is_repository(repo: Repository) -> bool:
    """Whether Go's catalog lists ``repo``: it has a ``_manifests`` directory with a file."""
    return bool(repo.revisions or repo.tags or repo.tag_index)
