"""Run conformance cases against a driver, with the clean-root check after every test."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..driver import StorageDriver
from .context import Case, Context
from .suite import CASES

__all__ = ["LONG_ENV", "DirtyRootError", "Result", "long_mode", "run", "run_case"]

LONG_ENV = "DISTFS_TEST_LONG"


def long_mode() -> bool:
    """True when ``DISTFS_TEST_LONG`` asks for the long suite."""
    return os.environ.get(LONG_ENV, "").lower() in {"1", "true", "yes"}


class DirtyRootError(RuntimeError):
    """The driver's root is not empty, so the suite will not run (it would judge others' data)."""


@dataclass(frozen=True)
class Result:
    """The outcome of one case: ``passed``, ``failed`` or ``skipped``."""

    name: str
    outcome: str
    seconds: float
    message: str = ""


def check_empty_root(driver: StorageDriver) -> None:
    """Refuse to run against a root that already holds something."""
    entries = driver.list("/")
    if entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise DirtyRootError(
            f"the conformance suite needs an empty root, but {driver.name} holds {len(entries)} "
            f"entries ({shown}); point it at an empty root directory or bucket"
        )


def run_case(case: Case, driver: StorageDriver, *, long: bool, workdir: Path) -> None:
    """Run ``case``; raise ``AssertionError`` (or the driver's error) on failure.

    The test's paths are deleted afterwards, then ``list("/")`` must be empty again.
    """
    context = Context(driver, long=long, workdir=workdir)
    try:
        case.run(context)
    finally:
        context.run_cleanups()
    left = driver.list("/")
    if left:
        raise AssertionError(f"root not clean after the test: {left}")


def run(
    driver: StorageDriver,
    *,
    long: bool = False,
    cases: Iterable[Case] = CASES,
    on_start: Callable[[Case], None] | None = None,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Run ``cases`` against ``driver`` and return one :class:`Result` each."""
    check_empty_root(driver)
    results = []
    with tempfile.TemporaryDirectory(prefix="distfs-check-") as workdir:
        for case in cases:
            if on_start is not None:
                on_start(case)
            start = time.perf_counter()
            if case.long_only and not long:
                result = Result(case.name, "skipped", 0.0, f"long mode only ({LONG_ENV}=1 or --long)")
            else:
                try:
                    run_case(case, driver, long=long, workdir=Path(workdir))
                except Exception as exc:  # a failed case is a result, not a crash
                    message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AssertionError) else str(exc)
                    result = Result(case.name, "failed", time.perf_counter() - start, message)
                else:
                    result = Result(case.name, "passed", time.perf_counter() - start)
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results
