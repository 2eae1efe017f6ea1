"""Registry stores written directly in the Go registry's layout, for tests and benchmarks.

:func:`put_image` stores what a push would (blobs, layer links, a Docker schema2
manifest, its revision link and a tag) without a registry; :func:`fill` makes a large
store quickly. The Go registry serves what these write.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Protocol

from ..driver import StorageDriver
from ..registry.layout import (
    blob_data_path,
    layer_link_path,
    revision_link_path,
    tag_current_path,
    tag_index_path,
)
from ..registry.pool import DEFAULT_WORKERS, run_all

__all__ = ["Recorder", "Writes", "fill", "put_blob", "put_image"]

SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


class Writes(Protocol):
    """What :func:`put_blob` and :func:`put_image` need: a driver, or a :class:`Recorder`."""

    def put_content(self, path: str, content: bytes) -> None: ...


class Recorder:
    """Collects ``put_content`` calls, to write them later in bulk."""

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}

    def put_content(self, path: str, content: bytes) -> None:
        self.items[path] = content


def put_blob(driver: Writes, content: bytes, repository: str | None = None) -> str:
    """Store ``content`` as a blob (linked into ``repository`` if given); returns its digest."""
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    driver.put_content(blob_data_path(digest), content)
    if repository is not None:
        driver.put_content(layer_link_path(repository, digest), digest.encode())
    return digest


def put_image(
    driver: Writes, repository: str, tag: str | None, layers: list[bytes], workers: int = DEFAULT_WORKERS
) -> str:
    """Store a Docker schema2 image of ``layers`` in ``repository`` (tagged ``tag``); its digest."""
    diff_ids = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]  # as if uncompressed
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    blobs = [(config.encode(), CONFIG)] + [(layer, LAYER) for layer in layers]
    digests = dict(run_all(lambda blob: put_blob(driver, blob[0], repository), blobs, workers))
    descriptors = []
    for content, media_type in blobs:
        digest = digests[(content, media_type)]
        if isinstance(digest, BaseException):
            raise digest
        descriptors.append({"mediaType": media_type, "size": len(content), "digest": digest})
    manifest = {"schemaVersion": 2, "mediaType": SCHEMA2, "config": descriptors[0], "layers": descriptors[1:]}
    digest = put_blob(driver, json.dumps(manifest, indent=3).encode())
    driver.put_content(revision_link_path(repository, digest), digest.encode())
    if tag is not None:
        driver.put_content(tag_index_path(repository, tag, digest), digest.encode())
        driver.put_content(tag_current_path(repository, tag), digest.encode())
    return digest


def fill(
    driver: StorageDriver,
    blobs: int,
    size: int = 1024,
    garbage: float = 0.5,
    *,
    bulk: Callable[[dict[str, bytes]], None] | None = None,
) -> tuple[str, int]:
    """A store with one repository ``bench/fill``: ``blobs`` random layers of ``size`` bytes,
    a ``garbage`` fraction of them in an untagged manifest deleted as a registry would
    (revision link removed), the rest in images of 100 layers tagged ``t0``, ``t1``...

    ``bulk(items)`` writes ``{path: content}`` (e.g. through raw fsspec, faster); without
    it, the objects are put through ``driver`` concurrently. Returns the repository and
    the number of layer blobs left unreferenced.
    """
    repository = "bench/fill"
    recorder = Recorder()
    contents = [os.urandom(size) for _ in range(blobs)]
    dead = int(blobs * garbage)
    digest = put_image(recorder, repository, None, contents[:dead], 1)
    del recorder.items[revision_link_path(repository, digest)]
    live = contents[dead:]
    for start in range(0, len(live), 100):
        put_image(recorder, repository, f"t{start // 100}", live[start : start + 100], 1)
    if bulk is not None:
        bulk(recorder.items)
    else:
        for _, error in run_all(lambda item: driver.put_content(*item), recorder.items.items()):
            if isinstance(error, BaseException):
                raise error
    return repository, dead
