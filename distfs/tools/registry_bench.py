"""The registry toolkit's figures in ``distfs bench`` (on ``s3``; measured by hand, not in CI).

* ``Registry gc --dry-run``: ``distfs registry gc --dry-run`` against Go's ``registry
  garbage-collect --dry-run`` on the same store, in the same run (a store of
  :attr:`~.bench.Plan.registry_blobs` blobs and one repository, half of them garbage);
  both must choose the same blobs; target: at least 20x faster.
* ``Registry migrate``: ``migrate`` of :attr:`~.bench.Plan.migrate_blobs` 1 MiB blobs from a
  filesystem store to the driver, against a raw fsspec ``put`` of the same files; target:
  at least 0.8x the raw throughput.

The Go comparison runs when the Go registry is installed (``docker-registry``); without
it the check is left out, except in CI (``CI=true``), where that is an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from .. import factory
from ..errors import PathNotFoundError
from ..registry import gc, migrate
from ..registry.layout import blob_data_path
from .bench import Bench, Check, Plan, Row, Side, _bulk_put, compare, raw_side
from .registry_store import fill, put_blob
from .servers import go_registry_binary, go_registry_config, go_registry_environment

#: gc's grace for an offline collection (no push in flight to protect): keep nothing for its age.
OFFLINE = timedelta(0)

__all__ = ["registry_steps"]

MiB = 1 << 20
WORKERS = 32
"""Requests in flight for the registry operations measured."""


def registry_steps(bench: Bench) -> list[tuple[str, Callable[[], None]]]:
    """The registry workloads of ``bench``'s driver (only ``s3`` has them)."""
    if bench.name != "s3":
        return []
    return [("Registry gc --dry-run", lambda: gc_against_go(bench)), ("Registry migrate", lambda: migrate_speed(bench))]


def _store(bench: Bench, name: str) -> tuple[dict[str, Any], Any]:
    parameters = {**bench.parameters, "rootdirectory": f"{bench.base.strip('/')}/{name}"}
    return parameters, factory.create(bench.name, parameters)


def gc_against_go(bench: Bench) -> None:
    try:
        binary = go_registry_binary()
    except RuntimeError:
        if os.environ.get("CI") == "true":
            raise
        return
    count = bench.plan.registry_blobs
    parameters, driver = _store(bench, "gc")
    raw = raw_side(driver, parameters)
    fill(driver, count, size=1024, bulk=lambda items: _bulk_put(raw, {raw.key(p): c for p, c in items.items()}))
    # Object stores list whole seconds, and gc counts a link written in the second its mark
    # began as written after it (kept, the safe side): let that second pass, as on a store at rest.
    time.sleep(1.0 - time.time() % 1.0 + 1.0)
    began = time.perf_counter()
    report = gc(driver, dry_run=True, workers=32, grace=OFFLINE)
    ours = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="distfs-bench-") as workdir:
        config = Path(workdir) / "config.yml"
        go_parameters = {k: v for k, v in parameters.items() if k != "chunksize"}
        config.write_text(go_registry_config({bench.name: go_parameters}, 0))
        began = time.perf_counter()
        done = subprocess.run(
            [binary, "garbage-collect", "--dry-run", str(config)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
            env=go_registry_environment(),
        )
        theirs = time.perf_counter() - began
    go_blobs = set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", done.stdout))
    if go_blobs != set(report.blobs):
        raise AssertionError(f"distfs would delete {len(report.blobs)} blobs, Go {len(go_blobs)}: not the same set")
    note = f"Go {theirs:.1f} s, distfs {ours:.1f} s; both would delete the same {len(go_blobs)} blobs"
    bench.report.checks.append(
        Check(
            f"Registry gc --dry-run, {count} blobs: speed-up over Go",
            bench.name,
            theirs / ours,
            "x",
            20.0,
            at_most=False,
            note=note,
        )
    )
    driver.delete("/docker")


def migrate_speed(bench: Bench) -> None:
    count, size = bench.plan.migrate_blobs, bench.plan.migrate_blob_size
    with tempfile.TemporaryDirectory(prefix="distfs-bench-") as workdir:
        source = factory.create("filesystem", {"rootdirectory": workdir})
        files = []
        for _ in range(count):
            digest = put_blob(source, os.urandom(size))
            files.append(workdir + blob_data_path(digest))
        drivers: list[Any] = []

        def ours(i: int) -> None:
            report = migrate(source, drivers[i], workers=WORKERS)
            if report.errors or report.copied != count:
                raise AssertionError(f"migrate copied {report.copied} of {count}: {report.errors[:1]}")

        def raw(i: int) -> None:
            side = raw_side(drivers[i], {**bench.parameters, "rootdirectory": f"{bench.base.strip('/')}/migrate{i}"})
            keys = [side.key(path[len(workdir) :]) for path in files]
            bench.fs.put(files, keys)

        def prepare(i: int) -> None:
            drivers.extend(_store(bench, f"migrate{len(drivers)}")[1] for _ in range(i + 1 - len(drivers)))

        plan = Plan(**{**bench.plan.__dict__, "sample_seconds": 0.0})
        ours_s, raw_s = compare(Side(ours, prepare), Side(raw, prepare), plan)
        total = count * size / MiB
        bench.report.rows.append(
            Row(
                f"Registry migrate {count} x {size // 1024} KiB",
                bench.name,
                "MiB/s",
                total / ours_s,
                total / raw_s,
                0.80,
                "raw: fsspec put of the same files; distfs: walks, copies, verifies digests",
            )
        )
        for driver in drivers:
            with contextlib.suppress(PathNotFoundError):
                driver.delete("/docker")
