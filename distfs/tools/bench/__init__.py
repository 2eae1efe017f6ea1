"""``distfs bench``: distfs's cost measured against the raw fsspec backend it wraps.

Every timed workload runs twice on the same store in the same run: once through the distfs
driver and once through the very fsspec filesystem instance (and key prefix) the driver
wraps. The two sides alternate, each sample runs the operation enough times to last
:attr:`Plan.sample_seconds`, and each side keeps its best sample, so load from elsewhere on
the machine leaves the ratio ``distfs / raw`` mostly alone. Benchmarks report ratios; they
are not timed tests.

Workloads (:class:`Row`, a time or a throughput on both sides):

* Go's ``BenchDriver`` set: ``PutGet`` and ``Stream`` of 0 B, 1 KiB, 1 MiB (and 1 GiB in
  long mode), ``List`` and ``Delete`` of 5 and 50 files; raw side: ``pipe_file`` +
  ``cat_file``, ``open`` wb + rb, ``ls``, ``rm(recursive=True)``;
* a registry mix: 71-byte link files put and get, stat hit and miss, a chunked upload
  (suspended and resumed between chunks, committed, moved to its blob path), the
  recursive delete of an upload directory, and a walk of a registry tree of blobs
  (``blobs/sha256/xx/<digest>/data``) against ``find``;
* streaming throughput on ``filesystem`` through ``writer``/``reader`` against a plain
  Python buffered file write and read of the same size;
* on ``s3``, the registry toolkit (:mod:`distfs.tools.bench.registry`): ``registry gc
  --dry-run`` against Go's ``garbage-collect --dry-run`` on the same store, and
  ``registry migrate`` of 1 MiB blobs against a raw fsspec ``put`` of the same files.

Checks (:class:`Check`, one value against a limit): peak RSS while streaming through each
driver (measured in a fresh child process), list requests and speed-up over Go's List+Stat
fallback walk of the registry tree on ``s3``, and the bytes a 100-chunk resumable upload
sends per byte of object.

Any registered driver can be benched (``-p`` gives its store). A driver without a raw
fsspec counterpart (not built in, and not over the generic store)
gets distfs's own figures only: its raw column and ratio read ``n/a``, and the checks whose
bounds come from the raw side (peak RSS, resumable upload bytes) are left out; the report
says why (:data:`NO_RAW`).

Targets are evaluated and reported; :func:`run_command` exits 0 unless ``--strict`` is
given and a target is missed (exit 1). Exit 2 means a driver could not be set up.

The package, one module per part, no module importing one that imports it: :mod:`.plan`
(what a run measures, its targets), :mod:`.raw` (the raw fsspec side), :mod:`.timing`,
:mod:`.measure` (bytes, peak RSS, the machine), :mod:`.workloads` and :mod:`.checks` (one
driver's figures), :mod:`.registry` (the registry toolkit's), :mod:`.runner` (the steps in
order), :mod:`.report` and :mod:`.plot` (outputs), :mod:`.command` (``distfs bench``).
``python -m distfs.tools.bench ARGS`` is ``distfs bench ARGS``.
"""

from __future__ import annotations

from .command import add_parser, run_command
from .measure import SentBytes, endpoint_ports, machine, peak_rss_delta
from .plan import (
    CLOUD,
    LINK_LIMITS,
    LOCAL,
    NO_RAW,
    NOT_IN_CHILD,
    REGISTRY_LIST,
    Check,
    Plan,
    Report,
    Row,
    human,
    plan_for,
    ratio_limit,
)
from .raw import Raw, raw_of, raw_side, s3_events
from .report import BEGIN, END, markdown, print_report, table_lines, write_markdown
from .runner import Bench, bench_driver
from .timing import Side, compare

__all__ = [
    "BEGIN",
    "CLOUD",
    "END",
    "LINK_LIMITS",
    "LOCAL",
    "NOT_IN_CHILD",
    "NO_RAW",
    "REGISTRY_LIST",
    "Bench",
    "Check",
    "Plan",
    "Raw",
    "Report",
    "Row",
    "SentBytes",
    "Side",
    "add_parser",
    "bench_driver",
    "compare",
    "endpoint_ports",
    "human",
    "machine",
    "markdown",
    "peak_rss_delta",
    "plan_for",
    "print_report",
    "ratio_limit",
    "raw_of",
    "raw_side",
    "run_command",
    "s3_events",
    "table_lines",
    "write_markdown",
]
