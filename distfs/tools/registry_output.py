"""What the ``distfs registry`` commands print: tables, sizes and ages, gc's lines and summary."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ..registry.gc import GcItem, GcReport

__all__ = ["emit", "gc_summary", "human_age", "human_size", "item_line", "table"]


def human_size(count: float) -> str:
    """``count`` bytes in B, KiB, MiB... (one decimal above bytes)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError  # pragma: no cover


def emit(args: argparse.Namespace, document: Callable[[], object], lines: list[str], summary: str) -> None:
    """Print ``lines`` and ``summary``, or with ``--json`` the object ``document()`` makes (the
    summary to stderr): made only then (``asdict`` of gc's report is most of a dry run's cost)."""
    if args.json:
        print(json.dumps(document(), indent=2, default=str))
        print(summary, file=sys.stderr)
        return
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")  # one write: gc prints a line per blob
    print(summary)


def table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    """``rows`` (a header first) as lines of left-aligned columns."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def human_age(since: datetime, now: datetime | None = None) -> str:
    """How long before ``now`` (default: now) ``since`` was, in days, hours, minutes or seconds."""
    seconds = max(((now or datetime.now(UTC)) - since).total_seconds(), 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def item_line(item: GcItem, now: datetime | None = None) -> str:
    """gc's line for ``item``: kind, digest (or path), size, age (before ``now``) and reason."""
    age = human_age(item.mod_time, now)
    return f"{item.kind} {item.digest or item.path}  {human_size(item.size)}  {age} old  {item.reason}"


def gc_summary(args: argparse.Namespace, report: GcReport) -> str:
    """gc's last line: what was marked, deleted (or would be) and kept, or how far an interrupted run got."""
    if report.interrupted:
        return (
            f"gc interrupted: deleted {len(report.deleted)} of {len(report.items)} planned items "
            f"({human_size(report.deleted_bytes)}); {len(report.errors)} errors"
        )
    verb = "would delete" if args.dry_run else "deleted"
    changed = f" and {len(report.changed)} changed since the listing" if report.changed else ""
    return (
        f"gc{' (dry run)' if args.dry_run else ''}: {report.marked} blobs marked; {verb} {len(report.blobs)} blobs "
        f"({human_size(report.blob_bytes)}), {len(report.manifests)} manifests, "
        f"{len(report.uploads)} uploads; kept {len(report.young)} young blobs{changed}; {len(report.errors)} errors"
    )
