"""The distfs command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import distfs
from distfs.testing import CASES, case_names
from distfs.tools import cli


def distfs_cmd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distfs.tools.cli", *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_check_default_driver_passes() -> None:
    result = distfs_cmd("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # Skipped: the long-mode case, the cases of capabilities inmemory does not declare
    # (presign_get, atomic_move, crash_resume) and the 3 cases of a read-only driver.
    assert lines[-1] == f"check: {len(case_names()) - 7} passed, 0 failed, 7 skipped"
    for name in ("write_read_large_streams", "presigned_urls", "move_keeps_identity"):
        assert any(line.startswith(name + " ") and " skipped " in line for line in lines), name
    assert "inmemory, short mode" in result.stdout
    for name in case_names():
        assert any(line.startswith(name + " ") for line in lines), name


def test_check_async_runs_the_suite_on_the_async_driver(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = distfs_cmd(
        "check", "filesystem", "-p", f"rootdirectory={tmp_path / 'store'}", "--async", "--json", str(report)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "filesystem, short async mode" in result.stdout
    data = json.loads(report.read_text())
    assert data["async"] is True
    assert data["failed"] == 0
    skipped = {r["name"] for r in data["results"] if r["outcome"] == "skipped"}
    declared = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "store")}).capabilities
    undeclared = {case.name for case in CASES if not all(getattr(declared, need) for need in case.requires)}
    assert "presigned_urls" in undeclared  # presign_get is not declared
    assert skipped == {"write_read_large_streams"} | undeclared  # long mode; capabilities not declared
    assert data["passed"] == len(case_names()) - len(skipped)


def test_check_filesystem_with_parameters_and_json(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    root = tmp_path / "store"
    result = distfs_cmd(
        "check", "filesystem", "-p", f"rootdirectory={root}", "-p", "maxthreads=30", "--json", str(report), "-k", "walk"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(report.read_text())
    assert data["driver"] == "filesystem"
    assert data["parameters"] == ["maxthreads", "rootdirectory"]
    assert data["failed"] == 0
    assert {r["name"] for r in data["results"]} == {n for n in case_names() if "walk" in n}
    assert all(r["outcome"] == "passed" for r in data["results"])


def test_check_reports_failures_with_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import distfs

    class Forgetful(distfs.StorageDriver):
        """Loses every put: the suite must notice."""

        def __init__(self) -> None:
            self.real = distfs.create("inmemory")

        @property
        def name(self) -> str:
            return "forgetful"

        def __getattr__(self, attribute: str) -> object:
            return getattr(self.real, attribute)

        def get_content(self, path: str) -> bytes:
            return self.real.get_content(path)

        def put_content(self, path: str, content: bytes) -> None:
            self.real.put_content(path, content[:-1])

        def reader(self, path, offset=0):  # type: ignore[no-untyped-def]
            return self.real.reader(path, offset)

        def writer(self, path, append=False):  # type: ignore[no-untyped-def]
            return self.real.writer(path, append)

        def stat(self, path):  # type: ignore[no-untyped-def]
            return self.real.stat(path)

        def list(self, path):  # type: ignore[no-untyped-def]
            return self.real.list(path)

        def move(self, source, dest):  # type: ignore[no-untyped-def]
            self.real.move(source, dest)

        def delete(self, path):  # type: ignore[no-untyped-def]
            self.real.delete(path)

        def walk(self, path, fn, *, start_after_hint=""):  # type: ignore[no-untyped-def]
            self.real.walk(path, fn, start_after_hint=start_after_hint)

    from distfs import factory

    monkeypatch.setitem(factory._registered, "forgetful", lambda parameters: Forgetful())
    code = cli.main(["check", "forgetful", "-k", "write_read", "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "failed" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["failed"] >= 5
    failed = [r for r in data["results"] if r["outcome"] == "failed"]
    assert all(r["message"] for r in failed)


def test_check_unknown_driver_exits_2() -> None:
    result = distfs_cmd("check", "nosuchdriver")
    assert result.returncode == 2
    assert "StorageDriver not registered: nosuchdriver" in result.stderr
    assert "inmemory" in result.stderr


def test_check_bad_parameter_exits_2(tmp_path: Path) -> None:
    result = distfs_cmd("check", "filesystem", "-p", f"rootdirectory={tmp_path}", "-p", "maxthreads=lots")
    assert result.returncode == 2
    assert "maxthreads" in result.stderr
    result = distfs_cmd("check", "filesystem", "-p", "rootdirectory")
    assert result.returncode == 2
    assert "KEY=VALUE" in result.stderr


def test_check_refuses_a_non_empty_root(tmp_path: Path) -> None:
    (tmp_path / "precious").write_bytes(b"data")
    result = distfs_cmd("check", "filesystem", "-p", f"rootdirectory={tmp_path}")
    assert result.returncode == 2
    assert "empty root" in result.stderr
    assert (tmp_path / "precious").read_bytes() == b"data"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "distfs"
    result = subprocess.run([str(script), "check", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "conformance suite" in result.stdout
