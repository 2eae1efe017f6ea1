"""Copies spread over a dask.distributed cluster (``migrate(..., dask=ADDRESS)``).

The transfers are cut into batches of at most ``BATCH_BYTES`` and ``BATCH_OBJECTS``, and
into at least four per worker thread so that every worker gets some. Each batch is one
task that opens both stores from their :class:`~.spec.DriverSpec` (once per worker
process) and copies its objects with the worker's own thread pool. Needs
``pip install 'distfs[data]'`` (``distributed``).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from ..driver import StorageDriver
from .pool import DEFAULT_WORKERS, run_all
from .progress import Progress
from .spec import DriverSpec
from .transfer import copy_object

__all__ = ["BATCH_BYTES", "BATCH_OBJECTS", "copy_on_cluster"]

BATCH_BYTES = 256 << 20
BATCH_OBJECTS = 256


@functools.lru_cache(maxsize=8)
def _opened(key: str) -> StorageDriver:
    document = json.loads(key)
    return DriverSpec(document["driver"], document["parameters"], document["config"]).open()


def _key(spec: DriverSpec) -> str:
    return json.dumps(
        {"driver": spec.driver, "parameters": dict(spec.parameters), "config": spec.config}, sort_keys=True
    )


def copy_batch(source: str, dest: str, batch: list[Any]) -> tuple[str, list[tuple[Any, int | str]]]:
    """Run on a worker: copy ``batch``; the worker's address, and each transfer with its
    size or an error message."""
    from distributed import get_worker

    results = run_all(lambda t: copy_object(_opened(source), _opened(dest), t), batch, DEFAULT_WORKERS)
    return get_worker().address, [(t, r if isinstance(r, int) else f"{type(r).__name__}: {r}") for t, r in results]


def copy_on_cluster(
    client: Any, source: DriverSpec, dest: DriverSpec, transfers: list[Any], progress: Progress
) -> tuple[list[tuple[Any, int | BaseException]], set[str]]:
    """Copy ``transfers`` on the cluster of ``client`` (a dask.distributed ``Client``, from
    :func:`~.cluster.client`): results as :func:`~.pool.run_all` gives them, and the
    addresses of the workers that copied."""
    from distributed import as_completed

    out: list[tuple[Any, int | BaseException]] = []
    ran: set[str] = set()
    threads = max(sum(client.nthreads().values()), 1)
    limit = max(1, min(BATCH_OBJECTS, -(-len(transfers) // (4 * threads))))
    batches: list[list[Any]] = [[]]
    size = 0
    for transfer in transfers:
        if batches[-1] and (size + transfer.size > BATCH_BYTES or len(batches[-1]) >= limit):
            batches.append([])
            size = 0
        batches[-1].append(transfer)
        size += transfer.size
    futures = [client.submit(copy_batch, _key(source), _key(dest), batch, pure=False) for batch in batches if batch]
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        worker, results = future.result()
        ran.add(worker)
        for transfer, result in results:
            if isinstance(result, int):
                progress.advance(result)
                out.append((transfer, result))
            else:
                out.append((transfer, RuntimeError(result)))
    return out, ran
