"""Progress bars for the commands (``check``, ``probe``, ``bench``, ``registry``), drawn by tqdm.

Both bars draw one line on a terminal and nothing otherwise (a pipe, a log file, a test's
captured stream), and remove their line when they finish.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

    from ..testing import Case, Result

__all__ = ["Meter", "Progress"]

#: The cases: ``[#######-----] 3/10, 1 failed test_move_overwrite``.
_CASES = "[{bar:30}] {n_fmt}/{total_fmt}{postfix} {desc:.40}"
#: Bytes of known total: ``copy  25%|#######-----| 1.00MiB/4.00MiB 10.0MiB/s ETA 00:03``.
_BYTES = "{desc:<20.20} {percentage:3.0f}%|{bar:30}| {n_fmt}{unit}/{total_fmt}{unit} {rate_fmt} ETA {remaining}"
#: Things of known total: ``mark  20%|######------| 2/10 manifests``.
_THINGS = "{desc:<20.20} {percentage:3.0f}%|{bar:30}| {n_fmt}/{total_fmt} {unit}"
#: A count with no known end: ``walk                 1234 files``.
_COUNT = "{desc:<20.20} {n_fmt} {unit}"


def _bar(
    stream: TextIO, total: int | None, description: str, form: str, *, unit: str, interval: float
) -> tqdm[NoReturn]:
    from tqdm import tqdm  # on first use: a command writing to a pipe never draws a bar

    data = unit == "bytes"
    return tqdm(
        total=total,
        desc=description,
        file=stream,
        disable=not stream.isatty(),
        leave=False,
        ascii="-#",
        mininterval=interval,
        miniters=1,
        unit="iB" if data else unit,
        unit_scale=data,
        unit_divisor=1024,
        bar_format=form,
    )


class Progress:
    """The cases of ``check``/``probe``/``bench`` as a bar, with the failures counted."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.failed = 0
        self._bar = _bar(stream, total, "", _CASES, unit="cases", interval=0.1)

    def start(self, case: Case) -> None:
        self._bar.set_description_str(case.name, refresh=False)
        self._bar.refresh()

    def done(self, result: Result) -> None:
        self.failed += result.outcome == "failed"
        self._bar.set_postfix_str(f"{self.failed} failed" if self.failed else "", refresh=False)
        self._bar.update(1)

    def finish(self) -> None:
        self._bar.close()


class Meter:
    """The registry operations' progress (:class:`distfs.registry.Progress`) as a bar.

    One bar per phase, redrawn at most every ``interval`` seconds: the phase, a bar when
    the total is known, the count, and for bytes the rate and the time left. Thread-safe:
    copies advance it from many threads. On a stream that is not a terminal it draws (and
    builds) nothing.
    """

    def __init__(self, stream: TextIO, interval: float = 0.1) -> None:
        self.stream = stream
        self.interval = interval
        self._draws = stream.isatty()  # else every call returns at once (gc counts each blob)
        self._lock = threading.Lock()
        self._bar: tqdm[NoReturn] | None = None

    def phase(self, name: str, total: int, unit: str = "") -> None:
        if not self._draws:
            return
        with self._lock:
            if self._bar is not None:
                self._bar.close()
            form = (_BYTES if unit == "bytes" else _THINGS) if total else _COUNT
            self._bar = _bar(self.stream, total or None, name, form, unit=unit, interval=self.interval)
            self._bar.refresh()

    def advance(self, units: int = 1) -> None:
        if not self._draws:
            return
        with self._lock:
            if self._bar is None:
                return
            self._bar.update(units)

    def finish(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
