"""Manifests and what they reference, as Go's ``Manifest.References()`` reports it.

* Docker schema2 (``application/vnd.docker.distribution.manifest.v2+json``) and OCI image
  manifests (``application/vnd.oci.image.manifest.v1+json``): the config, then the layers.
* Docker manifest lists and OCI image indexes: the child manifests.
* Docker schema1 (signed or not): the ``fsLayers`` blob sums.

Manifests are read only up to :data:`MAX_MANIFEST` bytes (Go's registry refuses larger
ones): a larger blob named as a manifest is a :class:`ManifestTooLargeError`, never read.

A manifest without ``mediaType`` is recognised the way Go 2.8 does: ``schemaVersion`` 1 is
schema1; 2 with ``manifests`` is an OCI index, otherwise an OCI manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..driver import StorageDriver
from .layout import blob_data_path, parse_digest
from .runner import Runner
from .storage_paths import is_digest

__all__ = [
    "DOCKER_LIST",
    "DOCKER_SCHEMA1",
    "DOCKER_SCHEMA2",
    "MAX_MANIFEST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Manifest",
    "ManifestError",
    "ManifestTooLargeError",
    "load_manifest",
    "load_manifests",
    "parse_manifest",
]

DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
INDEX_TYPES = frozenset({DOCKER_LIST, OCI_INDEX})
IMAGE_TYPES = frozenset({DOCKER_SCHEMA2, OCI_MANIFEST})
MAX_MANIFEST = 4 << 20
"""The largest manifest read, in bytes: Go's registry refuses manifests over 4 MiB."""


class ManifestError(ValueError):
    """A manifest blob that cannot be parsed; names the digest."""

    def __init__(self, digest: str, reason: str) -> None:
        super().__init__(f"manifest {digest}: {reason}")
        self.digest = digest
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:  # pickles (to and from dask workers) by its fields
        return (type(self), (self.digest, self.reason))


class ManifestTooLargeError(ManifestError):
    """A blob named as a manifest that is larger than :data:`MAX_MANIFEST` (it was not read)."""

    def __init__(self, digest: str, size: int) -> None:
        super().__init__(digest, f"{size} bytes, over the {MAX_MANIFEST >> 20} MiB limit of a manifest; not read")
        self.size = size

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.digest, self.size))


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: ``blobs`` are config and layers, ``children`` the manifests of an index."""

    digest: str
    media_type: str
    blobs: tuple[str, ...] = ()
    children: tuple[str, ...] = ()

    @property
    def references(self) -> tuple[str, ...]:
        """Every digest Go's ``References()`` returns, in its order."""
        return self.blobs + self.children

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def parse_manifest(digest: str, content: bytes) -> Manifest:
    """Parse ``content``, the manifest stored under ``digest``; ManifestError if it is not one."""
    try:
        document = json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(digest, f"not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ManifestError(digest, "not a JSON object")
    media_type = document.get("mediaType")
    version = document.get("schemaVersion")
    if not media_type:
        if version == 1:
            media_type = DOCKER_SCHEMA1
        elif version == 2:
            media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
        else:
            raise ManifestError(digest, f"no mediaType and schemaVersion {version!r}")
    try:
        if media_type in INDEX_TYPES:
            children = tuple(_digest(entry) for entry in document.get("manifests") or [])
            return Manifest(digest, media_type, children=children)
        if media_type in IMAGE_TYPES:
            layers = [_digest(entry) for entry in document.get("layers") or []]
            return Manifest(digest, media_type, blobs=(_digest(document["config"]), *layers))
        if media_type in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED):
            sums = tuple(parse_digest(str(entry["blobSum"])) for entry in document.get("fsLayers") or [])
            return Manifest(digest, media_type, blobs=sums)
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(digest, f"bad {media_type} ({exc})") from None
    raise ManifestError(digest, f"unknown media type {str(media_type)[:80]!r}")


def _digest(descriptor: object) -> str:
    if not isinstance(descriptor, dict):
        raise TypeError("descriptor is not an object")
    value = descriptor["digest"]
    return value if type(value) is str and is_digest(value) else parse_digest(str(value))


def load_manifest(driver: StorageDriver, item: tuple[str, int | None]) -> Manifest:
    """Read and parse the manifest blob ``item[0]`` (of ``item[1]`` bytes as listed, or
    stat'ed first when None); ManifestTooLargeError over :data:`MAX_MANIFEST` (not read)."""
    digest, size = item
    path = blob_data_path(digest)
    if size is None:
        size = driver.stat(path).size
    if size > MAX_MANIFEST:
        raise ManifestTooLargeError(digest, size)
    content = driver.get_content(path)
    if len(content) > MAX_MANIFEST:  # replaced since the listing (a blob never is, unless tampered)
        raise ManifestTooLargeError(digest, len(content))
    return parse_manifest(digest, content)


def load_manifests(
    runner: Runner, digests: Iterable[str], sizes: Mapping[str, int] | None = None
) -> dict[str, Manifest | Exception]:
    """Read and parse the manifest blobs ``digests`` on ``runner``, none over :data:`MAX_MANIFEST`.

    ``sizes`` are the blobs' sizes as a listing found them; a digest without one is
    stat'ed first. A digest maps to its :class:`Manifest`, or to the error that stopped
    it: a :class:`~distfs.PathNotFoundError` for a missing blob, a
    :class:`ManifestTooLargeError` for one over the cap (not read), a
    :class:`ManifestError` for a blob that is no manifest, any other storage error as
    raised.
    """
    known = sizes or {}
    out: dict[str, Manifest | Exception] = {}
    for (digest, _), result in runner.map(load_manifest, [(d, known.get(d)) for d in sorted(set(digests))], reads=True):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
        out[digest] = result
    return out
