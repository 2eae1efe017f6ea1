"""The conformance suite: a port of distribution's ``testsuites.go`` and ``walk_test.go``, and
the distfs contract beyond it, one module per topic.

Each test is a function of a :class:`~distfs.testing.context.Context`, registered by its
topic module's ``@case`` (:class:`~.registry.Registrar`). :data:`CASES` runs the topics in
the order listed here: Go's cases first (each topic in the order of the Go suite), then
distfs's own. Sizes follow Go's short mode unless the context is ``long`` (5 GiB stream,
128 MiB concurrent reads, 32 x 32 MiB streams, the full 10 s + 5 s wait of ``TestStatCall``).
"""

from __future__ import annotations

from ..context import Case
from . import capabilities, concurrency, content, instances, names, read_only, readers, redirect, streams, walk, writers
from .content import INVALID_PATHS, VALID_PATHS
from .read_only import READ_ONLY_TREE, read_only_tree

__all__ = ["CASES", "INVALID_PATHS", "READ_ONLY_TREE", "VALID_PATHS", "case_names", "read_only_tree"]

_TOPICS = (content, streams, names, redirect, concurrency, walk, writers, readers, instances, capabilities, read_only)

#: Every case, topic by topic.
CASES: list[Case] = [case for topic in _TOPICS for case in topic.CASES]


def case_names() -> list[str]:
    """Names of all conformance tests, in run order."""
    return [c.name for c in CASES]
