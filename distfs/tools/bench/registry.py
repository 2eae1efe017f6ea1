"""The registry toolkit's figures in ``distfs bench`` (on ``s3``; measured by hand, not in CI).

* ``Registry gc --dry-run``: ``distfs registry gc --dry-run`` against Go's ``registry
  garbage-collect --dry-run`` on the same store, in the same run (a store of
  :attr:`~.plan.Plan.registry_blobs` blobs and one repository, half of them garbage);
  both must choose the same blobs; target: at least 50x faster (:func:`.gc_go.gc_versus_go`, once).
* ``Registry migrate``: ``migrate`` of :attr:`~.plan.Plan.migrate_blobs` 1 MiB blobs from a
  filesystem store to the driver, against a raw fsspec ``put`` of the same files; target:
  at least 0.8x the raw throughput.

``distfs bench --registry-go N`` (:func:`.gc_go.gc_versus_go`) is that comparison alone, on two
stores of ``N`` blobs (half garbage, and all unreferenced: targets 50x and 20x), median of
3 runs of each side, distfs timed as a whole process.

The Go comparison runs when the Go registry is installed (``docker-registry``); without
it the check is left out, except in CI (``CI=true``), where that is an error.

``distfs bench --registry-scale N,N...`` (:func:`gc_scale`) is the scale figure instead:
for each ``N`` a store of ``N`` blobs as above is filled through raw fsspec, then ``gc
--dry-run`` runs in a fresh child process, which reports its seconds, its S3 requests
its CPU time and its own peak RSS (``VmHWM``); targets: time and CPU time at most ``N /
N0 x 1.2`` times the first ``N0``'s (linear), peak RSS at most :data:`SCALE_RSS` MiB.
(moto lists a prefix by scanning and sorting every key of the bucket, so on moto the
time grows faster than the store; the CPU time is distfs's own.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from ... import factory
from ...driver import StorageDriver
from ...errors import PathNotFoundError
from ...registry import gc, migrate
from ...registry.layout import blob_data_path
from ..registry_store import fill, put_blob
from .measure import status
from .plan import Check, Plan, Row
from .raw import bulk_put, raw_side, s3_events
from .timing import Side, compare
from .workloads import Workloads

#: gc's grace for an offline collection (no push in flight to protect): keep nothing for its age.
OFFLINE = timedelta(0)

__all__ = ["OFFLINE", "SCALE_RSS", "digest_of", "fill_fast", "gc_scale", "migrate_speed", "run_gc_child"]

MiB = 1 << 20
WORKERS = 32
"""Requests in flight for the registry operations measured."""
SCALE_RSS = 500.0
"""The bound of ``gc --dry-run``'s peak RSS at every size of :func:`gc_scale`, in MiB."""
SCALE_SLACK = 1.2
"""How much worse than linear :func:`gc_scale`'s time may grow (12x for 10x the blobs)."""


def _store(bench: Workloads, name: str) -> tuple[dict[str, Any], Any]:
    parameters = {**bench.parameters, "rootdirectory": f"{bench.base.strip('/')}/{name}"}
    return parameters, factory.create(bench.name, parameters)


def fill_fast(driver: StorageDriver, parameters: dict[str, Any], count: int) -> int:
    """:func:`.registry_store.fill` ``driver``'s store with ``count`` 1 KiB blobs through raw
    fsspec (``parameters``: the driver's); the number of garbage layers."""
    raw = raw_side(driver, parameters)
    garbage = fill(
        driver, count, size=1024, bulk=lambda items: bulk_put(raw, {raw.key(p): c for p, c in items.items()})
    )[1]
    # Object stores list whole seconds, and gc counts a link written in the second its mark
    # began as written after it (kept, the safe side): let that second pass, as on a store at rest.
    time.sleep(1.0 - time.time() % 1.0 + 1.0)
    return garbage


def migrate_speed(bench: Workloads) -> None:
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


# -- gc --dry-run at scale ---------------------------------------------------------------


