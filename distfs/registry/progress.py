"""How the registry operations report progress (the CLI draws it as a bar)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["QUIET", "Progress"]


class Progress(Protocol):
    """Receives progress: a phase starts, then units (files, blobs, bytes) advance."""

    def phase(self, name: str, total: int, unit: str = "") -> None:
        """A phase called ``name`` begins with ``total`` units to do (0: unknown)."""

    def advance(self, units: int = 1) -> None:
        """``units`` more units of the current phase are done."""


class _Quiet:
    def phase(self, name: str, total: int, unit: str = "") -> None:
        pass

    def advance(self, units: int = 1) -> None:
        pass


QUIET: Progress = _Quiet()
"""Progress that goes nowhere: the default of every operation."""
