"""The registry storage toolkit: ls, du, fsck, gc and migrate over any distfs driver.

These read and write the Go registry's storage layout (:mod:`.layout`) through the
public :class:`~distfs.StorageDriver` API only, so they work on every driver::

    import distfs
    from distfs import registry

    store = distfs.from_config("/etc/docker/registry/config.yml")
    registry.ls(store)                                  # repositories and tags
    registry.fsck(store, verify_digests=True).problems  # what is broken
    registry.gc(store, dry_run=True).blobs              # what would be collected
    registry.migrate(store, distfs.create("s3", {...}))

The ``distfs registry`` command (``distfs.tools.registry_cli``) is the same over a CLI.
"""

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fsck import FsckReport, Problem, fsck
    from .gc import GcError, GcInterrupted, GcItem, GcReport, gc
    from .inventory import RepositoryTags, RepositoryUsage, Usage, du, ls
    from .layout import Layout, scan
    from .manifests import Manifest, ManifestError, parse_manifest
    from .migrate import DigestMismatchError, MigrateReport, migrate
    from .progress import QUIET, Progress
    from .spec import DriverSpec

#: The module of each public name, imported on first use: ``distfs registry gc`` imports
#: neither fsck nor migrate nor what they need (part of a short command's start-up).
_WHERE = {
    **dict.fromkeys(("FsckReport", "Problem", "fsck"), "fsck"),
    **dict.fromkeys(("GcError", "GcInterrupted", "GcItem", "GcReport", "gc"), "gc"),
    **dict.fromkeys(("RepositoryTags", "RepositoryUsage", "Usage", "du", "ls"), "inventory"),
    **dict.fromkeys(("Layout", "scan"), "layout"),
    **dict.fromkeys(("Manifest", "ManifestError", "parse_manifest"), "manifests"),
    **dict.fromkeys(("DigestMismatchError", "MigrateReport", "migrate"), "migrate"),
    **dict.fromkeys(("QUIET", "Progress"), "progress"),
    "DriverSpec": "spec",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    setattr(sys.modules[__name__], name, value)
    return value


class _Package(types.ModuleType):
    """This package: ``fsck``, ``gc`` and ``migrate`` name the functions, not the modules of
    those names, also once the import system binds a module imported first by its path."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _WHERE.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "QUIET",
    "DigestMismatchError",
    "DriverSpec",
    "FsckReport",
    "GcError",
    "GcInterrupted",
    "GcItem",
    "GcReport",
    "Layout",
    "Manifest",
    "ManifestError",
    "MigrateReport",
    "Problem",
    "Progress",
    "RepositoryTags",
    "RepositoryUsage",
    "Usage",
    "du",
    "fsck",
    "gc",
    "ls",
    "migrate",
    "parse_manifest",
    "scan",
]
