"""The conformance suite on the built-in drivers (short mode; DISTFS_TEST_LONG=1 for long)."""

from __future__ import annotations

import tempfile

import distfs
from distfs.testing import DriverSuite


class TestInMemory(DriverSuite):
    def make_driver(self) -> distfs.StorageDriver:
        return distfs.create("inmemory")


class TestFilesystem(DriverSuite):
    def make_driver(self) -> distfs.StorageDriver:
        root = tempfile.mkdtemp(prefix="distfs-conformance-")
        return distfs.create("filesystem", {"rootdirectory": root})
