"""The conformance suite as a pytest class: subclass :class:`DriverSuite` in your tests.

::

    import distfs
    from distfs.testing import DriverSuite

    class TestMyDriver(DriverSuite):
        def make_driver(self) -> distfs.StorageDriver:
            return distfs.create("mydriver", {"bucket": "test"})

Every conformance case becomes a test method (``test_list``, ``test_walk_stop``, ...).
The driver is made once per class; its root must start empty and is checked to be
empty after every test. ``DISTFS_TEST_LONG=1`` runs the long cases too.

``make_driver`` may take one argument, pytest's ``request``, to use other fixtures
(a server, a fresh bucket): ``request.getfixturevalue("s3_endpoint")``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from ..driver import StorageDriver
from .context import Case
from .runner import check_empty_root, long_mode, run_case
from .suite import CASES

__all__ = ["DriverSuite"]


class DriverSuite:
    """Base class of a pytest class that runs the conformance suite on one driver."""

    #: Run the long cases (5 GiB stream, ...); defaults to ``DISTFS_TEST_LONG``.
    long: bool = long_mode()

    def make_driver(self, *request: pytest.FixtureRequest) -> StorageDriver:
        """Build the driver under test, on an empty root (``request`` is optional)."""
        raise NotImplementedError("DriverSuite subclasses define make_driver()")

    @pytest.fixture(scope="class")
    @classmethod
    def conformance_driver(cls, request: pytest.FixtureRequest) -> StorageDriver:
        suite = cls()
        takes_request = len(inspect.signature(suite.make_driver).parameters) > 0
        driver = suite.make_driver(request) if takes_request else suite.make_driver()
        check_empty_root(driver)
        return driver


def _method(case: Case) -> Any:
    def test(self: DriverSuite, conformance_driver: StorageDriver, tmp_path: Path) -> None:
        if case.long_only and not self.long:
            pytest.skip("long mode only (DISTFS_TEST_LONG=1)")
        run_case(case, conformance_driver, long=self.long, workdir=tmp_path)

    test.__name__ = "test_" + case.name
    test.__doc__ = case.doc
    return test


for _case in CASES:
    setattr(DriverSuite, "test_" + _case.name, _method(_case))
