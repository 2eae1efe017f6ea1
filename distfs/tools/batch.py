"""Batch calls of ``distfs://`` against s3fs's own, behind a delay proxy (``distfs bench --delay MS``).

zarr, dask and fsspec's generic copy issue batch calls (``cat``, ``pipe``, ``du``, ``rm``
of many paths). On loopback without delay their cost hides; behind :class:`DelayProxy`
every request costs what a remote store's would, so a batch that runs its paths one after
another shows. Both sides run in the same process, on the same moto server, behind the
same proxy (a process of its own): ``distfs`` is :class:`~distfs.fsspec.DistFileSystem` on
the ``s3`` driver, ``raw`` is an ``s3fs.S3FileSystem`` with the same credentials and
default settings (its listings cache emptied before every timed call, so both sides ask
the store). Each workload runs ``repeats`` times, alternating which side goes first; the
figure is the median, and the proxy counts the most requests each side had in flight.
Target: distfs within :data:`TARGET` times s3fs.

The ``aio`` workload is ``distfs.aio``: ``asyncio.gather`` of ``get_content`` of every
object on the async ``s3`` driver against s3fs's own coroutine ``_cat`` of the same
number of objects (an ``asynchronous=True`` S3FileSystem), both on one event loop of this
module's; target :data:`AIO_TARGET`. The ``obstore`` row compares the same ``distfs.aio``
samples with obstore (the Rust-based peer, in the ``bench`` extra): ``asyncio.gather`` of
``obstore.get_async`` of the very objects ``distfs.aio`` reads, their bytes read whole, on
the same loop; target :data:`OBSTORE_TARGET`. Without obstore installed the row is left out.

Beside each time, the CPU time this process spent on it (median, every thread's: the
client's work, since the proxy and moto run in processes of their own): on a shared
machine a side's time follows its CPU time, so this is where a gap comes from.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from .. import aio
from ..fsspec import DistFileSystem
from .delayproxy import DelayProxy

__all__ = ["AIO_TARGET", "OBSTORE_TARGET", "TARGET", "WORKLOADS", "BatchRow", "print_rows", "raw_s3", "run_batch"]

WORKLOADS = ("pipe", "cat", "aio", "obstore", "du", "rm")
#: distfs:// against s3fs, each batch call (issue 26).
TARGET = 1.0
#: distfs.aio's get_content of many objects against s3fs's ``_cat`` (issue 26).
AIO_TARGET = 0.6
#: distfs.aio's get_content of many objects against obstore's ``get_async`` (issue 26).
OBSTORE_TARGET = 1.2


@dataclass(frozen=True)
class BatchRow:
    """One workload: median seconds of each side, their ratio, each side's peak in flight and
    median CPU seconds of this process."""

    workload: str
    ours: float
    raw: float
    peak_ours: int = 0
    peak_raw: int = 0
    cpu_ours: float = 0.0
    cpu_raw: float = 0.0

    @property
    def ratio(self) -> float:
        return self.ours / self.raw if self.raw else float("inf")

    @property
    def target(self) -> float:
        return {"aio": AIO_TARGET, "obstore": OBSTORE_TARGET}.get(self.workload, TARGET)

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target

    @property
    def theirs(self) -> str:
        """What the workload is compared with."""
        return "obstore" if self.workload == "obstore" else "s3fs"


def run_batch(
    endpoint: str, parameters: dict[str, Any], *, delay: float, count: int = 100, size: int = 10_000, repeats: int = 5
) -> list[BatchRow]:
    """Time each of :data:`WORKLOADS` on ``count`` objects of ``size`` bytes, ``delay`` seconds per request."""
    with DelayProxy(endpoint, delay) as proxy:
        ours = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": proxy.endpoint})
        raw = raw_s3(parameters, proxy.endpoint)
        loop = asyncio.new_event_loop()
        async_ours, async_raw = loop.run_until_complete(_async_sides(parameters, proxy.endpoint))
        bucket = parameters["bucket"]
        data = os.urandom(size)
        mine = [f"/batch-distfs/f{i:04}" for i in range(count)]
        theirs = [f"{bucket}/batch-raw/f{i:04}" for i in range(count)]
        get_all = _obstore_get_all(parameters, proxy.endpoint, [_key(parameters, path) for path in mine])
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
        if get_all is not None:
            sides["raw"]["obstore"] = lambda: loop.run_until_complete(get_all())
        times: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        peaks: dict[tuple[str, str], int] = {}
        for repeat in range(repeats):
            order = ("ours", "raw") if repeat % 2 == 0 else ("raw", "ours")
            for workload in WORKLOADS:  # pipe first: rm of the previous round emptied the store
                for side in order:
                    call = sides[side].get(workload)
                    if call is None:  # obstore's row: distfs's side is the aio workload's
                        continue
                    raw.invalidate_cache()  # s3fs's defaults, but nothing served from its listings cache
                    proxy.peak = 0
                    began, used = time.perf_counter(), time.process_time()
                    call()
                    times.setdefault((side, workload), []).append(time.perf_counter() - began)
                    cpu.setdefault((side, workload), []).append(time.process_time() - used)
                    peaks[(side, workload)] = max(peaks.get((side, workload), 0), proxy.peak)
        loop.run_until_complete(async_ours.close())
        loop.run_until_complete(_close_session(async_raw))
        loop.close()
    rows = []
    for workload in WORKLOADS:
        mine_as = "aio" if workload == "obstore" else workload
        if ("raw", workload) not in times:
            continue
        rows.append(
            BatchRow(
                workload,
                statistics.median(times[("ours", mine_as)]),
                statistics.median(times[("raw", workload)]),
                peaks[("ours", mine_as)],
                peaks[("raw", workload)],
                statistics.median(cpu[("ours", mine_as)]),
                statistics.median(cpu[("raw", workload)]),
            )
        )
    return rows


def _key(parameters: dict[str, Any], path: str) -> str:
    """The bucket key of s3 driver path ``path`` (below its ``rootdirectory``)."""
    root = str(parameters.get("rootdirectory", "")).strip("/")
    return f"{root}{path}" if root else path.lstrip("/")


def _obstore_get_all(parameters: dict[str, Any], endpoint: str, keys: list[str]) -> Callable[[], Any] | None:
    """A coroutine function getting every key whole through obstore; None without obstore."""
    if importlib.util.find_spec("obstore") is None:
        return None
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        parameters["bucket"],
        endpoint=endpoint,
        access_key_id=parameters["accesskey"],
        secret_access_key=parameters["secretkey"],
        region=parameters.get("region", "us-east-1"),
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )

    async def one(key: str) -> bytes:
        result = await obstore.get_async(store, key)
        return bytes(await result.bytes_async())

    async def get_all() -> list[bytes]:
        return await asyncio.gather(*(one(key) for key in keys))

    return get_all


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
    """The table of :func:`run_batch`'s figures (load average beside them: the machine may be shared)."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"batch calls on s3 (moto) behind a {delay * 1000:.0f} ms/request proxy: {count} x {size} bytes", file=out)
    print(f"load average (1, 5, 15 min) at the end: {load}", file=out)
    header = f"{'call':<8} {'distfs s':>9} {'other s':>9} {'other':<8} {'ratio':>6}  {'target':<11}  "
    print(header + "peak in flight  CPU s", file=out)
    for row in rows:
        verdict = "PASS" if row.passed else "MISS"
        line = (
            f"{row.workload:<8} {row.ours:>9.3f} {row.raw:>9.3f} {row.theirs:<8} {row.ratio:>6.2f}  "
            f"<= {row.target} {verdict}  {row.peak_ours:>3} / {row.peak_raw:<3}       "
            f"{row.cpu_ours:.3f} / {row.cpu_raw:.3f}"
        )
        print(line, file=out)


def raw_s3(parameters: dict[str, Any], endpoint: str) -> Any:
    """s3fs's ``S3FileSystem`` on the store of ``parameters`` (an ``s3`` driver's) at ``endpoint``: the raw side."""
    from s3fs import S3FileSystem

    return S3FileSystem(
        key=parameters["accesskey"],
        secret=parameters["secretkey"],
        endpoint_url=endpoint,
        client_kwargs={"region_name": parameters.get("region", "us-east-1")},
        skip_instance_cache=True,
    )
