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
* on ``s3``, the registry toolkit (:mod:`distfs.tools.registry_bench`): ``registry gc
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
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from .. import factory
from ..backends.generic import FsspecStore
from ..base import Base
from ..driver import FileInfo, StorageDriver
from ..engine import ObjectStoreDriver
from ..engine.loop import run
from ..errors import (
    DriverError,
    InvalidParameterError,
    InvalidStorageDriverError,
    PathNotFoundError,
    StorageDriverError,
)
from ..parameters import GiB, KiB, MiB
from ..walk import list_then_stat, walk

__all__ = [
    "Check",
    "Plan",
    "Report",
    "Row",
    "add_parser",
    "bench_driver",
    "plan_for",
    "raw_of",
    "raw_side",
    "run_command",
]


#: Drivers whose ratio targets are the local ones (1.05 from 1 MiB up, 1.30 below).
LOCAL = ("inmemory", "filesystem")
#: Drivers whose ratio target is 1.10 against their local servers.
CLOUD = ("s3", "gcs", "azure")

#: The command that regenerates docs/performance.md and its plot.
REPRODUCE = "distfs bench --json bench.json --plot docs/performance.png --markdown docs/performance.md"

#: Why a driver's raw column reads ``n/a``.
NO_RAW = (
    "no raw fsspec counterpart (not a built-in driver, nor one over the generic store): "
    "raw column and ratios not available; peak RSS and resumable upload bytes, whose bounds "
    "come from the raw side, not measured"
)

#: Why a driver registered with ``distfs.register`` has no peak RSS figure.
NOT_IN_CHILD = (
    "registered in this process only (distfs.register): peak RSS, measured in a fresh process, "
    "not measured (register it with the distfs.drivers entry point instead)"
)

_BEGIN = "<!-- bench:begin -->"
_END = "<!-- bench:end -->"


# -- plan, rows, checks -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one bench run (``smoke``, ``default`` or ``long``)."""

    mode: str
    object_sizes: tuple[int, ...]
    list_sizes: tuple[int, ...]
    upload_chunks: int
    upload_chunk: int
    tree_blobs: int
    cloud_tree_blobs: int
    stream_size: int
    resumable_chunks: int
    resumable_chunk: int
    repeats: int
    sample_seconds: float
    fallback_seconds: float
    registry_blobs: int = 40
    migrate_blobs: int = 8
    migrate_blob_size: int = 64 * KiB


def plan_for(mode: str) -> Plan:
    """The plan of ``mode``: ``smoke`` (tiny, for CI), ``default`` or ``long`` (GiB objects)."""
    if mode == "smoke":
        return Plan(mode, (0, KiB, 64 * KiB), (5,), 2, 64 * KiB, 40, 40, 2 * MiB, 5, 64 * KiB, 2, 0.0, 1.0)
    if mode == "default":
        return Plan(
            mode, (0, KiB, MiB), (5, 50), 8, MiB, 10_000, 1000, 256 * MiB, 100, MiB, 5, 0.05, 10.0, 10_000, 128, MiB
        )
    if mode == "long":
        return Plan(
            mode, (0, KiB, MiB, GiB), (5, 50), 8, MiB, 10_000, 10_000, GiB, 100, MiB, 5, 0.05, 20.0, 10_000, 512, MiB
        )
    raise ValueError(f"unknown bench mode {mode!r}")


@dataclass
class Row:
    """One workload on one driver: distfs and raw fsspec side by side.

    ``unit`` is ``ms`` (time per operation, lower is better) or ``MiB/s`` (throughput,
    higher is better). ``limit`` bounds ``ratio`` (at most for times, at least for
    throughputs); ``None`` means the workload has no target. ``raw`` (and so ``ratio``)
    is ``None`` for a driver without a raw fsspec counterpart.
    """

    workload: str
    driver: str
    unit: str
    distfs: float
    raw: float | None
    limit: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.raw is None:
            return None
        return self.distfs / self.raw if self.raw else float("inf")

    @property
    def passed(self) -> bool | None:
        if self.limit is None or self.ratio is None:
            return None
        return self.ratio >= self.limit if self.unit == "MiB/s" else self.ratio <= self.limit

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "passed": self.passed}


@dataclass
class Check:
    """One measured value of one driver against a limit (``at_most`` or at least)."""

    name: str
    driver: str
    value: float
    unit: str
    limit: float
    at_most: bool = True
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class Report:
    """Everything one bench run measured."""

    plan: Plan
    rows: list[Row] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    machine: dict[str, str] = field(default_factory=dict)

    @property
    def missed(self) -> list[str]:
        """What missed its target, one line each."""
        lines = [f"{r.workload} on {r.driver}: ratio {_ratio(r)}" for r in self.rows if r.passed is False]
        lines += [f"{c.name} on {c.driver}: {c.value:.2f} {c.unit}" for c in self.checks if not c.passed]
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.plan.mode,
            "plan": asdict(self.plan),
            "seconds": round(self.seconds, 3),
            "machine": self.machine,
            "rows": [r.as_json() for r in self.rows],
            "checks": [c.as_json() for c in self.checks],
            "errors": self.errors,
            "notes": self.notes,
            "steps": {name: round(seconds, 3) for name, seconds in self.steps.items()},
        }


