"""The generic store: any fsspec filesystem as a driver, the conformance suite with 0 failures.

The suite runs over the generic store (``fsspec+<protocol>``) on fsspec's memory
filesystem, on a local directory, on an s3fs instance on moto (``native=False``, and that
instance's native store through ``from_filesystem``) and on sshfs against the harness's
SFTP server; the read-only set runs on a zip archive built here.
"""

from __future__ import annotations

import tempfile
import uuid
import zipfile
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

import distfs
from distfs.testing import DriverSuite, read_only_tree


class TestGenericMemory(DriverSuite):
    def make_driver(self) -> distfs.StorageDriver:
        fs = MemoryFileSystem(global_store=False, skip_instance_cache=True)
        return distfs.from_filesystem(fs, "/registry", native=False)


class TestGenericLocal(DriverSuite):
    def make_driver(self) -> distfs.StorageDriver:
        root = tempfile.mkdtemp(prefix="distfs-generic-")
        return distfs.create("fsspec+file", {"root": root})


def _s3fs_on_moto(request: pytest.FixtureRequest) -> tuple[Any, str]:
    """A user's s3fs instance on the session's moto server, and a fresh bucket."""
    from test_from_filesystem import s3fs_instance

    admin = request.getfixturevalue("s3_admin")
    bucket = f"distfs-generic-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=bucket)
    return s3fs_instance(request.getfixturevalue("s3_endpoint")), bucket


class TestGenericS3fs(DriverSuite):
    """The generic store over s3fs (``native=False``): what any other object store would get."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        fs, bucket = _s3fs_on_moto(request)
        return distfs.from_filesystem(fs, f"{bucket}/registry", native=False, chunksize=5 << 20)


class TestNativeS3fs(DriverSuite):
    """The same s3fs instance given its native store by from_filesystem."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        fs, bucket = _s3fs_on_moto(request)
        return distfs.from_filesystem(fs, f"{bucket}/registry", chunksize=5 << 20)


class TestGenericZipReadOnly(DriverSuite):
    """A zip archive (fsspec's ``zip``) holding the read-only fixture: reads and listings
    work, every write is UnsupportedMethodError, the writing cases skip with the reason."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]

        archive = request.getfixturevalue("tmp_path_factory").mktemp("zip") / "registry.zip"
        with zipfile.ZipFile(archive, "w") as bundle:
            for path, data in read_only_tree().items():
                bundle.writestr(path[1:], data)
        driver = distfs.create("fsspec+zip", {"storage_options": {"fo": str(archive)}})
        assert driver.capabilities.read_only
        return driver

    def make_second_driver(self, driver: distfs.StorageDriver) -> distfs.StorageDriver | None:
        return None


class TestGenericSftp(DriverSuite):
    """``fsspec+sftp`` (sshfs) on the harness's SFTP server: never skipped as a whole.

    sshfs's ranged ``cat_file`` returns the whole file (reads go through open/seek/read),
    ``cp_file`` runs ``cp`` in a shell the server has not (copies stream), and times have
    whole seconds without an inode, so ``pinned_reads`` is not declared and its case skips.
    """

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        server = request.getfixturevalue("sftp_server")
        root = f"/generic-{uuid.uuid4().hex[:12]}"
        driver = distfs.create(
            "fsspec+sftp", {"root": root, "storage_options": dict(server.storage_options), "chunksize": 1 << 20}
        )
        assert not driver.capabilities.pinned_reads
        assert driver.capabilities.atomic_put
        return driver
