"""``distfs registry gc --dry-run`` against the Go registry's ``garbage-collect --dry-run``.

Both collect the same s3 (moto) store, one after the other, and must choose the same blobs
in every run. Two stores (:data:`STORES`): the bench's (one repository, half of the layers
garbage; target :data:`GO_TARGETS` 50x) and ``N`` blobs that nothing references (20x).
``distfs bench --registry-go N`` runs both, median of 3 (:func:`gc_versus_go`); the bench's
s3 step runs the first once (:func:`gc_against_go`). The Go comparison needs the Go
registry (``docker-registry``); without it the step is left out, except in CI
(``CI=true``), where that is an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ... import factory
from ...driver import StorageDriver
from ...errors import PathNotFoundError
from ..registry_store import Recorder, put_blob, put_image
from ..servers import go_registry_binary, go_registry_config, go_registry_environment
from .plan import Check
from .raw import bulk_put, raw_side
from .registry import digest_of, fill_fast, run_gc_child
from .workloads import Workloads

__all__ = ["GO_TARGETS", "STORES", "gc_against_go", "gc_versus_go"]

STORES = ("half", "unreferenced")
"""The stores of :func:`gc_versus_go`: the bench's (one repository, half of the layers garbage)
and ``count`` blobs that nothing links or references (plus one tagged image of one layer)."""
GO_TARGETS = {"half": 50.0, "unreferenced": 20.0}
"""The speed-up over Go that :func:`gc_versus_go` expects on each store (issue 27)."""


def gc_against_go(bench: Workloads) -> None:
    """The bench step: :func:`gc_versus_go` on the half-garbage store, once."""
    try:
        go_registry_binary()
    except RuntimeError:
        if os.environ.get("CI") == "true":
            raise
        return
    parameters = {**bench.parameters, "rootdirectory": bench.base.strip("/")}
    bench.report.checks.extend(gc_versus_go(parameters, bench.plan.registry_blobs, stores=("half",), repeats=1))


def gc_versus_go(
    parameters: dict[str, Any],
    count: int,
    *,
    stores: Sequence[str] = STORES,
    repeats: int = 3,
    log: Callable[[str], None] = print,
) -> list[Check]:
    """``distfs registry gc --dry-run`` against Go's ``garbage-collect --dry-run`` on s3 stores
    of ``count`` blobs, one of each of ``stores`` (:data:`STORES`), one store at a time.

    Each store is filled through raw fsspec under its own root below ``parameters``'s, then
    collected ``repeats`` times by each side in turn (distfs, Go, distfs, Go...): distfs in a
    fresh child process (:func:`.registry.run_gc_child`), timed whole from here (interpreter
    and imports included, as Go's process is), and Go's process. Both must choose the same
    blobs in every run. Returns one check per store: Go's median time over distfs's median
    time, at least :data:`GO_TARGETS`; the note has both medians and every run.
    """
    binary = go_registry_binary()
    base = str(parameters.get("rootdirectory", "")).strip("/")
    checks: list[Check] = []
    for kind in stores:
        store = {**parameters, "rootdirectory": f"{base}/go-{kind}".lstrip("/")}
        driver = factory.create("s3", store)
        began = time.perf_counter()
        expected = _fill_for_go(driver, store, count, kind)
        log(f"{kind}: filled {count} blobs ({expected} garbage) in {time.perf_counter() - began:.1f} s")
        ours: list[float] = []
        theirs: list[float] = []
        inside: list[float] = []
        try:
            for run in range(repeats):
                began = time.perf_counter()
                answer = run_gc_child(store)
                ours.append(time.perf_counter() - began)
                inside.append(float(answer["seconds"]))
                go_seconds, go_blobs = _go_dry_run(binary, store)
                theirs.append(go_seconds)
                if answer["garbage"] != expected or answer["blobs"] != digest_of(go_blobs):
                    raise AssertionError(
                        f"{kind}: distfs would delete {answer['garbage']} blobs, Go {len(go_blobs)}, "
                        f"expected {expected}: not the same set"
                    )
                log(
                    f"{kind} run {run + 1}/{repeats}: distfs {ours[-1]:.2f} s (gc alone {inside[-1]:.2f} s), "
                    f"Go {go_seconds:.1f} s: {go_seconds / ours[-1]:.1f}x; load {os.getloadavg()[0]:.2f}"
                )
        finally:
            with contextlib.suppress(PathNotFoundError):
                driver.delete("/docker")
        mine, go = statistics.median(ours), statistics.median(theirs)
        note = (
            f"median of {repeats}: Go {go:.1f} s, distfs {mine:.2f} s (whole process; gc alone "
            f"{statistics.median(inside):.2f} s); both would delete the same {expected} blobs; runs: Go "
            + ", ".join(f"{t:.1f}" for t in theirs)
            + " s, distfs "
            + ", ".join(f"{t:.2f}" for t in ours)
            + " s"
        )
        name = "" if kind == "half" else f" ({kind})"
        checks.append(
            Check(
                f"Registry gc --dry-run, {count} blobs{name}: speed-up over Go",
                "s3",
                go / mine,
                "x",
                GO_TARGETS[kind],
                at_most=False,
                note=note,
            )
        )
    return checks


def _fill_for_go(driver: StorageDriver, parameters: dict[str, Any], count: int, kind: str) -> int:
    """Fill ``driver``'s store as :data:`STORES` ``kind`` says; the number of blobs gc should find."""
    if kind == "half":
        return fill_fast(driver, parameters, count) + 2  # and the config and manifest of their image
    recorder = Recorder()
    put_image(recorder, "bench/kept", "latest", [b"kept layer"], 1)
    for _ in range(count):
        put_blob(recorder, os.urandom(1024))
    raw = raw_side(driver, parameters)
    bulk_put(raw, {raw.key(p): c for p, c in recorder.items.items()})
    time.sleep(1.0 - time.time() % 1.0 + 1.0)  # as in fill_fast
    return count


def _go_dry_run(binary: str, parameters: dict[str, Any]) -> tuple[float, set[str]]:
    """Go's ``garbage-collect --dry-run`` on the s3 store of ``parameters``: its seconds and blobs."""
    with tempfile.TemporaryDirectory(prefix="distfs-bench-") as workdir:
        config = Path(workdir) / "config.yml"
        go_parameters = {k: v for k, v in parameters.items() if k != "chunksize"}
        config.write_text(go_registry_config({"s3": go_parameters}, 0))
        began = time.perf_counter()
        done = subprocess.run(
            [binary, "garbage-collect", "--dry-run", str(config)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
            env=go_registry_environment(),
        )
        seconds = time.perf_counter() - began
    return seconds, set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", done.stdout))
