"""The registry's thread pool: reads run in the calling thread while the store does not wait.

``run_all`` with a :class:`~distfs.registry.pool.Pace` (reads only) starts no thread for
calls that return without waiting (a local disk) and hands the rest of its items to the
pool once calls wait (a network store); gc's reads over a store whose calls sleep reach
the pool's concurrency and make the same decisions.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import pytest

import distfs
from distfs import registry
from distfs.middleware.wrapper import Middleware
from distfs.registry.pool import Pace, run_all
from distfs.tools.registry_store import put_blob, put_image

WAIT = 0.01
"""A call's sleep where the store is to look slow: fifty times :data:`~distfs.registry.pool.FAST_CALL`."""

TRIES = 3
"""Runs of a test of calls that must not look slow: on a busy machine two calls in a row
may each be pre-empted long enough to look so (the pool then runs the rest, as before)."""


class Calls:
    """Records which threads ran the calls it times, and the most at once."""

    def __init__(self, delay: float = 0.0, slow: frozenset[int] = frozenset()) -> None:
        self.delay = delay
        self.slow = slow
        self.threads: list[int] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, item: int) -> int:
        with self._lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.delay or item in self.slow:
                time.sleep(self.delay or WAIT)
            if item < 0:
                raise ValueError(f"negative: {item}")
            return item * 2
        finally:
            with self._lock:
                self.running -= 1

    @property
    def here(self) -> bool:
        """Whether every call ran in the calling thread."""
        return set(self.threads) == {threading.get_ident()}


def test_calls_that_never_wait_run_in_the_calling_thread_in_order() -> None:
    calls, pace, done = Calls(), Pace(), []
    results = run_all(calls, [1, -1, 2, 3], 4, lambda item, value: done.append((item, value)), pace)
    assert calls.here
    assert not pace.slow
    assert [(item, value if isinstance(value, int) else repr(value)) for item, value in results] == [
        (1, 2),
        (-1, "ValueError('negative: -1')"),  # returned, not raised, as on the pool
        (2, 4),
        (3, 6),
    ]
    assert done == [(1, 2), (2, 4), (3, 6)]


def test_calls_that_wait_move_to_the_pool_and_reach_its_concurrency() -> None:
    calls, pace = Calls(delay=WAIT), Pace()
    results = run_all(calls, range(40), 8, pace=pace)
    assert pace.slow
    assert sorted(value for _, value in results) == [n * 2 for n in range(40)]
    main = threading.get_ident()
    assert calls.threads[: pace.patience] == [main] * pace.patience  # what it took to learn
    assert main not in calls.threads[pace.patience :]
    assert calls.most == 8


def test_a_store_found_slow_stays_slow_for_the_job() -> None:
    pace = Pace(slow=True)
    calls = Calls()
    run_all(calls, range(10), 4, pace=pace)
    assert threading.get_ident() not in calls.threads


def test_one_pre_empted_call_is_no_slow_store() -> None:
    def stays_here() -> bool:
        calls, pace = Calls(slow=frozenset({3, 7})), Pace()  # waits, but never twice in a row
        run_all(calls, range(12), 4, pace=pace)
        return calls.here and not pace.slow

    assert any(stays_here() for _ in range(TRIES))


def test_the_last_calls_are_not_judged() -> None:
    """A run of one item gains nothing from a pool, however long it takes."""
    calls, pace = Calls(delay=WAIT), Pace()
    assert run_all(calls, [5], 4, pace=pace) == [(5, 10)]
    assert calls.here
    assert not pace.slow


def test_without_a_pace_every_call_goes_to_the_pool() -> None:
    calls = Calls()
    run_all(calls, range(4), 2)
    assert threading.get_ident() not in calls.threads


def test_an_interrupted_call_here_propagates_at_once() -> None:
    started: list[int] = []

    def interrupted(item: int) -> int:
        started.append(item)
        if item == 2:
            raise KeyboardInterrupt
        return item

    with pytest.raises(KeyboardInterrupt):
        run_all(interrupted, range(10), 4, pace=Pace())
    assert started == [0, 1, 2]


class Latency(Middleware):
    """A store whose reads take ``delay`` seconds (a network filesystem's round trip):
    records the threads that read and the most reads at once."""

    def __init__(self, wrapped: distfs.StorageDriver, delay: float) -> None:
        super().__init__(wrapped)
        self.calls = Calls(delay)

    def get_content(self, path: str) -> bytes:
        self.calls(0)
        return self.wrapped.get_content(path)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        self.calls(0)
        return self.wrapped.reader(path, offset)


@pytest.fixture
def images(tmp_path: Path) -> distfs.StorageDriver:
    """A store of 24 tagged images, 8 untagged manifests and some garbage blobs."""
    store = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "store")})
    for n in range(24):
        put_image(store, "team/app", f"v{n}", [os.urandom(100)], workers=1)
    for _ in range(8):
        put_image(store, "team/app", None, [os.urandom(100)], workers=1)
        put_blob(store, os.urandom(50))
    return store


def test_gc_reads_a_fast_store_in_the_calling_thread(images: distfs.StorageDriver) -> None:
    def reads_here() -> bool:
        fast = Latency(images, 0.0)
        report = registry.gc(fast, dry_run=True, delete_untagged=True, grace=timedelta(0))
        assert len(report.manifests) == 8
        assert len(report.blobs) == 8 + 3 * 8
        assert len(fast.calls.threads) >= 24 + 24  # the tags' links and their manifests
        return fast.calls.here

    assert any(reads_here() for _ in range(TRIES))


def test_gc_reads_a_slow_store_on_the_pool_with_the_same_decisions(images: distfs.StorageDriver) -> None:
    fast = registry.gc(Latency(images, 0.0), dry_run=True, delete_untagged=True, grace=timedelta(0))
    slow = Latency(images, WAIT)
    report = registry.gc(slow, dry_run=True, delete_untagged=True, grace=timedelta(0))
    assert (report.blobs, report.manifests, report.marked) == (fast.blobs, fast.manifests, fast.marked)
    assert not slow.calls.here
    assert slow.calls.most >= 8  # reads at once, of the 16 the pool runs