#: Targets of the registry's small operations on ``filesystem`` (distfs / raw).
LINK_LIMITS = {"stat": 2.5, "get": 1.5, "list": 1.5, "put": 1.3}
#: Entries of the registry-depth listing.
REGISTRY_LIST = 20


def durable_put(key: str, data: bytes) -> None:
    """Raw work of the same durability as the ``filesystem`` put: temp write, fsync, rename, dir fsync."""
    directory = os.path.dirname(key)
    temp = os.path.join(directory, f".bench-{os.urandom(8).hex()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, key)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ratio_limit(driver: str, workload: str, size: int) -> float | None:
    """The target of ``distfs / raw`` for a Go workload of ``size`` bytes on ``driver``."""
    if driver in LOCAL:
        return 1.05 if size >= MiB else 1.30
    if driver in CLOUD:
        return 1.10
    return None


# -- reaching the backend, timing --------------------------------------------------------


@dataclass
class Raw:
    """The raw fsspec side of a driver: the same store and key prefix, through fsspec itself.

    ``key(path)`` is the key of driver path ``path``; ``make_parents(key)`` creates the
    directories a local filesystem needs; ``chunk`` is the unit the driver buffers by.
    """

    fs: Any
    key: Callable[[str], str]
    make_parents: Callable[[str], None]
    chunk: int


def raw_of(driver: StorageDriver, parameters: dict[str, Any]) -> Raw | None:
    """The raw side of a driver from :func:`distfs.create` (``parameters``: the driver's).

    None where there is none: a driver neither over the generic store nor built in.
    """
    inner = driver.inner if isinstance(driver, Base) else driver
    if isinstance(inner, ObjectStoreDriver) and isinstance(inner.engine.store, FsspecStore):
        # the generic store (inmemory among them): its own filesystem instance, which may be
        # private to the driver (inmemory's), so the raw side sees what the driver wrote
        engine, store = inner.engine, inner.engine.store
        return Raw(store.fs, lambda path: store.full(engine.key(path)), lambda key: None, engine.chunk)
    if isinstance(inner, ObjectStoreDriver):
        from fsspec.dircache import DirCache

        builtin = factory.BUILTIN_DRIVERS.get(driver.name)
        if builtin is None:
            return None
        fs, root = importlib.import_module(builtin.module).raw_filesystem(parameters)
        if not type(fs).__module__.startswith("ossfs"):  # ossfs reads its own listings back from the cache
            fs.dircache = DirCache(use_listings_cache=False)  # as the driver: no stale listings
        prefix = root.rstrip("/")
        make_parents: Callable[[str], None] = lambda key: None  # noqa: E731 - object stores have no directories
        if inner.capabilities.empty_directories:  # real directories (filesystem): made as the driver makes them
            make_parents = lambda key: fs.makedirs(fs._parent(key), exist_ok=True)  # noqa: E731
        return Raw(fs, lambda path: prefix + path, make_parents, inner.engine.chunk)
    return None


def raw_side(driver: StorageDriver, parameters: dict[str, Any]) -> Raw:
    """:func:`raw_of` for workloads that need a raw side: DriverError (:data:`NO_RAW`) without one."""
    raw = raw_of(driver, parameters)
    if raw is None:
        raise DriverError(NO_RAW, driver.name)
    return raw


def s3_events(driver: StorageDriver) -> Any:
    """The botocore event hooks of an s3 driver's client (None for other drivers)."""
    inner = driver.inner if isinstance(driver, Base) else driver
    client = getattr(getattr(inner, "engine", None), "store", None)
    if client is None or not hasattr(client, "client"):
        return None
    return run(client.client()).meta.events


Op = Callable[[int], object]


@dataclass
class Side:
    """One side of a comparison: ``run(i)`` is timed, ``prepare(i)`` (if any) is not."""

    run: Op
    prepare: Op | None = None


def _sample(side: Side, start: int, count: int) -> float:
    """Seconds per operation over ``count`` operations numbered from ``start``."""
    total = 0.0
    for i in range(start, start + count):
        if side.prepare is not None:
            side.prepare(i)
        began = time.perf_counter()
        side.run(i)
        total += time.perf_counter() - began
    return total / count


def compare(ours: Side, raw: Side, plan: Plan, *, repeats: int | None = None, cap: int = 1000) -> tuple[float, float]:
    """Best seconds per operation of both sides, alternating which side goes first.

    A first single run of each side (which also warms caches and connections) sizes the
    samples to about ``plan.sample_seconds``; it counts as a sample too, so an operation
    slower than that runs ``1 + repeats`` times per side.
    """
    best = [_sample(ours, 0, 1), _sample(raw, 1, 1)]
    counter = 2
    count = 1
    if plan.sample_seconds > 0:
        count = max(1, min(cap, int(plan.sample_seconds / max(best[0], best[1], 1e-9))))
    for repeat in range(plan.repeats if repeats is None else repeats):
        order = (0, 1) if repeat % 2 == 0 else (1, 0)
        for index in order:
            side = ours if index == 0 else raw
            best[index] = min(best[index], _sample(side, counter, count))
            counter += count
    return best[0], best[1]


def _pieces(size: int, piece: int = MiB) -> Iterator[memoryview]:
    """``size`` bytes in pieces of at most ``piece`` bytes, from one reused buffer."""
    buffer = memoryview(os.urandom(min(size, piece)))
    left = size
    while left > 0:
        take = min(left, piece)
        yield buffer[:take]
        left -= take


def _drain(stream: BinaryIO) -> int:
    total = 0
    while True:
        data = stream.read(MiB)
        if not data:
            return total
        total += len(data)


def _bulk_put(raw: Raw, items: dict[str, bytes]) -> None:
    """Create many objects fast through raw fsspec (not part of any measurement)."""
    fs = raw.fs
    for key in items:
        raw.make_parents(key)
    if getattr(fs, "async_impl", False):
        fs.pipe(items)
        return
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: fs.pipe_file(*item), items.items()))


