"""A one-line progress bar for the commands (``check``, ``probe``, ``bench``)."""

from __future__ import annotations

from typing import TextIO

from ..testing import Case, Result

__all__ = ["Progress"]


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
