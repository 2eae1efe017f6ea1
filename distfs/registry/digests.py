"""Streamed digests of blobs: bounded memory whatever the blob size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..driver import StorageDriver
from .layout import blob_data_path

__all__ = ["CHUNK", "blob_digest", "hasher"]

CHUNK = 1 << 20
"""Bytes read at a time."""


def hasher(digest: str) -> Any:
    """A fresh hashlib object for the algorithm of ``digest`` (``sha256:...``)."""
    import hashlib  # OpenSSL's set-up: paid by the commands that hash (fsck --verify-digests, migrate)

    return hashlib.new(digest.partition(":")[0])


def blob_digest(driver: StorageDriver, digest: str, on_bytes: Callable[[int], None] | None = None) -> str:
    """The digest of the stored content of blob ``digest``, in the same algorithm."""
    state = hasher(digest)
    with driver.reader(blob_data_path(digest)) as stream:
        while chunk := stream.read(CHUNK):
            state.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return f"{digest.partition(':')[0]}:{state.hexdigest()}"
