"""``gc`` and ``fsck`` on a dask.distributed cluster (``dask=ADDRESS``).

:class:`ClusterRunner` runs the tasks of a :class:`~.runner.Runner` on the workers of a
scheduler: the items are cut into batches of at most :data:`BATCH_ITEMS`, and into at
least four per worker thread so that every worker gets some; each batch is one dask
task that opens the store from its :class:`~.spec.DriverSpec` (once per worker
process, as :mod:`.spread` does for ``migrate``) and runs its items on the worker's own
thread pool. What all tasks of a map share (gc's filter of unmarked digests) is
scattered to the workers once and named by its future in each task. Results come back
to the calling process, which keeps every decision (and logs every deletion).
:func:`client` is how every registry tool reaches a scheduler (``migrate`` too). Needs
``pip install 'distfs[data]'`` (``distributed``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from ..driver import StorageDriver
from .pool import DEFAULT_WORKERS, run_all
from .runner import Runner
from .spec import DriverSpec

__all__ = [
    "BATCH_ITEMS",
    "CONNECT_TIMEOUT",
    "ClusterRunner",
    "ClusterUnavailableError",
    "client",
    "connect",
    "runner_for",
]

BATCH_ITEMS = 64
"""Items per dask task, at most."""

CONNECT_TIMEOUT = 20.0
"""Seconds to reach the scheduler before :class:`ClusterUnavailableError`."""

T = TypeVar("T")
R = TypeVar("R")


class ClusterUnavailableError(ConnectionError):
    """The dask scheduler could not be reached; the message names its address."""


def _portable(result: object) -> object:
    """``result``, or a RuntimeError with its message when it cannot be pickled home."""
    if isinstance(result, BaseException):
        import pickle  # on a worker only

        try:
            pickle.dumps(result)
        except Exception:
            return RuntimeError(f"{type(result).__name__}: {result}")
    return result


def run_batch(key: str, task: Callable[..., Any], batch: list[Any], shared: dict[str, Any]) -> tuple[str, list[Any]]:
    """Run on a worker: ``task(driver, item, **shared)`` over ``batch`` (dask has replaced
    the futures of ``shared`` by their values); the worker's address and ``(item, result
    or error)`` pairs."""
    from distributed import get_worker

    from .spread import _opened  # with what a worker needs only: not imported by a run here

    driver = _opened(key)
    results = run_all(lambda item: task(driver, item, **shared), batch, DEFAULT_WORKERS)
    return get_worker().address, [(item, _portable(result)) for item, result in results]


class ClusterRunner(Runner):
    """A :class:`~.runner.Runner` whose tasks run on the workers of ``client``.

    ``driver`` is the calling process's own driver on the store (for what stays here);
    ``ran`` collects the addresses of the workers that ran a batch.
    """

    spread = True

    def __init__(self, client: Any, spec: DriverSpec, driver: StorageDriver, workers: int = DEFAULT_WORKERS) -> None:
        from .spread import _key

        super().__init__(driver, workers)
        self.client = client
        self.key = _key(spec)
        self.ran: set[str] = set()

    @property
    def parallelism(self) -> int:
        """The threads of the cluster's workers."""
        threads: dict[str, int] = self.client.nthreads()
        return max(sum(threads.values()), 1)

    def map(
        self,
        task: Callable[..., R],
        items: Iterable[T],
        on_done: Callable[[T, R], None] | None = None,
        *,
        shared: Mapping[str, object] | None = None,
        reads: bool = False,
    ) -> list[tuple[T, R | BaseException]]:
        """As :meth:`Runner.map` (``reads`` changes nothing: every batch goes to a worker);
        ``on_done`` runs here as each batch comes back. Each value of ``shared`` is sent to
        every worker once (``scatter``), and the tasks name it by its future. At most two
        batches per worker thread are in flight; when interrupted (KeyboardInterrupt), no
        further batch is sent and those in flight finish, called back, before it
        propagates."""
        from distributed import as_completed, wait

        todo = list(items)
        handles = {  # (None travels inline)
            name: None if value is None else self.client.scatter([value], broadcast=True, hash=False)[0]
            for name, value in (shared or {}).items()
        }
        threads = self.parallelism
        size = max(1, min(BATCH_ITEMS, -(-len(todo) // (4 * threads))))
        batches = iter([todo[i : i + size] for i in range(0, len(todo), size)])
        flying: set[Any] = set()
        arrived = as_completed()  # type: ignore[no-untyped-call]
        out: list[tuple[T, R | BaseException]] = []

        def send() -> None:
            batch = next(batches, None)
            if batch is not None:
                future = self.client.submit(run_batch, self.key, task, batch, handles, pure=False)
                flying.add(future)
                arrived.add(future)  # type: ignore[no-untyped-call]

        def collect(future: Any) -> None:
            flying.discard(future)
            worker, results = future.result()
            self.ran.add(worker)
            for item, result in results:
                out.append((item, result))
                if on_done is not None and not isinstance(result, BaseException):
                    on_done(item, result)

        for _ in range(2 * threads):
            send()
        try:
            for future in arrived:
                collect(future)
                send()
        except BaseException:
            wait(list(flying))  # type: ignore[no-untyped-call]
            for future in list(flying):
                if future.status == "finished":
                    collect(future)
            raise
        return out


@contextlib.contextmanager
def client(address: str) -> Iterator[Any]:
    """A dask.distributed ``Client`` of the scheduler at ``address``, closed on exit;
    :class:`ClusterUnavailableError` naming the address if it cannot be reached within
    :data:`CONNECT_TIMEOUT` seconds (``gc``, ``fsck`` and ``migrate`` all connect here)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("registry tools with dask need distributed: pip install 'distfs[data]'") from None
    try:
        opened = Client(address, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
    except OSError as exc:  # TimeoutError too
        raise ClusterUnavailableError(f"dask scheduler {address}: cannot connect ({exc})") from None
    with opened:
        yield opened


@contextlib.contextmanager
def connect(address: str, spec: DriverSpec, driver: StorageDriver, workers: int) -> Iterator[ClusterRunner]:
    """A :class:`ClusterRunner` on the scheduler at ``address``, for the store of ``spec``."""
    with client(address) as opened:
        yield ClusterRunner(opened, spec, driver, workers)


@contextlib.contextmanager
def runner_for(store: StorageDriver | DriverSpec, workers: int, dask: str | None, command: str) -> Iterator[Runner]:
    """The runner of ``command`` on ``store``: on the cluster at ``dask`` (``store`` must then
    be a DriverSpec, which the workers open), else a thread pool here."""
    if dask is None:
        yield Runner(store.open() if isinstance(store, DriverSpec) else store, workers)
        return
    if not isinstance(store, DriverSpec):
        raise TypeError(f"{command} with dask needs a DriverSpec store: drivers cannot travel to the workers")
    with connect(dask, store, store.open(), workers) as runner:
        yield runner
