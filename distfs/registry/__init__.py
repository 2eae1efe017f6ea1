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

from .fsck import FsckReport, Problem, fsck
from .gc import GcError, GcInterrupted, GcItem, GcReport, gc
from .inventory import RepositoryTags, RepositoryUsage, Usage, du, ls
from .layout import Layout, scan
from .manifests import Manifest, ManifestError, parse_manifest
from .migrate import DigestMismatchError, MigrateReport, migrate
from .progress import QUIET, Progress
from .spec import DriverSpec

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
