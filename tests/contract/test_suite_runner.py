"""The conformance runner: hung cases time out, failures are diagnosable, known limits are reported."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

import distfs
from distfs.base import Base
from distfs.driver import StorageDriver
from distfs.engine import ObjectStoreDriver
from distfs.errors import DriverError
from distfs.testing import CASES, DriverSuite, run
from distfs.tools.cli import main

CASE = {case.name: case for case in CASES}


class _Inner(ObjectStoreDriver):
    """An inmemory driver with one method broken or blocked, by name."""

    def __init__(self, driver: StorageDriver, *, broken: str = "", blocked: threading.Event | None = None) -> None:
        assert isinstance(driver, Base)
        assert isinstance(driver.inner, ObjectStoreDriver)
        super().__init__(driver.inner.engine)
        self.broken = broken
        self.blocked = blocked

    def put_content(self, path: str, content: bytes) -> None:
        if self.broken == "put_content":
            raise RuntimeError("put_content broken on purpose: " + "x" * 200)
        super().put_content(path, content)

    def get_content(self, path: str) -> bytes:
        if self.blocked is not None:
            self.blocked.wait()
        return super().get_content(path)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the abandoned thread finish


def test_a_hung_case_fails_with_its_name_and_the_run_goes_on(release: threading.Event) -> None:
    driver = Base(_Inner(distfs.create("inmemory"), blocked=release))
    start = time.monotonic()
    results = run(driver, cases=[CASE["read_nonexistent"], CASE["delete_nonexistent"]], timeout=1)
    assert time.monotonic() - start < 10
    hung, after = results
    assert (hung.name, hung.outcome) == ("read_nonexistent", "failed")
    assert "case read_nonexistent timed out after 1s" in hung.message
    assert hung.error_type == "CaseTimeoutError"
    assert after.outcome == "passed"


def test_a_driver_that_hangs_everywhere_does_not_hang_the_run(release: threading.Event) -> None:
    class Hangs(_Inner):
        def list(self, path: str) -> list[str]:
            if self.blocked is not None and path != "/":
                self.blocked.wait()
            return super().list(path)

        def delete(self, path: str) -> None:
            if self.blocked is not None:
                self.blocked.wait()
            super().delete(path)

    driver = Base(Hangs(distfs.create("inmemory"), blocked=release))
    start = time.monotonic()
    results = run(driver, cases=[CASE["list"], CASE["root_exists"]], timeout=0.5)
    assert time.monotonic() - start < 10
    assert [r.outcome for r in results] == ["failed", "passed"]
    assert "case list timed out after 0.5s" in results[0].message
    assert "then the clean-up failed too: CaseTimeoutError: clean-up of list timed out" in results[0].traceback


def test_a_barrier_partner_that_fails_does_not_hang_the_case() -> None:
    driver = Base(_Inner(distfs.create("inmemory"), broken="put_content"))
    start = time.monotonic()
    (result,) = run(driver, cases=[CASE["concurrent_writers_one_path"]])
    assert time.monotonic() - start < 10
    assert result.outcome == "failed"
    assert result.error_type == "DriverError from RuntimeError"
    assert "ctx.driver.put_content(sources[i], contents[i])" in result.call
    assert "concurrency.py:" in result.call
    assert "x" * 200 in result.message  # the whole message, not a cut line
    assert "RuntimeError: put_content broken on purpose" in result.traceback


def test_assertion_failures_name_the_failing_check() -> None:
    class ListsReversed(ObjectStoreDriver):
        def list(self, path: str) -> list[str]:
            return super().list(path)[::-1]

    inner = distfs.create("inmemory")
    assert isinstance(inner, Base)
    assert isinstance(inner.inner, ObjectStoreDriver)
    (result,) = run(Base(ListsReversed(inner.inner.engine)), cases=[CASE["list_sorted_and_unique"]])
    assert result.outcome == "failed"
    assert result.error_type == "AssertionError"
    assert result.call.startswith("check_equal(listed, sorted(")
    assert "in test_list_sorted_and_unique" in result.call


def test_known_limits_are_reported_not_hidden() -> None:
    driver = Base(_Inner(distfs.create("inmemory"), broken="put_content"))
    cases = [CASE["delete"], CASE["move"], CASE["root_exists"], CASE["list"]]
    results = run(driver, cases=cases, skip={"delete": "no deletes here"}, xfail=["move", "root_exists"])
    outcomes = {r.name: (r.outcome, r.message) for r in results}
    assert outcomes["delete"] == ("skipped", "no deletes here")
    assert outcomes["move"][0] == "xfailed"
    assert outcomes["move"][1].startswith("expected to fail: DriverError")
    assert outcomes["root_exists"][0] == "xpassed"
    assert outcomes["list"][0] == "failed"
    with pytest.raises(ValueError, match="no conformance case named nosuchcase"):
        run(driver, skip=["nosuchcase"])


def test_cli_skip_xfail_traceback_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    name = f"broken-put-{id(capsys)}"
    distfs.register(name, lambda parameters: Base(_Inner(distfs.create("inmemory"), broken="put_content")))
    argv = ["check", name, "-k", "move", "--skip", "move_invalid", "--xfail", "move_overwrite", "--traceback"]
    assert main([*argv, "--json", "-"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    by_name = {r["name"]: r for r in report["results"]}
    assert by_name["move_invalid"]["outcome"] == "skipped"
    assert by_name["move_invalid"]["message"] == "skipped by --skip"
    assert by_name["move_overwrite"]["outcome"] == "xfailed"
    failed = by_name["move"]
    assert failed["outcome"] == "failed"
    assert failed["error_type"] == "DriverError from RuntimeError"
    assert "ctx.driver.put_content(source, data)" in failed["call"]
    assert "x" * 200 in failed["message"]
    assert "Traceback (most recent call last)" in failed["traceback"]
    assert by_name["move_keeps_identity"]["outcome"] == "skipped"  # gated on a capability inmemory lacks
    assert by_name["move_keeps_identity"]["message"] == "the driver does not declare capabilities.atomic_move"
    assert (report["xfailed"], report["skipped"]) == (1, 2)
    assert "== move: failed, DriverError from RuntimeError" in captured.err
    assert "call: ctx.driver.put_content(source, data)" in captured.err
    assert main(["check", name, "--skip", "nosuchcase"]) == 2
    assert "no test named nosuchcase" in capsys.readouterr().err


def test_a_driver_made_by_create_reopens_on_the_same_store(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path), "paths": "portable"})
    assert isinstance(driver, Base)
    other = driver.reopen()
    assert other is not driver
    assert isinstance(other, Base)
    assert other.portable_paths
    driver.put_content("/a b", b"x")
    assert other.get_content("/a b") == b"x"
    name = f"with-secret-{id(tmp_path)}"
    distfs.register(name, lambda parameters: distfs.create("inmemory"))
    secret = distfs.create(name, {"secretkey": "hunter2-value"})
    assert isinstance(secret, Base)
    assert secret.can_reopen
    assert "hunter2" not in repr(secret) + repr(vars(secret))  # the kept parameters are never shown
    memory = distfs.create("inmemory")
    assert isinstance(memory, Base)
    memory.put_content("/m", b"y")
    assert memory.reopen().get_content("/m") == b"y"  # a new instance over the same store


def test_without_a_second_instance_the_two_instance_cases_skip_with_the_reason() -> None:
    inner = distfs.create("inmemory")
    assert isinstance(inner, Base)
    bare = Base(inner.inner)  # not made by distfs.create: no way to reopen it
    with pytest.raises(DriverError, match="cannot build a second instance"):
        bare.reopen()
    two = [case for case in CASES if case.two_instances and not case.requires]  # inmemory declares no crash_resume
    assert len(two) >= 5
    results = run(bare, cases=two)
    assert {r.outcome for r in results} == {"skipped"}
    assert all("second instance" in r.message for r in results)
    results = run(bare, cases=two, reopen=lambda: Base(inner.inner))
    assert {r.outcome for r in results} == {"passed"}


def test_a_second_instance_on_another_store_fails_the_two_instance_cases() -> None:
    driver = distfs.create("inmemory")
    results = run(driver, cases=[CASE["resume_from_other_instance"]], reopen=lambda: distfs.create("inmemory"))
    assert results[0].outcome == "failed"
    assert "PathNotFoundError" in results[0].message


class _ReversedSuite(DriverSuite):
    """Known limits declared on a driver whose listings come back reversed."""

    skipped: ClassVar[dict[str, str]] = {"list": "reversed listings (skipped)"}
    expected_failures: ClassVar[dict[str, str]] = {"list_sorted_and_unique": "reversed", "delete": "wrongly listed"}


def test_driver_suite_reports_declared_limits(tmp_path: Path) -> None:
    class ListsReversed(ObjectStoreDriver):
        def list(self, path: str) -> list[str]:
            return super().list(path)[::-1]

    inner = distfs.create("inmemory")
    assert isinstance(inner, Base)
    assert isinstance(inner.inner, ObjectStoreDriver)
    driver = Base(ListsReversed(inner.inner.engine))
    suite = _ReversedSuite()
    with pytest.raises(pytest.skip.Exception, match="reversed listings"):
        suite.test_list(driver, None, tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(pytest.xfail.Exception, match="reversed: AssertionError: list"):
        suite.test_list_sorted_and_unique(driver, None, tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(pytest.fail.Exception, match=r"declared in expected_failures \(wrongly listed\), but passed"):
        suite.test_delete(driver, None, tmp_path)  # type: ignore[attr-defined]
    with pytest.raises(pytest.skip.Exception, match="second instance"):
        suite.test_resume_from_other_instance(driver, None, tmp_path)  # type: ignore[attr-defined]
    suite.test_move(driver, None, tmp_path)  # type: ignore[attr-defined]
    unbuilt = RuntimeError("make_second_driver failed")  # what the fixture hands over then
    with pytest.raises(RuntimeError, match="make_second_driver failed"):
        suite.test_resume_from_other_instance(driver, unbuilt, tmp_path)  # type: ignore[attr-defined]
    suite.test_move(driver, unbuilt, tmp_path)  # type: ignore[attr-defined]


def test_a_second_instance_that_cannot_be_built_fails_the_two_instance_cases() -> None:
    def reopen() -> StorageDriver:
        raise distfs.InvalidParameterError("mydriver", "bucket", "no such bucket")

    cases = [CASE["resume_from_other_instance"], CASE["root_exists"]]
    first, second = run(distfs.create("inmemory"), cases=cases, reopen=reopen)
    assert (first.outcome, second.outcome) == ("failed", "passed")
    assert first.message.startswith("building the second instance failed: InvalidParameterError: mydriver")
    assert first.error_type == "InvalidParameterError"
    assert "no such bucket" in first.traceback
