"""Retries of transient failures: the parameter, the backoff, and a reader that resumes.

Every cloud driver retries transient failures (HTTP 5xx, throttling such as S3
``SlowDown``/GCS 429/Azure ``ServerBusy``, connection resets, truncated bodies) with
exponential backoff and full jitter. Where the SDK's own retry machinery is configurable
the backends configure it from the driver's retry parameter; distfs adds what the SDKs
miss, once, here:

* :func:`backoff`: the delay before retry ``attempt`` (``base * 2**attempt``, full
  jitter, capped);
* :func:`retry_parameter`: the ``maxretries`` parameter of the s3, gcs and oss drivers
  (default :data:`DEFAULT_RETRIES`, ``0``: no retries);
* :class:`ResumingReader`: a reader stream that, when the stream under it fails mid-read
  (a reset or truncated body the SDK did not retry), reopens the object at the byte it
  reached, at most ``retries`` times in a row; when retries are exhausted the failure is
  a ``DriverError`` naming the driver and the path, never a raw SDK exception.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from .errors import DriverError, StorageDriverError
from .parameters import Parameters

__all__ = ["DEFAULT_RETRIES", "MAX_RETRIES", "ResumingReader", "backoff", "retry_parameter"]

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


class ResumingReader(io.RawIOBase):
    """A read-only stream of one object that reopens itself where a failed read stopped.

    ``reopen(offset)`` opens a stream of the object from byte ``offset``; ``size`` is the
    object's size when known (a stream ending early then counts as a failure too).
    ``transient`` are the exceptions worth a retry; typed distfs errors are never retried.
    """

    def __init__(
        self,
        reopen: Callable[[int], BinaryIO],
        stream: BinaryIO,
        offset: int,
        *,
        path: str,
        driver_name: str,
        retries: int,
        size: int | None = None,
        transient: tuple[type[BaseException], ...] = (Exception,),
    ) -> None:
        super().__init__()
        self._reopen = reopen
        self._stream: BinaryIO | None = stream
        self._position = offset
        self._path = path
        self._name = driver_name
        self._retries = retries
        self._size = size
        self._transient = transient

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        failures = 0
        while True:
            try:
                if self._stream is None:
                    self._stream = self._reopen(self._position)
                data = self._stream.read(len(view))
                if not data and self._size is not None and self._position < self._size:
                    raise ConnectionError(f"stream ended at {self._position} of {self._size} bytes")
            except StorageDriverError:
                raise
            except self._transient as exc:
                self._drop()
                if failures >= self._retries:
                    raise DriverError(
                        f"reading {self._path} failed at byte {self._position}: {exc}", self._name
                    ) from exc
                time.sleep(backoff(failures))
                failures += 1
                continue
            view[: len(data)] = data
            self._position += len(data)
            return len(data)

    def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):  # it already failed: closing is best effort
                stream.close()

    def close(self) -> None:
        if not self.closed:
            self._drop()
        super().close()
