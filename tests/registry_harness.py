"""The Go registry and skopeo for the registry toolkit tests.

:func:`require_tools` skips when ``docker-registry``/``skopeo`` are missing, except in CI
(``CI=true``), where a missing binary fails the test: scripts/test installs them.
:class:`GoRegistry` runs the Go registry on a store and talks to it (catalog, tags,
manifest deletes, ``garbage-collect``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from distfs.tools.servers import go_registry, go_registry_binary, go_registry_environment

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def require_tools() -> None:
    """Skip (fail in CI) unless the Go registry and skopeo are installed."""
    missing = []
    try:
        go_registry_binary()
    except RuntimeError:
        missing.append("docker-registry")
    if shutil.which("skopeo") is None:
        missing.append("skopeo")
    if missing:
        message = f"{' and '.join(missing)} not installed (scripts/test installs them with apt-get)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class GoRegistry:
    """The Go registry serving ``storage`` (a config ``storage:`` mapping); config and log in ``workdir``."""

    def __init__(self, storage: dict[str, object], workdir: Path) -> None:
        self.storage = storage
        self.workdir = workdir
        self.address = ""

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        with go_registry(self.storage, self.workdir) as address:
            self.address = address
            yield address

    @property
    def config(self) -> Path:
        return self.workdir / "config.yml"

    def _request(self, path: str, method: str = "GET") -> urllib.request.Request:
        return urllib.request.Request(f"http://{self.address}{path}", method=method, headers={"Accept": ACCEPT})

    def get_json(self, path: str) -> dict[str, object]:
        with urllib.request.urlopen(self._request(path), timeout=30) as response:
            document: dict[str, object] = json.load(response)
            return document

    def catalog(self) -> dict[str, dict[str, str]]:
        """Every repository with its tags and their digests, as the registry API tells them."""
        out: dict[str, dict[str, str]] = {}
        for name in self.get_json("/v2/_catalog?n=100")["repositories"]:  # type: ignore[union-attr]
            tags = self.get_json(f"/v2/{name}/tags/list").get("tags") or []
            out[name] = {tag: self.digest(name, tag) for tag in tags}  # type: ignore[union-attr]
        return out

    def digest(self, name: str, reference: str) -> str:
        with urllib.request.urlopen(self._request(f"/v2/{name}/manifests/{reference}", "HEAD"), timeout=30) as response:
            return str(response.headers["Docker-Content-Digest"])

    def delete_manifest(self, name: str, digest: str) -> None:
        with urllib.request.urlopen(self._request(f"/v2/{name}/manifests/{digest}", "DELETE"), timeout=30) as response:
            assert response.status == 202

    def garbage_collect(self, *, dry_run: bool, delete_untagged: bool) -> tuple[set[str], set[str]]:
        """Run Go's ``garbage-collect``; the digests of the blobs and manifests it (would) delete."""
        command = [go_registry_binary(), "garbage-collect", str(self.config)]
        command += ["--dry-run"] * dry_run + ["--delete-untagged"] * delete_untagged
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=300, check=True, env=go_registry_environment()
        )
        blobs = set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", done.stdout))
        manifests = set(re.findall(r"manifest eligible for deletion: (sha256:[0-9a-f]{64})", done.stdout))
        return blobs, manifests
