"""What the object-store tests share: a fresh store behind a fault proxy, and test data.

:class:`Setup` puts :class:`fault_proxy.FaultProxy` between a driver and its local server
(moto, fake-gcs-server, Azurite, the OSS fake): ``faulty()`` talks through the proxy,
``clean()`` to the server directly. The ``setup`` fixture makes them and closes the proxies.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from typing import Any

from fault_proxy import FaultProxy
from profiles import CLOUD, PROFILES

import distfs
from distfs.tools.local import LocalStores

MiB = 1 << 20
__all__ = ["CHUNK", "CLOUD", "ENDPOINT", "SEED", "Setup", "pieces", "read_all"]
#: The parameter naming each object store's server (from its profile).
ENDPOINT = {name: PROFILES[name].endpoint for name in CLOUD}
#: The smallest chunk each driver takes (more requests, so more faults per MiB).
CHUNK = {name: dict(PROFILES[name].chunk) for name in CLOUD}
SEED = int(os.environ.get("DISTFS_FAULTS_SEED", "20261127"))

_PATTERN_STEP = 4099
_PATTERN = random.Random(SEED).randbytes(MiB + _PATTERN_STEP)


def pieces(total: int, seed: int) -> Iterator[memoryview]:
    """``total`` bytes in writes of varying sizes (1 byte to 1 MiB), from one shared pattern."""
    rng = random.Random(seed)
    view = memoryview(_PATTERN)
    sent = 0
    while sent < total:
        size = min(total - sent, rng.choice((1, 4097, 300_001, MiB)))
        start = rng.randrange(_PATTERN_STEP)
        yield view[start : start + size]
        sent += size


def read_all(driver: distfs.StorageDriver, path: str) -> tuple[int, str]:
    """Size and sha256 of ``path`` read through ``driver.reader`` (1 MiB reads)."""
    digest = hashlib.sha256()
    size = 0
    with driver.reader(path) as stream:
        while block := stream.read(MiB):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


class Setup:
    """A fresh store of one driver, a proxy in front of its server, and drivers both ways."""

    def __init__(self, stores: LocalStores, name: str, **proxy: Any) -> None:
        self.name = name
        self.parameters = dict(stores.parameters(name), **CHUNK[name])
        self.proxy = FaultProxy(self.parameters[ENDPOINT[name]], name, seed=SEED, **proxy).start()

    def faulty(self, **extra: Any) -> distfs.StorageDriver:
        """A driver whose requests all go through the proxy."""
        return distfs.create(self.name, {**self.parameters, ENDPOINT[self.name]: self.proxy.endpoint, **extra})

    def clean(self) -> distfs.StorageDriver:
        """A driver talking to the server directly."""
        return distfs.create(self.name, self.parameters)
