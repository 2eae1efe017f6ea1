"""What a probe runs against: a raw fsspec filesystem or a distfs driver, behind one interface.

A :class:`Target` addresses objects by *scratch paths*: slash-separated names relative to
the target's root, without a leading slash (``"t/a/b"``; ``""`` is the root). Every method
is the plainest call a user of that kind of target would make, so that what a probe
observes is what users get:

* :class:`RawTarget` calls fsspec directly, with fsspec's defaults (listings cache on,
  default ``ls`` detail, ``mv`` without ``recursive``...). Its filesystem comes from the
  backend module's ``raw_filesystem(parameters)`` hook.
* :class:`DistfsTarget` calls a :class:`~distfs.driver.StorageDriver` (driver paths are
  ``"/" + scratch path``).

Set-up steps that are not under test (``seed``, ``mark_directory``, ``files``, ``clear``)
go through an uncached view of the same store so that they always succeed.

The interface is :mod:`.target`; :mod:`.raw_target` and :mod:`.distfs_target` implement it,
on what :mod:`.underneath` knows of the filesystem below a target.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from fsspec import AbstractFileSystem

from ...driver import StorageDriver
from .distfs_target import DistfsTarget
from .raw_target import RAW_BUILDERS, RawTarget, backend_raw_target, raw_target
from .target import Stat, Target, Unsupported
from .underneath import TREE_PROTOCOLS, _protocols

__all__ = [
    "RAW_BUILDERS",
    "TREE_PROTOCOLS",
    "DistfsTarget",
    "RawTarget",
    "Stat",
    "Target",
    "Unsupported",
    "backend_raw_target",
    "raw_target",
    "url_targets",
]


def url_targets(url: str, options: Mapping[str, Any], raw: bool = True) -> builtins.list[Target]:
    """The targets of fsspec URL ``url`` (``memory://bucket/prefix``, ``file:///tmp/x``...).

    The raw target is the URL's own fsspec filesystem (``options``: its storage options);
    the distfs target is :func:`distfs.from_filesystem` of another instance of it at the
    URL's root: the ``filesystem`` driver for a local URL, ``inmemory`` for a ``memory``
    URL, the native store of a built-in backend's class, else the generic store. Each
    :meth:`Target.second` builds a fresh filesystem instance (no shared listing cache).
    """
    from fsspec.core import url_to_fs

    from ...factory import create, from_filesystem

    fs, root = url_to_fs(url, **options)

    def build() -> AbstractFileSystem:
        built: AbstractFileSystem = url_to_fs(url, skip_instance_cache=True, **options)[0]
        return built

    def make() -> StorageDriver:
        if "file" in _protocols(fs) or "local" in _protocols(fs):
            return create("filesystem", {"rootdirectory": root})
        return from_filesystem(build(), root)

    targets: builtins.list[Target] = [RawTarget(url, fs, root, build)] if raw else []
    return [*targets, DistfsTarget(url, make(), make)]
