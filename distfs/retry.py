"""The retry parameter and the backoff of distfs's one retry policy.

Every cloud driver retries transient failures (HTTP 5xx, throttling such as S3
``SlowDown``/GCS 429/Azure ``ServerBusy``, connection resets, truncated bodies) with
exponential backoff and full jitter, in exactly one layer: the SDK's own where it has
one (botocore for s3, azure-storage-blob for azure, configured from the driver's retry
parameter), else the engine's (:meth:`distfs.engine.core.Engine.call` and the pinned
reads of :meth:`~distfs.engine.core.Engine.read_range`, for gcs and oss, and for bodies
cut short after an SDK handed them over). A failure is never retried by two layers.

* :func:`backoff`: the delay before retry ``attempt`` (``base * 2**attempt``, full
  jitter, capped);
* :func:`retry_parameter`: the ``maxretries`` parameter of the s3, gcs and oss drivers
  (default :data:`DEFAULT_RETRIES`, ``0``: no retries).
"""

from __future__ import annotations

import random

from .parameters import Parameters

__all__ = ["DEFAULT_RETRIES", "MAX_RETRIES", "backoff", "retry_parameter"]

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


def retry_parameter(params: Parameters, key: str = "maxretries") -> int:
    """The retry count parameter ``key``: an integer from 0 (no retries) to :data:`MAX_RETRIES`."""
    return params.integer(key, DEFAULT_RETRIES, 0, MAX_RETRIES)
