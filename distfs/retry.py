"""The retry parameter and the backoff of distfs's one retry policy.

Every cloud driver retries transient failures (HTTP 5xx, throttling such as S3
``SlowDown``/GCS 429/Azure ``ServerBusy``, connection resets, truncated bodies) with
exponential backoff and full jitter, in exactly one layer: the SDK's own where it has
one (botocore for s3, azure-storage-blob for azure, configured from the driver's retry
parameter), else the engine's (:meth:`distfs.engine.policy.EnginePolicy.call` and the pinned
reads of :meth:`~distfs.engine.reads.EngineReads.read_range`, for gcs and oss, and for bodies
cut short after an SDK handed them over). A failure is never retried by two layers.

* :func:`backoff`: the delay before retry ``attempt`` (``base * 2**attempt``, full
  jitter, capped);
* :func:`again`: the engine's retries of a coroutine whose first attempt failed, and
  :func:`retrying`, a synchronous loop of the same policy (tenacity carries out both);
* :data:`RETRIES`: the ``maxretries`` parameter of the s3, gcs, oss and generic drivers
  (default :data:`DEFAULT_RETRIES`, ``0``: no retries; each driver's table words its meaning).

A call that succeeds the first time never meets tenacity, nor imports it (nor asyncio,
which tenacity imports: together about 50 ms of a short command's start-up): callers make
the first attempt themselves and hand over to :func:`again` only after a retryable failure
(building tenacity's loop costs about a hundred times the await of a call that needs
none), and :func:`retrying`'s loop makes the first attempt itself.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .parameters import Key

if TYPE_CHECKING:
    from tenacity import RetryCallState

__all__ = ["DEFAULT_RETRIES", "MAX_RETRIES", "RETRIES", "again", "backoff", "retrying"]

T = TypeVar("T")

#: Retries of one request after its first attempt, unless configured otherwise.
DEFAULT_RETRIES = 5
#: The largest accepted retry count.
MAX_RETRIES = 100
#: Base delay of :func:`backoff`, in seconds, and its cap.
BASE_DELAY = 0.1
MAX_DELAY = 20.0


def backoff(attempt: int, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> float:
    """Seconds to wait before retry ``attempt`` (0 for the first): full jitter over ``base * 2**attempt``."""
    return random.uniform(0, min(cap, base * 2**attempt))


#: The retry count parameter: an integer from 0 (no retries) to :data:`MAX_RETRIES`.
RETRIES = Key(
    "maxretries",
    "int",
    "retries of a failed request (`0`: none); see [Retries](drivers.md#retries)",
    default=DEFAULT_RETRIES,
    maximum=MAX_RETRIES,
)


async def again(make: Callable[[], Awaitable[T]], retries: int, retryable: Callable[[BaseException], bool]) -> T:
    """``make()`` once its first attempt failed with a ``retryable`` error: at most ``retries`` more
    attempts, retry ``n`` (0 for the first) after :func:`backoff` ``(n)``. The last failure is raised
    as it is; a failure that is not ``retryable`` at once."""
    import asyncio

    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

    await asyncio.sleep(backoff(0))

    async def attempt() -> T:  # tenacity awaits what a coroutine function returns, not any awaitable
        return await make()

    loop = AsyncRetrying(
        retry=retry_if_exception(retryable),
        stop=stop_after_attempt(retries),
        wait=lambda state: backoff(state.attempt_number),
        sleep=asyncio.sleep,
        reraise=True,
    )
    return await loop(attempt)


def retrying(
    retries: int,
    retryable: Callable[[BaseException], bool],
    *,
    base: float = BASE_DELAY,
    cap: float = MAX_DELAY,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Callable[[Callable[[], T]], T]:
    """A synchronous loop of the policy (``loop(fn)``): the first attempt and at most ``retries``
    retries of a ``retryable`` failure, retry ``n`` after ``backoff(n, base, cap)``; ``before_sleep``
    sees each failure about to be retried. The last failure is raised as it is. The first
    attempt is made before tenacity is imported: it takes over from its failure."""

    def loop(fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            if not retries or not retryable(exc):
                raise
            first: list[Exception] = [exc]
        from tenacity import Retrying, retry_if_exception, stop_after_attempt

        def attempt() -> T:  # tenacity's first attempt is the one made above
            if first:
                raise first.pop()
            return fn()

        retrier = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(retries + 1),
            wait=lambda state: backoff(state.attempt_number - 1, base, cap),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrier(attempt)

    return loop
