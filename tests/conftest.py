"""Shared fixtures: fresh drivers on private stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import distfs

DRIVER_NAMES = ["inmemory", "filesystem"]


@pytest.fixture
def make_driver(tmp_path: Path) -> Callable[[str], distfs.StorageDriver]:
    """Build a driver by name on a private, empty store (filesystem: under tmp_path)."""

    def make(name: str) -> distfs.StorageDriver:
        if name == "filesystem":
            return distfs.create("filesystem", {"rootdirectory": str(tmp_path / "root")})
        return distfs.create(name)

    return make


@pytest.fixture(params=DRIVER_NAMES)
def driver(request: pytest.FixtureRequest, make_driver: Callable[[str], distfs.StorageDriver]) -> distfs.StorageDriver:
    """Each built-in driver in turn."""
    name: str = request.param
    return make_driver(name)
