"""fsspec's ``info`` and ``ls`` entries as the seam's objects: names, kinds, times, versions.

Backends describe one object differently: names absolute (``/root/a``), relative
(``bucket/a``) or with a trailing ``/`` for a directory; times as ``mtime`` (a float or
a datetime), ``created``, ``LastModified`` or ``last_modified``; identity as an ETag, a
generation, a version id, or only a time, a size and an inode. These functions are the
one place that knows, so that a listing and an ``info`` of the same object always give
the same key, time and version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...driver import EPOCH

__all__ = ["is_directory", "is_file", "modified", "relative", "version"]

#: Fields that identify one version of an object's content, most telling first.
_IDENTITY = ("ETag", "etag", "generation", "VersionId", "version_id", "md5", "content_md5")
_TIMES = ("mtime", "LastModified", "last_modified", "modified", "updated", "created", "time", "date_time")


def relative(name: str, base: str) -> str | None:
    """The key of backend name ``name`` below root ``base`` (both stripped of a protocol), or
    None when the name lies elsewhere (or is the root itself)."""
    name, base = name.strip("/"), base.strip("/")
    if not base:
        return name or None
    if name.startswith(base + "/"):
        return name[len(base) + 1 :] or None
    return None


def is_file(entry: dict[str, Any]) -> bool:
    return entry.get("type") == "file" and not str(entry.get("name", "")).endswith("/")


def is_directory(entry: dict[str, Any]) -> bool:
    return entry.get("type") == "directory"


def _seconds(value: Any) -> float | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, tuple) and len(value) == 6 and all(isinstance(v, int) for v in value):
        return datetime(*value, tzinfo=UTC).timestamp()  # a zip member's date_time
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def modified(entry: dict[str, Any]) -> datetime:
    """The entry's modification time as aware UTC (the epoch when it has none)."""
    for field in _TIMES:
        seconds = _seconds(entry.get(field))
        if seconds is not None:
            return datetime.fromtimestamp(seconds, UTC)
    return EPOCH


def version(entry: dict[str, Any]) -> str:
    """A token for this exact content: the backend's identity field, else time, size and inode."""
    for field in _IDENTITY:
        value = entry.get(field)
        if value not in (None, ""):
            return f"{field}:{value}"
    seconds = next((s for s in (_seconds(entry.get(f)) for f in _TIMES) if s is not None), None)
    inode = entry.get("ino", entry.get("inode", ""))
    return f"t:{seconds!r}:{entry.get('size')}:{inode}"
