"""The engine's one retry policy (distfs/retry.py, carried out by tenacity): how many attempts,
which backoff, which failures, and no retry machinery on a call that succeeds the first time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import distfs
from distfs import retry
from distfs.engine import Engine
from distfs.engine.seam import NotFound, Transient


def _engine(retries: int) -> Engine:
    """An engine with ``retries`` over a real (inmemory) store."""
    driver: Any = distfs.create("inmemory")
    return Engine(driver.inner.engine.store, retries=retries, chunk=1 << 20)


def _failing(times: int, error: type[Exception] = Transient) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    """A call that raises ``error`` its first ``times`` attempts, then answers; and its attempt count."""
    attempts = [0]

    async def make() -> str:
        attempts[0] += 1
        if attempts[0] <= times:
            raise error("k")
        return "done"

    return make, attempts


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The retry numbers whose backoff was waited (waiting nothing: ``backoff(n)`` is ``n`` seconds here)."""
    waited: list[int] = []

    def backoff(attempt: int, base: float = retry.BASE_DELAY, cap: float = retry.MAX_DELAY) -> float:
        return float(attempt)

    async def sleep(seconds: float) -> None:
        waited.append(int(seconds))

    monkeypatch.setattr(retry, "backoff", backoff)
    monkeypatch.setattr(asyncio, "sleep", sleep)
    return waited


@pytest.mark.parametrize(("retries", "failures"), [(0, 0), (1, 1), (5, 3), (5, 5)])
def test_transient_failures_are_retried_up_to_retries(retries: int, failures: int, waits: list[int]) -> None:
    make, attempts = _failing(failures)
    assert asyncio.run(_engine(retries).call(lambda: make())) == "done"  # noqa: PLW0108 (a lambda, as the engine calls)
    assert attempts == [failures + 1]
    assert waits == list(range(failures))  # retry n waits backoff(n): exponential from the first


@pytest.mark.parametrize("retries", [0, 1, 4])
def test_the_last_transient_failure_is_raised_after_retries(retries: int, waits: list[int]) -> None:
    make, attempts = _failing(retries + 1)
    with pytest.raises(Transient):
        asyncio.run(_engine(retries).call(make))
    assert attempts == [retries + 1]
    assert waits == list(range(retries))


def test_other_failures_are_never_retried(waits: list[int]) -> None:
    make, attempts = _failing(1, NotFound)
    with pytest.raises(NotFound):
        asyncio.run(_engine(5).call(make))
    assert attempts == [1]
    assert waits == []


def test_a_first_time_success_builds_no_retry_loop(monkeypatch: pytest.MonkeyPatch, waits: list[int]) -> None:
    import tenacity

    built: list[object] = []
    original = tenacity.AsyncRetrying

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(tenacity, "AsyncRetrying", counting)  # distfs.retry imports it on the first retry
    engine = _engine(5)
    for _ in range(3):
        make, _attempts = _failing(0)
        asyncio.run(engine.call(make))
    assert built == []
    make, _attempts = _failing(1)
    asyncio.run(engine.call(make))
    assert len(built) == 1


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    for attempt in range(12):
        cap = min(retry.MAX_DELAY, retry.BASE_DELAY * 2**attempt)
        delays = [retry.backoff(attempt) for _ in range(50)]
        assert all(0 <= delay <= cap for delay in delays)
    assert max(retry.backoff(40) for _ in range(50)) <= retry.MAX_DELAY
