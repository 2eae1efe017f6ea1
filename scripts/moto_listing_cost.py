"""moto's own cost of ListObjectsV2 (its S3 model in this process: no HTTP, no boto3).

    python scripts/moto_listing_cost.py 10000 100000

For each N: a bucket of N keys (the first 10,000 under ``a/``, the rest under ``b/``), all
of them listed page by page (1000 keys a page), then the same 10,000 keys under ``a/``.
Prints the CPU seconds of each. If a page cost the same whatever the bucket holds, the
first would grow as N and the second stay put (docs/performance.md, "gc at scale").
"""

import sys
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]


def pages(bucket, prefix):
    """List ``prefix`` of ``bucket`` to the end: pages, keys, CPU seconds."""
    token, count, keys = None, 0, 0
    began = time.process_time()
    while True:
        result, truncated, token = backend.list_objects_v2(bucket, prefix, None, token, None, 1000)
        count += 1
        keys += len(result)
        if not truncated:
            return count, keys, time.process_time() - began


for total in map(int, sys.argv[1:]):
    name = f"m{total}"
    bucket = backend.create_bucket(name, "us-east-1")
    for i in range(total):
        group = "a" if i < 10_000 else "b"
        backend.put_object(name, f"{group}/blobs/sha256/{i % 256:02x}/{i:064x}/data", b"x")
    n, keys, seconds = pages(bucket, "")
    a_n, a_keys, a_seconds = pages(bucket, "a/")
    print(
        f"bucket of {total} keys: all {keys} keys in {n} pages, {seconds:.2f} s CPU ({seconds / n * 1000:.0f} ms a page); "
        f"the same {a_keys} keys under a/: {a_n} pages, {a_seconds:.2f} s ({a_seconds / a_n * 1000:.0f} ms a page)",
        flush=True,
    )
    backend.buckets.pop(name)
