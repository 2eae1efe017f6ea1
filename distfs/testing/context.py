"""What a conformance test gets: the driver, a second instance, the mode, random data, clean-up.

The helpers follow distribution's ``testsuites.go`` with one deliberate change: every
call of :meth:`Context.random_bytes` returns fresh data (Go hands out prefixes of one
buffer, so "different" contents of equal length were identical and some tests could not
fail).
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..driver import StorageDriver
from ..errors import PathNotFoundError

__all__ = ["WAIT_TIMEOUT", "Case", "CaseTimeoutError", "Context", "check", "check_equal", "expect_error"]

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"

#: Seconds a thread of a case waits at a barrier, or a case waits for its threads.
WAIT_TIMEOUT = 60.0


class CaseTimeoutError(AssertionError):
    """A case, a cleanup or a thread of a case did not finish in time."""


class Context:
    """One test's view of the driver under test.

    ``other`` is a second instance of the driver on the same store (another process would
    build it the same way), or ``None`` when the runner has none; cases that need it are
    marked ``two_instances`` and skipped without it.
    """

    def __init__(
        self,
        driver: StorageDriver,
        *,
        long: bool,
        workdir: Path,
        seed: int | None = None,
        other: StorageDriver | None = None,
        wait: float = WAIT_TIMEOUT,
    ) -> None:
        self.driver = driver
        self._other = other
        self.long = long
        self.workdir = workdir
        self.wait = wait
        self.rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8)))
        self._cleanups: list[str] = []
        self._barriers: list[threading.Barrier] = []

    @property
    def other(self) -> StorageDriver:
        """The second instance on the same store (only for ``two_instances`` cases)."""
        if self._other is None:
            raise AssertionError("this case needs a second instance of the driver on the same store")
        return self._other

    @property
    def instances(self) -> list[StorageDriver]:
        """The driver, and the second instance when there is one: the views a result is checked from."""
        return [self.driver] if self._other is None else [self.driver, self._other]

    def barrier(self, parties: int) -> threading.Barrier:
        """A barrier whose waits time out after ``wait`` seconds; broken when a thread fails."""
        barrier = threading.Barrier(parties, timeout=self.wait)
        self._barriers.append(barrier)
        return barrier

    def run_all(self, fn: Callable[[int], None], items: Iterable[int]) -> None:
        """Run ``fn(item)`` for every item, each in its own thread; raise the first failure.

        A failing thread breaks the case's barriers, so that its partners stop waiting;
        threads still running ``wait`` seconds after the last start fail the case
        (:class:`CaseTimeoutError`) and are left behind as daemons.
        """
        errors: list[BaseException] = []

        def job(item: int) -> None:
            try:
                fn(item)
            except BaseException as exc:
                errors.append(exc)
                for barrier in self._barriers:
                    barrier.abort()

        threads = [threading.Thread(target=job, args=(item,), daemon=True) for item in items]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.wait
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))
        stuck = sum(thread.is_alive() for thread in threads)
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), None)
        if first is None and errors:
            first = errors[0]
        if first is not None:
            raise first
        if stuck:
            raise CaseTimeoutError(f"{stuck} of {len(threads)} threads still running after {self.wait:g}s")

    def random_bytes(self, size: int) -> bytes:
        """``size`` fresh random bytes."""
        return self.rng.randbytes(size)

    def random_filename(self, length: int) -> str:
        """A name of ``length`` chars from ``[a-z0-9]``, sometimes with single ``-`` inside."""
        chars: list[str] = []
        while len(chars) < length:
            if chars and chars[-1] != "-" and len(chars) < length - 1 and self.rng.random() < 0.25:
                chars.append("-")
            else:
                chars.append(self.rng.choice(_NAME_CHARS))
        return "".join(chars)

    def random_path(self, length: int) -> str:
        """A valid driver path of exactly ``length`` chars with random nesting."""
        path = "/"
        while len(path) < length:
            remaining = length - len(path)
            chunk = self.rng.randint(1, remaining)
            path += self.random_filename(chunk)
            remaining = length - len(path)
            if remaining == 1:
                path += self.random_filename(1)
            elif remaining > 1:
                path += "/"
        return path

    def cleanup(self, path: str) -> str:
        """Delete ``first_part(path)`` when the test ends; returns ``path``."""
        self._cleanups.append(paths.first_part(path))
        return path

    def run_cleanups(self) -> None:
        """Delete everything registered with :meth:`cleanup` (missing paths are fine)."""
        while self._cleanups:
            with contextlib.suppress(PathNotFoundError):
                self.driver.delete(self._cleanups.pop())


@dataclass(frozen=True)
class Case:
    """One conformance test: ``run(context)`` raises ``AssertionError`` on failure."""

    name: str
    run: Callable[[Context], None]
    doc: str = ""
    long_only: bool = False
    tags: tuple[str, ...] = field(default=())
    #: The case needs :attr:`Context.other`, a second instance on the same store.
    two_instances: bool = False
    #: Capabilities (fields of :class:`~distfs.capabilities.Capabilities`) the case needs
    #: declared true; it is skipped, with the reason, where the driver does not declare them.
    requires: tuple[str, ...] = field(default=())
    #: The case writes to the store: skipped, with the reason, on a driver that declares
    #: ``capabilities.read_only`` (the read-only cases, which need one, run there instead).
    writes: bool = True


def check(condition: object, message: str) -> None:
    """Fail the test with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def check_equal(actual: object, expected: object, what: str) -> None:
    """Fail unless ``actual == expected``; long byte strings are summarised."""
    if actual != expected:
        raise AssertionError(f"{what}: expected {_show(expected)}, got {_show(actual)}")


def expect_error(kind: type[BaseException], call: Callable[[], object], what: str) -> BaseException:
    """Run ``call``; fail unless it raises ``kind``; return the error."""
    try:
        result = call()
    except kind as exc:
        return exc
    except Exception as exc:
        raise AssertionError(f"{what}: expected {kind.__name__}, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{what}: expected {kind.__name__}, got result {_show(result)}")


def _show(value: object) -> str:
    if isinstance(value, bytes | bytearray) and len(value) > 64:
        return f"<{len(value)} bytes starting {bytes(value[:16])!r}>"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."
