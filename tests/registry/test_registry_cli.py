"""``distfs registry``: output, JSON, summary lines, exit codes, driver specs, progress bar."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from profiles import PROFILES

import distfs
from distfs import registry
from distfs.registry.layout import blob_data_path
from distfs.tools.cli import main
from distfs.tools.local import ACCESS_KEY, SECRET_KEY
from distfs.tools.progress import Meter
from distfs.tools.registry_store import put_blob, put_image

#: gc's grace for an offline collection (no push in flight to protect): keep nothing for its age.
OFFLINE = timedelta(0)

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
    code, out, _ = run(capsys, "gc", "--dry-run", "--grace", "0", "-p", f"rootdirectory={root}", "--json")
    assert code == 0
    assert len(json.loads(out)["blobs"]) == 1
    code, out, _ = run(capsys, "gc", "--grace", "0", "--force", "-p", f"rootdirectory={root}")
    assert code == 0
    assert out.splitlines()[0].startswith("blob sha256:")
    assert "deleted 1 blobs (500 B)" in out.splitlines()[-1]
    code, out, _ = run(capsys, "gc", "--grace=0s", "--force", "-p", f"rootdirectory={root}", "--delete-untagged")
    assert "deleted 0 blobs" in out


def test_migrate_takes_two_stores(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "dest"
    code, out, err = run(
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
    assert not dest.exists()  # a dry run only looks: it creates no destination (issue 27)
    assert err.strip() == f"filesystem at {dest}: no such directory yet, taken as empty (nothing was created)"
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
    store = tmp_path / "store"
    put_image(distfs.create("filesystem", {"rootdirectory": str(store)}), "app", "v1", [b"layer"])
    code, _, err = run(capsys, "migrate", "filesystem", "nowhere", "-p", f"rootdirectory={store}")
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
    drawn = screen.getvalue().rpartition("\r")[2]
    assert " 25%|#######-" in drawn
    assert "1.00MiB/4.00MiB" in drawn
    assert "iB/s ETA 00:" in drawn
    meter.phase("mark", 10, "manifests")
    meter.advance(2)
    assert screen.getvalue().rpartition("\r")[2].rstrip().endswith("2/10 manifests")
    meter.phase("walk", 0, "files")
    assert screen.getvalue().rstrip().endswith("0 files")
    meter.finish()
    quiet = io.StringIO()
    Meter(quiet).phase("walk", 0)
    assert quiet.getvalue() == ""


def test_every_registry_command_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "registry-tools.md").read_text(encoding="utf-8")
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
    assert report["dask_workers"] >= 1  # (two workers sharing the work: tests/registry/test_registry_migrate.py)
    assert registry.fsck(distfs.create("filesystem", {"rootdirectory": str(dest)}), verify_digests=True).ok


# -- issue 27: operators' trust ------------------------------------------------------------


def one_line(err: str) -> str:
    """The one line a refused command prints (no traceback, no usage dump of a crash)."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ("gc", "--grace", "nan"),
        ("gc", "--grace", "inf"),
        ("gc", "--grace=-60"),
        ("gc", "--grace", "1e300"),
        ("gc", "--upload-age", "1e300"),
        ("gc", "--upload-age=-1"),
        ("gc", "--upload-age", "nan"),
        ("fsck", "--upload-age", "inf"),
        ("ls", "-j", "0"),
        ("du", "-j", "-3"),
        ("gc", "--dry-run", "-j", "100000000000"),
        ("migrate", "filesystem", "filesystem", "-j", "5000"),
    ],
)
def test_bad_numbers_exit_2_with_one_message(
    argv: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(capsys, *argv, "-p", f"rootdirectory={tmp_path}")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    message = err.splitlines()[-1]
    assert message.startswith(f"distfs registry {argv[0]}: error: argument ")
    assert argv[-1].split("=")[-1] in message


def test_gc_keeps_the_last_hour_by_default(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default grace (3600 s) protects the layers of pushes in flight: fresh garbage is kept."""
    code, out, _ = run(capsys, "gc", "--force", "-p", f"rootdirectory={root}")
    assert code == 0
    assert "deleted 0 blobs" in out
    assert "kept 1 young blobs" in out
    code, out, _ = run(capsys, "gc", "--dry-run", "-p", f"rootdirectory={root}", "--json")
    assert json.loads(out)["blobs"] == []
    assert len(json.loads(out)["young"]) == 1
    with pytest.raises(SystemExit):
        run(capsys, "gc", "--help")
    assert "pushes in flight" in " ".join(capsys.readouterr().out.split())


def garbage_left(root: Path) -> int:
    return len(
        registry.gc(distfs.create("filesystem", {"rootdirectory": str(root)}), dry_run=True, grace=OFFLINE).blobs
    )


def test_online_gc_below_the_upload_timeout_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "gc", "--grace", "0", "-p", f"rootdirectory={root}")
    assert code == 2
    line = one_line(err)
    assert "604800 s" in line
    assert "168h" in line
    assert "assumed" in line
    assert "--force" in line
    assert garbage_left(root) == 1  # nothing was deleted
    code, _, err = run(capsys, "gc", "-p", f"rootdirectory={root}")  # the default hour is below 168h too
    assert code == 2
    assert "--grace 3600 s" in err
    assert run(capsys, "gc", "--dry-run", "--grace", "0", "-p", f"rootdirectory={root}")[0] == 0  # dry runs run

    def config(purging: str) -> str:
        path = tmp_path / f"c{abs(hash(purging))}.yml"
        path.write_text(
            f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n"
            f"  maintenance:\n    uploadpurging:\n{purging}"
        )
        return str(path)

    two_hours = config("      enabled: true\n      age: 2h\n      interval: 1h\n      dryrun: false\n")
    code, _, err = run(capsys, "gc", "--config", two_hours)
    assert code == 2
    assert "7200 s" in one_line(err)
    assert "storage.maintenance.uploadpurging.age 2h" in err
    assert "assumed" not in err
    disabled = config("      enabled: false\n")
    code, _, err = run(capsys, "gc", "--grace", "100000000", "--config", disabled)
    assert code == 2
    assert "uploadpurging.enabled is false" in one_line(err)
    bad = config("      enabled: true\n      age: soon\n")
    code, _, err = run(capsys, "gc", "--config", bad)
    assert code == 2
    assert "storage.maintenance.uploadpurging.age" in one_line(err)
    assert garbage_left(root) == 1
    read_only = config("      enabled: true\n      age: 168h\n    readonly:\n      enabled: true\n")
    code, out, _ = run(capsys, "gc", "--grace", "0", "--config", read_only)
    assert code == 0  # a read-only registry has no pushes in flight
    assert "deleted 1 blobs" in out
    put_blob(distfs.create("filesystem", {"rootdirectory": str(root)}), os.urandom(500))
    code, out, _ = run(capsys, "gc", "--grace", "0", "--config", config("      enabled: true\n      age: 0s\n"))
    assert code == 0
    assert "deleted 1 blobs" in out
    assert garbage_left(root) == 0


@pytest.mark.parametrize("cache", ["blobdescriptor: inmemory", "blobdescriptor: redis", "layerinfo: inmemory"])
def test_gc_warns_about_the_blob_descriptor_cache(
    cache: str, root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  cache:\n    {cache}\n")
    code, _, err = run(capsys, "gc", "--dry-run", "--config", str(config))
    assert code == 0
    assert "blob-descriptor cache is on" in err
    assert "restart the registry" in err
    assert "disable the cache" in err
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n")
    code, _, err = run(capsys, "gc", "--dry-run", "--config", str(config))
    assert "cache" not in err
    docs = (Path(__file__).resolve().parents[2] / "docs" / "registry-tools.md").read_text(encoding="utf-8")
    assert "blobdescriptor" in docs
    assert "restart the registry" in docs


@pytest.mark.parametrize("argv", [("ls",), ("du",), ("fsck",), ("gc", "--dry-run"), ("fsck", "--verify-digests")])
def test_a_missing_root_is_never_created_nor_healthy(
    argv: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "store"
    code, out, err = run(capsys, *argv, "-p", f"rootdirectory={missing}")
    assert code == 2
    assert out == ""
    assert str(missing) in one_line(err)
    assert "no such directory" in err
    assert not (tmp_path / "no").exists()
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {missing}\n")
    code, out, err = run(capsys, *argv, "--config", str(config))
    assert code == 2
    assert str(missing) in one_line(err)
    assert not (tmp_path / "no").exists()
    empty = tmp_path / "empty"  # exists, but holds no registry
    empty.mkdir()
    code, out, err = run(capsys, *argv, "filesystem", "-p", f"rootdirectory={empty}")
    assert code == 2
    assert out == ""
    assert str(empty) in one_line(err)
    assert "/docker/registry/v2 not found" in err
    assert list(empty.iterdir()) == []


def test_destructive_commands_need_a_named_store(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (("gc",), ("gc", "filesystem", "--force", "--grace", "0")):
        code, _, err = run(capsys, *argv)
        assert code == 2
        assert "name the store" in one_line(err)
        assert "/var/lib/registry" in err
    code, _, err = run(capsys, "migrate", "filesystem", "filesystem", "-p", f"rootdirectory={root}")
    assert code == 2
    assert "name the store" in one_line(err)
    code, _out, _ = run(
        capsys,
        "migrate",
        "filesystem",
        "filesystem",
        "-p",
        f"rootdirectory={root}",
        "-q",
        f"rootdirectory={tmp_path / 'new'}",
    )
    assert code == 0
    assert (tmp_path / "new" / "docker" / "registry" / "v2").is_dir()
    missing = tmp_path / "missing"
    code, _, err = run(
        capsys,
        "migrate",
        "filesystem",
        "filesystem",
        "-p",
        f"rootdirectory={missing}",
        "-q",
        f"rootdirectory={tmp_path / 'other'}",
    )
    assert code == 2
    assert str(missing) in one_line(err)
    assert not missing.exists()
    assert not (tmp_path / "other").exists()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens on it any more


def s3_argv(endpoint: str, bucket: str, **extra: str) -> list[str]:
    keys = {
        "accesskey": ACCESS_KEY,
        "secretkey": SECRET_KEY,
        "region": "us-east-1",
        "regionendpoint": endpoint,
        "bucket": bucket,
        **extra,
    }
    return ["s3", *[item for key, value in keys.items() for item in ("-p", f"{key}={value}")]]


UNREACHABLE = {  # driver: (parameters on ENDPOINT, the store as the message names it)
    "s3": (
        {"accesskey": ACCESS_KEY, "secretkey": SECRET_KEY, "region": "us-east-1", "bucket": "registry"},
        "s3 at ENDPOINT, bucket registry",
    ),
    "gcs": ({"bucket": "registry"}, "gcs at ENDPOINT, bucket registry"),
    "azure": (
        {"accountname": "acct", "accountkey": "c2VjcmV0LWtleQ==", "container": "registry"},
        "azure at ENDPOINT/acct, account acct, container registry",
    ),
    "oss": (
        {"accesskeyid": "id", "accesskeysecret": SECRET_KEY, "region": "oss-cn-hangzhou", "bucket": "registry"},
        "oss at ENDPOINT, bucket registry",
    ),
}


@pytest.mark.parametrize("driver", sorted(UNREACHABLE))
def test_an_unreachable_endpoint_is_one_line_after_announced_bounded_retries(
    driver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    parameters, label = UNREACHABLE[driver]
    key = PROFILES[driver].endpoint
    where = {**parameters, key: endpoint + ("/acct" if driver == "azure" else "")}
    label = label.replace("ENDPOINT", endpoint)
    start = time.monotonic()
    code, out, err = run(capsys, "ls", driver, *[item for k, v in where.items() for item in ("-p", f"{k}={v}")])
    seconds = time.monotonic() - start
    assert code == 2
    assert out == ""
    assert seconds < 12, seconds  # was 8-22 s of silent retries, then a traceback
    lines = err.splitlines()
    assert lines[:5] == [f"{label}: unreachable, retrying ({n}/5)" for n in range(1, 6)]
    assert len(lines) == 6
    assert "Traceback" not in err
    assert lines[-1].startswith(f"distfs registry ls: {label}: unreachable (")
    assert lines[-1].endswith(" after 5 retries")
    assert SECRET_KEY not in err
    assert "c2VjcmV0LWtleQ==" not in err


def test_a_missing_bucket_is_one_line_at_once(s3_endpoint: str) -> None:
    """In a process of its own: stderr holds exactly the one line (no traceback, no unclosed-session noise)."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "distfs.tools.cli", "registry", "fsck", *s3_argv(s3_endpoint, "no-such-bucket-27")],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert time.monotonic() - start < 10  # no retries: the interpreter's start is most of it
    assert done.returncode == 2
    assert done.stdout == ""
    assert one_line(done.stderr) == (
        f"distfs registry fsck: s3 at {s3_endpoint}, bucket no-such-bucket-27: bucket no-such-bucket-27 does not exist"
    )


def test_refused_credentials_are_one_line_at_once(store_parameters: Any, capsys: pytest.CaptureFixture[str]) -> None:
    parameters = store_parameters("azure")
    wrong = "d3Jvbmcta2V5LW9mLXRoZS1yaWdodC1sZW5ndGgtZm9yLWF6dXJpdGUtMDEyMzQ1Njc4OQ=="
    argv = [item for key, value in {**parameters, "accountkey": wrong}.items() for item in ("-p", f"{key}={value}")]
    start = time.monotonic()
    code, out, err = run(capsys, "du", "azure", *argv)
    assert time.monotonic() - start < 5
    assert code == 2
    assert out == ""
    line = one_line(err)
    assert line.startswith(f"distfs registry du: azure at {parameters['serviceurl']}, account ")
    assert "credentials refused" in line
    assert wrong not in err
    assert parameters["accountkey"] not in err


def test_a_store_failing_mid_run_is_one_line(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The check passes, then every listing of a repository's manifests answers 503: one line, exit 2."""
    store = setup("s3")
    put_image(store.clean(), "app", "v1", [b"layer"])
    store.proxy.force("GET", "_manifests", "503", times=1000)
    parameters = {**store.parameters, "regionendpoint": store.proxy.endpoint, "maxretries": 0}
    code, out, err = run(capsys, "ls", "s3", *[item for k, v in parameters.items() for item in ("-p", f"{k}={v}")])
    assert code == 2
    assert out == ""
    line = one_line(err)
    assert line.startswith(f"distfs registry ls: s3 at {store.proxy.endpoint}, bucket {parameters['bucket']}: s3: ")
    assert "503" in line
    assert SECRET_KEY not in err
