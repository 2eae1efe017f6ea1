"""Batch calls of ``distfs://`` against s3fs's own, behind a delay proxy (``distfs bench --delay MS``).

zarr, dask and fsspec's generic copy issue batch calls (``cat``, ``pipe``, ``du``, ``rm``
of many paths). On loopback without delay their cost hides; behind :class:`DelayProxy`
every request costs what a remote store's would, so a batch that runs its paths one after
another shows. Both sides run in the same process, on the same moto server, behind the
same proxy: ``distfs`` is :class:`~distfs.protocol.DistFileSystem` on the ``s3`` driver,
``raw`` is an ``s3fs.S3FileSystem`` with the same credentials and default settings (its
listings cache emptied before every timed call, so both sides ask the store). Each
workload runs ``repeats`` times, alternating which side goes first; the figure is the
median. Target: distfs within :data:`TARGET` times s3fs.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from ..protocol import DistFileSystem
from .delayproxy import DelayProxy

__all__ = ["TARGET", "WORKLOADS", "BatchRow", "print_rows", "run_batch"]

WORKLOADS = ("pipe", "cat", "du", "rm")
TARGET = 1.5


@dataclass(frozen=True)
class BatchRow:
    """One workload: median seconds of each side, and their ratio."""

    workload: str
    ours: float
    raw: float

    @property
    def ratio(self) -> float:
        return self.ours / self.raw if self.raw else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio <= TARGET


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def run_batch(
    endpoint: str, parameters: dict[str, Any], *, delay: float, count: int = 100, size: int = 10_000, repeats: int = 3
) -> list[BatchRow]:
    """Time each of :data:`WORKLOADS` on ``count`` objects of ``size`` bytes, ``delay`` seconds per request."""
    from s3fs import S3FileSystem

    with DelayProxy(endpoint, delay) as proxy:
        ours = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": proxy.endpoint})
        raw = S3FileSystem(
            key=parameters["accesskey"],
            secret=parameters["secretkey"],
            endpoint_url=proxy.endpoint,
            client_kwargs={"region_name": parameters.get("region", "us-east-1")},
            skip_instance_cache=True,
        )
        bucket = parameters["bucket"]
        data = os.urandom(size)
        mine = [f"/batch-distfs/f{i:04}" for i in range(count)]
        theirs = [f"{bucket}/batch-raw/f{i:04}" for i in range(count)]
        sides: dict[str, dict[str, Callable[[], object]]] = {
            "ours": {
                "pipe": lambda: ours.pipe(dict.fromkeys(mine, data)),
                "cat": lambda: ours.cat(mine),
                "du": lambda: ours.du("/batch-distfs"),
                "rm": lambda: ours.rm(mine),
            },
            "raw": {
                "pipe": lambda: raw.pipe(dict.fromkeys(theirs, data)),
                "cat": lambda: raw.cat(theirs),
                "du": lambda: raw.du(f"{bucket}/batch-raw"),
                "rm": lambda: raw.rm(theirs),
            },
        }
        times: dict[tuple[str, str], list[float]] = {}
        for repeat in range(repeats):
            order = ("ours", "raw") if repeat % 2 == 0 else ("raw", "ours")
            for workload in WORKLOADS:  # pipe first: rm of the previous round emptied the store
                for side in order:
                    raw.invalidate_cache()  # s3fs's defaults, but nothing served from its listings cache
                    times.setdefault((side, workload), []).append(_timed(sides[side][workload]))
    return [BatchRow(w, statistics.median(times[("ours", w)]), statistics.median(times[("raw", w)])) for w in WORKLOADS]


def print_rows(rows: list[BatchRow], out: TextIO, *, delay: float, count: int, size: int) -> None:
    """The table of :func:`run_batch`'s figures."""
    print(f"batch calls on s3 (moto) behind a {delay * 1000:.0f} ms/request proxy: {count} x {size} bytes", file=out)
    print(f"{'call':<6} {'distfs s':>9} {'s3fs s':>9} {'ratio':>6}  target <= {TARGET}", file=out)
    for row in rows:
        verdict = "PASS" if row.passed else "MISS"
        print(f"{row.workload:<6} {row.ours:>9.3f} {row.raw:>9.3f} {row.ratio:>6.2f}  {verdict}", file=out)
