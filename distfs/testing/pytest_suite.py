"""The conformance suite as a pytest class: subclass :class:`DriverSuite` in your tests.

::

    import distfs
    from distfs.testing import DriverSuite

    class TestMyDriver(DriverSuite):
        def make_driver(self) -> distfs.StorageDriver:
            return distfs.create("mydriver", {"bucket": "test"})

Every conformance case becomes a test method (``test_list``, ``test_walk_stop``, ...).
The driver is made once per class (the fixtures are class-scoped, so ``make_driver``
cannot use function-scoped fixtures such as ``tmp_path``: use ``tmp_path_factory`` or
``tempfile``); its root must start empty and is checked to be empty after every test.
``DISTFS_TEST_LONG=1`` runs the long cases too.

``make_driver`` may take one argument, pytest's ``request``, to use other fixtures
(a server, a fresh bucket): ``request.getfixturevalue("s3_endpoint")``.

The cases on two instances get a second instance on the same store from
:meth:`DriverSuite.make_second_driver` (by default ``driver.reopen()`` for a driver made
by :func:`distfs.create`); without one they are skipped with the reason. Known limits are
declared in ``skipped`` and ``expected_failures`` (name -> reason): pytest reports them
as skips and xfails, and an expected failure that passes fails (strict).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..driver import StorageDriver
from .context import Case
from .runner import check_empty_root, long_mode, reopen_of, run_case, skip_reason
from .suite import CASES

__all__ = ["DriverSuite"]


class DriverSuite:
    """Base class of a pytest class that runs the conformance suite on one driver."""

    #: Run the long cases (5 GiB stream, ...); defaults to ``DISTFS_TEST_LONG``.
    long: bool = long_mode()
    #: Cases not to run, name -> reason: reported as skipped.
    skipped: ClassVar[dict[str, str]] = {}
    #: Cases the driver is known to fail, name -> reason: reported as xfail (a failure if they pass).
    expected_failures: ClassVar[dict[str, str]] = {}
    #: Seconds allowed per case (``None``: the runner's default).
    timeout: float | None = None

    def make_driver(self, *request: pytest.FixtureRequest) -> StorageDriver:
        """Build the driver under test, on an empty root (``request`` is optional)."""
        raise NotImplementedError("DriverSuite subclasses define make_driver()")

    def make_second_driver(self, driver: StorageDriver) -> StorageDriver | None:
        """A second instance on ``driver``'s store, or ``None`` (the two-instance cases skip).

        The default reopens a driver made by :func:`distfs.create` from its name and
        parameters; override it for a driver made otherwise.
        """
        build = reopen_of(driver)
        return build() if build is not None else None

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_driver(cls, request: pytest.FixtureRequest) -> StorageDriver:
        suite = cls()
        unknown = sorted((set(cls.skipped) | set(cls.expected_failures)) - {case.name for case in CASES})
        if unknown:
            raise ValueError(f"{cls.__name__}: no conformance case named {', '.join(unknown)}")
        takes_request = len(inspect.signature(suite.make_driver).parameters) > 0
        driver = suite.make_driver(request) if takes_request else suite.make_driver()
        check_empty_root(driver)
        return driver

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_other(cls, conformance_driver: StorageDriver) -> StorageDriver | Exception | None:
        # A failure to build it fails the cases on two instances only (raised there).
        try:
            return cls().make_second_driver(conformance_driver)
        except Exception as exc:
            return exc


def _method(case: Case) -> Any:
    def test(
        self: DriverSuite,
        conformance_driver: StorageDriver,
        conformance_other: StorageDriver | Exception | None,
        tmp_path: Path,
    ) -> None:
        if isinstance(conformance_other, Exception):
            if case.two_instances:
                raise conformance_other
            conformance_other = None
        reason = self.skipped.get(case.name) or skip_reason(
            case,
            long=self.long,
            capabilities=conformance_driver.capabilities,
            two_instances=conformance_other is not None,
        )
        if reason:
            pytest.skip(reason)
        expected = self.expected_failures.get(case.name)
        try:
            other, limit = conformance_other, self.timeout
            run_case(case, conformance_driver, long=self.long, workdir=tmp_path, other=other, timeout=limit)
        except Exception as exc:
            if expected is None:
                raise
            pytest.xfail(f"{expected}: {type(exc).__name__}: {exc}")
        if expected is not None:  # strict: a fixed limit must leave the list
            pytest.fail(f"declared in expected_failures ({expected}), but passed")

    test.__name__ = "test_" + case.name
    test.__doc__ = case.doc
    return test


for _case in CASES:
    setattr(DriverSuite, "test_" + _case.name, _method(_case))
