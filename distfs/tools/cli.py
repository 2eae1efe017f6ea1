"""The ``distfs`` command.

``distfs check [DRIVER] [-p key=value ...] [--config FILE] [--long] [--json FILE] [-k TEXT]
[--skip NAME] [--xfail NAME] [--timeout SECONDS] [--traceback] [--async]`` runs the
conformance suite against a registered driver (default ``inmemory``) or the storage of a
registry ``config.yml``, shows a progress bar on a terminal, prints a result table and a
summary, and exits 1 if any test failed (or passed despite ``--xfail``), 2 if the driver
could not be set up. A second
instance on the same store, for the cases on two instances, is built the same way as the
first. ``--skip`` and ``--xfail`` declare known limits (reported, never hidden);
``--traceback`` prints each failure's type, failing call and traceback. With ``--async``
the same cases run against the ``distfs.aio`` driver (through :func:`distfs.aio.blocking`,
each call awaited on an event-loop thread).

``distfs health [DRIVER] [-p key=value ...] [--config FILE]`` is the registry's storage
health check: ``stat("/")`` succeeds or reports ``PathNotFoundError``. It prints one
line and exits 0 when healthy, 1 with the reason otherwise. It creates nothing: a
``filesystem`` root that does not exist is unhealthy (an ``InvalidParameterError`` naming
``rootdirectory``), never created and reported healthy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .. import factory
from ..config import from_config, load_config
from ..driver import StorageDriver
from ..errors import (
    ConfigError,
    InvalidParameterError,
    InvalidStorageDriverError,
    PathNotFoundError,
    StorageDriverError,
)
from .registry_open import parse_parameters

if TYPE_CHECKING:
    from ..testing import Result

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``distfs`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        parameters = parse_parameters(args.parameter)
    except ValueError as exc:
        parser.error(str(exc))
    code: int = args.command(args, parameters)
    return code


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``distfs`` parser; with ``command`` one of its commands, that command's alone.

    Each command's module is imported when its parser is built, so ``distfs registry gc``
    imports neither the conformance suite nor the bench (a short command's start-up time).
    """
    parser = argparse.ArgumentParser(prog="distfs", description="Registry storage drivers over fsspec.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    adders = {
        "check": _add_check_parser,
        "health": _add_health_parser,
        "bench": _add_bench_parser,
        "probe": _add_probe_parser,
        "registry": _add_registry_parser,
    }
    for name, add in adders.items():
        if command not in adders or command == name:
            add(commands)
    return parser


def _add_check_parser(commands: Any) -> None:
    from ..testing import long_mode

    check = commands.add_parser(
        "check",
        help="run the conformance suite against a driver",
        description="Run the conformance suite (a port of distribution's testsuites.go) against a driver.",
    )
    check.add_argument("driver", nargs="?", default="inmemory", help="driver name (default: inmemory)")
    check.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="driver parameter, repeatable (e.g. -p rootdirectory=/tmp/store)",
    )
    check.add_argument(
        "--long", action="store_true", default=long_mode(), help="also run the long tests (5 GiB stream, ...)"
    )
    check.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE ('-' for stdout)")
    check.add_argument("-k", "--select", metavar="TEXT", help="run only tests whose name contains TEXT")
    check.add_argument(
        "--skip", action="append", default=[], metavar="NAME", help="skip the test NAME (a known limit), repeatable"
    )
    check.add_argument(
        "--xfail", action="append", default=[], metavar="NAME", help="expect the test NAME to fail, repeatable"
    )
    check.add_argument("--timeout", type=float, metavar="SECONDS", help="seconds per test (default 120, long 3600)")
    check.add_argument("--traceback", action="store_true", help="print each failure's type, failing call and traceback")
    check.add_argument("--config", metavar="FILE", help="use the storage (and middleware) of a registry config.yml")
    check.add_argument(
        "--async",
        dest="asynchronous",
        action="store_true",
        help="test the distfs.aio driver (the same cases, every call awaited on an event loop)",
    )
    check.set_defaults(command=_check)


def _add_health_parser(commands: Any) -> None:
    health = commands.add_parser(
        "health",
        help="the registry's storage health check",
        description="Stat the root like the registry's health check; exit 0 if healthy, 1 if not.",
    )
    health.add_argument("driver", nargs="?", default="inmemory", help="driver name (default: inmemory)")
    health.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE")
    health.add_argument("--config", metavar="FILE", help="use the storage of a registry config.yml")
    health.set_defaults(command=_health)


def _add_bench_parser(commands: Any) -> None:
    from .bench import add_parser  # distfs bench: see distfs/tools/bench/

    add_parser(commands)


def _add_probe_parser(commands: Any) -> None:
    from .probe import add_parser  # distfs probe: see distfs/tools/probe/__init__.py

    add_parser(commands)


def _add_registry_parser(commands: Any) -> None:
    from .registry_cli import add_parser  # distfs registry: see registry_cli.py

    add_parser(commands)


