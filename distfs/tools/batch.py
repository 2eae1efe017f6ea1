"""Batch calls of ``distfs://`` against s3fs's own, behind a delay proxy (``distfs bench --delay MS``).

zarr, dask and fsspec's generic copy issue batch calls (``cat``, ``pipe``, ``du``, ``rm``
of many paths). On loopback without delay their cost hides; behind :class:`DelayProxy`
every request costs what a remote store's would, so a batch that runs its paths one after
another shows. Both sides run in the same process, on the same moto server, behind the
same proxy: ``distfs`` is :class:`~distfs.fsspec.DistFileSystem` on the ``s3`` driver,
``raw`` is an ``s3fs.S3FileSystem`` with the same credentials and default settings (its
listings cache emptied before every timed call, so both sides ask the store). Each
workload runs ``repeats`` times, alternating which side goes first; the figure is the
median. Target: distfs within :data:`TARGET` times s3fs.

The ``aio`` workload is ``distfs.aio``: ``asyncio.gather`` of ``get_content`` of every
object on the async ``s3`` driver against s3fs's own coroutine ``_cat`` of the same
number of objects (an ``asynchronous=True`` S3FileSystem), both on one event loop of this
module's. Target: :data:`AIO_TARGET`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from .. import aio
from ..fsspec import DistFileSystem
from .delayproxy import DelayProxy

__all__ = ["TARGET", "WORKLOADS", "BatchRow", "print_rows", "run_batch"]

WORKLOADS = ("pipe", "cat", "aio", "du", "rm")
TARGET = 1.5
#: distfs.aio's get_content of many objects against s3fs's ``_cat`` (issue 19).
AIO_TARGET = 1.3


@dataclass(frozen=True)
class BatchRow:
    """One workload: median seconds of each side, and their ratio."""

    workload: str
    ours: float
    raw: float

    @property
    def ratio(self) -> float:
        return self.ours / self.raw if self.raw else float("inf")

    @property
    def target(self) -> float:
        return AIO_TARGET if self.workload == "aio" else TARGET

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def run_batch(
    endpoint: str, parameters: dict[str, Any], *, delay: float, count: int = 100, size: int = 10_000, repeats: int = 3
) -> list[BatchRow]:
    """Time each of :data:`WORKLOADS` on ``count`` objects of ``size`` bytes, ``delay`` seconds per request."""
    from s3fs import S3FileSystem

    with DelayProxy(endpoint, delay) as proxy:
        ours = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": proxy.endpoint})
        raw = S3FileSystem(
            key=parameters["accesskey"],
            secret=parameters["secretkey"],
            endpoint_url=proxy.endpoint,
            client_kwargs={"region_name": parameters.get("region", "us-east-1")},
            skip_instance_cache=True,
        )
        loop = asyncio.new_event_loop()
        async_ours, async_raw = loop.run_until_complete(_async_sides(parameters, proxy.endpoint))
        bucket = parameters["bucket"]
        data = os.urandom(size)
        mine = [f"/batch-distfs/f{i:04}" for i in range(count)]
        theirs = [f"{bucket}/batch-raw/f{i:04}" for i in range(count)]
        sides: dict[str, dict[str, Callable[[], object]]] = {
            "ours": {
                "pipe": lambda: ours.pipe(dict.fromkeys(mine, data)),
                "cat": lambda: ours.cat(mine),
                "aio": lambda: loop.run_until_complete(_get_all(async_ours, mine)),
                "du": lambda: ours.du("/batch-distfs"),
                "rm": lambda: ours.rm(mine),
            },
            "raw": {
                "pipe": lambda: raw.pipe(dict.fromkeys(theirs, data)),
                "cat": lambda: raw.cat(theirs),
                "aio": lambda: loop.run_until_complete(async_raw._cat(theirs)),
                "du": lambda: raw.du(f"{bucket}/batch-raw"),
                "rm": lambda: raw.rm(theirs),
            },
        }
        times: dict[tuple[str, str], list[float]] = {}
        for repeat in range(repeats):
            order = ("ours", "raw") if repeat % 2 == 0 else ("raw", "ours")
            for workload in WORKLOADS:  # pipe first: rm of the previous round emptied the store
                for side in order:
                    raw.invalidate_cache()  # s3fs's defaults, but nothing served from its listings cache
                    times.setdefault((side, workload), []).append(_timed(sides[side][workload]))
        loop.run_until_complete(async_ours.close())
        loop.run_until_complete(_close_session(async_raw))
        loop.close()
    return [BatchRow(w, statistics.median(times[("ours", w)]), statistics.median(times[("raw", w)])) for w in WORKLOADS]


async def _async_sides(parameters: dict[str, Any], endpoint: str) -> tuple[aio.AsyncStorageDriver, Any]:
    """The async s3 driver and an ``asynchronous=True`` s3fs, both ready (clients made) on the running loop."""
    from s3fs import S3FileSystem

    driver = await aio.create("s3", {**parameters, "regionendpoint": endpoint})
    raw = S3FileSystem(
        key=parameters["accesskey"],
        secret=parameters["secretkey"],
        endpoint_url=endpoint,
        client_kwargs={"region_name": parameters.get("region", "us-east-1")},
        skip_instance_cache=True,
        asynchronous=True,
    )
    await raw.set_session()
    await driver.list("/")  # the store's client, made now rather than inside the first timed call
    return driver, raw


async def _get_all(driver: aio.AsyncStorageDriver, paths: list[str]) -> list[bytes]:
    return await asyncio.gather(*(driver.get_content(path) for path in paths))


async def _close_session(fs: Any) -> None:
    client = getattr(fs, "_s3", None)
    if client is not None:
        await client.close()


def print_rows(rows: list[BatchRow], out: TextIO, *, delay: float, count: int, size: int) -> None:
    """The table of :func:`run_batch`'s figures."""
    print(f"batch calls on s3 (moto) behind a {delay * 1000:.0f} ms/request proxy: {count} x {size} bytes", file=out)
    print(f"{'call':<6} {'distfs s':>9} {'s3fs s':>9} {'ratio':>6}  target", file=out)
    for row in rows:
        verdict = "PASS" if row.passed else "MISS"
        line = f"{row.workload:<6} {row.ours:>9.3f} {row.raw:>9.3f} {row.ratio:>6.2f}  <= {row.target} {verdict}"
        print(line, file=out)
