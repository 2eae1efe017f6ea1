"""One-line progress bars for the commands (``check``, ``probe``, ``bench``, ``registry``)."""

from __future__ import annotations

import threading
import time
from typing import TextIO

from ..testing import Case, Result

__all__ = ["Meter", "Progress"]


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.count = 0
        self.failed = 0
        self.enabled = stream.isatty()

    def start(self, case: Case) -> None:
        self._draw(case.name)

    def done(self, result: Result) -> None:
        self.count += 1
        self.failed += result.outcome == "failed"
        self._draw(result.name)

    def _draw(self, name: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * self.count // max(self.total, 1)
        bar = "#" * filled + "-" * (width - filled)
        failed = f" {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r[{bar}] {self.count}/{self.total}{failed} {name[:40]:<40}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


class Meter:
    """The registry operations' progress (:class:`distfs.registry.Progress`) as a bar.

    One line on a terminal, redrawn at most every ``interval`` seconds: the phase, a bar when
    the total is known, the count, and for bytes the rate and the time left. Silent when
    ``stream`` is no terminal. Thread-safe: copies advance it from many threads.
    """

    def __init__(self, stream: TextIO, interval: float = 0.1) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.interval = interval
        self._lock = threading.Lock()
        self._name = ""
        self._unit = ""
        self._total = 0
        self._done = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def phase(self, name: str, total: int, unit: str = "") -> None:
        with self._lock:
            self._name, self._total, self._unit, self._done = name, total, unit, 0
            self._started = time.monotonic()
            self._draw(force=True)

    def advance(self, units: int = 1) -> None:
        with self._lock:
            self._done += units
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn < self.interval):
            return
        self._drawn = now
        elapsed = max(now - self._started, 1e-9)
        if self._unit == "bytes":
            rate = self._done / elapsed
            count = f"{self._done / 2**20:.1f}/{self._total / 2**20:.1f} MiB {rate / 2**20:.1f} MiB/s"
            if rate > 0 and self._total:
                count += f" ETA {max(self._total - self._done, 0) / rate:.0f}s"
        else:
            count = f"{self._done}/{self._total} {self._unit}" if self._total else f"{self._done} {self._unit}"
        bar = ""
        if self._total:
            filled = 30 * min(self._done, self._total) // self._total
            bar = "[" + "#" * filled + "-" * (30 - filled) + "] "
        self.stream.write(f"\r{self._name[:20]:<20} {bar}{count}"[:99].ljust(99))
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
