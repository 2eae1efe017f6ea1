"""What a driver's backend does natively: :class:`Capabilities`.

Every driver returned by :func:`distfs.create` exposes ``driver.capabilities``. The
contract of :class:`~distfs.driver.StorageDriver` holds whatever the capabilities say;
they tell *how* a backend keeps it (and so what it costs), not *whether*:

``append``
    ``"native"``: the store appends to an object in place, so a resumed writer sends only
    the new bytes; ``"emulated"``: distfs rebuilds the object (multipart copy, compose,
    block lists); ``"unknown"`` for drivers that do not say.
``atomic_move``
    ``move`` is one rename in the store (the object keeps its identity and modification
    time) rather than a copy followed by a delete.
``server_side_copy``
    moving an object never streams its bytes through this process.
``presign_get``, ``presign_head``
    ``redirect_url(path, "GET" / "HEAD")`` returns a URL a client can use directly.
``empty_directories``
    a directory outlives its last child (a local filesystem); on object stores it vanishes.
``listing_consistency``
    ``"strong"``: ``list`` and ``stat`` see every completed write and delete, also those of
    other processes; ``"unknown"`` for drivers that do not say.

``distfs probe`` derives the same summary from behavioural probes
(:func:`distfs.tools.probe.report.derive_capabilities`); the test suite checks that every built-in
backend declares what the probes observe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["UNKNOWN", "Capabilities"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A backend's native abilities (see the module docstring for each field)."""

    append: Literal["native", "emulated", "unknown"] = "unknown"
    atomic_move: bool = False
    server_side_copy: bool = False
    presign_get: bool = False
    presign_head: bool = False
    empty_directories: bool = False
    listing_consistency: Literal["strong", "stale", "unknown"] = "unknown"


UNKNOWN = Capabilities()
"""What a driver that declares nothing reports: every ability unknown or absent."""
