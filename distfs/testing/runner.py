"""Run conformance cases against a driver, with the clean-root check after every test.

Every case runs on a thread of its own with a deadline (:data:`CASE_TIMEOUT`, or
:data:`LONG_CASE_TIMEOUT` for the long cases): a case that hangs fails with its name and
the run goes on (the hung thread is left behind as a daemon). A failed case's
:class:`Result` carries the exception's type, the failing call (the line of the case
that raised) and the whole traceback.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..base import Base
from ..capabilities import Capabilities
from ..driver import StorageDriver
from .context import Case, CaseTimeoutError, Context
from .suite import CASES

__all__ = [
    "CASE_TIMEOUT",
    "LONG_CASE_TIMEOUT",
    "LONG_ENV",
    "DirtyRootError",
    "Result",
    "long_mode",
    "reopen_of",
    "run",
    "run_case",
    "skip_reason",
]

LONG_ENV = "DISTFS_TEST_LONG"

#: Seconds a case may take in short mode before it fails as hung.
CASE_TIMEOUT = 120.0
#: Seconds a case may take in long mode (a 5 GiB stream over a slow link).
LONG_CASE_TIMEOUT = 3600.0


def long_mode() -> bool:
    """True when ``DISTFS_TEST_LONG`` asks for the long suite."""
    return os.environ.get(LONG_ENV, "").lower() in {"1", "true", "yes"}


class DirtyRootError(RuntimeError):
    """The driver's root is not empty, so the suite will not run (it would judge others' data)."""


@dataclass(frozen=True)
class Result:
    """The outcome of one case.

    ``outcome`` is ``passed``, ``failed``, ``skipped`` (with the reason in ``message``),
    ``xfailed`` (a failure the author declared expected; ``message`` holds the reason and
    then the failure) or ``xpassed`` (declared expected to fail, but passed: ``distfs
    check`` exits 1 then, as pytest's strict xfail does). A failure
    has the whole ``message``, the exception's type in ``error_type`` (``DriverError from
    OSError`` when the driver's error wraps another), the case's line that raised in
    ``call`` and the formatted ``traceback``.
    """

    name: str
    outcome: str
    seconds: float
    message: str = ""
    error_type: str = ""
    call: str = ""
    traceback: str = ""


def check_empty_root(driver: StorageDriver) -> None:
    """Refuse to run against a root that already holds something.

    A read-only driver (``capabilities.read_only``) is the exception: it is run over a
    fixture holding :data:`~distfs.testing.suite.READ_ONLY_TREE`, which its cases read.
    """
    if driver.capabilities.read_only:
        return
    entries = driver.list("/")
    if entries:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise DirtyRootError(
            f"the conformance suite needs an empty root, but {driver.name} holds {len(entries)} "
            f"entries ({shown}); point it at an empty root directory or bucket"
        )


def reopen_of(driver: StorageDriver) -> Callable[[], StorageDriver] | None:
    """How to build a second instance of ``driver`` on its store, if it can say.

    A driver made by :func:`distfs.create` can (:meth:`distfs.base.Base.reopen`); others
    need ``reopen=`` from their author.
    """
    if isinstance(driver, Base) and driver.can_reopen:
        return driver.reopen
    return None


def skip_reason(case: Case, *, long: bool, capabilities: Capabilities, two_instances: bool) -> str:
    """Why ``case`` does not run here, or ``""`` when it runs."""
    if case.long_only and not long:
        return f"long mode only ({LONG_ENV}=1 or --long)"
    if case.two_instances and not two_instances:
        return "needs a second instance on the same store (pass reopen= / define make_second_driver)"
    missing = [name for name in case.requires if not getattr(capabilities, name)]
    if missing:
        return "the driver does not declare " + ", ".join(f"capabilities.{name}" for name in missing)
    if case.writes and capabilities.read_only:
        return "the driver declares capabilities.read_only and this case writes"
    return ""


def run_case(
    case: Case,
    driver: StorageDriver,
    *,
    long: bool,
    workdir: Path,
    other: StorageDriver | None = None,
    timeout: float | None = None,
) -> None:
    """Run ``case``; raise ``AssertionError`` (or the driver's error) on failure.

    The test's paths are deleted afterwards, then ``list("/")`` must be empty again. The
    case, and then the clean-up, each get ``timeout`` seconds (default
    :data:`CASE_TIMEOUT`, :data:`LONG_CASE_TIMEOUT` in long mode); past it the case fails
    with :class:`~distfs.testing.context.CaseTimeoutError`.
    """
    limit = timeout if timeout is not None else (LONG_CASE_TIMEOUT if long else CASE_TIMEOUT)
    context = Context(driver, long=long, workdir=workdir, other=other)
    failure: BaseException | None = None
    try:
        _within(limit, lambda: case.run(context), f"case {case.name}")
    except BaseException as exc:  # reported after the clean-up, which runs anyway
        failure = exc
    try:
        _within(limit, context.run_cleanups, f"clean-up of {case.name}")
    except BaseException as exc:
        if failure is None:
            raise
        failure.add_note(f"then the clean-up failed too: {type(exc).__name__}: {exc}")
    if failure is not None:
        raise failure

    def clean() -> None:
        if driver.capabilities.read_only:
            return  # a read-only root holds its fixture, and nothing can have changed it
        left = driver.list("/")
        if left:
            raise AssertionError(f"root not clean after the test: {left}")

    _within(limit, clean, f"list('/') after {case.name}")


def _within(seconds: float, fn: Callable[[], None], what: str) -> None:
    """Run ``fn`` on a daemon thread; re-raise its error; fail if it is still running after ``seconds``."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name=what, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise CaseTimeoutError(f"{what} timed out after {seconds:g}s (its thread is left running)")
    if errors:
        raise errors[0]


def run(
    driver: StorageDriver,
    *,
    long: bool = False,
    cases: Iterable[Case] = CASES,
    on_start: Callable[[Case], None] | None = None,
    on_result: Callable[[Result], None] | None = None,
    reopen: Callable[[], StorageDriver] | None = None,
    skip: Mapping[str, str] | Iterable[str] = (),
    xfail: Mapping[str, str] | Iterable[str] = (),
    timeout: float | None = None,
) -> list[Result]:
    """Run ``cases`` against ``driver`` and return one :class:`Result` each.

    ``reopen()`` builds a second instance of the driver on the same store, for the cases
    on two instances; it defaults to :func:`reopen_of` (drivers made by
    :func:`distfs.create`), and without one those cases are skipped with the reason.
    ``skip`` and ``xfail`` name cases (or map names to reasons) that the author knows
    the driver fails: they are reported ``skipped`` or ``xfailed``, never hidden, and
    unknown names are a ``ValueError``. ``timeout`` is the seconds allowed per case.
    """
    selected = list(cases)
    skips, xfails = _reasons(skip, "skipped by the caller"), _reasons(xfail, "expected to fail")
    known = {case.name for case in CASES} | {case.name for case in selected}
    unknown = sorted((set(skips) | set(xfails)) - known)
    if unknown:
        raise ValueError(f"no conformance case named {', '.join(unknown)}")
    _within(CASE_TIMEOUT, lambda: check_empty_root(driver), "list('/') before the suite")
    build = reopen if reopen is not None else reopen_of(driver)
    other: StorageDriver | None = None
    unbuilt: Result | None = None  # how building the second instance failed, for each case that needs it
    if build is not None and any(case.two_instances for case in selected):
        try:
            other = build()
        except Exception as exc:
            message, error_type, call, text = describe_failure(Case("reopen", lambda _: None), exc)
            message = f"building the second instance failed: {message}"
            unbuilt = Result("", "failed", 0.0, message, error_type, call, text)
    results = []
    with tempfile.TemporaryDirectory(prefix="distfs-check-") as workdir:
        for case in selected:
            if on_start is not None:
                on_start(case)
            reason = skips.get(case.name) or skip_reason(
                case, long=long, capabilities=driver.capabilities, two_instances=other is not None
            )
            if unbuilt is not None and case.two_instances:
                result = dataclasses.replace(unbuilt, name=case.name)
            elif reason:
                result = Result(case.name, "skipped", 0.0, reason)
            else:
                result = _outcome(
                    case,
                    driver,
                    other=other,
                    long=long,
                    workdir=Path(workdir),
                    timeout=timeout,
                    expected=xfails.get(case.name),
                )
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _reasons(names: Mapping[str, str] | Iterable[str], default: str) -> dict[str, str]:
    if isinstance(names, Mapping):
        return {name: reason or default for name, reason in names.items()}
    return dict.fromkeys(names, default)


def _outcome(
    case: Case,
    driver: StorageDriver,
    *,
    other: StorageDriver | None,
    long: bool,
    workdir: Path,
    timeout: float | None,
    expected: str | None,
) -> Result:
    start = time.perf_counter()
    try:
        run_case(case, driver, long=long, workdir=workdir, other=other, timeout=timeout)
    except Exception as exc:  # a failed case is a result, not a crash
        seconds = time.perf_counter() - start
        message, error_type, call, text = describe_failure(case, exc)
        if expected is not None:
            return Result(case.name, "xfailed", seconds, f"{expected}: {message}", error_type, call, text)
        return Result(case.name, "failed", seconds, message, error_type, call, text)
    seconds = time.perf_counter() - start
    if expected is not None:
        return Result(case.name, "xpassed", seconds, f"declared expected to fail ({expected}), but passed")
    return Result(case.name, "passed", seconds)


def describe_failure(case: Case, exc: BaseException) -> tuple[str, str, str, str]:
    """``(message, error type, failing call, traceback)`` of ``exc`` raised by ``case``."""
    error_type = type(exc).__name__
    cause = exc.__cause__
    if cause is not None and not isinstance(exc, AssertionError):
        error_type += f" from {type(cause).__name__}"
    message = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    code = getattr(case.run, "__code__", None)
    here = (Path(__file__).parent / "context.py", Path(__file__))
    own = [f for f in frames if code is not None and f.filename == code.co_filename]
    outside = [f for f in frames if Path(f.filename) not in here]
    chosen = own or outside
    call = ""
    if chosen:
        frame = chosen[-1]
        call = f"{(frame.line or '').strip()}  ({Path(frame.filename).name}:{frame.lineno}, in {frame.name})"
    return message, error_type, call, "".join(traceback.format_exception(exc))
