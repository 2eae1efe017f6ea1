"""Where ``rm`` of 100 names goes behind the delay proxy, against s3fs's one request (issue 26).

``DistFileSystem.rm(paths)`` on s3 sends two requests at once: ``DeleteObjects`` naming
the 100 objects and their 100 journal keys, and ``ListMultipartUploads`` (a multipart
upload left by a killed ``copy_in_parts`` or append copy has no journal; only this
listing finds it). s3fs sends one ``DeleteObjects`` of the 100 objects. This script shows
what each part costs, on s3 (moto):

* moto's time per request, straight to moto (no proxy; botocore, so the client's time
  is in it): ``DeleteObjects`` of the 100 objects, of the objects and their journals,
  ``ListMultipartUploads``, ``HeadBucket`` (a request that does nothing), and the
  pairs sent at once;
* behind ``DelayProxy`` (``--delay`` ms, 20 by default), rounds alternating which goes
  first, median ms: s3fs's ``rm``, distfs's ``rm``, and the same S3 requests sent through
  distfs's s3 store on its event loop without the engine, the subsets being what an
  ``rm`` that kept less would send (the lower bounds: each leaves something of a deleted
  name behind, which the driver contract forbids).

    python scripts/rm_costs.py [--delay MS] [--rounds N]

docs/performance.md ("Batch calls behind a 20 ms proxy", the ``rm`` bullet) shows its figures.
"""

import argparse
import asyncio
import concurrent.futures
import os
import statistics
import time

import botocore.session

from distfs.engine.loop import run
from distfs.fsspec import DistFileSystem
from distfs.tools.batch import raw_s3
from distfs.tools.delayproxy import DelayProxy
from distfs.tools.local import LocalStores

COUNT = 100
DATA = os.urandom(10_000)


def server_times(endpoint, parameters, rounds):
    """Median ms of each request (and pair) straight to moto."""
    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=parameters["accesskey"],
        aws_secret_access_key=parameters["secretkey"],
        region_name="us-east-1",
    )
    bucket = parameters["bucket"]
    keys = [f"cost/f{i:04}" for i in range(COUNT)]
    journals = [f".distfs~/uploads/cost/f{i:04}/.distfs~/state" for i in range(COUNT)]

    def delete(names):
        return lambda: client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in names], "Quiet": True}
        )

    uploads = lambda: client.list_multipart_uploads(Bucket=bucket, Prefix="cost")  # noqa: E731
    calls = {
        "DeleteObjects, 100 objects": [delete(keys)],
        "DeleteObjects, 100 objects + 100 journals": [delete(keys + journals)],
        "ListMultipartUploads": [uploads],
        "HeadBucket": [lambda: client.head_bucket(Bucket=bucket)],
        "DeleteObjects 100 | ListMultipartUploads": [delete(keys), uploads],
        "DeleteObjects 200 | ListMultipartUploads": [delete(keys + journals), uploads],
    }
    times = {name: [] for name in calls}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for _ in range(rounds):
            for name, sent in calls.items():
                list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=DATA), keys))
                began = time.perf_counter()
                for future in [pool.submit(call) for call in sent]:
                    future.result()
                times[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def behind_proxy(endpoint, parameters, delay, rounds):
    """Median ms of each way of deleting 100 objects behind the proxy, and requests each sent."""
    with DelayProxy(endpoint, delay) as proxy:
        ours = DistFileSystem(driver="s3", skip_instance_cache=True, **{**parameters, "regionendpoint": proxy.endpoint})
        raw = raw_s3(parameters, proxy.endpoint)
        engine = ours.driver._inner.engine
        store = engine.store
        mine = [f"/rm-distfs/f{i:04}" for i in range(COUNT)]
        theirs = [f"{parameters['bucket']}/rm-raw/f{i:04}" for i in range(COUNT)]
        keys = [engine.key(path) for path in mine]
        journals = [engine.key(engine.upload_dir(path)) + "/state" for path in mine]
        prefix = engine.key("/rm-distfs")

        async def at_once(*coroutines):
            return await asyncio.gather(*coroutines)

        ways = {
            "s3fs rm (DeleteObjects 100)": lambda: raw.rm(theirs),
            "distfs rm (ListMultipartUploads | DeleteObjects 200)": lambda: ours.rm(mine),
            "lower bound: distfs's store, DeleteObjects 100": lambda: run(store.delete_many(keys)),
            "lower bound: DeleteObjects 200 alone": lambda: run(store.delete_many(keys + journals)),
            "distfs's store, ListMultipartUploads | DeleteObjects 200": lambda: run(
                at_once(store.list_uploads(prefix), store.delete_many(keys + journals))
            ),
            "lower bound: ListMultipartUploads | DeleteObjects 100": lambda: run(
                at_once(store.list_uploads(prefix), store.delete_many(keys))
            ),
        }
        times = {name: [] for name in ways}
        sent = {name: set() for name in ways}
        for repeat in range(rounds):
            names = list(ways)
            names = names[repeat % len(names) :] + names[: repeat % len(names)]
            for name in names:
                ours.pipe(dict.fromkeys(mine, DATA))
                raw.pipe(dict.fromkeys(theirs, DATA))
                raw.invalidate_cache()
                before = proxy.requests
                began = time.perf_counter()
                ways[name]()
                times[name].append(time.perf_counter() - began)
                sent[name].add(proxy.requests - before)
        return {name: (statistics.median(values) * 1000, sent[name]) for name, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=20.0, help="ms per request (default 20)")
    parser.add_argument("--rounds", type=int, default=15)
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with LocalStores() as stores:
        endpoint = stores.endpoint("s3")
        print("moto's time per request, no proxy (median ms):")
        for name, ms in server_times(endpoint, stores.parameters("s3"), options.rounds).items():
            print(f"  {name:<46} {ms:6.2f}")
        print(f"behind the proxy at {options.delay:g} ms (median ms, ratio to s3fs, requests):")
        rows = behind_proxy(endpoint, stores.parameters("s3"), options.delay / 1000, options.rounds)
        base = rows["s3fs rm (DeleteObjects 100)"][0]
        for name, (ms, sent) in rows.items():
            print(f"  {name:<55} {ms:6.2f}  {ms / base:5.2f}  {sorted(sent)}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
