"""Timing one comparison: two sides alternating, each keeping its best sample."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ...parameters import MiB
from .plan import Plan

__all__ = ["Op", "Side", "compare", "drain", "pieces"]

Op = Callable[[int], object]


@dataclass
class Side:
    """One side of a comparison: ``run(i)`` is timed, ``prepare(i)`` (if any) is not."""

    run: Op
    prepare: Op | None = None


def _sample(side: Side, start: int, count: int) -> float:
    """Seconds per operation over ``count`` operations numbered from ``start``."""
    total = 0.0
    for i in range(start, start + count):
        if side.prepare is not None:
            side.prepare(i)
        began = time.perf_counter()
        side.run(i)
        total += time.perf_counter() - began
    return total / count


def compare(ours: Side, raw: Side, plan: Plan, *, repeats: int | None = None, cap: int = 1000) -> tuple[float, float]:
    """Best seconds per operation of both sides, alternating which side goes first.

    A first single run of each side (which also warms caches and connections) sizes the
    samples to about ``plan.sample_seconds``; it counts as a sample too, so an operation
    slower than that runs ``1 + repeats`` times per side.
    """
    best = [_sample(ours, 0, 1), _sample(raw, 1, 1)]
    counter = 2
    count = 1
    if plan.sample_seconds > 0:
        count = max(1, min(cap, int(plan.sample_seconds / max(best[0], best[1], 1e-9))))
    for repeat in range(plan.repeats if repeats is None else repeats):
        order = (0, 1) if repeat % 2 == 0 else (1, 0)
        for index in order:
            side = ours if index == 0 else raw
            best[index] = min(best[index], _sample(side, counter, count))
            counter += count
    return best[0], best[1]


def pieces(size: int, piece: int = MiB) -> Iterator[memoryview]:
    """``size`` bytes in pieces of at most ``piece`` bytes, from one reused buffer."""
    buffer = memoryview(os.urandom(min(size, piece)))
    left = size
    while left > 0:
        take = min(left, piece)
        yield buffer[:take]
        left -= take


def drain(stream: BinaryIO) -> int:
    total = 0
    while True:
        data = stream.read(MiB)
        if not data:
            return total
        total += len(data)
