"""One object copied from one store to another, a blob checked against its digest on the way.

Shared by :mod:`distfs.registry.migrate` (threads) and :mod:`distfs.registry.spread`
(dask workers).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..driver import StorageDriver
from .digests import CHUNK, hasher
from .progress import QUIET, Progress

__all__ = ["SMALL", "DigestMismatchError", "Transfer", "copy_object"]

SMALL = 8 << 20
"""Objects up to this size are copied in one read and one write; larger ones streamed."""


class DigestMismatchError(ValueError):
    """A source blob whose content does not hash to its digest."""

    def __init__(self, path: str, digest: str, actual: str) -> None:
        super().__init__(f"{path}: content hashes to {actual}, not {digest}")
        self.path = path


@dataclass(frozen=True)
class Transfer:
    """One object to copy: its path, size, and the digest to check (blobs only)."""

    path: str
    size: int
    digest: str = ""


def copy_object(source: StorageDriver, dest: StorageDriver, transfer: Transfer, on_bytes: Progress = QUIET) -> int:
    """Copy one object, checking a blob's digest before it is published; returns its size."""
    state = hasher(transfer.digest) if transfer.digest else None
    if transfer.size <= SMALL:
        content = source.get_content(transfer.path)
        if state is not None:
            state.update(content)
            _check(transfer, state)
        dest.put_content(transfer.path, content)
        on_bytes.advance(len(content))
        return len(content)
    copied = 0
    with source.reader(transfer.path) as stream, dest.writer(transfer.path) as writer:
        while chunk := stream.read(CHUNK):
            if state is not None:
                state.update(chunk)
            writer.write(chunk)
            copied += len(chunk)
            on_bytes.advance(len(chunk))
        if state is not None:
            try:
                _check(transfer, state)
            except DigestMismatchError:
                writer.cancel()
                raise
        writer.commit()
    return copied


def _check(transfer: Transfer, state: object) -> None:
    actual = f"{transfer.digest.partition(':')[0]}:{state.hexdigest()}"  # type: ignore[attr-defined]
    if actual != transfer.digest:
        raise DigestMismatchError(transfer.path, transfer.digest, actual)
