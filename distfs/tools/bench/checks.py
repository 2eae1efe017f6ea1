"""The checks of one driver (one value against a bound) and the walk of a registry tree:
list requests and the speed-up over Go's List+Stat walk, streaming throughput, peak RSS,
bytes a resumable upload sends."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import asdict
from typing import Any

from ...driver import FileInfo
from ...errors import PathNotFoundError
from ...parameters import MiB
from ...walk import list_then_stat, walk
from .measure import SentBytes, endpoint_ports, peak_rss_delta, written_chars
from .plan import LOCAL, Check, Plan, Row, human
from .raw import bulk_put, s3_events
from .timing import Side, compare, drain, pieces
from .workloads import Workloads

__all__ = ["Checks"]


class Checks(Workloads):
    """The registry walk, streaming throughput, peak RSS and resumable-upload checks."""

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
            bulk_put(self.raw, items)
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
                for piece in pieces(size):
                    out.write(piece)
            with open(plain, "rb") as stream:
                drain(stream)

        plan = Plan(**{**asdict(self.plan), "sample_seconds": 0.0})
        distfs_s, plain_s = compare(Side(distfs_op), Side(plain_op), plan, repeats=min(self.plan.repeats, 2))
        self.report.rows.append(
            Row(
                f"Streaming {human(size)} write+read",
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
        note = f"bound 2 x {human(chunk)} + 32 MiB"
        value = child
        if self.name == "inmemory":
            value = child - size / MiB
            note += "; the store itself is process memory: the object's size is subtracted"
        self.report.checks.append(
            Check(
                f"Peak RSS delta streaming {human(size)}",
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
        counter = SentBytes(endpoint_ports(self.parameters))
        written = written_chars()
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
        sent = written_chars() - written if local else counter.bytes
        total = chunks * piece
        limit = 1.2 + chunks * (self.raw.chunk if self.raw is not None else 0) / total
        how = "bytes written to files" if local else "bytes sent on sockets to the store"
        self.report.checks.append(
            Check(
                f"Resumable upload {chunks} x {human(piece)}: bytes / size",
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