def _driver(args: argparse.Namespace, parameters: dict[str, str]) -> StorageDriver:
    if args.config:
        if parameters:
            raise ConfigError("", "give either --config or -p parameters, not both")
        return from_config(args.config)
    return factory.create(args.driver, parameters)


def _check(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    from ..testing import CASES, DirtyRootError, run
    from ..testing.runner import reopen_of
    from .progress import Progress

    unknown = sorted(set(args.skip + args.xfail) - {case.name for case in CASES})
    if unknown:
        print(f"distfs check: no test named {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        driver = _driver(args, parameters)
    except (InvalidStorageDriverError, InvalidParameterError, StorageDriverError, ConfigError) as exc:
        print(f"distfs check: {exc}", file=sys.stderr)
        return 2
    # A second instance on the same store, built like the first (an inmemory store lives in its driver).
    reopen: Callable[[], StorageDriver] = reopen_of(driver) or (lambda: _driver(args, parameters))
    if args.asynchronous:
        from .. import aio

        driver = aio.blocking(aio.wrap(driver))
        plain = reopen
        reopen = lambda: aio.blocking(aio.wrap(plain()))  # noqa: E731
    cases = [case for case in CASES if not args.select or args.select in case.name]
    progress = Progress(len(cases), sys.stderr)
    start = time.perf_counter()
    try:
        results = run(
            driver,
            long=args.long,
            cases=cases,
            on_start=progress.start,
            on_result=progress.done,
            reopen=reopen,
            skip=dict.fromkeys(args.skip, "skipped by --skip"),
            xfail=dict.fromkeys(args.xfail, "expected to fail (--xfail)"),
            timeout=args.timeout,
        )
    except DirtyRootError as exc:
        print(f"distfs check: {exc}", file=sys.stderr)
        return 2
    finally:
        progress.finish()
    elapsed = time.perf_counter() - start
    out = sys.stdout if args.json != "-" else sys.stderr
    _print_table(results, out)
    if args.traceback:
        _print_failures(results, out)
    outcomes = ("passed", "failed", "skipped", "xfailed", "xpassed")
    counts = {outcome: sum(r.outcome == outcome for r in results) for outcome in outcomes}
    mode = ("long" if args.long else "short") + (" async" if args.asynchronous else "")
    print(f"\n{driver.name}, {mode} mode, {elapsed:.1f}s", file=out)
    summary = ", ".join(f"{counts[o]} {o}" for o in outcomes if counts[o] or o in ("passed", "failed", "skipped"))
    print(f"check: {summary}", file=out)
    if counts["failed"] and not args.traceback:
        print("(--traceback shows each failure's type, failing call and traceback)", file=out)
    if args.json:
        report = {
            "driver": driver.name,
            "parameters": sorted(parameters),  # names only: values may be secrets
            "long": args.long,
            "async": args.asynchronous,
            "seconds": round(elapsed, 3),
            **counts,
            "results": [
                {
                    "name": r.name,
                    "outcome": r.outcome,
                    "seconds": round(r.seconds, 3),
                    "message": r.message,
                    "error_type": r.error_type,
                    "call": r.call,
                    "traceback": r.traceback,
                }
                for r in results
            ],
        }
        text = json.dumps(report, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            with open(args.json, "w", encoding="utf-8") as stream:
                stream.write(text)
    return 1 if counts["failed"] or counts["xpassed"] else 0  # a fixed limit must leave --xfail


def _print_failures(results: list[Result], out: TextIO) -> None:
    for r in results:
        if r.outcome not in ("failed", "xfailed"):
            continue
        print(f"\n== {r.name}: {r.outcome}, {r.error_type}", file=out)
        print(f"   call: {r.call}", file=out)
        print(r.traceback.rstrip("\n"), file=out)


def _health(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    from .registry_open import require_root

    try:
        if args.config:
            config = load_config(args.config)
            require_root(config.driver, config.parameters)
        else:
            require_root(args.driver, parameters)
        driver = _driver(args, parameters)
        driver.stat("/")
    except PathNotFoundError:
        pass  # an empty store is healthy
    except Exception as exc:  # any other failure is the one-line reason
        print(f"unhealthy: {exc}".splitlines()[0])
        return 1
    print(f"healthy: {driver.name}")
    return 0


def _print_table(results: list[Result], out: TextIO) -> None:
    width = max((len(r.name) for r in results), default=4)
    columns = shutil.get_terminal_size((120, 24)).columns
    print(f"{'test':<{width}}  {'result':<7}  {'seconds':>7}  message", file=out)
    print(f"{'-' * width}  {'-' * 7}  {'-' * 7}  {'-' * 7}", file=out)
    room = max(columns - width - 22, 20)
    for r in results:
        message = r.message.replace("\n", " ")
        if len(message) > room:
            message = message[: room - 3] + "..."
        print(f"{r.name:<{width}}  {r.outcome:<7}  {r.seconds:7.2f}  {message}", file=out)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
