"""A driver described by value, so another process (a dask worker) can open the same store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import factory
from ..config import from_config
from ..driver import StorageDriver

__all__ = ["DriverSpec", "open_store"]


@dataclass(frozen=True)
class DriverSpec:
    """A registered driver and its parameters, or a registry config (path or YAML text).

    Its ``repr`` names the driver and the parameter names only: values may be secrets.
    """

    driver: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    config: str = ""

    def open(self) -> StorageDriver:
        """A new driver on the store (``from_config`` applies the config's middleware)."""
        if self.config:
            return from_config(self.config)
        return factory.create(self.driver, dict(self.parameters))

    def __repr__(self) -> str:
        if self.config:
            return "DriverSpec(config=...)"
        return f"DriverSpec({self.driver!r}, parameters={sorted(self.parameters)})"


def open_store(store: StorageDriver | DriverSpec) -> StorageDriver:
    """``store`` itself, or a driver opened from the spec."""
    return store.open() if isinstance(store, DriverSpec) else store
