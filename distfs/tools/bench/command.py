"""``distfs bench``: its arguments, and the command that runs the bench and writes its outputs."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from ... import factory
from ...errors import InvalidParameterError, InvalidStorageDriverError, StorageDriverError
from .measure import machine
from .plan import Check, Report, plan_for
from .report import BEGIN, END, print_report, write_markdown
from .runner import Progress, bench_driver, steps_per_driver, stopped_by_sigterm

__all__ = ["add_parser", "run_command"]


def add_parser(commands: Any) -> None:
    """Add the ``bench`` subcommand to the ``distfs`` command's subparsers."""
    from ..local import DRIVERS

    bench = commands.add_parser(
        "bench",
        help="measure distfs against the raw fsspec backend it wraps",
        description=(
            "Benchmark drivers against the raw fsspec filesystem they wrap, side by side in one run. "
            f"Without DRIVER, every local driver on local servers ({', '.join(DRIVERS)}). "
            "Targets are reported; the exit code is 0 unless --strict is given and a target is missed (1), "
            "or a driver could not be set up (2)."
        ),
    )
    bench.add_argument("drivers", nargs="*", metavar="DRIVER", help="driver names (default: every local driver)")
    bench.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="driver parameter of the store to bench (one DRIVER only); default: a local store",
    )
    size = bench.add_mutually_exclusive_group()
    size.add_argument("--long", action="store_true", help="1 GiB objects and streams")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, two repetitions (for CI)")
    bench.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE ('-' for stdout)")
    bench.add_argument("--plot", metavar="FILE", help="write a PNG of distfs / raw per workload and driver")
    bench.add_argument(
        "--markdown",
        metavar="FILE",
        help=f"write the results section to FILE (replaced between {BEGIN} and {END} if present)",
    )
    bench.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    bench.add_argument(
        "--delay",
        type=float,
        metavar="MS",
        help="instead: batch calls (cat, pipe, du, rm of 100 x 10 kB) of distfs:// and s3fs on s3 (moto) "
        "behind a proxy adding MS milliseconds per request",
    )
    bench.add_argument(
        "--dataframes",
        action="store_true",
        help="instead: pd.read_parquet and pd.read_csv of 2 M rows through distfs:// on filesystem "
        "against the same local file",
    )
    bench.add_argument(
        "--registry-scale",
        metavar="N,N...",
        help="instead: registry gc --dry-run on s3 (moto) stores of N blobs each (half garbage), "
        "timed with its peak RSS in a child process; targets: linear time, peak RSS at most 500 MiB",
    )
    bench.add_argument(
        "--registry-go",
        metavar="N",
        help="instead: registry gc --dry-run against Go's garbage-collect --dry-run on s3 (moto) stores "
        "of N blobs (half garbage; all unreferenced), median of 3; targets: 50x and 20x faster",
    )
    bench.set_defaults(command=run_command)


def run_dataframes_command(args: argparse.Namespace) -> int:
    """``distfs bench --dataframes``: pandas reads (see :mod:`distfs.tools.dataframes`)."""
    import tempfile

    from ..dataframes import print_reads, run_reads

    count, rounds = (20_000, 2) if args.smoke else (2_000_000, 11)
    with tempfile.TemporaryDirectory(prefix="distfs-bench-") as root:
        rows = run_reads(Path(root), rows=count, rounds=rounds)
    print_reads(rows, sys.stdout, count=count)
    return 1 if args.strict and not all(row.passed for row in rows) else 0


def run_batch_command(args: argparse.Namespace) -> int:
    """``distfs bench --delay MS``: the batch section (see :mod:`distfs.tools.batch`)."""
    from ..batch import print_rows, run_batch
    from ..local import LocalStores

    delay = float(args.delay) / 1000
    count, size = (20, 1000) if args.smoke else (100, 10_000)
    with LocalStores() as stores:
        rows = run_batch(stores.endpoint("s3"), stores.parameters("s3"), delay=delay, count=count, size=size)
    print_rows(rows, sys.stdout, delay=delay, count=count, size=size)
    return 1 if args.strict and not all(row.passed for row in rows) else 0


