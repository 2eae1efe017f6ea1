"""Small container images built in Python, as OCI layout directories for ``skopeo copy``.

Layers are deterministic gzip tarballs (content from a seeded generator, so "incompressible"
data is the same in every run). Manifests are Docker schema2 or OCI; an index holds
platform manifests. :func:`push` copies a layout to a registry with skopeo.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Layer:
    """A gzip layer and the digest of its uncompressed tar (the config's diff_id)."""

    blob: bytes
    diff_id: str


def layer(files: dict[str, bytes]) -> Layer:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    return Layer(gzip.compress(tar_bytes, compresslevel=1, mtime=0), digest_of(tar_bytes))


def noise(seed: str, size: int) -> bytes:
    """``size`` incompressible bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


class Layout:
    """An OCI image layout directory being written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.blobs: dict[str, bytes] = {}

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = digest_of(data)
        (self.path / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        self.blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(self, layers: list[Layer], arch: str = "amd64") -> dict[str, Any]:
        config = {
            "architecture": arch,
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [item.diff_id for item in layers]},
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.blob(json.dumps(config).encode(), CONFIG),
            "layers": [self.blob(item.blob, LAYER) for item in layers],
        }
        descriptor = self.blob(json.dumps(manifest, indent=3).encode(), OCI_MANIFEST)
        descriptor["platform"] = {"architecture": arch, "os": "linux"}
        return descriptor

    def index(self, children: list[dict[str, Any]]) -> dict[str, Any]:
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
        return self.blob(json.dumps(document, indent=3).encode(), OCI_INDEX)

    def finish(self, top: dict[str, Any]) -> Path:
        entry = {key: value for key, value in top.items() if key != "platform"}
        entry["annotations"] = {"org.opencontainers.image.ref.name": "image"}
        (self.path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
        return self.path


def single_layer(path: Path, text: str = "hello") -> Path:
    """An OCI image of one small layer."""
    out = Layout(path)
    return out.finish(out.image([layer({"hello.txt": text.encode()})]))


def many_layers(path: Path, seed: str = "many", sizes: tuple[int, ...] = (2 << 20, 1 << 20, 100)) -> Path:
    """An image with a layer of incompressible data per size (push it with ``docker=True``
    for a Docker schema2 manifest)."""
    out = Layout(path)
    layers = [layer({f"data-{i}": noise(f"{seed}-{i}", size)}) for i, size in enumerate(sizes)]
    return out.finish(out.image(layers))


def multi_platform(path: Path, seed: str = "index") -> Path:
    """An OCI index of an amd64 and an arm64 image sharing their base layer."""
    out = Layout(path)
    base = layer({"base": noise(f"{seed}-base", 64 << 10)})
    children = [
        out.image([base, layer({"arch": noise(f"{seed}-{arch}", 32 << 10)})], arch=arch) for arch in ("amd64", "arm64")
    ]
    return out.finish(out.index(children))


def push(layout: Path, registry: str, reference: str, docker: bool = False) -> None:
    """Copy the image of ``layout`` to ``registry`` (``127.0.0.1:PORT``) as ``reference`` (``repo:tag``).

    ``docker`` has skopeo convert the OCI manifest to Docker schema2 (layers unchanged):
    skopeo reads only OCI manifests from a layout directory.
    """
    done = subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--all",
            *(["--format", "v2s2"] if docker else ["--preserve-digests"]),
            "--dest-tls-verify=false",
            f"oci:{layout}:image",
            f"docker://{registry}/{reference}",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise AssertionError(f"skopeo failed: {done.stderr.strip()}")


def pull(registry: str, reference: str, dest: Path) -> dict[str, bytes]:
    """Copy ``reference`` from ``registry`` to a ``dir:`` directory; returns its files' bytes."""
    dest.mkdir(parents=True)
    done = subprocess.run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            f"docker://{registry}/{reference}",
            f"dir:{dest}",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise AssertionError(f"skopeo failed: {done.stderr.strip()}")
    return {item.name: item.read_bytes() for item in sorted(dest.iterdir()) if item.name != "version"}
