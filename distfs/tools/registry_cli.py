"""``distfs registry``: ls, du, fsck, gc and migrate over a registry's storage.

Each command takes the store as the other commands do: ``DRIVER -p key=value ...`` or
``--config FILE`` (a registry ``config.yml``). ``migrate SOURCE DEST`` takes two stores:
each of SOURCE and DEST is a driver name or the path of a config.yml, ``-p key=value``
gives parameters of SOURCE and ``-q key=value`` of DEST. Every command prints a table (or
``--json``), draws a progress bar on a terminal (stderr) and ends with a summary line.
Exit codes: 0 fine; 1 problems found (fsck) or some deletions/copies failed; 2 the store
could not be opened or the operation refused to run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from ..driver import StorageDriver
from ..errors import ConfigError, InvalidParameterError, InvalidStorageDriverError, StorageDriverError
from ..registry import DriverSpec, du, fsck, gc, ls, migrate
from ..registry.events import JsonLines
from ..registry.events import logger as event_logger
from ..registry.gc import GcError, GcInterrupted, GcItem, GcReport
from .progress import Meter

__all__ = ["add_parser"]

SETUP_ERRORS = (InvalidStorageDriverError, InvalidParameterError, StorageDriverError, ConfigError, OSError)


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
        parser.add_argument("driver", nargs="?", default="filesystem", help="driver name (default: filesystem)")
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
    check.add_argument(
        "--upload-age", type=float, default=7 * 24, metavar="HOURS", help="report uploads older (default: 168)"
    )
    collect = store_command("gc", "mark and sweep unreferenced blobs (safe while the registry runs)", _gc)
    collect.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    collect.add_argument("--delete-untagged", action="store_true", help="also delete manifests no tag reaches")
    collect.add_argument("--upload-age", type=float, metavar="HOURS", help="also delete uploads older than this")
    collect.add_argument(
        "--grace", type=float, default=0.0, metavar="SECONDS", help="keep blobs this much older than the mark too"
    )
    collect.add_argument("--log-json", action="store_true", help="log each deletion as a line of JSON on stderr")
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
    parser.add_argument("-j", "--concurrency", type=int, default=16, metavar="N", help="requests in flight (16)")


def _spec(name: str, items: list[str], config: str | None = None) -> DriverSpec:
    from .cli import _parameters

    if config is not None or (os.path.isfile(name) and name.endswith((".yml", ".yaml"))):
        if items:
            raise ConfigError("", "give either a config file or -p parameters, not both")
        return DriverSpec(config=config or name)
    return DriverSpec(name, _parameters(items))


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError  # pragma: no cover


def _run(args: argparse.Namespace, parameters: dict[str, str], work: Callable[[StorageDriver, Meter], Any]) -> Any:
    """Open the store and run ``work`` with a progress bar; None (after a message) on a setup error."""
    from .cli import _driver

    try:
        driver = _driver(args, parameters)
    except SETUP_ERRORS as exc:
        print(f"distfs registry: {exc}", file=sys.stderr)
        return None
    meter = Meter(sys.stderr)
    try:
        return work(driver, meter)
    finally:
        meter.finish()


def _emit(args: argparse.Namespace, document: object, lines: list[str], summary: str) -> None:
    if args.json:
        print(json.dumps(document, indent=2, default=str))
        print(summary, file=sys.stderr)
        return
    for line in lines:
        print(line)
    print(summary)


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _ls(args: argparse.Namespace, parameters: dict[str, str]) -> int:
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
    _emit(args, document, _table(rows), f"ls: {len(result)} repositories, {tags} tags")
    return 0


def _du(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    usage = _run(args, parameters, lambda d, m: du(d, workers=args.concurrency, progress=m))
    if usage is None:
        return 2
    rows = [("REPOSITORY", "BLOBS", "BYTES", "UNIQUE", "SHARED")]
    rows.extend(
        (r.name, str(r.blobs), _size(r.bytes), _size(r.unique_bytes), _size(r.shared_bytes)) for r in usage.repositories
    )
    summary = (
        f"du: {usage.blobs} blobs, {_size(usage.blob_bytes)} stored, {_size(usage.shared_bytes)} shared, "
        f"{_size(usage.unused_bytes)} unused, {_size(usage.upload_bytes)} in uploads"
    )
    _emit(args, asdict(usage), _table(rows), summary)
    return 0


def _fsck(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    report = _run(
        args,
        parameters,
        lambda d, m: fsck(
            d,
            verify_digests=args.verify_digests,
            upload_age=timedelta(hours=args.upload_age),
            workers=args.concurrency,
            progress=m,
        ),
    )
    if report is None:
        return 2
    rows = [("KIND", "PATH", "DETAIL")] + [(p.kind, p.path, p.detail) for p in report.problems]
    verified = f", {_size(report.verified_bytes)} verified" if args.verify_digests else ""
    summary = (
        f"fsck: {report.repositories} repositories, {report.manifests} manifests, {report.blobs} blobs{verified}: "
        f"{len(report.problems)} problems"
    )
    _emit(args, {**asdict(report), "ok": report.ok}, _table(rows) if report.problems else [], summary)
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


def _age(since: datetime) -> str:
    seconds = max((datetime.now(UTC) - since).total_seconds(), 0.0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _item_line(item: GcItem) -> str:
    return f"{item.kind} {item.digest or item.path}  {_size(item.size)}  {_age(item.mod_time)} old  {item.reason}"


def _gc_summary(args: argparse.Namespace, report: GcReport) -> str:
    if report.interrupted:
        return (
            f"gc interrupted: deleted {len(report.deleted)} of {len(report.items)} planned items "
            f"({_size(report.deleted_bytes)}); {len(report.errors)} errors"
        )
    verb = "would delete" if args.dry_run else "deleted"
    return (
        f"gc{' (dry run)' if args.dry_run else ''}: {report.marked} blobs marked; {verb} {len(report.blobs)} blobs "
        f"({_size(report.blob_bytes)}), {len(report.manifests)} manifests, "
        f"{len(report.uploads)} uploads; kept {len(report.young)} young and {len(report.changed)} changed blobs; "
        f"{len(report.errors)} errors"
    )


def _gc(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    def work(driver: StorageDriver, meter: Meter) -> Any:
        return gc(
            driver,
            dry_run=args.dry_run,
            delete_untagged=args.delete_untagged,
            upload_age=None if args.upload_age is None else timedelta(hours=args.upload_age),
            grace=timedelta(seconds=args.grace),
            workers=args.concurrency,
            progress=meter,
        )

    try:
        with _events(args):
            report = _run(args, parameters, work)
    except GcError as exc:
        print(f"distfs registry gc: {exc}", file=sys.stderr)
        return 2
    except GcInterrupted as interrupted:
        print(_gc_summary(args, interrupted.report), file=sys.stderr)
        return 130
    if report is None:
        return 2
    lines = [_item_line(item) for item in report.items]
    lines += [f"error {error}" for error in report.errors]
    _emit(args, asdict(report), lines, _gc_summary(args, report))
    return 1 if report.errors else 0


def _migrate(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    try:
        source = _spec(args.source, args.parameter)
        dest = _spec(args.dest, args.dest_parameter)
        source_driver, dest_driver = source.open(), dest.open()
    except (*SETUP_ERRORS, ValueError) as exc:
        print(f"distfs registry migrate: {exc}", file=sys.stderr)
        return 2
    meter = Meter(sys.stderr)
    try:
        with _events(args):
            report = migrate(
                source if args.dask else source_driver,
                dest if args.dask else dest_driver,
                dry_run=args.dry_run,
                workers=args.concurrency,
                progress=meter,
                dask=args.dask,
                overwrite=args.overwrite,
            )
    finally:
        meter.finish()
    verb = "would copy" if args.dry_run else "copied"
    rate = "" if args.dry_run else f" in {report.seconds:.1f}s ({_size(report.bytes_per_second)}/s)"
    summary = (
        f"migrate: {verb} {report.copied} objects ({_size(report.copied_bytes)}){rate}; "
        f"{report.skipped} already in place ({_size(report.skipped_bytes)}); {len(report.errors)} errors"
    )
    document = {**asdict(report), "bytes_per_second": report.bytes_per_second}
    _emit(args, document, [f"error {error}" for error in report.errors], summary)
    return 1 if report.errors else 0
