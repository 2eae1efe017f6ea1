"""The distfs conformance suite, for distfs's drivers and for yours.

* :func:`run` runs it from Python (this is what ``distfs check`` does);
* :class:`DriverSuite` runs it under pytest (needs pytest installed);
* :data:`CASES` lists the cases, each a function of a :class:`Context`.

See ``docs/conformance.md`` for a walk-through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .context import Case, Context
from .runner import LONG_ENV, DirtyRootError, Result, long_mode, run
from .suite import CASES, READ_ONLY_TREE, case_names, read_only_tree

if TYPE_CHECKING:
    from .pytest_suite import DriverSuite

__all__ = [
    "CASES",
    "LONG_ENV",
    "READ_ONLY_TREE",
    "Case",
    "Context",
    "DirtyRootError",
    "DriverSuite",
    "Result",
    "case_names",
    "long_mode",
    "read_only_tree",
    "run",
]


def __getattr__(name: str) -> Any:
    if name == "DriverSuite":  # imported on demand: it needs pytest
        from .pytest_suite import DriverSuite

        return DriverSuite
    raise AttributeError(name)
