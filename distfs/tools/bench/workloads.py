"""The timed workloads of one driver: Go's ``BenchDriver`` set and the registry mix.

:class:`Workloads` holds one driver, its raw fsspec side and the report; each method runs
one workload on both sides (:func:`~.timing.compare`) and appends a :class:`~.plan.Row`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import uuid
from collections.abc import Sequence
from typing import Any

from ...driver import StorageDriver
from ...errors import PathNotFoundError
from ...parameters import KiB
from .plan import LINK_LIMITS, NO_RAW, REGISTRY_LIST, Plan, Report, Row, human, ratio_limit
from .raw import raw_of, raw_side
from .timing import Side, compare, drain, pieces

__all__ = ["Workloads", "durable_put"]


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


class Workloads:
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

        workload = f"PutGet {human(size)}"
        self.row(workload, Side(distfs_op), Side(raw_op), limit=ratio_limit(self.name, workload, size))

    def write_then_read(self, path: str, size: int) -> None:
        """Stream ``size`` bytes into ``path`` through a writer, commit, and read them back."""
        writer = self.driver.writer(path)
        for piece in pieces(size):
            writer.write(piece)
        writer.commit()
        with self.driver.reader(path) as stream:
            drain(stream)

    def stream(self, size: int) -> None:
        ours, raw = f"{self.base}/stream/distfs", f"{self.base}/stream/raw"
        self.driver.put_content(raw, b"")
        raw_key = self.key(raw)

        def distfs_op(_: int) -> None:
            self.write_then_read(ours, size)

        def raw_op(_: int) -> None:
            with self.fs.open(raw_key, "wb") as out:
                for piece in pieces(size):
                    out.write(piece)
            with self.fs.open(raw_key, "rb") as stream:
                drain(stream)

        workload = f"Stream {human(size)}"
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

        label = f"Upload {plan.upload_chunks} x {human(plan.upload_chunk)}"
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
