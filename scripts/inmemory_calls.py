"""Best-of-5 milliseconds per call of the ``inmemory`` driver: get, put, stat, list, streams.

Run it against two trees to compare them (the tree first on ``PYTHONPATH`` is measured)::

    PYTHONPATH=/path/to/tree python scripts/inmemory_calls.py

docs/performance.md ("The generic store") shows it for inmemory before and after it moved
onto the generic store.
"""

import time

import distfs

driver = distfs.create("inmemory")
driver.put_content("/a/b/link", b"x" * 71)


def best(fn, n=2000):
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e3)
    return min(samples)


def stream(data):
    writer = driver.writer("/s/x")
    writer.write(data)
    writer.commit()
    with driver.reader("/s/x") as reader:
        reader.read()


print(distfs.__file__)
print("get_content 71 B", round(best(lambda: driver.get_content("/a/b/link")), 4))
print("put_content 71 B", round(best(lambda: driver.put_content("/a/b/l2", b"y" * 71)), 4))
print("stat", round(best(lambda: driver.stat("/a/b/link")), 4))
print("list", round(best(lambda: driver.list("/a/b")), 4))
print("stream 0 B", round(best(lambda: stream(b""), 500), 4))
print("stream 1 KiB", round(best(lambda: stream(b"k" * 1024), 500), 4))
print("stream 1 MiB", round(best(lambda: stream(b"m" * (1 << 20)), 50), 4))
