"""Run a function over many items on a bounded thread pool (registry calls are I/O bound)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["DEFAULT_WORKERS", "FAST_CALL", "Pace", "run_all"]

DEFAULT_WORKERS = 16
"""Concurrent requests when the caller gives no number."""

FAST_CALL = 0.0002
"""Seconds of waiting (beyond the call's own CPU time) that make a call slow: worth a
thread hand-over (see :class:`Pace`)."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Pace:
    """Whether a store's calls wait, learnt from the calls :func:`run_all` runs in the
    calling thread; one per job, shared by its runs that only read.

    While ``slow`` is false, such a run calls ``fn`` in the calling thread, one item after
    the other: a call that does not wait (a local disk; parsing holds the GIL, so a thread
    would not run it sooner) costs less than handing it to a thread. A call waits when
    its wall time passes its thread's CPU time by more than ``fast`` seconds.
    ``patience`` calls in a row that wait (a network filesystem, an object store; not one
    call pre-empted on a busy machine) set ``slow``: the rest of that run and every later
    one go to the pool, so a store that waits loses the time of ``patience`` calls once.
    """

    fast: float = FAST_CALL
    patience: int = 2
    slow: bool = False

    def waited(self, started: float, ran: float) -> bool:
        """Whether the call since ``perf_counter()`` was ``started`` and ``thread_time()``
        was ``ran`` waited more than ``fast`` seconds."""
        return (time.perf_counter() - started) - (time.thread_time() - ran) > self.fast


def run_all(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[T, R], None] | None = None,
    pace: Pace | None = None,
) -> list[tuple[T, R | BaseException]]:
    """Call ``fn`` on every item with at most ``workers`` calls in flight.

    Returns ``(item, result or exception)`` pairs in completion order; an exception of
    ``fn`` is returned, not raised, so one bad item never hides the others. At most
    ``2 * workers`` items are pending at once, so ``items`` may be a long generator.
    ``on_done(item, result)`` runs in the calling thread after each successful call.
    When the caller is interrupted (KeyboardInterrupt), calls not started are cancelled
    and the ones running finish, with ``on_done`` called for each, before the exception
    propagates.

    With a ``pace`` (only for calls that read: never writes, copies or deletes), items
    run in the calling thread, no thread started, until the store shows it waits
    (:class:`Pace`); the rest then go to the pool. An interruption of a call running
    here stops it, its result lost (it only read), and propagates at once.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    results: list[tuple[T, R | BaseException]] = []
    todo = iter(items)
    if pace is not None and not pace.slow:
        todo = _run_here(fn, todo, pace, on_done, results)
        if not pace.slow:  # all ran here
            return results
    pending: dict[Future[R], T] = {}

    def collect(done: Iterable[Future[R]]) -> None:
        for future in done:
            item = pending.pop(future)
            error = future.exception()
            if error is not None:
                results.append((item, error))
                continue
            value = future.result()
            results.append((item, value))
            if on_done is not None:
                on_done(item, value)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="distfs-registry") as pool:
        try:
            for item in todo:
                if len(pending) >= 2 * workers:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
                pending[pool.submit(fn, item)] = item
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                collect(done)
        except BaseException:  # KeyboardInterrupt: calls not started yet never start
            for future in pending:
                future.cancel()
            running = [future for future in pending if not future.cancelled()]
            wait(running)
            collect(running)  # what finished is reported (and called back) as if done before
            raise
    return results


def _run_here(
    fn: Callable[[T], R],
    items: Iterator[T],
    pace: Pace,
    on_done: Callable[[T, R], None] | None,
    results: list[tuple[T, R | BaseException]],
) -> Iterator[T]:
    """Call ``fn`` on ``items`` in this thread, appending to ``results``, until they run
    out or ``pace.patience`` calls in a row waited (:meth:`Pace.waited`) with items
    left (which sets ``pace.slow``); the items left. The last calls are not judged:
    nothing is left to hand over (a run of one item gains nothing from a pool, however
    long it takes)."""
    strikes = 0  # calls in a row that waited
    for item in items:
        if strikes >= pace.patience:
            pace.slow = True
            return itertools.chain((item,), items)
        started, ran = time.perf_counter(), time.thread_time()
        try:
            value = fn(item)
        except Exception as error:
            strikes = strikes + 1 if pace.waited(started, ran) else 0
            results.append((item, error))
        else:
            strikes = strikes + 1 if pace.waited(started, ran) else 0
            results.append((item, value))
            if on_done is not None:
                on_done(item, value)
    return iter(())
