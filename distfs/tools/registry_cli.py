"""``distfs registry``: ls, du, fsck, gc and migrate over a registry's storage.

Each command takes the store as the other commands do: ``DRIVER -p key=value ...`` or
``--config FILE`` (a registry ``config.yml``). ``migrate SOURCE DEST`` takes two stores:
each of SOURCE and DEST is a driver name or the path of a config.yml, ``-p key=value``
gives parameters of SOURCE and ``-q key=value`` of DEST. Every command prints a table (or
``--json``), draws a progress bar on a terminal (stderr) and ends with a summary line.
Exit codes: 0 fine; 1 problems found (fsck) or some deletions/copies failed; 2 a bad
argument, the store could not be opened (one line naming it: :mod:`.registry_open`) or the
operation refused to run.

Stores are opened without being created, and a destructive command (``gc`` without
``--dry-run``, the DEST of ``migrate``) needs its store named: a ``--config`` file or the
driver's location parameter (``-p rootdirectory=...``), never the default
``/var/lib/registry``. ``gc`` keeps what is younger than ``--grace`` (default one hour),
the protection of pushes in flight, and refuses to run online with a grace shorter than
the registry's upload timeout unless ``--force``.

The stores named on the command line are opened by :mod:`.registry_open`, gc's online
checks are :mod:`.registry_online`'s and what is printed :mod:`.registry_output`'s.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from ..driver import StorageDriver
from ..errors import ConfigError, StorageDriverError
from ..registry.cluster import ClusterUnavailableError
from ..registry.events import JsonLines
from ..registry.events import logger as event_logger
from ..registry.gc import DEFAULT_GRACE as GC_DEFAULT_GRACE
from ..registry.gc import GcError, GcInterrupted, gc
from .progress import Meter
from .registry_online import gc_refusal
from .registry_open import StoreUnavailable, open_store, require_named, resolve, spec_for, store_spec
from .registry_output import emit, gc_summary, human_size, item_line, table

__all__ = ["add_parser"]

#: Default ``--grace`` in seconds: the library's default (one hour, the protection of pushes in flight).
DEFAULT_GRACE = GC_DEFAULT_GRACE.total_seconds()
#: Largest accepted ``--grace`` and ``--upload-age`` (ten years) and ``-j``.
MAX_SECONDS = 10 * 365 * 24 * 3600.0
MAX_WORKERS = 1024


def add_parser(commands: Any) -> None:
    """Add the ``registry`` command (and its subcommands) to the ``distfs`` command's subparsers."""
    registry = commands.add_parser(
        "registry",
        help="inspect, check, collect and migrate a registry's storage",
        description="Registry storage toolkit: ls, du, fsck, gc and migrate over any distfs driver.",
    )
    sub = registry.add_subparsers(required=True, metavar="SUBCOMMAND")

    def store_command(name: str, help_: str, run: Callable[[argparse.Namespace, dict[str, str]], int]) -> Any:
        parser = sub.add_parser(name, help=help_, description=help_)
        parser.add_argument("driver", nargs="?", help="driver name (default: filesystem)")
        parser.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--config", metavar="FILE", help="use the storage of a registry config.yml")
        _common(parser)
        parser.set_defaults(command=run)
        return parser

    listing = store_command("ls", "list repositories, and tags with their manifest digests", _ls)
    listing.add_argument("--repository", "-r", metavar="NAME", help="only this repository")
    store_command("du", "bytes per repository: shared, unique and unused blob bytes", _du)
    check = store_command("fsck", "find broken links, manifests and blobs; exit 1 on a problem", _fsck)
    check.add_argument("--verify-digests", action="store_true", help="hash every blob (streamed)")
    check.add_argument("--dask", metavar="ADDRESS", help="read and hash on the workers of a dask.distributed scheduler")
    check.add_argument(
        "--upload-age", type=_hours, default=7 * 24, metavar="HOURS", help="report uploads older (default: 168)"
    )
    collect = store_command("gc", "mark and sweep unreferenced blobs (safe while the registry runs)", _gc)
    collect.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    collect.add_argument("--delete-untagged", action="store_true", help="also delete manifests no tag reaches")
    collect.add_argument("--upload-age", type=_hours, metavar="HOURS", help="also delete uploads older than this")
    collect.add_argument(
        "--grace",
        type=_seconds,
        default=DEFAULT_GRACE,
        metavar="SECONDS",
        help="keep what changed this long before the mark: the layers of pushes in flight (default: 3600; "
        "at least the registry's upload timeout, or --force)",
    )
    collect.add_argument(
        "--force", action="store_true", help="run online with a grace shorter than the registry's upload timeout"
    )
    collect.add_argument("--log-json", action="store_true", help="log each deletion as a line of JSON on stderr")
    collect.add_argument(
        "--dask", metavar="ADDRESS", help="list, read and delete on the workers of a dask.distributed scheduler"
    )
    move = sub.add_parser(
        "migrate",
        help="copy a registry's storage to another driver, verified and resumable",
        description=(
            "Copy every committed object from SOURCE to DEST. SOURCE and DEST are each a driver name or the "
            "path of a registry config.yml; -p gives SOURCE's parameters, -q DEST's."
        ),
    )
    move.add_argument("source", metavar="SOURCE", help="driver name or config.yml of the store to read")
    move.add_argument("dest", metavar="DEST", help="driver name or config.yml of the store to write")
    move.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE", help="SOURCE parameter")
    move.add_argument("-q", "--dest-parameter", action="append", default=[], metavar="KEY=VALUE", help="DEST parameter")
    move.add_argument("--dry-run", action="store_true", help="report what would be copied, copy nothing")
    move.add_argument("--dask", metavar="ADDRESS", help="run the copies on a dask.distributed scheduler")
    move.add_argument("--overwrite", action="store_true", help="replace tags that name another manifest in DEST")
    move.add_argument("--log-json", action="store_true", help="log each copy as a line of JSON on stderr")
    _common(move)
    move.set_defaults(command=_migrate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-j", "--concurrency", type=_workers, default=16, metavar="N", help="requests in flight (16)")


def _number(text: str, what: str, largest: float) -> float:
    """``text`` as a finite number from 0 to ``largest``; ``ArgumentTypeError`` (exit 2) otherwise."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= largest:
        raise argparse.ArgumentTypeError(f"must be a number of {what} from 0 to {largest:.0f}, not {text[:40]!r}")
    return value


def _seconds(text: str) -> float:
    """Seconds, or a Go duration (``1h30m``)."""
    from ..cloudfront import parse_duration  # the cloudfront middleware's module: imported when needed

    with contextlib.suppress(ValueError):
        text = str(parse_duration(text))
    return _number(text, "seconds (or a duration such as 1h)", MAX_SECONDS)


def _hours(text: str) -> float:
    return _number(text, "hours", MAX_SECONDS / 3600)


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_WORKERS}, not {text[:40]!r}")
    return value


def _run(args: argparse.Namespace, parameters: dict[str, str], work: Callable[[StorageDriver, Meter], Any]) -> Any:
    """Open the store (never creating it) and run ``work`` with a progress bar; None after a
    one-line message when the store cannot be opened or fails under ``work``."""
    command = f"distfs registry {args.command.__name__.strip('_')}"
    try:
        spec = store_spec(args, parameters)
        driver = open_store(spec, announce=sys.stderr)
    except (StoreUnavailable, ConfigError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return None
    meter = Meter(sys.stderr)
    try:
        return work(driver, meter)
    except StorageDriverError as exc:
        meter.finish()
        print(f"{command}: {resolve(spec).label}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return None
    finally:
        meter.finish()


def _ls(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    from ..registry import ls  # each command imports its own module (a short command's start-up)

    result = _run(args, parameters, lambda d, m: ls(d, args.repository, workers=args.concurrency, progress=m))
    if result is None:
        return 2
    rows = [("REPOSITORY", "TAG", "DIGEST")]
    for repo in result:
        rows.extend((repo.name, tag, digest) for tag, digest in repo.tags.items())
        if not repo.tags:
            rows.append((repo.name, "-", "-"))
    tags = sum(len(repo.tags) for repo in result)
    document = {"repositories": [{"name": r.name, "tags": r.tags} for r in result]}
    emit(args, lambda: document, table(rows), f"ls: {len(result)} repositories, {tags} tags")
    return 0


def _du(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    from ..registry import du

    usage = _run(args, parameters, lambda d, m: du(d, workers=args.concurrency, progress=m))
    if usage is None:
        return 2
    rows = [("REPOSITORY", "BLOBS", "BYTES", "UNIQUE", "SHARED")]
    rows.extend(
        (r.name, str(r.blobs), human_size(r.bytes), human_size(r.unique_bytes), human_size(r.shared_bytes))
        for r in usage.repositories
    )
    summary = (
        f"du: {usage.blobs} blobs, {human_size(usage.blob_bytes)} stored, {human_size(usage.shared_bytes)} shared, "
        f"{human_size(usage.unused_bytes)} unused, {human_size(usage.upload_bytes)} in uploads"
    )
    emit(args, lambda: asdict(usage), table(rows), summary)
    return 0


Command = Callable[[argparse.Namespace, dict[str, str]], int]


def _cluster_checked(command: Command) -> Command:
    """``command``, with an unreachable dask scheduler (``--dask``) as one line on stderr and exit 2."""

    @functools.wraps(command)
    def checked(args: argparse.Namespace, parameters: dict[str, str]) -> int:
        try:
            return command(args, parameters)
        except ClusterUnavailableError as exc:
            print(f"distfs registry {command.__name__.strip('_')}: {exc}", file=sys.stderr)
            return 2

    return checked


@_cluster_checked
def _fsck(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    from ..registry import fsck

    report = _run(
        args,
        parameters,
        lambda d, m: fsck(
            store_spec(args, parameters) if args.dask else d,
            verify_digests=args.verify_digests,
            upload_age=timedelta(hours=args.upload_age),
            workers=args.concurrency,
            progress=m,
            dask=args.dask,
        ),
    )
    if report is None:
        return 2
    rows = [("KIND", "PATH", "DETAIL")] + [(p.kind, p.path, p.detail) for p in report.problems]
    verified = f", {human_size(report.verified_bytes)} verified" if args.verify_digests else ""
    summary = (
        f"fsck: {report.repositories} repositories, {report.manifests} manifests, {report.blobs} blobs{verified}: "
        f"{len(report.problems)} problems"
    )
    emit(args, lambda: {**asdict(report), "ok": report.ok}, table(rows) if report.problems else [], summary)
    return 0 if report.ok else 1


@contextlib.contextmanager
def _events(args: argparse.Namespace) -> Iterator[None]:
    """With ``--log-json``: each event of :mod:`distfs.registry.events` as a JSON line on stderr."""
    if not args.log_json:
        yield
        return
    handler = JsonLines(sys.stderr)
    level = event_logger.level
    event_logger.addHandler(handler)
    event_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        event_logger.removeHandler(handler)
        event_logger.setLevel(level)


@contextlib.contextmanager
def _cycles_not_collected() -> Iterator[None]:
    """Python's cycle collector paused (a collection at the end): gc's infos of every blob
    hold no cycles, and scanning them again and again was 4 % of a dry run's CPU at 8,000
    blobs (56 collections)."""
    import gc as collector

    was = collector.isenabled()
    collector.disable()
    try:
        yield
    finally:
        if was:
            collector.enable()


@_cluster_checked
def _gc(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    refusal = gc_refusal(args, parameters)
    if refusal:
        print(f"distfs registry gc: {refusal}", file=sys.stderr)
        return 2

    def work(driver: StorageDriver, meter: Meter) -> Any:
        return gc(
            store_spec(args, parameters) if args.dask else driver,
            dry_run=args.dry_run,
            delete_untagged=args.delete_untagged,
            upload_age=None if args.upload_age is None else timedelta(hours=args.upload_age),
            grace=timedelta(seconds=args.grace),
            workers=args.concurrency,
            progress=meter,
            dask=args.dask,
        )

    try:
        with _events(args), _cycles_not_collected():
            report = _run(args, parameters, work)
    except GcError as exc:
        print(f"distfs registry gc: {exc}", file=sys.stderr)
        return 2
    except GcInterrupted as interrupted:
        print(gc_summary(args, interrupted.report), file=sys.stderr)
        return 130
    if report is None:
        return 2
    now = datetime.now(UTC)
    lines = [item_line(item, now) for item in report.items]
    lines += [f"error {error}" for error in report.errors]
    emit(args, lambda: asdict(report), lines, gc_summary(args, report))
    return 1 if report.errors else 0


@_cluster_checked
def _migrate(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    from ..registry import migrate

    try:
        source = spec_for(args.source, args.parameter)
        dest = spec_for(args.dest, args.dest_parameter)
        require_named(dest, "migrate writes DEST")
        source_driver = open_store(source, announce=sys.stderr)
        dest_driver = open_store(dest, existing=False, create=not args.dry_run, announce=sys.stderr)
    except (StoreUnavailable, ValueError) as exc:
        print(f"distfs registry migrate: {exc}", file=sys.stderr)
        return 2
    meter = Meter(sys.stderr)
    try:
        with _events(args):
            spread = args.dask if not args.dry_run else None  # a dry run copies nothing: no cluster
            report = migrate(
                source if spread else source_driver,
                dest if spread else dest_driver,
                dry_run=args.dry_run,
                workers=args.concurrency,
                progress=meter,
                dask=spread,
                overwrite=args.overwrite,
            )
    finally:
        meter.finish()
    verb = "would copy" if args.dry_run else "copied"
    rate = "" if args.dry_run else f" in {report.seconds:.1f}s ({human_size(report.bytes_per_second)}/s)"
    summary = (
        f"migrate: {verb} {report.copied} objects ({human_size(report.copied_bytes)}){rate}; "
        f"{report.skipped} already in place ({human_size(report.skipped_bytes)}); {len(report.errors)} errors"
    )
    document = {**asdict(report), "bytes_per_second": report.bytes_per_second}
    emit(args, lambda: document, [f"error {error}" for error in report.errors], summary)
    return 1 if report.errors else 0