def _human(size: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


# -- byte counting -----------------------------------------------------------------------


class SentBytes:
    """Bytes this process sends on sockets connected to ``ports`` (every port if empty).

    Counts at the socket (``send``, ``sendall``, ``sendmsg`` of :class:`socket.socket`), so
    it sees every HTTP library the backends use (aiohttp, requests) and the wire bytes,
    headers included. The count is only valid while nothing else in the process sends.
    """

    def __init__(self, ports: set[int]) -> None:
        self.ports = ports
        self.bytes = 0
        self._lock = threading.Lock()
        self._saved: dict[str, Any] = {}

    def _counts(self, sock: socket.socket) -> bool:
        if not self.ports:
            return True
        try:
            peer = sock.getpeername()
        except OSError:
            return False
        return isinstance(peer, tuple) and len(peer) >= 2 and peer[1] in self.ports

    def _add(self, sock: socket.socket, count: int) -> None:
        if count and self._counts(sock):
            with self._lock:
                self.bytes += count

    def __enter__(self) -> SentBytes:
        counter = self
        send, sendall, sendmsg = socket.socket.send, socket.socket.sendall, socket.socket.sendmsg
        self._saved = {"send": send, "sendall": sendall, "sendmsg": sendmsg}

        def counted_send(sock: socket.socket, data: Any, *args: Any) -> int:
            sent: int = send(sock, data, *args)
            counter._add(sock, sent)
            return sent

        def counted_sendall(sock: socket.socket, data: Any, *args: Any) -> None:
            sendall(sock, data, *args)
            counter._add(sock, memoryview(data).nbytes)

        def counted_sendmsg(sock: socket.socket, buffers: Any, *args: Any) -> int:
            sent: int = sendmsg(sock, buffers, *args)
            counter._add(sock, sent)
            return sent

        socket.socket.send = counted_send  # type: ignore[method-assign,assignment]
        socket.socket.sendall = counted_sendall  # type: ignore[method-assign,assignment]
        socket.socket.sendmsg = counted_sendmsg  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.send = self._saved["send"]  # type: ignore[method-assign]
        socket.socket.sendall = self._saved["sendall"]  # type: ignore[method-assign]
        socket.socket.sendmsg = self._saved["sendmsg"]  # type: ignore[method-assign]


def _written_chars() -> int:
    """Bytes this process passed to ``write`` system calls so far (``/proc/self/io``)."""
    with open("/proc/self/io", encoding="ascii") as stream:
        for line in stream:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def _endpoint_ports(parameters: dict[str, Any]) -> set[int]:
    """Ports of the URL-valued parameters (the store's endpoint); empty if none is given."""
    ports = set()
    for key in ("regionendpoint", "endpoint", "serviceurl"):
        value = parameters.get(key)
        if isinstance(value, str) and "://" in value:
            url = urllib.parse.urlsplit(value)
            ports.add(url.port or (443 if url.scheme == "https" else 80))
    return ports


# -- the workloads -----------------------------------------------------------------------


class Bench:
    """The workloads of one driver on one store; results go to ``report``."""

    def __init__(
        self, name: str, driver: StorageDriver, parameters: dict[str, Any], plan: Plan, report: Report
    ) -> None:
        self.name = name
        self.driver = driver
        self.parameters = parameters
        self.raw = raw_of(driver, parameters)
        self.fs: Any = self.raw.fs if self.raw is not None else None
        self.plan = plan
        self.report = report
        self.base = f"/distfs-bench-{uuid.uuid4().hex[:12]}"
        if self.raw is None:
            report.notes[name] = NO_RAW

    def key(self, path: str) -> str:
        """The raw key of driver path ``path`` (the path itself without a raw side: never used)."""
        return self.raw.key(path) if self.raw is not None else path

    def row(
        self,
        workload: str,
        ours: Side,
        raw: Side,
        *,
        limit: float | None = None,
        note: str = "",
        repeats: int | None = None,
    ) -> None:
        if self.raw is None:  # distfs's own figure; the raw side is never run
            distfs_s, _ = compare(ours, Side(lambda _: None), self.plan, repeats=repeats)
            self.report.rows.append(Row(workload, self.name, "ms", distfs_s * 1000, None, limit))
            return
        distfs_s, raw_s = compare(ours, raw, self.plan, repeats=repeats)
        self.report.rows.append(Row(workload, self.name, "ms", distfs_s * 1000, raw_s * 1000, limit, note))

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        """The workloads in order, as (name, function) pairs."""
        plan = self.plan
        steps: list[tuple[str, Callable[[], None]]] = []
        for size in plan.object_sizes:
            steps.append((f"PutGet {_human(size)}", functools.partial(self.put_get, size)))
        for size in plan.object_sizes:
            steps.append((f"Stream {_human(size)}", functools.partial(self.stream, size)))
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
        from .registry_bench import registry_steps  # the registry toolkit's figures (s3)

        steps.extend(registry_steps(self))
        steps.append(("Clean up", self.clean_up))
        return steps

    # -- Go's BenchDriver set ---------------------------------------------------------

    def put_get(self, size: int) -> None:
        data = os.urandom(size)
        ours, raw = f"{self.base}/putget/distfs", f"{self.base}/putget/raw"
        self.driver.put_content(raw, b"")  # parents for backends that need them
        raw_key = self.key(raw)

        def distfs_op(_: int) -> None:
            self.driver.put_content(ours, data)
            self.driver.get_content(ours)

        def raw_op(_: int) -> None:
            self.fs.pipe_file(raw_key, data)
            self.fs.cat_file(raw_key)

        workload = f"PutGet {_human(size)}"
        self.row(workload, Side(distfs_op), Side(raw_op), limit=ratio_limit(self.name, workload, size))

    def write_then_read(self, path: str, size: int) -> None:
        """Stream ``size`` bytes into ``path`` through a writer, commit, and read them back."""
        writer = self.driver.writer(path)
        for piece in _pieces(size):
            writer.write(piece)
        writer.commit()
        with self.driver.reader(path) as stream:
            _drain(stream)

    def stream(self, size: int) -> None:
        ours, raw = f"{self.base}/stream/distfs", f"{self.base}/stream/raw"
        self.driver.put_content(raw, b"")
        raw_key = self.key(raw)

        def distfs_op(_: int) -> None:
            self.write_then_read(ours, size)

        def raw_op(_: int) -> None:
            with self.fs.open(raw_key, "wb") as out:
                for piece in _pieces(size):
                    out.write(piece)
            with self.fs.open(raw_key, "rb") as stream:
                _drain(stream)

        workload = f"Stream {_human(size)}"
        self.row(workload, Side(distfs_op), Side(raw_op), limit=ratio_limit(self.name, workload, size))

    def list_files(self, count: int) -> None:
        directory = f"{self.base}/list{count}"
        for i in range(count):
            self.driver.put_content(f"{directory}/file{i}", b"x")
        key = self.key(directory)
        workload = f"List {count}"
        self.row(
            workload,
            Side(lambda _: self.check_count(self.driver.list(directory), count)),
            Side(lambda _: self.check_count(self.fs.ls(key), count)),
            limit=ratio_limit(self.name, workload, 0),
        )

    @staticmethod
    def check_count(found: Sequence[object], count: int) -> None:
        if len(found) != count:
            raise AssertionError(f"listed {len(found)} entries, expected {count}")

    def delete_files(self, count: int) -> None:
        def fill(directory: str) -> None:
            for j in range(count):
                self.driver.put_content(f"{directory}/file{j}", b"x")

        ours, raw = f"{self.base}/delete{count}/distfs", f"{self.base}/delete{count}/raw"
        workload = f"Delete {count}"
        self.row(
            workload,
            Side(lambda i: self.driver.delete(f"{ours}/{i}"), prepare=lambda i: fill(f"{ours}/{i}")),
            Side(lambda i: self.fs.rm(self.key(f"{raw}/{i}"), recursive=True), prepare=lambda i: fill(f"{raw}/{i}")),
            limit=ratio_limit(self.name, workload, 0),
        )

    # -- the registry mix -------------------------------------------------------------

    def links(self) -> None:
        digest = hashlib.sha256(b"bench").hexdigest()
        link = f"sha256:{digest}".encode()  # 71 bytes, like every registry link file
        layers = f"{self.base}/docker/registry/v2/repositories/bench/app/_layers/sha256"
        ours, raw = f"{layers}/{digest}/link", f"{layers}/{digest[::-1]}/link"
        self.driver.put_content(ours, link)
        self.driver.put_content(raw, link)
        raw_key, missing = self.key(raw), f"{layers}/missing/link"
        missing_key = self.key(missing)

        def stat_miss(_: int) -> None:
            with contextlib.suppress(PathNotFoundError):
                self.driver.stat(missing)

        def raw_stat_miss(_: int) -> None:
            with contextlib.suppress(FileNotFoundError):
                self.fs.info(missing_key)

        local = self.name == "filesystem"
        # On filesystem, put_content is durable: the raw side does the same work by hand.
        raw_put = functools.partial(durable_put, raw_key, link) if local else lambda: self.fs.pipe_file(raw_key, link)
        self.row(
            "Link put 71 B",
            Side(lambda _: self.driver.put_content(ours, link)),
            Side(lambda _: raw_put()),
            limit=LINK_LIMITS["put"] if local else None,
            note="raw: temp write + fsync + rename + directory fsync" if local else "",
            # Two fsyncs per side: their latency on a shared disk varies tenfold from one
            # sample to the next, so this row takes three times the rounds.
            repeats=self.plan.repeats * 3 if local else None,
        )
        self.row(
            "Link get 71 B",
            Side(lambda _: self.driver.get_content(ours)),
            Side(lambda _: self.fs.cat_file(raw_key)),
            limit=LINK_LIMITS["get"] if local else None,
        )
        self.row(
            "Stat hit",
            Side(lambda _: self.driver.stat(ours)),
            Side(lambda _: self.fs.info(raw_key)),
            limit=LINK_LIMITS["stat"] if local else None,
        )
        self.row("Stat miss", Side(stat_miss), Side(raw_stat_miss))
        tags = f"{self.base}/docker/registry/v2/repositories/bench/app/_manifests/tags"
        for i in range(REGISTRY_LIST):
            self.driver.put_content(f"{tags}/tag{i}/current/link", link)
        tags_key = self.key(tags)
        self.row(
            f"List {REGISTRY_LIST} at registry depth",
            Side(lambda _: self.check_count(self.driver.list(tags), REGISTRY_LIST)),
            Side(lambda _: self.check_count(self.fs.ls(tags_key), REGISTRY_LIST)),
            limit=LINK_LIMITS["list"] if local else None,
        )

    def chunked_upload(self) -> None:
        """Upload chunks with a suspend and resume between them, commit, move to a blob path."""
        plan = self.plan
        chunk = os.urandom(plan.upload_chunk)
        uploads, blobs = f"{self.base}/docker/registry/v2/repositories/bench/app/_uploads", f"{self.base}/blobs"

        def ours(i: int) -> None:
            data = f"{uploads}/distfs-{i}/data"
            writer = self.driver.writer(data)
            writer.close()
            for _ in range(plan.upload_chunks):
                writer = self.driver.writer(data, append=True)
                writer.write(chunk)
                writer.close()
            writer = self.driver.writer(data, append=True)
            writer.commit()
            self.driver.move(data, f"{blobs}/distfs-{i}/data")

        def raw(i: int) -> None:
            data, blob = self.key(f"{uploads}/raw-{i}/data"), self.key(f"{blobs}/raw-{i}/data")
            side = raw_side(self.driver, self.parameters)
            side.make_parents(data)
            with self.fs.open(data, "wb") as out:
                for _ in range(plan.upload_chunks):
                    out.write(chunk)
            side.make_parents(blob)
            self.fs.mv(data, blob)

        label = f"Upload {plan.upload_chunks} x {_human(plan.upload_chunk)}"
        self.row(label, Side(ours), Side(raw), note="raw: one open(wb) + mv (fsspec cannot suspend an upload)")

    def upload_delete(self) -> None:
        uploads = f"{self.base}/docker/registry/v2/repositories/bench/app/_uploads"

        def fill(directory: str) -> None:
            self.driver.put_content(f"{directory}/data", os.urandom(KiB))
            self.driver.put_content(f"{directory}/startedat", b"2026-01-01T00:00:00Z")
            self.driver.put_content(f"{directory}/hashstates/sha256/1024", os.urandom(128))

        self.row(
            "Delete upload directory",
            Side(lambda i: self.driver.delete(f"{uploads}/d{i}"), prepare=lambda i: fill(f"{uploads}/d{i}")),
            Side(
                lambda i: self.fs.rm(self.key(f"{uploads}/r{i}"), recursive=True),
                prepare=lambda i: fill(f"{uploads}/r{i}"),
            ),
        )

    def registry_walk(self) -> None:
        """Walk a tree of blobs; on a flat-listing store, count its list requests and time the fallback."""
        # 10,000 blobs where it is cheap and where the targets are (s3); fewer on the other emulators.
        count = self.plan.tree_blobs if self.name in (*LOCAL, "s3") else self.plan.cloud_tree_blobs
        blobs = f"{self.base}/docker/registry/v2/blobs"
        items = {}
        for i in range(count):
            digest = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
            items[self.key(f"{blobs}/sha256/{digest[:2]}/{digest}/data")] = digest[:32].encode()
        if self.raw is not None:
            _bulk_put(self.raw, items)
        else:
            for path, data in items.items():
                self.driver.put_content(path, data)
        key = self.key(blobs)
        seen: list[FileInfo] = []
        # On s3, list requests are counted (botocore events on the s3fs client) per distfs walk.
        events: Any = s3_events(self.driver)
        lists = [0]
        per_walk: list[int] = []

        def on_list(**_: Any) -> None:
            lists[0] += 1

        def walk_ours(_: int) -> None:
            seen.clear()
            before = lists[0]
            self.driver.walk(blobs, seen.append)
            per_walk.append(lists[0] - before)
            files = sum(not info.is_dir for info in seen)
            if files != count:
                raise AssertionError(f"walk visited {files} files, expected {count}")

        def find_raw(_: int) -> None:
            found = self.fs.find(key, detail=True)
            if len(found) != count:
                raise AssertionError(f"find returned {len(found)} files, expected {count}")

        names = ("before-call.s3.ListObjectsV2", "before-call.s3.ListObjects")
        for name in names if events is not None else ():
            events.register(name, on_list)
        try:
            self.row(f"Walk {count} blobs", Side(walk_ours), Side(find_raw), note="raw: find(detail=True)", repeats=1)
        finally:
            for name in names if events is not None else ():
                events.unregister(name, on_list)
        if events is None:
            return
        flat_seconds = self.report.rows[-1].distfs / 1000
        self.report.checks.append(
            Check(f"Walk {count} blobs: list requests", self.name, max(per_walk), "requests", float(count // 1000 + 1))
        )
        self.fallback_speedup(blobs, count, seen, flat_seconds)

    def fallback_speedup(self, blobs: str, count: int, seen: list[FileInfo], flat_seconds: float) -> None:
        """Go's fallback walk (List, then Stat per entry) against the flat walk that saw ``seen``."""
        # Whole prefix directories (blobs/sha256/xx) until its time is up: its rate (entries per
        # second) against the flat walk's. Whole subtrees keep the fallback's up-front listing
        # and stats inside the measured part.
        prefixes = sorted({info.path for info in seen if info.is_dir and info.path.count("/") == blobs.count("/") + 2})
        visited = 0
        fallback_seconds = 0.0
        done = 0
        for prefix in prefixes:
            began = time.perf_counter()
            counted: list[FileInfo] = []
            walk(list_then_stat(self.driver), prefix, counted.append)
            fallback_seconds += time.perf_counter() - began
            visited += len(counted) + 1  # the prefix directory itself
            done += 1
            if fallback_seconds > self.plan.fallback_seconds:
                break
        speedup = (len(seen) / flat_seconds) / (visited / fallback_seconds)
        note = (
            f"fallback walked {done} of {len(prefixes)} prefix directories ({visited} of {len(seen)} entries) "
            f"in {fallback_seconds:.1f} s; rates compared"
        )
        self.report.checks.append(
            Check(
                f"Walk {count} blobs: speed-up over List+Stat", self.name, speedup, "x", 20.0, at_most=False, note=note
            )
        )

    # -- streaming, memory, resumable bytes --------------------------------------------

    def throughput(self) -> None:
        """``writer``/``reader`` against a plain buffered file write and read of the same size."""
        size = self.plan.stream_size
        ours = f"{self.base}/throughput/distfs"
        self.driver.put_content(f"{self.base}/throughput/plain", b"")
        plain = self.key(f"{self.base}/throughput/plain")

        def distfs_op(_: int) -> None:
            self.write_then_read(ours, size)

        def plain_op(_: int) -> None:
            with open(plain, "wb") as out:
                for piece in _pieces(size):
                    out.write(piece)
            with open(plain, "rb") as stream:
                _drain(stream)

        plan = Plan(**{**asdict(self.plan), "sample_seconds": 0.0})
        distfs_s, plain_s = compare(Side(distfs_op), Side(plain_op), plan, repeats=min(self.plan.repeats, 2))
        self.report.rows.append(
            Row(
                f"Streaming {_human(size)} write+read",
                self.name,
                "MiB/s",
                2 * size / MiB / distfs_s,
                2 * size / MiB / plain_s,
                0.80,
                "raw: plain Python buffered file write + read",
            )
        )
        self.driver.delete(f"{self.base}/throughput")

    def peak_rss(self) -> None:
        size = self.plan.stream_size
        chunk = self.raw.chunk if self.raw is not None else 0
        child = peak_rss_delta(self.name, self.parameters, f"{self.base}/rss/data", size)
        note = f"bound 2 x {_human(chunk)} + 32 MiB"
        value = child
        if self.name == "inmemory":
            value = child - size / MiB
            note += "; the store itself is process memory: the object's size is subtracted"
        self.report.checks.append(
            Check(
                f"Peak RSS delta streaming {_human(size)}",
                self.name,
                value,
                "MiB",
                (2 * chunk + 32 * MiB) / MiB,
                note=note,
            )
        )

    def resumable_bytes(self) -> None:
        plan = self.plan
        chunks, piece = plan.resumable_chunks, plan.resumable_chunk
        path = f"{self.base}/resumable/data"
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        if protocol == "memory":
            return  # nothing is transferred anywhere
        local = protocol in ("file", "local")
        data = os.urandom(piece)
        counter = SentBytes(_endpoint_ports(self.parameters))
        written = _written_chars()
        with contextlib.ExitStack() as stack:
            if not local:
                stack.enter_context(counter)
            writer = self.driver.writer(path)
            writer.close()
            for _ in range(chunks):
                writer = self.driver.writer(path, append=True)
                writer.write(data)
                writer.close()
            writer = self.driver.writer(path, append=True)
            writer.commit()
        sent = _written_chars() - written if local else counter.bytes
        total = chunks * piece
        limit = 1.2 + chunks * (self.raw.chunk if self.raw is not None else 0) / total
        how = "bytes written to files" if local else "bytes sent on sockets to the store"
        self.report.checks.append(
            Check(
                f"Resumable upload {chunks} x {_human(piece)}: bytes / size",
                self.name,
                sent / total,
                "x",
                limit,
                note=f"{how}; bound 1.2 + chunks x chunksize / size",
            )
        )

    def clean_up(self) -> None:
        with contextlib.suppress(PathNotFoundError):
            self.driver.delete(self.base)


# -- peak RSS in a fresh process ---------------------------------------------------------


def _status(field_name: str) -> int:
    """A ``/proc/self/status`` memory field in bytes."""
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * KiB
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def peak_rss_delta(name: str, parameters: dict[str, Any], path: str, size: int) -> float:
    """MiB the peak RSS of a fresh process grows by while it streams ``size`` bytes
    through ``writer`` and back through ``reader``. Parameters go through stdin, never argv.
    """
    request = json.dumps({"driver": name, "parameters": parameters, "path": path, "size": size})
    result = subprocess.run(
        [sys.executable, "-c", "from distfs.tools.bench import _rss_child; _rss_child()"],
        input=request.encode(),
        capture_output=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"peak RSS child for {name} failed: {tail[0]}")
    answer = json.loads(result.stdout.decode().strip().splitlines()[-1])
    return float(answer["peak"] - answer["baseline"]) / MiB


def _rss_child() -> None:
    """The child of :func:`peak_rss_delta`: the request on stdin, the answer on stdout."""
    request = json.loads(sys.stdin.read())
    driver = factory.create(request["driver"], request["parameters"])
    path, size = request["path"], request["size"]
    piece = memoryview(os.urandom(MiB))
    driver.put_content(path, b"warm-up")  # load every module and open the connections first
    with driver.reader(path) as stream:
        _drain(stream)
    writer = driver.writer(path)
    writer.write(b"x")
    writer.commit()
    baseline = _status("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # reset VmHWM to the current RSS
    writer = driver.writer(path)
    left = size
    while left > 0:
        take = min(left, MiB)
        writer.write(piece[:take])
        left -= take
    writer.commit()
    with driver.reader(path) as stream:
        read = _drain(stream)
    peak = _status("VmHWM")
    driver.delete(path)
    if read != size:
        raise RuntimeError(f"read back {read} bytes of {size}")
    print(json.dumps({"baseline": baseline, "peak": peak}))


# -- running -----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import fsspec

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii", errors="replace") as stream:
        for line in stream:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as stream:
        for line in stream:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / MiB:.1f} GiB"
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "fsspec": fsspec.__version__,
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


class Progress:
    """Workload-level progress, reported through the ``distfs check`` progress bar."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from ..testing import Case, Result
        from .progress import Progress

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


def _steps_per_driver(name: str, plan: Plan) -> int:
    # A driver that is not built in may lack a raw side (no peak RSS, no resumable bytes).
    own = 2 * (name not in factory.BUILTIN_DRIVERS)
    return 2 * len(plan.object_sizes) + 2 * len(plan.list_sizes) + 7 + (name == "filesystem") + 2 * (name == "s3") - own


def add_parser(commands: Any) -> None:
    """Add the ``bench`` subcommand to the ``distfs`` command's subparsers."""
    from .local import DRIVERS

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
        help=f"write the results section to FILE (replaced between {_BEGIN} and {_END} if present)",
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

    from .dataframes import print_reads, run_reads

    count, rounds = (20_000, 2) if args.smoke else (2_000_000, 11)
    with tempfile.TemporaryDirectory(prefix="distfs-bench-") as root:
        rows = run_reads(Path(root), rows=count, rounds=rounds)
    print_reads(rows, sys.stdout, count=count)
    return 1 if args.strict and not all(row.passed for row in rows) else 0


def run_batch_command(args: argparse.Namespace) -> int:
    """``distfs bench --delay MS``: the batch section (see :mod:`distfs.tools.batch`)."""
    from .batch import print_rows, run_batch
    from .local import LocalStores

    delay = float(args.delay) / 1000
    count, size = (20, 1000) if args.smoke else (100, 10_000)
    with LocalStores() as stores:
        rows = run_batch(stores.endpoint("s3"), stores.parameters("s3"), delay=delay, count=count, size=size)
    print_rows(rows, sys.stdout, delay=delay, count=count, size=size)
    return 1 if args.strict and not all(row.passed for row in rows) else 0


def run_registry_scale_command(args: argparse.Namespace) -> int:
    """``distfs bench --registry-scale N,N...``: see :func:`distfs.tools.registry_bench.gc_scale`."""
    from .local import LocalStores
    from .registry_bench import gc_scale

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
    with _stopped_by_sigterm(), LocalStores() as stores:
        log = functools.partial(print, file=sys.stderr)
        checks = gc_scale(stores.parameters("s3"), counts, repeats=1 if args.smoke else 3, log=log)
    return _print_checks(checks, args.strict)


def run_registry_go_command(args: argparse.Namespace) -> int:
    """``distfs bench --registry-go N``: see :func:`distfs.tools.registry_bench.gc_versus_go`."""
    from .local import LocalStores
    from .registry_bench import gc_versus_go

    count = int(args.registry_go) if args.registry_go.isdigit() else 0
    if count < 2:
        print(
            f"distfs bench: --registry-go takes a blob count N (at least 2), not {args.registry_go!r}", file=sys.stderr
        )
        return 2
    with _stopped_by_sigterm(), LocalStores() as stores:
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


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
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


def run_command(args: argparse.Namespace, parameters: dict[str, str]) -> int:
    """The ``distfs bench`` command; returns the exit code."""
    from .local import DRIVERS, LocalStores

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
    progress = Progress(sum(_steps_per_driver(n, plan) for n in names), sys.stderr)
    began = time.perf_counter()
    try:
        with _stopped_by_sigterm(), LocalStores() as stores:
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
        from ._plot import plot

        plot(report, args.plot)
    if args.markdown:
        write_markdown(report, args.markdown, plot_file=args.plot)
    return 1 if args.strict and (report.missed or report.errors) else 0


# -- output ------------------------------------------------------------------------------


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else "PASS" if passed else "MISS"


def _figure(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _ratio(row: Row) -> str:
    return "n/a" if row.ratio is None else f"{row.ratio:.2f}"


def _raw(row: Row) -> str:
    return "n/a" if row.raw is None else _figure(row.raw)


def _target(row: Row) -> str:
    if row.limit is None:
        return "-"
    return f"{'>=' if row.unit == 'MiB/s' else '<='} {row.limit:.2f}"


def table_lines(report: Report) -> list[str]:
    """The results as aligned text: workloads, then checks, then errors."""
    header = ("workload", "driver", "unit", "distfs", "raw", "ratio", "target", "result")
    rows = [header] + [
        (
            r.workload,
            r.driver,
            r.unit,
            _figure(r.distfs),
            _raw(r),
            _ratio(r),
            _target(r),
            _verdict(r.passed),
        )
        for r in report.rows
    ]
    lines = _aligned(rows, right=(3, 4, 5))
    if report.checks:
        checks = [("check", "driver", "value", "target", "result", "note")] + [
            (
                c.name,
                c.driver,
                f"{_figure(c.value)} {c.unit}",
                f"{'<=' if c.at_most else '>='} {_figure(c.limit)}",
                _verdict(c.passed),
                c.note,
            )
            for c in report.checks
        ]
        lines += ["", *_aligned(checks, right=(2,))]
    for where, error in report.errors.items():
        lines.append(f"ERROR {where}: {error}")
    for driver, note in report.notes.items():
        lines.append(f"NOTE {driver}: {note}")
    return lines


def _aligned(rows: Sequence[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def print_report(report: Report, out: TextIO) -> None:
    for line in table_lines(report):
        print(line, file=out)
    missed = report.missed
    print(
        f"\nbench: {report.plan.mode} mode, {report.seconds:.1f}s, {len(report.rows)} workloads, "
        f"{len(report.checks)} checks, {len(missed)} targets missed, {len(report.errors)} errors",
        file=out,
    )


def markdown(report: Report, plot_file: str | None = None) -> str:
    """The results section of ``docs/performance.md``."""
    m = report.machine
    lines = [
        _BEGIN,
        "",
        f"Measured in {report.plan.mode} mode in {report.seconds:.0f} s on {m.get('cpu', '?')}, "
        f"{m.get('cores', '?')} cores, {m.get('memory', '?')} RAM, {m.get('system', '?')}, "
        f"Python {m.get('python', '?')}, fsspec {m.get('fsspec', '?')} "
        f"(load average at the start: {m.get('load average', '?')}).",
        "",
        "| workload | driver | unit | distfs | raw fsspec | distfs / raw | target | result |",
        "|---|---|---|--:|--:|--:|---|---|",
    ]
    for r in report.rows:
        lines.append(
            f"| {r.workload} | {r.driver} | {r.unit} | {_figure(r.distfs)} | {_raw(r)} | {_ratio(r)} "
            f"| {_target(r)} | {_verdict(r.passed)} |"
        )
    if report.checks:
        lines += ["", "| check | driver | value | target | result | note |", "|---|---|--:|---|---|---|"]
        for c in report.checks:
            lines.append(
                f"| {c.name} | {c.driver} | {_figure(c.value)} {c.unit} | {'<=' if c.at_most else '>='} "
                f"{_figure(c.limit)} | {_verdict(c.passed)} | {c.note} |"
            )
    if report.errors:
        lines += [""] + [f"* error in {where}: {error}" for where, error in report.errors.items()]
    if report.notes:
        lines += [""] + [f"* {driver}: {note}" for driver, note in report.notes.items()]
    if plot_file:
        lines += ["", f"![distfs / raw fsspec per workload and driver]({os.path.basename(plot_file)})"]
    lines += ["", _END]
    return "\n".join(lines) + "\n"


def write_markdown(report: Report, file: str, plot_file: str | None = None) -> None:
    """Write the results section to ``file``, replacing the marked section if ``file`` has one."""
    section = markdown(report, plot_file)
    target = Path(file)
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    if _BEGIN in text and _END in text:
        head, _, rest = text.partition(_BEGIN)
        _, _, tail = rest.partition(_END)
        section = head + section.rstrip("\n") + tail
    target.write_text(section, encoding="utf-8")
