"""What one bench run measures: its plan (sizes, repetitions), the rows and checks it
reports, and the targets they are held to (``distfs / raw`` ratio limits)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ...parameters import GiB, KiB, MiB, size

__all__ = [
    "CLOUD",
    "LINK_LIMITS",
    "LOCAL",
    "NOT_IN_CHILD",
    "NO_RAW",
    "REGISTRY_LIST",
    "Check",
    "Plan",
    "Report",
    "Row",
    "human",
    "plan_for",
    "ratio_limit",
    "ratio_text",
]

#: Drivers whose ratio targets are the local ones (1.05 from 1 MiB up, 1.30 below).
LOCAL = ("inmemory", "filesystem")
#: Drivers whose ratio target is 1.10 against their local servers.
CLOUD = ("s3", "gcs", "azure")

#: The command that regenerates docs/performance.md and its plot.
REPRODUCE = "distfs bench --json bench.json --plot docs/performance.png --markdown docs/performance.md"

#: Why a driver's raw column reads ``n/a``.
NO_RAW = (
    "no raw fsspec counterpart (not a built-in driver, nor one over the generic store): "
    "raw column and ratios not available; peak RSS and resumable upload bytes, whose bounds "
    "come from the raw side, not measured"
)

#: Why a driver registered with ``distfs.register`` has no peak RSS figure.
NOT_IN_CHILD = (
    "registered in this process only (distfs.register): peak RSS, measured in a fresh process, "
    "not measured (register it with the distfs.drivers entry point instead)"
)


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one bench run (``smoke``, ``default`` or ``long``)."""

    mode: str
    object_sizes: tuple[int, ...]
    list_sizes: tuple[int, ...]
    upload_chunks: int
    upload_chunk: int
    tree_blobs: int
    cloud_tree_blobs: int
    stream_size: int
    resumable_chunks: int
    resumable_chunk: int
    repeats: int
    sample_seconds: float
    fallback_seconds: float
    registry_blobs: int = 40
    migrate_blobs: int = 8
    migrate_blob_size: int = 64 * KiB


def plan_for(mode: str) -> Plan:
    """The plan of ``mode``: ``smoke`` (tiny, for CI), ``default`` or ``long`` (GiB objects)."""
    if mode == "smoke":
        return Plan(mode, (0, KiB, 64 * KiB), (5,), 2, 64 * KiB, 40, 40, 2 * MiB, 5, 64 * KiB, 2, 0.0, 1.0)
    if mode == "default":
        return Plan(
            mode, (0, KiB, MiB), (5, 50), 8, MiB, 10_000, 1000, 256 * MiB, 100, MiB, 5, 0.05, 10.0, 10_000, 128, MiB
        )
    if mode == "long":
        return Plan(
            mode, (0, KiB, MiB, GiB), (5, 50), 8, MiB, 10_000, 10_000, GiB, 100, MiB, 5, 0.05, 20.0, 10_000, 512, MiB
        )
    raise ValueError(f"unknown bench mode {mode!r}")


@dataclass
class Row:
    """One workload on one driver: distfs and raw fsspec side by side.

    ``unit`` is ``ms`` (time per operation, lower is better) or ``MiB/s`` (throughput,
    higher is better). ``limit`` bounds ``ratio`` (at most for times, at least for
    throughputs); ``None`` means the workload has no target. ``raw`` (and so ``ratio``)
    is ``None`` for a driver without a raw fsspec counterpart.
    """

    workload: str
    driver: str
    unit: str
    distfs: float
    raw: float | None
    limit: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.raw is None:
            return None
        return self.distfs / self.raw if self.raw else float("inf")

    @property
    def passed(self) -> bool | None:
        if self.limit is None or self.ratio is None:
            return None
        return self.ratio >= self.limit if self.unit == "MiB/s" else self.ratio <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "passed": self.passed}


@dataclass
class Check:
    """One measured value of one driver against a limit (``at_most`` or at least)."""

    name: str
    driver: str
    value: float
    unit: str
    limit: float
    at_most: bool = True
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class Report:
    """Everything one bench run measured."""

    plan: Plan
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def missed(self) -> list[str]:
        """What missed its target, one line each."""
        lines = [f"{r.workload} on {r.driver}: ratio {ratio_text(r)}" for r in self.rows if r.passed is False]
        lines += [f"{c.name} on {c.driver}: {c.value:.2f} {c.unit}" for c in self.checks if not c.passed]
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.plan.mode,
            "plan": asdict(self.plan),
            "seconds": round(self.seconds, 3),
            "machine": self.machine,
            "rows": [r.as_json() for r in self.rows],
            "checks": [c.as_json() for c in self.checks],
            "errors": self.errors,
            "notes": self.notes,
            "steps": {name: round(seconds, 3) for name, seconds in self.steps.items()},
        }


#: Targets of the registry's small operations on ``filesystem`` (distfs / raw).
LINK_LIMITS = {"stat": 2.5, "get": 1.5, "list": 1.5, "put": 1.3}
#: Entries of the registry-depth listing.
REGISTRY_LIST = 20


def ratio_limit(driver: str, workload: str, size: int) -> float | None:
    """The target of ``distfs / raw`` for a Go workload of ``size`` bytes on ``driver``."""
    if driver in LOCAL:
        return 1.05 if size >= MiB else 1.30
    if driver in CLOUD:
        return 1.10
    return None


def human(count: int) -> str:
    """``count`` bytes as the bench's labels show them: ``1 MiB``, ``100 B``."""
    return size(count, "B")


def ratio_text(row: Row) -> str:
    """``row``'s ratio as reports show it (``n/a`` without a raw side)."""
    return "n/a" if row.ratio is None else f"{row.ratio:.2f}"
