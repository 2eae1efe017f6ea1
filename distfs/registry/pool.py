"""Run a function over many items on a bounded thread pool (registry calls are I/O bound)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["DEFAULT_WORKERS", "run_all"]

DEFAULT_WORKERS = 16
"""Concurrent requests when the caller gives no number."""

T = TypeVar("T")
R = TypeVar("R")


def run_all(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int = DEFAULT_WORKERS,
    on_done: Callable[[T, R], None] | None = None,
) -> list[tuple[T, R | BaseException]]:
    """Call ``fn`` on every item with at most ``workers`` calls in flight.

    Returns ``(item, result or exception)`` pairs in completion order; an exception of
    ``fn`` is returned, not raised, so one bad item never hides the others. At most
    ``2 * workers`` items are pending at once, so ``items`` may be a long generator.
    ``on_done(item, result)`` runs in the calling thread after each successful call.
    When the caller is interrupted (KeyboardInterrupt), calls not started are cancelled
    and the ones running finish, with ``on_done`` called for each, before the exception
    propagates.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    results: list[tuple[T, R | BaseException]] = []
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
            for item in items:
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
