"""Driver path rules.

A driver path is absolute, uses ``/`` as separator and, under the default ``registry``
rules, matches the registry's pattern ``^(/[A-Za-z0-9._-]+)+$``. distfs is stricter than
Go in one point: ``.`` and ``..`` components are rejected too (Go lets ``/a/../../etc``
through, and its filesystem driver then cleans it into a path outside the root). ``/``
itself is valid only where a caller may name the root: ``stat``, ``list`` and ``walk``.

The ``portable`` rules (driver parameter ``paths: portable``) accept any UTF-8 name
component except the empty one, ``.``, ``..``, names with control characters and
``HIDDEN``: data sets need names such as ``year=2024`` or ``part 1.csv``. The price is
that such paths are not registry paths (a registry would refuse them), and that a store
written this way may hold names some other tools or filesystems cannot represent.

``HIDDEN`` is the one name distfs keeps for its own state (suspended uploads, temporary
files) at the top of a driver's root. It cannot be a component of a valid path, listings
never show it, and every path rule below keeps it unreachable.
"""

from __future__ import annotations

import re

__all__ = ["HIDDEN", "PATH_RULES", "ROOT", "first_part", "is_valid", "join", "parent", "split"]

PATH_RULES = ("registry", "portable")

ROOT = "/"
HIDDEN = ".distfs~"

# Registry: ``^(/[A-Za-z0-9._-]+)+$``; portable: any characters but ``/`` and controls. Each
# rule is one match (the hot path of every call): the look-ahead refuses the components
# ``.``, ``..`` and ``HIDDEN``, and portable names hold no lone surrogates (not UTF-8).
_RESERVED = r"(?!(?:\.|\.\.|" + re.escape(HIDDEN) + r")(?:/|\Z))"
_VALID = re.compile(r"(?:/" + _RESERVED + r"[A-Za-z0-9._-]+)+")
_VALID_PORTABLE = re.compile(r"(?:/" + _RESERVED + r"[^/\x00-\x1f\x7f\ud800-\udfff]+)+")


def is_valid(path: object, *, root_ok: bool = False, portable: bool = False) -> bool:
    """True if ``path`` is a valid driver path (``/`` too when ``root_ok``).

    ``portable`` applies the portable rules instead of the registry pattern.
    """
    if not isinstance(path, str):
        return False
    if path == ROOT:
        return root_ok
    return (_VALID_PORTABLE if portable else _VALID).fullmatch(path) is not None


def join(directory: str, name: str) -> str:
    """The path of child ``name`` of ``directory``."""
    return (directory if directory != ROOT else "") + "/" + name


def parent(path: str) -> str:
    """The parent directory of ``path`` (``/`` for a top-level path and for ``/``)."""
    head = path.rsplit("/", 1)[0]
    return head or ROOT


def split(path: str) -> list[str]:
    """The components of ``path`` (empty for ``/``)."""
    return [part for part in path.split("/") if part]


def first_part(path: str) -> str:
    """The top-level component of ``path`` as a path: ``/a/b/c`` -> ``/a``."""
    parts = split(path)
    return "/" + parts[0] if parts else ROOT
