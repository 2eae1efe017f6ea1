"""What every probe is made of: :class:`Probe`, the ``probe`` decorator that registers one in
:data:`PROBES` (in :data:`GROUPS`), and the helpers probes share to turn what a target did into
an observed value (see :mod:`distfs.tools.probe.catalogue`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .targets import Target, Unsupported

__all__ = [
    "GROUPS",
    "PROBES",
    "Probe",
    "Unsupported",
    "error_name",
    "listed",
    "names",
    "outcome",
    "probe",
    "size_text",
    "stat_text",
    "time_type",
]


@dataclass(frozen=True)
class Probe:
    """One named check: ``run(target)`` returns the observed value."""

    name: str
    group: str
    description: str
    run: Callable[[Target], str]
    contract: str | None = None


PROBES: list[Probe] = []

GROUPS = ("listing", "directories", "stat", "move", "delete", "append", "reads", "consistency", "writes", "names")
"""Probe groups, in the order reports show them."""


ProbeFn = Callable[[Target], str]


def probe(group: str, description: str, contract: str | None = None) -> Callable[[ProbeFn], ProbeFn]:
    """Register the decorated function as a probe named after it."""

    def register(fn: ProbeFn) -> ProbeFn:
        if group not in GROUPS:
            raise ValueError(f"probe {fn.__name__}: unknown group {group!r}")
        PROBES.append(Probe(fn.__name__, group, description, fn, contract))
        return fn

    return register


def error_name(exc: BaseException) -> str:
    """How an exception shows in an observed value: its class name."""
    if isinstance(exc, Unsupported):
        return "not supported"
    return type(exc).__name__


def outcome(call: Callable[[], object]) -> str:
    """``ok`` if ``call`` returns, else the exception's name."""
    try:
        call()
    except Exception as exc:
        return error_name(exc)
    return "ok"


def names(items: list[str], base: str = "t/") -> str:
    """A listing shown relative to ``base``: ``[a, d/]``."""
    return "[" + ", ".join(item[len(base) :] if item.startswith(base) else item for item in items) + "]"


def listed(target: Target, path: str) -> str:
    try:
        return names(target.list(path))
    except Exception as exc:
        return error_name(exc)


def size_text(size: int | None) -> str:
    return "None" if size is None else ("0" if size == 0 else ">0")


def stat_text(target: Target, path: str) -> str:
    try:
        info = target.stat(path)
    except Exception as exc:
        return error_name(exc)
    return f"{info.kind}, size {size_text(info.size)}"


def time_type(value: object) -> str:
    """``datetime UTC``, ``datetime naive``, ``datetime UTC+02:00``, ``int``, ``float``, ``str``..."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            return "datetime naive"
        if offset == timedelta(0):
            return "datetime UTC"
        return f"datetime UTC{'+' if offset > timedelta(0) else '-'}{abs(offset)}"
    return type(value).__name__
