"""Running the workloads of one driver: its steps in order, each timed and reported, a
failing step recorded without stopping the others."""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ... import factory
from ...driver import StorageDriver
from .checks import Checks
from .gc_go import gc_against_go
from .plan import NOT_IN_CHILD, Plan, Report, human
from .registry import migrate_speed

__all__ = ["Bench", "Progress", "bench_driver", "steps_per_driver", "stopped_by_sigterm"]


class Bench(Checks):
    """Every workload and check of one driver on one store, as named steps."""

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        """The workloads in order, as (name, function) pairs."""
        plan = self.plan
        steps: list[tuple[str, Callable[[], None]]] = []
        for size in plan.object_sizes:
            steps.append((f"PutGet {human(size)}", functools.partial(self.put_get, size)))
        for size in plan.object_sizes:
            steps.append((f"Stream {human(size)}", functools.partial(self.stream, size)))
        for count in plan.list_sizes:
            steps.append((f"List {count}", functools.partial(self.list_files, count)))
        for count in plan.list_sizes:
            steps.append((f"Delete {count}", functools.partial(self.delete_files, count)))
        steps.append(("Registry links and stats", self.links))
        steps.append(("Registry chunked upload", self.chunked_upload))
        steps.append(("Registry upload delete", self.upload_delete))
        steps.append(("Registry walk", self.registry_walk))
        if self.name == "filesystem":
            steps.append(("Streaming throughput", self.throughput))
        if self.raw is not None:  # their bounds come from the raw side's chunk
            if self.name in factory._registered:  # distfs.register'ed: the fresh child cannot build it
                self.report.notes[self.name] = NOT_IN_CHILD
            else:
                steps.append(("Peak RSS", self.peak_rss))
            steps.append(("Resumable upload bytes", self.resumable_bytes))
        if self.name == "s3":  # the registry toolkit's figures: measured on s3 only
            steps.append(("Registry gc --dry-run", functools.partial(gc_against_go, self)))
            steps.append(("Registry migrate", functools.partial(migrate_speed, self)))
        steps.append(("Clean up", self.clean_up))
        return steps


class Progress:
    """Workload-level progress, reported through the ``distfs check`` progress bar."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from ...testing import Case, Result
        from ..progress import Progress

        self._bar = Progress(total, stream)
        self._case, self._result = Case, Result

    def start(self, name: str) -> None:
        self._bar.start(self._case(name, lambda context: None))

    def done(self, name: str, failed: bool) -> None:
        self._bar.done(self._result(name, "failed" if failed else "passed", 0.0))

    def finish(self) -> None:
        self._bar.finish()


def bench_driver(
    name: str,
    driver: StorageDriver,
    parameters: dict[str, Any],
    *,
    plan: Plan,
    report: Report,
    progress: Progress | None = None,
) -> None:
    """Run every workload on ``driver``; a failing workload is recorded in ``report.errors``."""
    bench = Bench(name, driver, parameters, plan, report)
    for step, function in bench.steps():
        if progress is not None:
            progress.start(f"{name}: {step}")
        failed = False
        began = time.perf_counter()
        try:
            function()
        except Exception as exc:  # a workload failure is reported, the others still run
            failed = True
            report.errors[f"{name}: {step}"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        report.steps[f"{name}: {step}"] = time.perf_counter() - began
        if progress is not None:
            progress.done(f"{name}: {step}", failed)


def steps_per_driver(name: str, plan: Plan) -> int:
    # A driver that is not built in may lack a raw side (no peak RSS, no resumable bytes).
    own = 2 * (name not in factory.BUILTIN_DRIVERS)
    return 2 * len(plan.object_sizes) + 2 * len(plan.list_sizes) + 7 + (name == "filesystem") + 2 * (name == "s3") - own


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM raises SystemExit inside (on the main thread), so that the local servers a
    terminated bench started are still stopped by their ``with`` block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
