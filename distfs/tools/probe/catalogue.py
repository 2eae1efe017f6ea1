"""The probe catalogue: small, deterministic behavioural checks with one-line descriptions.

A probe is a function of a :class:`~distfs.tools.probe.targets.Target` returning its *observed
value*: a short string that never holds ports, bucket names, times or random names
(``FileNotFoundError``, ``[]``, ``overwrites``, ``datetime UTC``...). Probes start on an
empty scratch area (the runner clears the target before each one) and write below ``t/``.

``contract`` is the value the StorageDriver contract guarantees for every distfs driver (``None`` where
backends may legitimately differ); the test suite checks every distfs target against it.

The probes are written in :mod:`.checks_paths` (listing, directories, stat, move, delete) and
:mod:`.checks_data` (append, reads, consistency, writes, names), on :mod:`.checks`.
"""

from __future__ import annotations

from . import checks_data, checks_paths  # noqa: F401 - importing them registers their probes
from .checks import GROUPS, PROBES, Probe, Unsupported, error_name

__all__ = ["GROUPS", "PROBES", "Probe", "Unsupported", "error_name"]

PROBES.sort(key=lambda p: GROUPS.index(p.group))  # group by group, each in the order it is written
