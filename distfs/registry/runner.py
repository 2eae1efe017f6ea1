"""Where the registry tools' store-sized work runs: here on a thread pool, or on a cluster.

``gc`` and ``fsck`` make their decisions in the calling process and hand the work that
grows with the store (listing files, reading links and manifests, hashing blobs,
deleting batches) to a :class:`Runner` as ``task(driver, item)`` calls. The base class
runs them on a bounded thread pool over the caller's driver;
:class:`~distfs.registry.cluster.ClusterRunner` runs the same tasks on dask workers,
each opening the store itself. A task must be a module-level function (or a
``functools.partial`` of one) and its items and results picklable. What every call
needs alike (a large filter) goes in ``shared``, which a cluster sends to each worker
once rather than with every task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from ..driver import StorageDriver
from .pool import DEFAULT_WORKERS, Pace, run_all

__all__ = ["Runner"]

T = TypeVar("T")
R = TypeVar("R")


class Runner:
    """Runs tasks over ``driver`` with at most ``workers`` in flight (see the module docstring).

    ``spread`` says whether work should be cut into many partitions (a cluster) rather
    than done by the fewest requests (one flat listing here). ``pace`` is what the
    runner's reads learnt of the store (:class:`~.pool.Pace`): whether its calls wait.
    """

    spread = False

    def __init__(self, driver: StorageDriver, workers: int = DEFAULT_WORKERS) -> None:
        self.driver = driver
        self.workers = workers
        self.pace = Pace()

    @property
    def parallelism(self) -> int:
        """How many tasks run at once: the partitions worth cutting a store-sized job into."""
        return self.workers

    def map(
        self,
        task: Callable[..., R],
        items: Iterable[T],
        on_done: Callable[[T, R], None] | None = None,
        *,
        shared: Mapping[str, object] | None = None,
        reads: bool = False,
    ) -> list[tuple[T, R | BaseException]]:
        """``task(driver, item, **shared)`` for every item, as :func:`~.pool.run_all` returns
        and calls back. ``reads``: the task only reads, so it runs in the calling thread
        while the store's calls are fast (``run_all``'s ``pace``, this runner's
        :attr:`pace`); never for a task that writes, copies or deletes."""
        extra = dict(shared or {})
        pace = self.pace if reads else None
        return run_all(lambda item: task(self.driver, item, **extra), items, self.workers, on_done, pace)
