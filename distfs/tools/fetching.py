"""What ``distfs://`` on s3 moves and asks for, against s3fs: ``python -m distfs.tools.fetching``.

Both sides run in one process on one moto server (:class:`~distfs.tools.local.LocalStores`),
each on its own bucket: ``distfs`` is :class:`~distfs.fsspec.DistFileSystem` on the ``s3``
driver, ``s3fs`` an ``s3fs.S3FileSystem`` with the same credentials and default settings
(its listings cache emptied before each call). Requests and bytes are counted on each
client's own botocore hooks (:class:`Meter`); requests in flight at the
:class:`~distfs.tools.delayproxy.DelayProxy` (its peak). Figures: docs/performance.md,
"fsspec face: requests and bytes moved".
"""

from __future__ import annotations

import argparse
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..fsspec import DistFileSystem
from .bench.raw import s3_events
from .delayproxy import DelayProxy
from .local import LocalStores

__all__ = ["Meter", "duckdb_count_bytes", "footer_bytes", "in_flight", "listing_requests", "main", "s3fs_for"]


@dataclass(eq=False)  # hashable: botocore keeps its handlers in a mapping
class Meter:
    """Requests by operation and the body sizes of GetObject, seen by one client (an ``after-call`` hook)."""

    calls: Counter[str] = field(default_factory=Counter)
    got: list[int] = field(default_factory=list)

    def __call__(self, model: Any, parsed: Any = None, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "GetObject" and isinstance(parsed, dict):
            self.got.append(int(parsed.get("ContentLength", 0)))

    def reset(self) -> None:
        self.calls.clear()
        self.got.clear()

    @property
    def requests(self) -> int:
        return sum(self.calls.values())


def s3fs_for(parameters: dict[str, Any], endpoint: str | None = None) -> Any:
    """An s3fs filesystem with the credentials of s3 driver ``parameters`` (at ``endpoint`` if given)."""
    from s3fs import S3FileSystem

    return S3FileSystem(
        key=parameters["accesskey"],
        secret=parameters["secretkey"],
        endpoint_url=endpoint or parameters["regionendpoint"],
        client_kwargs={"region_name": parameters.get("region", "us-east-1")},
        skip_instance_cache=True,
    )


def metered(ours: DistFileSystem, theirs: Any) -> tuple[Meter, Meter]:
    """Meters on both sides' clients."""
    mine, raw = Meter(), Meter()
    s3_events(ours.driver).register("after-call.s3", mine)
    theirs.connect()
    theirs.s3.meta.events.register("after-call.s3", raw)
    return mine, raw


def footer_bytes(ours: DistFileSystem, theirs: Any, bucket: str, rows: int = 200_000) -> tuple[int, int, int]:
    """Bytes each side's GETs move for ``pyarrow.parquet.read_metadata`` of one file, and its size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"a": list(range(rows)), "b": [str(i) for i in range(rows)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=max(1, rows // 4))
    payload = buffer.getvalue()
    ours.pipe("/footer.parquet", payload)
    theirs.pipe(f"{bucket}/footer.parquet", payload)
    mine, raw = metered(ours, theirs)
    with ours.open("/footer.parquet", "rb") as f:
        pq.read_metadata(f)
    with theirs.open(f"{bucket}/footer.parquet", "rb") as f:
        pq.read_metadata(f)
    return sum(mine.got), sum(raw.got), len(payload)


def duckdb_count_bytes(ours: DistFileSystem, theirs: Any, bucket: str) -> tuple[int, int]:
    """Bytes each side's GETs move for duckdb's ``count(*)`` of the file :func:`footer_bytes` wrote."""
    import duckdb

    mine, raw = metered(ours, theirs)
    for fs, url in ((ours, "distfs:///footer.parquet"), (theirs, f"s3://{bucket}/footer.parquet")):
        con = duckdb.connect()
        con.register_filesystem(fs)
        con.sql(f"SELECT count(*) FROM read_parquet('{url}')").fetchall()
        con.close()
    return sum(mine.got), sum(raw.got)


def listing_requests(
    ours: DistFileSystem, theirs: Any, bucket: str, partitions: int = 8, files: int = 1001
) -> list[tuple[str, int, int]]:
    """Requests of ``ls``, ``find`` and ``glob`` of ``partitions`` x ``files`` objects, each side."""
    names = [f"part={p}/f{i:05}.parquet" for p in range(partitions) for i in range(files)]
    ours.pipe({f"/data/{name}": b"x" for name in names})
    theirs.pipe({f"{bucket}/data/{name}": b"x" for name in names})
    mine, raw = metered(ours, theirs)
    calls: list[tuple[str, Callable[[Any, str], object]]] = [
        ("ls(prefix)", lambda fs, root: fs.ls(f"{root}/data")),
        ("find(prefix)", lambda fs, root: fs.find(f"{root}/data")),
        ("glob(prefix/part=*/*.parquet)", lambda fs, root: fs.glob(f"{root}/data/part=*/*.parquet")),
    ]
    rows = []
    for name, call in calls:
        mine.reset()
        raw.reset()
        theirs.invalidate_cache()
        call(ours, "")
        call(theirs, bucket)
        rows.append((name, mine.requests, raw.requests))
    return rows


def in_flight(
    endpoint: str, parameters: dict[str, Any], count: int = 64, delay: float = 0.02
) -> list[tuple[str, int, int]]:
    """The most requests each side holds at once for ``pipe`` and ``cat`` of ``count`` paths."""
    with DelayProxy(endpoint, delay) as proxy:
        ours = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": proxy.endpoint})
        theirs = s3fs_for(parameters, proxy.endpoint)
        bucket = parameters["bucket"]
        mine = [f"/flight/f{i:03}" for i in range(count)]
        raw = [f"{bucket}/flight-raw/f{i:03}" for i in range(count)]
        ours.ls("/")  # the clients, made before the figures
        theirs.ls(bucket)
        rows = []
        for name, call_ours, call_raw in (
            (
                "pipe",
                lambda: ours.pipe(dict.fromkeys(mine, b"x" * 100)),
                lambda: theirs.pipe(dict.fromkeys(raw, b"x" * 100)),
            ),
            ("cat", lambda: ours.cat(mine), lambda: theirs.cat(raw)),
        ):
            peaks = []
            for call in (call_ours, call_raw):
                proxy.peak = 0
                call()
                peaks.append(proxy.peak)
            rows.append((name, peaks[0], peaks[1]))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distfs.tools.fetching", description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1001, help="files per partition of the listing (8 partitions)")
    parser.add_argument("--delay", type=float, default=20.0, help="ms per request at the proxy (in-flight figures)")
    options = parser.parse_args(argv)
    with LocalStores() as stores:
        parameters = stores.parameters("s3")
        ours = DistFileSystem(driver="s3", skip_instance_cache=True, **parameters)
        reference = stores.parameters("s3")
        theirs, bucket = s3fs_for(reference), reference["bucket"]
        moved, raw, size = footer_bytes(ours, theirs, bucket)
        print("| parquet metadata read (`pq.read_metadata`) | distfs | s3fs | distfs / s3fs |")
        print("|---|---|---|---|")
        print(f"| bytes moved by GETs (file of {size:,} B) | {moved:,} | {raw:,} | {moved / raw:.2f} |")
        moved, raw = duckdb_count_bytes(ours, theirs, bucket)
        print(f"| duckdb `count(*)` of the same file: bytes | {moved:,} | {raw:,} | {moved / raw:.2f} |")
        print()
        print(f"| listing 8 partitions x {options.files:,} files | distfs requests | s3fs requests |")
        print("|---|---|---|")
        for name, mine, theirs_count in listing_requests(ours, theirs, bucket, files=options.files):
            print(f"| `{name}` | {mine} | {theirs_count} |")
        print()
        print(f"| 64 paths at {options.delay:g} ms per request | distfs peak in flight | s3fs peak in flight |")
        print("|---|---|---|")
        for name, mine, theirs_count in in_flight(
            stores.endpoint("s3"), stores.parameters("s3"), delay=options.delay / 1000
        ):
            print(f"| `{name}` | {mine} | {theirs_count} |")


if __name__ == "__main__":
    main()
