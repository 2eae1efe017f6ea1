"""fsspec's own abstract test suite (copy, get, put, pipe, open) on DistFileSystem.

It runs over the inmemory, filesystem and s3 (moto) drivers, with
``supports_empty_directories`` true on every driver: ``mkdir`` is remembered by the
filesystem instance, and removing a directory's last file keeps the directory there
(distfs.fsspec.names). ``EXPECTED_FAILURES`` stays empty: every case passes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS
from conftest import new_bucket, s3_parameters_for
from fsspec.tests import abstract

from distfs.protocol import DistFileSystem

pytestmark = NO_LEAKS

DRIVERS = ["inmemory", "filesystem", "s3"]

EXPECTED_FAILURES: dict[tuple[str, str], str] = {}


@pytest.fixture(autouse=True)
def _expected_failures(request: pytest.FixtureRequest) -> None:
    driver = request.node.callspec.params.get("dist_fs") if hasattr(request.node, "callspec") else None
    reason = EXPECTED_FAILURES.get((request.node.originalname, driver))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


@pytest.fixture(scope="module", params=DRIVERS)
def dist_fs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DistFileSystem:
    name: str = request.param
    options: dict[str, Any] = {"skip_instance_cache": True}
    if name == "filesystem":
        options["rootdirectory"] = str(tmp_path_factory.mktemp("abstract") / "root")
    elif name == "s3":
        options.update(
            s3_parameters_for(request.getfixturevalue("s3_endpoint"), new_bucket(request.getfixturevalue("s3_admin")))
        )
    filesystem = fsspec.filesystem("distfs", driver=name, **options)
    assert isinstance(filesystem, DistFileSystem)
    return filesystem


class DistFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self, dist_fs: DistFileSystem) -> DistFileSystem:
        return dist_fs

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def fs_path(self) -> str:
        return "/fsspec-abstract"

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return True  # mkdir is remembered by the filesystem instance

    @pytest.fixture
    def local_path(self, tmp_path: Path) -> str:
        return str(tmp_path)


class TestCopy(abstract.AbstractCopyTests, DistFixtures):  # type: ignore[misc]
    pass


class TestGet(abstract.AbstractGetTests, DistFixtures):  # type: ignore[misc]
    pass


class TestPut(abstract.AbstractPutTests, DistFixtures):  # type: ignore[misc]
    pass


class TestPipe(abstract.AbstractPipeTests, DistFixtures):  # type: ignore[misc]
    pass


class TestOpen(abstract.AbstractOpenTests, DistFixtures):  # type: ignore[misc]
    pass