def gc_scale(
    parameters: dict[str, Any], counts: Sequence[int], *, repeats: int = 3, log: Callable[[str], None] = print
) -> list[Check]:
    """``gc --dry-run`` on s3 stores of each of ``counts`` blobs (half garbage, one repository).

    Each store is filled through raw fsspec under its own root below ``parameters``'s, then
    collected ``repeats`` times, each in a fresh child process (:func:`_gc_child`): the
    median time and the largest peak RSS count. Returns the checks: the peak RSS of each
    size (at most :data:`SCALE_RSS` MiB; the note has the seconds and requests) and the
    time and CPU time of each size after the first over the first's (at most
    :data:`SCALE_SLACK` times linear).
    """
    checks: list[Check] = []
    base = str(parameters.get("rootdirectory", "")).strip("/")
    first: tuple[int, float, float] | None = None
    for count in counts:
        store = {**parameters, "rootdirectory": f"{base}/scale{count}".lstrip("/")}
        driver = factory.create("s3", store)
        began = time.perf_counter()
        dead = fill_fast(driver, store, count)
        log(f"filled {count} blobs ({dead} garbage) in {time.perf_counter() - began:.1f} s")
        runs = [run_gc_child(store) for _ in range(repeats)]
        for answer in runs:  # the garbage layers, and the config and manifest of their image
            if answer["garbage"] != dead + 2:
                raise AssertionError(f"gc --dry-run of {count} blobs found {answer['garbage']} garbage, not {dead + 2}")
        seconds = statistics.median(float(answer["seconds"]) for answer in runs)
        cpu = statistics.median(float(answer["cpu"]) for answer in runs)
        peak = max(float(answer["peak"]) for answer in runs) / MiB
        requests = runs[-1]["requests"]
        baseline = max(float(answer["baseline"]) for answer in runs) / MiB
        note = (
            f"{seconds:.2f} s (CPU {cpu:.2f} s), median of {repeats}; {baseline:.0f} MiB before gc; "
            f"{sum(requests.values())} requests: " + ", ".join(f"{name} {n}" for name, n in sorted(requests.items()))
        )
        log(f"gc --dry-run of {count} blobs: peak RSS {peak:.0f} MiB; {note}")
        if first is None:
            first = (count, seconds, cpu)
        else:
            bound = count / first[0] * SCALE_SLACK
            for what, value, then in (("time", seconds, first[1]), ("CPU time", cpu, first[2])):
                checks.append(
                    Check(
                        f"Registry gc --dry-run, {count} blobs: {what} / {first[0]}-blob {what}",
                        "s3",
                        value / then,
                        "x",
                        bound,
                        note=f"{value:.2f} s / {then:.2f} s; linear x {SCALE_SLACK}",
                    )
                )
        checks.append(Check(f"Registry gc --dry-run, {count} blobs: peak RSS", "s3", peak, "MiB", SCALE_RSS, note=note))
    return checks


def run_gc_child(parameters: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`_gc_child` on the store of ``parameters`` (through stdin, never argv)."""
    done = subprocess.run(
        [sys.executable, "-c", "from distfs.tools.bench.registry import _gc_child; _gc_child()"],
        input=json.dumps(parameters).encode(),
        capture_output=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"gc --dry-run child failed: {tail[0]}")
    answer: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return answer


def _gc_child() -> None:
    """The child of :func:`gc_scale`: s3 parameters on stdin; seconds, requests, peak RSS on stdout.

    With ``DISTFS_PROFILE=FILE`` set, the collection runs under cProfile, its stats in FILE.
    """
    driver = factory.create("s3", json.loads(sys.stdin.read()))
    requests: Counter[str] = Counter()

    def count(model: Any = None, **_: Any) -> None:
        requests[getattr(model, "name", "?")] += 1

    events = s3_events(driver)
    if events is not None:
        events.register("before-call.s3", count)
    profile = os.environ.get("DISTFS_PROFILE")
    baseline = status("VmRSS")
    began = time.perf_counter()
    if profile:
        import cProfile

        with cProfile.Profile() as profiler:
            report = gc(driver, dry_run=True, workers=WORKERS, grace=OFFLINE)
        profiler.dump_stats(profile)
    else:
        report = gc(driver, dry_run=True, workers=WORKERS, grace=OFFLINE)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime  # the whole child's, its imports included
    peak = status("VmHWM")  # not ru_maxrss: Linux carries the parent's peak over into it (fork, exec)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "baseline": baseline,
                "peak": peak,
                "garbage": len(report.blobs),
                "blobs": digest_of(report.blobs),
                "requests": dict(requests),
            }
        )
    )


def digest_of(blobs: Iterable[str]) -> str:
    """One digest naming a set of blob digests (what :func:`_gc_child` reports of its set)."""
    return hashlib.sha256("\n".join(sorted(blobs)).encode()).hexdigest()
