"""``distfs probe``: the catalogue, the records, the generated docs/semantics.md, capabilities.

The full matrix (every probe on the raw fsspec filesystem and the distfs driver of all six
backends, on the local servers) runs once per session; CI fails when the committed
``docs/semantics.md`` differs from what it observes. Regenerate with::

    distfs probe --local --markdown docs/semantics.md
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import distfs
from distfs.base import Base
from distfs.capabilities import UNKNOWN
from distfs.engine import ObjectStoreDriver
from distfs.tools.cli import main
from distfs.tools.local import DRIVERS, LocalStores
from distfs.tools.probe import (
    PROBES,
    DistfsTarget,
    Record,
    build_local_targets,
    contradictions,
    derive_capabilities,
    raw_target,
    run_probes,
    to_json,
    to_markdown,
)
from distfs.tools.probe.catalogue import GROUPS
from distfs.tools.probe.report import DECLARED_ONLY

SQLITE_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sqlite_driver.py"
SEMANTICS = Path(__file__).resolve().parents[2] / "docs" / "semantics.md"
REGENERATE = "distfs probe --local --markdown docs/semantics.md"

#: Where a distfs driver is known to break DESIGN §3 today: (probe, backend) -> observed value.
KNOWN_DEVIATIONS: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def matrix(local_stores: LocalStores) -> list[Record]:
    """Every probe on every raw and distfs target of the six built-in drivers."""
    targets = build_local_targets(local_stores, list(DRIVERS))
    return run_probes(targets)


# -- the catalogue --------------------------------------------------------------------


def test_catalogue_has_at_least_30_named_one_line_probes() -> None:
    assert len(PROBES) >= 30
    names = [p.name for p in PROBES]
    assert len(set(names)) == len(names)
    for p in PROBES:
        assert p.group in GROUPS
        assert p.description, p.name
        assert "\n" not in p.description, p.name
        assert len(p.description) <= 100, p.name


# -- the matrix -----------------------------------------------------------------------


def test_one_record_per_probe_and_target(matrix: list[Record]) -> None:
    keys = [(r.probe, r.backend, r.kind) for r in matrix]
    expected = {(p.name, b, k) for p in PROBES for b in DRIVERS for k in ("raw", "distfs")}
    assert len(keys) == len(set(keys)) == len(expected)
    assert set(keys) == expected
    report = json.loads(to_json(matrix))
    assert {r["probe"] for r in report["records"]} == {p.name for p in PROBES}
    assert all(set(r) == {"probe", "backend", "kind", "value"} for r in report["records"])
    assert set(report["capabilities"]) == set(DRIVERS)


def test_observed_values_hold_no_store_names(matrix: list[Record], local_stores: LocalStores) -> None:
    for record in matrix:
        assert "distfs-" not in record.value, record
        assert "127.0.0.1" not in record.value, record
        assert str(local_stores.workdir) not in record.value, record


def test_distfs_drivers_keep_the_design_contract(matrix: list[Record]) -> None:
    broken = []
    for p in PROBES:
        if p.contract is None:
            continue
        for r in matrix:
            if r.probe == p.name and r.kind == "distfs":
                expected = KNOWN_DEVIATIONS.get((p.name, r.backend), p.contract)
                if r.value != expected:
                    broken.append(f"{r.backend} {p.name}: {r.value!r}, expected {expected!r}")
    assert not broken, "\n".join(broken)


def test_raw_fsspec_disagrees_where_the_references_say(matrix: list[Record]) -> None:
    values = {(r.probe, r.backend, r.kind): r.value for r in matrix}
    assert values["append_existing", "gcs", "raw"] == "data lost"  # gcsfs turns "ab" into "wb"
    assert values["append_existing", "azure", "raw"] == "refused: ResourceExistsError"
    assert values["stale_list_after_add", "s3", "raw"] == "stale"  # the listings cache
    assert values["list_missing", "oss", "raw"] == "[]"
    assert values["exclusive_create_empty", "s3", "raw"] == "no error; truncated"
    assert values["directory_empty_after_delete", "filesystem", "raw"] == "[]"


def test_distfs_refuses_exactly_the_names_its_store_cannot_hold(matrix: list[Record]) -> None:
    """Issue 17, item 8: a portable name the raw store mangles is refused, the others work."""
    values = {(r.probe, r.backend, r.kind): r.value for r in matrix}
    assert values["backslash_name", "azure", "raw"] == "one object: overwritten"
    for backend in DRIVERS:
        mangled = values["backslash_name", backend, "raw"] != "two objects"
        assert values["backslash_name", backend, "distfs"] == ("InvalidPathError" if mangled else "two objects")
        broken = values["noncharacter_name", backend, "raw"] != "works"
        expected = "write: InvalidPathError" if broken else "works"
        assert values["noncharacter_name", backend, "distfs"] == expected, backend


def test_committed_semantics_table_matches_a_fresh_run(matrix: list[Record]) -> None:
    generated = to_markdown(matrix, local=True)
    committed = SEMANTICS.read_text(encoding="utf-8") if SEMANTICS.exists() else ""
    if generated != committed:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                "docs/semantics.md (committed)",
                "docs/semantics.md (this run)",
            )
        )
        pytest.fail(f"docs/semantics.md is out of date; regenerate with `{REGENERATE}`\n{diff}")


# -- capabilities ---------------------------------------------------------------------


def test_the_raw_azure_filesystem_retries_as_the_driver(local_stores: LocalStores) -> None:
    """Azurite answers 500 to a listing of a name holding U+FFFE: the raw adlfs filesystem gives up
    after the driver's retries (none here), not after the SDK's own three waits of 15 s and more."""
    target = raw_target("azure", local_stores.parameters("azure", retries=0))
    started = time.monotonic()
    [record] = run_probes([target], [p for p in PROBES if p.name == "noncharacter_name"])
    assert record.value == "list: HttpResponseError"
    assert time.monotonic() - started < 10


def test_declared_capabilities_match_the_probes(matrix: list[Record], local_stores: LocalStores) -> None:
    for name in DRIVERS:
        driver = distfs.create(name, local_stores.parameters(name))
        derived = derive_capabilities(matrix, name)  # but the fields the suite checks (DECLARED_ONLY)
        derived = dataclasses.replace(derived, **{f: getattr(driver.capabilities, f) for f in DECLARED_ONLY})
        assert driver.capabilities == derived, name


def test_capabilities_default_for_third_party_drivers() -> None:
    class Plain(distfs.StorageDriver):
        name = "plain"  # type: ignore[assignment]
        get_content = put_content = reader = writer = stat = list = move = delete = walk = None  # type: ignore[assignment]

    assert Plain().capabilities == UNKNOWN  # type: ignore[abstract]
    assert UNKNOWN.append == "unknown"
    assert UNKNOWN.listing_consistency == "unknown"
    assert type(UNKNOWN) is distfs.Capabilities
    assert "Capabilities" in distfs.__all__


def test_a_driver_without_raw_counterpart_is_probed_alone() -> None:
    driver = distfs.create("inmemory")
    records = run_probes([DistfsTarget("inmemory", driver)], [p for p in PROBES if p.group == "listing"])
    assert [r.kind for r in records] == ["distfs"] * len(records)
    assert derive_capabilities(records, "inmemory").append == "unknown"  # needs the raw probe


# -- the command ----------------------------------------------------------------------


def test_probe_command_writes_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_json, out_md = tmp_path / "probe.json", tmp_path / "probe.md"
    root = tmp_path / "store"
    code = main(
        [
            "probe",
            "filesystem",
            "-p",
            f"rootdirectory={root}",
            "-k",
            "list_",
            "--json",
            str(out_json),
            "--markdown",
            str(out_md),
        ]
    )
    assert code == 0
    report: dict[str, Any] = json.loads(out_json.read_text())
    selected = [p.name for p in PROBES if "list_" in p.name]
    assert len(report["records"]) == 2 * len(selected)
    assert {r["kind"] for r in report["records"]} == {"raw", "distfs"}
    assert "| `list_missing`" in out_md.read_text()
    assert capsys.readouterr().out == out_md.read_text()
    assert list(root.iterdir()) == []  # probes clean up after themselves


def test_probe_command_refuses_a_store_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    driver.put_content("/keep", b"user data")
    assert main(["probe", "filesystem", "-p", f"rootdirectory={tmp_path}"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert driver.get_content("/keep") == b"user data"


def test_append_probes_close_a_committed_writer() -> None:
    """A committed writer is not yet closed (FileWriter.closed); the probe closes it, never cancels it."""
    driver = distfs.create("inmemory")
    writer = driver.writer("/w")
    writer.write(b"x")
    writer.commit()
    assert not writer.closed
    writer.close()
    assert writer.closed
    records = run_probes([DistfsTarget("inmemory", driver)], [p for p in PROBES if p.group == "append"])
    assert {r.probe: r.value for r in records} == {
        "append_existing": "appended on close",
        "append_zero_byte": "appended on close",
        "append_missing": "refused: PathNotFoundError",
    }


def test_probe_limits_are_not_bold_and_third_party_reports_get_a_neutral_header() -> None:
    records = [
        Record("directory_marker_listed", "mydriver", "distfs", "error: not supported"),
        Record("list_missing", "mydriver", "distfs", "[]"),
    ]
    markdown = to_markdown(records)
    assert "| error: not supported |" in markdown  # a limit of the probe, not a breach
    assert "| **[]** |" in markdown  # a breach of the contract (PathNotFoundError)
    assert markdown.startswith("# Probe results\n")
    for private in ("DESIGN", "reference/", "LocalStores", "docs/semantics.md"):
        assert private not in markdown
    assert "DESIGN" not in SEMANTICS.read_text(encoding="utf-8")


def test_probe_parameters_per_driver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "store"
    argv = ["probe", "inmemory", "filesystem", "--no-raw", "-k", "list_missing"]
    assert main([*argv, "-p", f"rootdirectory={root}"]) == 2  # inmemory takes no rootdirectory
    assert "rootdirectory" in capsys.readouterr().err
    assert main([*argv, "-p", f"filesystem.rootdirectory={root}", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {(r["backend"], r["value"]) for r in report["records"]} == {
        ("inmemory", "PathNotFoundError"),
        ("filesystem", "PathNotFoundError"),
    }
    assert root.is_dir()


def test_probe_command_on_a_registered_third_party_driver(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The guide's SQLite driver, registered in this process: no fsspec counterpart, no raw column."""
    spec = importlib.util.spec_from_file_location("probe_sqlite_driver", SQLITE_EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name = f"sqlite-{uuid.uuid4().hex[:8]}"  # registered in this process only, never built in
    distfs.register(name, module.factory)
    argv = ["probe", name, "-p", f"file={tmp_path / 'store.db'}", "-k", "list_missing"]
    assert main([*argv, "--json", "-"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert [(r["backend"], r["kind"], r["value"]) for r in report["records"]] == [(name, "distfs", "PathNotFoundError")]
    assert f"{name}: no raw column: it is neither a built-in driver nor one over the generic" in captured.err
    assert main([*argv, "--markdown", "-"]) == 0
    assert f"- {name}: no raw column" in capsys.readouterr().out  # the report says why too


def test_probe_command_on_a_registered_driver_over_an_fsspec_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """A registered wrapper of inmemory: its backend's filesystem is the raw column."""
    name = f"wrapped-{uuid.uuid4().hex[:8]}"
    distfs.register(name, lambda parameters: distfs.create("inmemory", parameters))
    assert main(["probe", name, "-k", "list_", "--json", "-"]) == 0
    captured = capsys.readouterr()
    values = {(r["probe"], r["kind"]): r["value"] for r in json.loads(captured.out)["records"]}
    assert values[("list_missing", "raw")] == "FileNotFoundError"
    assert values[("list_missing", "distfs")] == "PathNotFoundError"
    assert values[("list_file", "raw")] == "[f]"  # fsspec lists a file; distfs refuses
    # The second instance shares the wrapper's private store (driver.reopen()), not a new one.
    assert main(["probe", name, "--no-raw", "-k", "stale_", "--json", "-"]) == 0
    stale = {r["probe"]: r["value"] for r in json.loads(capsys.readouterr().out)["records"]}
    assert set(stale.values()) == {"fresh"}, stale
    assert "no raw column" not in captured.err


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_probe_command_on_an_fsspec_url_has_its_raw_column(
    scheme: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"memory://probe-{uuid.uuid4().hex[:8]}/prefix" if scheme == "memory" else f"file://{tmp_path}/store"
    assert main(["probe", url, "-k", "list_", "--json", "-"]) == 0
    report = json.loads(capsys.readouterr().out)
    values = {(r["probe"], r["kind"]): r["value"] for r in report["records"]}
    assert {r["backend"] for r in report["records"]} == {url}
    assert values[("list_missing", "raw")] == "FileNotFoundError"  # fsspec itself
    assert values[("list_missing", "distfs")] == "PathNotFoundError"
    assert values[("list_name_format", "raw")] == "[ROOT/t/f]"  # fsspec keys below the URL's root
    assert values[("list_name_format", "distfs")] == "[/t/f]"
    if scheme == "file":
        assert list((tmp_path / "store").iterdir()) == []  # probes clean up after themselves


def test_probe_lists_declared_capabilities_the_probes_contradict() -> None:
    class Boasting(ObjectStoreDriver):
        @property
        def capabilities(self) -> distfs.Capabilities:
            return dataclasses.replace(super().capabilities, presign_get=True, atomic_move=True)

    plain = distfs.create("inmemory")
    assert isinstance(plain, Base)
    assert isinstance(plain.inner, ObjectStoreDriver)
    driver = Base(Boasting(plain.inner.engine))
    probes = [p for p in PROBES if p.name in ("presign_get", "move_is_rename", "list_missing")]
    records = run_probes([DistfsTarget("boasting", driver)], probes)
    found = contradictions(records, "boasting", driver.capabilities)
    assert [line.split(",")[0] for line in found] == [
        "boasting declares atomic_move=true",
        "boasting declares presign_get=true",
    ]
    assert "the probe `presign_get` observes false" in found[1]
    markdown = to_markdown(records, declared={"boasting": driver.capabilities})
    assert "## Declared capabilities the probes contradict" in markdown
    assert f"- **{found[1]}**" in markdown
    assert contradictions(records, "boasting", plain.capabilities) == []  # inmemory's own are true
    assert "contradict\n" not in to_markdown(records, declared={"boasting": plain.capabilities})
