"""``distfs registry``: output, JSON, summary lines, exit codes, driver specs, progress bar."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

import distfs
from distfs import registry
from distfs.registry.layout import blob_data_path
from distfs.tools.cli import main
from distfs.tools.progress import Meter
from distfs.tools.registry_store import put_blob, put_image

COMMANDS = ("ls", "du", "fsck", "gc", "migrate")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A filesystem store with two tagged images and a garbage blob."""
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "store")})
    put_image(driver, "app", "v1", [os.urandom(2000)])
    put_image(driver, "lib/base", "3.19", [os.urandom(1000)])
    put_blob(driver, os.urandom(500))
    return tmp_path / "store"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["registry", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_ls_prints_a_table_and_a_summary(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ls", "-p", f"rootdirectory={root}")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "DIGEST"]
    assert [line.split()[:2] for line in lines[1:3]] == [["app", "v1"], ["lib/base", "3.19"]]
    assert lines[-1] == "ls: 2 repositories, 2 tags"


def test_json_goes_to_stdout_and_the_summary_to_stderr(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "ls", "filesystem", "-p", f"rootdirectory={root}", "--json", "-r", "app")
    assert code == 0
    document = json.loads(out)
    assert [repo["name"] for repo in document["repositories"]] == ["app"]
    assert err.strip() == "ls: 1 repositories, 1 tags"
    code, out, _ = run(capsys, "du", "-p", f"rootdirectory={root}", "--json")
    assert json.loads(out)["unused_bytes"] == 500


def test_fsck_exits_1_on_a_problem(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fsck", "-p", f"rootdirectory={root}", "--verify-digests")
    assert (code, out.splitlines()[-1]) == (0, out.splitlines()[-1])
    assert out.rstrip().endswith(": 0 problems")
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    digest = registry.ls(driver, "app")[0].tags["v1"]
    driver.put_content(blob_data_path(digest), b"{}")  # the manifest blob no longer matches its digest
    code, out, _ = run(capsys, "fsck", "-p", f"rootdirectory={root}", "--verify-digests")
    assert code == 1
    assert "digest-mismatch" in out
    assert re.search(r": [1-9]\d* problems$", out.rstrip())


def test_gc_dry_run_then_gc(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gc", "--dry-run", "-p", f"rootdirectory={root}", "--json")
    assert code == 0
    assert len(json.loads(out)["blobs"]) == 1
    code, out, _ = run(capsys, "gc", "-p", f"rootdirectory={root}")
    assert code == 0
    assert out.splitlines()[0].startswith("blob sha256:")
    assert "deleted 1 blobs (500 B)" in out.splitlines()[-1]
    code, out, _ = run(capsys, "gc", "-p", f"rootdirectory={root}", "--delete-untagged")
    assert "deleted 0 blobs" in out


def test_migrate_takes_two_stores(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "dest"
    code, out, _ = run(
        capsys,
        "migrate",
        "filesystem",
        "filesystem",
        "-p",
        f"rootdirectory={root}",
        "-q",
        f"rootdirectory={dest}",
        "--dry-run",
    )
    assert code == 0
    assert out.startswith("migrate: would copy ")
    assert registry.scan(distfs.create("filesystem", {"rootdirectory": str(dest)})).files == 0
    config = tmp_path / "dest.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {dest}\n")
    code, out, _ = run(capsys, "migrate", "filesystem", str(config), "-p", f"rootdirectory={root}", "-j", "4", "--json")
    assert code == 0
    assert json.loads(out)["errors"] == []
    assert registry.ls(distfs.create("filesystem", {"rootdirectory": str(dest)})) == registry.ls(
        distfs.create("filesystem", {"rootdirectory": str(root)})
    )
    code, out, _ = run(capsys, "migrate", "filesystem", str(config), "-p", f"rootdirectory={root}")
    assert re.match(r"migrate: copied 0 objects .*; \d+ already in place", out)


def test_a_store_that_cannot_be_opened_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ls", "no-such-driver")
    assert code == 2
    assert "no-such-driver" in err
    code, _, err = run(capsys, "migrate", "filesystem", "nowhere", "-p", f"rootdirectory={tmp_path}")
    assert code == 2
    assert "nowhere" in err
    config = tmp_path / "c.yml"
    config.write_text("version: 0.1\nstorage: inmemory\n")
    code, _, err = run(capsys, "du", "--config", str(config), "-p", "a=b")
    assert code == 2
    assert "either" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_rate_and_eta_on_a_terminal() -> None:
    screen = Terminal()
    meter = Meter(screen, interval=0)
    meter.phase("copy", 4 << 20, "bytes")
    meter.advance(1 << 20)
    assert "[#######-" in screen.getvalue()
    assert "MiB/s" in screen.getvalue()
    assert "ETA" in screen.getvalue()
    meter.phase("walk", 0, "files")
    assert screen.getvalue().rstrip().endswith("0 files")
    meter.finish()
    quiet = io.StringIO()
    Meter(quiet).phase("walk", 0)
    assert quiet.getvalue() == ""


def test_every_registry_command_is_documented() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "registry-tools.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"distfs registry {command}" in text, command


def test_migrate_on_a_dask_cluster(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from distributed import LocalCluster

    dest = tmp_path / "dest"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        code, out, _ = run(
            capsys,
            "migrate",
            "filesystem",
            "filesystem",
            "-p",
            f"rootdirectory={root}",
            "-q",
            f"rootdirectory={dest}",
            "--dask",
            cluster.scheduler_address,
            "--json",
        )
    assert code == 0
    report = json.loads(out)
    assert report["errors"] == []
    assert report["copied"] > 5
    assert report["dask_workers"] >= 1  # (two workers sharing the work: tests/test_registry_migrate.py)
    assert registry.fsck(distfs.create("filesystem", {"rootdirectory": str(dest)}), verify_digests=True).ok
