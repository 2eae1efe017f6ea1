"""Where the Go registry keeps what (see :mod:`.layout` for the tree), and digests.

Every function takes a digest (``sha256:<hex>``) and raises ValueError if it is not one.
"""

from __future__ import annotations

import re

__all__ = [
    "BLOBS",
    "REPOSITORIES",
    "ROOT",
    "blob_data_path",
    "blob_path",
    "is_digest",
    "layer_link_path",
    "parse_digest",
    "repository_path",
    "revision_link_path",
    "tag_current_path",
    "tag_index_path",
]


ROOT = "/docker/registry/v2"
"""Where the registry keeps everything."""
BLOBS = ROOT + "/blobs"
REPOSITORIES = ROOT + "/repositories"

_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})")


def parse_digest(text: str | bytes) -> str:
    """The digest ``text`` holds (surrounding whitespace ignored); ValueError if it holds none."""
    value = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    value = value.strip()
    if _DIGEST.fullmatch(value) is None:
        raise ValueError(f"not a digest: {value[:80]!r}")
    return value


def is_digest(text: str) -> bool:
    """Whether ``text`` is a digest as it stands (no whitespace around it): the check of a
    name read from a path, made for every blob of a listing."""
    return _DIGEST.fullmatch(text) is not None


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
