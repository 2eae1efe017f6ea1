"""The object-store engine on every object store: conformance, with small and large settings.

One suite, parametrized over the stores (s3 on moto, gcs on fake-gcs-server, azure on
Azurite, oss on distfs's OSS fake); only what is truly backend-specific stays in the
per-backend test files.
"""

from __future__ import annotations

from typing import Any

import pytest

import distfs
from distfs.testing import DriverSuite

MiB = 1 << 20
OBJECT_STORES = ["s3", "gcs", "azure", "oss"]

#: Per store: parameters that make every writer multipart and every move a multipart copy.
SMALL_PARTS: dict[str, dict[str, Any]] = {
    "s3": {
        "chunksize": 5 * MiB,
        "multipartcopythresholdsize": 0,
        "multipartcopychunksize": str(5 * MiB),
        "multipartcopymaxconcurrency": "3",
        "rootdirectory": "/registry/v2/",
    },
    "gcs": {"chunksize": 256 << 10, "rootdirectory": "/registry/v2/"},
    "azure": {"rootdirectory": "/registry/v2/"},
    "oss": {"chunksize": 5 * MiB, "rootdirectory": "/registry/v2/"},
}


def _parameters(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    parameters: dict[str, Any] = request.getfixturevalue("local_stores").parameters(name)
    return parameters


class ObjectStoreSuite(DriverSuite):
    store = ""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        return distfs.create(self.store, _parameters(request, self.store))


class SmallPartsSuite(DriverSuite):
    store = ""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        return distfs.create(self.store, {**_parameters(request, self.store), **SMALL_PARTS[self.store]})


class TestS3(ObjectStoreSuite):
    store = "s3"


class TestS3SmallParts(SmallPartsSuite):
    store = "s3"


class TestGCS(ObjectStoreSuite):
    store = "gcs"


class TestGCSSmallParts(SmallPartsSuite):
    store = "gcs"


class TestAzure(ObjectStoreSuite):
    store = "azure"


class TestAzureSmallParts(SmallPartsSuite):
    store = "azure"


class TestOSS(ObjectStoreSuite):
    store = "oss"


class TestOSSSmallParts(SmallPartsSuite):
    store = "oss"
