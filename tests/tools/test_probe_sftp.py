"""``distfs probe`` on an sftp URL: sshfs's semantics matrix against the harness's SFTP server.

The raw column is sshfs itself, so its cells are the facts of docs/backends-measured.md as
the probes see them; the distfs column is whatever driver distfs builds over an sftp URL
(only the contract's own answers are pinned here). The whole catalogue runs: its clean-up
must cope with what sshfs cannot remove recursively (a name holding a backslash).
"""

from __future__ import annotations

import json
import uuid

import fsspec
import pytest

from distfs.tools.cli import main
from distfs.tools.probe import PROBES
from distfs.tools.servers import SFTPEndpoint


def test_probe_prints_the_semantics_matrix_of_an_sftp_url(
    sftp_server: SFTPEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = f"probe-{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("sftp", **sftp_server.storage_options).makedirs(directory)
    url = sftp_server.url(directory)
    argv = ["probe", url, "-p", f"password={sftp_server.password}"]
    assert main([*argv, "--json", "-"]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)["records"]
    values = {(r["probe"], r["kind"]): r["value"] for r in records}
    assert set(values) == {(p.name, kind) for p in PROBES for kind in ("raw", "distfs")}
    assert {r["backend"] for r in records} == {url}
    # sshfs, as measured in tests/drivers/test_sftp_backend.py
    assert values[("read_range_end", "raw")] == "'world!'"  # ranged cat_file: the whole file
    assert values[("read_negative_offset", "raw")] == "'world!'"
    assert values[("move_overwrite", "raw")] == "overwrites"  # posix-rename
    assert values[("move_is_rename", "raw")] == "rename (mtime kept)"
    assert values[("list_name_format", "raw")] == "[ROOT/t/f]"
    assert values[("list_missing", "raw")] == "FileNotFoundError"
    assert values[("directory_below_file", "raw")] == "SFTPFailure"  # asyncssh's error, no OSError
    assert values[("backslash_name", "raw")] == "two objects"
    # the contract's answers, whatever driver distfs builds
    assert values[("list_missing", "distfs")] == "PathNotFoundError"
    assert values[("stat_missing", "distfs")] == "PathNotFoundError"
    assert values[("read_range_end", "distfs")] == "'orl'"
    assert list((sftp_server.root / directory).iterdir()) == []  # probes clean up after themselves
    assert sftp_server.password not in captured.out + captured.err

    assert main([*argv, "-k", "list_missing", "--markdown", "-"]) == 0
    markdown = capsys.readouterr().out
    assert f"| probe | {url} raw | {url} distfs |" in markdown
    assert "## Capabilities" in markdown