def run_registry_scale_command(args: argparse.Namespace) -> int:
    """``distfs bench --registry-scale N,N...``: see :func:`distfs.tools.bench.registry.gc_scale`."""
    from ..local import LocalStores
    from .registry import gc_scale

    try:
        counts = [int(n) for n in args.registry_scale.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 2:
        print(
            f"distfs bench: --registry-scale takes blob counts N,N... (at least 2), not {args.registry_scale!r}",
            file=sys.stderr,
        )
        return 2
    with stopped_by_sigterm(), LocalStores() as stores:
        log = functools.partial(print, file=sys.stderr)
        checks = gc_scale(stores.parameters("s3"), counts, repeats=1 if args.smoke else 3, log=log)
    return _print_checks(checks, args.strict)


def run_registry_go_command(args: argparse.Namespace) -> int:
    """``distfs bench --registry-go N``: see :func:`distfs.tools.bench.gc_go.gc_versus_go`."""
    from ..local import LocalStores
    from .gc_go import gc_versus_go

    count = int(args.registry_go) if args.registry_go.isdigit() else 0
    if count < 2:
        print(
            f"distfs bench: --registry-go takes a blob count N (at least 2), not {args.registry_go!r}", file=sys.stderr
        )
        return 2
    with stopped_by_sigterm(), LocalStores() as stores:
        log = functools.partial(print, file=sys.stderr, flush=True)
        log(f"Load average at start (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        checks = gc_versus_go(stores.parameters("s3"), count, repeats=1 if args.smoke else 3, log=log)
    return _print_checks(checks, args.strict)


def _print_checks(checks: list[Check], strict: bool) -> int:
    """Print ``checks`` with the load average; the exit code (1 if ``strict`` and one missed)."""
    print(f"Load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for check in checks:
        verdict = "ok" if check.passed else "MISSED"
        print(f"{check.name}: {check.value:.2f} {check.unit} (limit {check.limit:g}) {verdict}; {check.note}")
    return 1 if strict and not all(check.passed for check in checks) else 0


def run_command(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    """The ``distfs bench`` command; returns the exit code."""
    from ..local import DRIVERS, LocalStores

    if getattr(args, "delay", None) is not None:
        return run_batch_command(args)
    if getattr(args, "dataframes", False):
        return run_dataframes_command(args)
    if getattr(args, "registry_scale", None) is not None:
        return run_registry_scale_command(args)
    if getattr(args, "registry_go", None) is not None:
        return run_registry_go_command(args)
    plan = plan_for("smoke" if args.smoke else "long" if args.long else "default")
    names = list(args.drivers) or list(DRIVERS)
    if parameters and len(names) != 1:
        print("distfs bench: -p parameters need exactly one DRIVER", file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in factory.driver_names()]
    if unknown:
        print(
            f"distfs bench: unknown driver {unknown[0]!r}; known: {', '.join(factory.driver_names())}", file=sys.stderr
        )
        return 2
    # A built-in driver needs a local store or -p; a registered one is built from -p (maybe none).
    if not parameters and any(n not in DRIVERS and n in factory.BUILTIN_DRIVERS for n in names):
        print(f"distfs bench: no local store for {names}; give -p parameters of a store", file=sys.stderr)
        return 2
    report = Report(plan, machine=machine())
    # gcsfs logs a traceback each time the raw side's mv falls back from moveTo to copy+delete.
    logging.getLogger("gcsfs").setLevel(logging.CRITICAL)
    progress = Progress(sum(steps_per_driver(n, plan) for n in names), sys.stderr)
    began = time.perf_counter()
    try:
        with stopped_by_sigterm(), LocalStores() as stores:
            for name in names:
                try:
                    local = not parameters and name in DRIVERS
                    store: dict[str, Any] = stores.parameters(name) if local else dict(parameters)
                    driver = factory.create(name, store)
                except (InvalidStorageDriverError, InvalidParameterError, StorageDriverError, RuntimeError) as exc:
                    progress.finish()
                    print(f"distfs bench: {exc}", file=sys.stderr)
                    return 2
                bench_driver(name, driver, store, plan=plan, report=report, progress=progress)
    finally:
        progress.finish()
    report.seconds = time.perf_counter() - began
    out = sys.stdout if args.json != "-" else sys.stderr
    print_report(report, out)
    if args.json:
        text = json.dumps(report.as_json(), indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    if args.plot:
        from .plot import plot

        plot(report, args.plot)
    if args.markdown:
        write_markdown(report, args.markdown, plot_file=args.plot)
    return 1 if args.strict and (report.missed or report.errors) else 0
