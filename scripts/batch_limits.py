"""Does the async driver's limit of 64 requests in flight hold distfs back? (issue 26)

On s3 (moto) behind ``distfs.tools.delayproxy.DelayProxy`` (``--delay`` ms per request,
20 by default), in one process, alternating, 9 rounds, median seconds and the most
requests in flight the proxy saw:

* 100 ``distfs.aio`` gets of 10 kB with the limit (and the s3 client's connection pool)
  at 64, 100 and 128, against obstore's ``get_async`` of the same objects;
* ``pipe`` of 100 x 10 kB through ``distfs://`` with the limit at 16, 32 and 64,
  against s3fs's ``pipe``;
* CPU milliseconds of this process per get: through ``distfs.aio``, and through the
  same aiobotocore client called directly (what distfs's own layers add).

    python scripts/batch_limits.py [--delay MS]

docs/performance.md ("Batch calls behind a 20 ms proxy") shows its figures.
"""

import argparse
import asyncio
import os
import statistics
import time

import distfs.aio.driver as aio_driver
import distfs.backends.s3.client as s3_client
from distfs import aio
from distfs.fsspec import DistFileSystem
from distfs.tools.batch import _obstore_get_all
from distfs.tools.delayproxy import DelayProxy
from distfs.tools.local import LocalStores

PATHS = [f"/o/f{i:04}" for i in range(100)]
DATA = os.urandom(10_000)


def limited(limit, make):
    """``make()`` with the async limit and the s3 pool set to ``limit`` (read when the driver is made)."""
    aio_driver.DEFAULT_CONCURRENCY = s3_client.POOL_CONNECTIONS = limit
    return make()


def filesystem(parameters, endpoint):
    """A ``distfs://`` filesystem on s3 whose async driver is made now (it is made on first use)."""
    fs = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": endpoint})
    fs.ls("/")
    return fs


async def alternate(sides, proxy, rounds=9):
    times = {name: [] for name in sides}
    peaks = dict.fromkeys(sides, 0)
    for call in sides.values():
        await call()  # warm
    for round_ in range(rounds):
        for name, call in list(sides.items())[:: 1 if round_ % 2 == 0 else -1]:
            proxy.peak = 0
            began = time.perf_counter()
            await call()
            times[name].append(time.perf_counter() - began)
            peaks[name] = max(peaks[name], proxy.peak)
    return {name: (statistics.median(ts), peaks[name]) for name, ts in times.items()}


async def gets(endpoint, parameters, proxy):
    drivers = {}
    for limit in (64, 100, 128):
        drivers[limit] = await limited(limit, lambda: aio.create("s3", {**parameters, "regionendpoint": endpoint}))
        await drivers[limit].list("/")
    await asyncio.gather(*(drivers[64].put_content(path, DATA) for path in PATHS))
    sides = {
        f"aio limit {limit}": (lambda d=driver: asyncio.gather(*(d.get_content(p) for p in PATHS)))
        for limit, driver in drivers.items()
    }
    sides["obstore"] = _obstore_get_all(parameters, endpoint, [p[1:] for p in PATHS])
    result = await alternate(sides, proxy)
    driver = drivers[64]
    client = await driver.engine.store.client()
    gate = asyncio.Semaphore(64)

    async def direct(key):
        async with gate:
            answer = await client.get_object(Bucket=parameters["bucket"], Key=key)
            async with answer["Body"] as body:
                return await body.read()

    cpu = {}
    for name, call in (
        ("distfs.aio", lambda: asyncio.gather(*(driver.get_content(p) for p in PATHS))),
        ("aiobotocore directly", lambda: asyncio.gather(*(direct(driver.engine.key(p)) for p in PATHS))),
    ):
        samples = []
        for _ in range(7):
            used = time.process_time()
            await call()
            samples.append((time.process_time() - used) / len(PATHS) * 1000)
        cpu[name] = min(samples)
    for d in drivers.values():
        await d.close()
    return result, cpu


def pipes(parameters, proxy):
    from distfs.tools.batch import raw_s3

    systems = {limit: limited(limit, lambda: filesystem(parameters, proxy.endpoint)) for limit in (16, 32, 64)}
    raw = raw_s3(parameters, proxy.endpoint)
    theirs = [f"{parameters['bucket']}/raw{p}" for p in PATHS]

    def wrap(call):
        async def run():
            call()

        return run

    sides = {
        f"pipe limit {limit}": wrap(lambda fs=fs: fs.pipe(dict.fromkeys(PATHS, DATA))) for limit, fs in systems.items()
    }
    sides["s3fs pipe"] = wrap(lambda: raw.pipe(dict.fromkeys(theirs, DATA)))
    return asyncio.run(alternate(sides, proxy, rounds=7))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=20.0, help="ms per request at the proxy")
    options = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    with LocalStores() as stores, DelayProxy(stores.endpoint("s3"), options.delay / 1000) as proxy:
        parameters = stores.parameters("s3")
        result, cpu = asyncio.run(gets(proxy.endpoint, parameters, proxy))
        result.update(pipes(parameters, proxy))
    for name, (seconds, peak) in result.items():
        print(f"{name:<22} {seconds:.3f} s  peak in flight {peak}")
    for name, ms in cpu.items():
        print(f"CPU per get, {name:<22} {ms:.2f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
