"""The object-store engine on every object store: conformance, with small and large settings.

One suite, made per object store of the factory's list (:data:`profiles.CLOUD`: s3 on moto,
gcs on fake-gcs-server, azure on Azurite, oss on distfs's OSS fake); the behaviours every
store shares beyond the suite are in tests/drivers/test_object_store_behaviours.py; only what
is truly backend-specific stays in the per-backend test files.
"""

from __future__ import annotations

from typing import Any

import pytest
from profiles import CLOUD, PROFILES

import distfs
from distfs.testing import DriverSuite

MiB = 1 << 20
ROOT = {"rootdirectory": "/registry/v2/"}


def _parameters(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    parameters: dict[str, Any] = request.getfixturevalue("local_stores").parameters(name)
    return parameters


class ObjectStoreSuite(DriverSuite):
    store = ""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        return distfs.create(self.store, _parameters(request, self.store))


class SmallPartsSuite(DriverSuite):
    """Every writer multipart and every move a multipart copy, below a root directory."""

    store = ""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        small = {**PROFILES[self.store].small_parts, **ROOT}
        return distfs.create(self.store, {**_parameters(request, self.store), **small})


for _name in CLOUD:  # TestS3, TestS3SmallParts, TestGCS, ...
    for _suite, _suffix in ((ObjectStoreSuite, ""), (SmallPartsSuite, "SmallParts")):
        _title = f"Test{PROFILES[_name].title}{_suffix}"
        globals()[_title] = type(_title, (_suite,), {"store": _name})
