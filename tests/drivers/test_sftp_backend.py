"""sshfs (fsspec's ``sftp`` protocol) against the harness's asyncssh SFTP server, measured.

What the generic store has to cope with over SFTP, each behaviour pinned by an assertion
that fails if sshfs or the server changes (then docs/backends-measured.md changes too):
ranged ``cat_file`` returns the whole file, ``copy`` needs a shell the server refuses,
``mv`` replaces an existing file (posix-rename), mtimes are whole seconds, ``info`` has no
identity (no etag, no inode), ``ls`` names follow the form of the path asked for, and
several errors arrive as asyncssh's own exception types rather than ``OSError``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import fsspec
import pytest
import sshfs

from distfs.tools.servers import SFTPEndpoint, free_port, wait_ssh


@pytest.fixture(scope="module")
def fs(sftp_server: SFTPEndpoint) -> Any:
    """fsspec's ``sftp`` filesystem (sshfs) logged in to the server."""
    return fsspec.filesystem("sftp", **sftp_server.storage_options)


@pytest.fixture
def base(fs: Any, sftp_server: SFTPEndpoint) -> Iterator[str]:
    """A fresh directory of this test's own, as an absolute SFTP path."""
    path = f"/{uuid.uuid4().hex}"
    fs.makedirs(path)
    yield path
    fs.rm(path, recursive=True)


def server_reads(endpoint: SFTPEndpoint) -> int:
    """Bytes the server process has read so far (``rchar`` of ``/proc/PID/io``)."""
    for line in Path(f"/proc/{endpoint.pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/PID/io")


# -- the server ------------------------------------------------------------------------


def test_fsspec_sftp_is_sshfs_and_the_server_serves_its_root(fs: Any, sftp_server: SFTPEndpoint, base: str) -> None:
    assert isinstance(fs, sshfs.SSHFileSystem)
    fs.pipe_file(f"{base}/a/b.txt", b"hello")
    assert (sftp_server.root / base.lstrip("/") / "a" / "b.txt").read_bytes() == b"hello"
    assert f"{base}" in fs.ls("/", detail=False)
    with pytest.raises(FileNotFoundError):  # chrooted: / is the served directory, .. stays in it
        fs.cat_file("/../../etc/passwd")


def test_a_wrong_password_is_refused_with_permission_error(sftp_server: SFTPEndpoint) -> None:
    options = {**sftp_server.storage_options, "password": "not-the-password"}
    with pytest.raises(PermissionError, match="Permission denied"):
        sshfs.SSHFileSystem(skip_instance_cache=True, **options)


def test_the_generated_client_key_logs_in_and_another_key_does_not(sftp_server: SFTPEndpoint, tmp_path: Path) -> None:
    assert sftp_server.client_key.stat().st_mode & 0o077 == 0
    assert not sftp_server.client_key.is_relative_to(sftp_server.root)  # never served
    fs = sshfs.SSHFileSystem(skip_instance_cache=True, **sftp_server.key_storage_options)
    assert "password" not in sftp_server.key_storage_options
    assert fs.info("/")["type"] == "directory"
    other = tmp_path / "other_key"
    other.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    with pytest.raises(PermissionError):
        sshfs.SSHFileSystem(
            skip_instance_cache=True, **{**sftp_server.key_storage_options, "client_keys": [str(other)]}
        )


def test_the_server_not_starting_is_an_error(tmp_path: Path) -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    with pytest.raises(RuntimeError, match="exited with 0 before listening"):
        wait_ssh(free_port(), exited)


def test_sshfs_checks_no_host_key_unless_given_known_hosts(sftp_server: SFTPEndpoint, tmp_path: Path) -> None:
    options = {k: v for k, v in sftp_server.storage_options.items() if k != "known_hosts"}
    fs = sshfs.SSHFileSystem(skip_instance_cache=True, **options)  # the server's key is new and unknown
    assert fs.ls("/", detail=False) is not None
    (tmp_path / "known_hosts").write_text("")  # a known_hosts file that lacks the key: refused
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        sshfs.SSHFileSystem(skip_instance_cache=True, **{**options, "known_hosts": str(tmp_path / "known_hosts")})


def test_the_endpoint_keeps_the_password_out_of_its_repr(sftp_server: SFTPEndpoint) -> None:
    assert sftp_server.password not in repr(sftp_server)
    assert sftp_server.password not in sftp_server.url()
    assert sftp_server.url("/x") == f"sftp://{sftp_server.username}@127.0.0.1:{sftp_server.port}/x"


# -- reads -----------------------------------------------------------------------------


def test_ranged_cat_file_returns_the_whole_file(fs: Any, base: str) -> None:
    fs.pipe_file(f"{base}/f", b"0123456789")
    assert fs.cat_file(f"{base}/f", start=2, end=5) == b"0123456789"  # the range is ignored
    assert fs.cat_ranges([f"{base}/f"], [2], [5]) == [b"0123456789"]
    with pytest.raises(TypeError):  # positional start/end are not even accepted
        fs.cat_file(f"{base}/f", 2, 5)


def test_open_seek_read_is_a_true_ranged_read(fs: Any, sftp_server: SFTPEndpoint, base: str) -> None:
    size = 8 << 20
    fs.pipe_file(f"{base}/big", bytes(range(256)) * (size // 256))
    before = server_reads(sftp_server)
    with fs.open(f"{base}/big", "rb") as file:
        file.seek(size // 2 + 3)
        assert file.read(4) == bytes([3, 4, 5, 6])
    ranged = server_reads(sftp_server) - before
    before = server_reads(sftp_server)
    assert len(fs.cat_file(f"{base}/big", start=0, end=4)) == size
    whole = server_reads(sftp_server) - before
    assert ranged < 1 << 20, ranged  # the server read about the range only (and its own bookkeeping)
    assert whole >= size, whole


def test_read_block_fails_on_sshfs_files(fs: Any, base: str) -> None:
    fs.pipe_file(f"{base}/f", b"0123456789")
    with pytest.raises(AttributeError, match="size"):
        fs.read_block(f"{base}/f", 2, 3)


# -- metadata and listings -------------------------------------------------------------


def test_info_has_no_identity_and_whole_second_mtimes(fs: Any, sftp_server: SFTPEndpoint, base: str) -> None:
    fs.pipe_file(f"{base}/f", b"abc")
    info = fs.info(f"{base}/f")
    assert set(info) == {"name", "size", "type", "uid", "gid", "time", "mtime", "permissions"}  # no etag, no ino
    assert (info["name"], info["size"], info["type"]) == (f"{base}/f", 3, "file")
    local_ns = (sftp_server.root / base.lstrip("/") / "f").stat().st_mtime_ns
    assert info["mtime"].timestamp() == local_ns // 10**9  # SFTP v3 attributes: whole seconds
    assert info["mtime"].microsecond == 0
    assert fs.modified(f"{base}/f") == info["mtime"]
    directory = fs.info(base)
    assert (directory["name"], directory["type"]) == (f"{base}/", "directory")  # a directory's name ends in /
    with pytest.raises(NotImplementedError):
        fs.created(f"{base}/f")


def test_ls_names_follow_the_form_of_the_path_asked_for(fs: Any, base: str) -> None:
    fs.pipe_file(f"{base}/d/x", b"1")
    fs.pipe_file(f"{base}/y", b"2")
    relative = base.lstrip("/")
    assert sorted(fs.ls(base, detail=False)) == [f"{base}/d", f"{base}/y"]  # no trailing / on directories
    assert sorted(fs.ls(base + "/", detail=False)) == [f"{base}/d", f"{base}/y"]
    assert sorted(fs.ls(relative, detail=False)) == [f"{relative}/d", f"{relative}/y"]  # relative to home (= /)
    entries = {entry["name"]: entry["type"] for entry in fs.ls(base, detail=True)}
    assert entries == {f"{base}/d": "directory", f"{base}/y": "file"}
    assert sorted(fs.find(base)) == [f"{base}/d/x", f"{base}/y"]
    assert fs.ls(f"{base}/d/", detail=False) == [f"{base}/d/x"]


# -- writes, moves, copies, deletes ----------------------------------------------------


def test_pipe_file_makes_parents_and_writes_in_place(fs: Any, sftp_server: SFTPEndpoint, base: str) -> None:
    fs.pipe_file(f"{base}/p/q/r", b"one")  # parents made on the way
    assert fs.cat_file(f"{base}/p/q/r") == b"one"
    with fs.open(f"{base}/w", "wb") as file:
        file.write(b"partial")
        # an open writer's bytes are visible at the final name before close: no atomic put
        assert fs.cat_file(f"{base}/w") == b"partial"
        assert (sftp_server.root / base.lstrip("/") / "w").read_bytes() == b"partial"
    fs.pipe_file(f"{base}/w", b"PARTIAL")  # replaces in place (truncate and write)
    assert fs.cat_file(f"{base}/w") == b"PARTIAL"


def test_copy_needs_a_shell_the_plain_sftp_server_refuses(fs: Any, base: str) -> None:
    fs.pipe_file(f"{base}/src", b"data")
    with pytest.raises(asyncssh.ChannelOpenError):  # sshfs runs `cp` over an exec channel
        fs.copy(f"{base}/src", f"{base}/dst")
    assert not fs.exists(f"{base}/dst")
    with pytest.raises(asyncssh.ChannelOpenError):  # so does checksum (md5sum)
        fs.checksum(f"{base}/src")


def test_mv_replaces_an_existing_file_with_posix_rename(fs: Any, sftp_server: SFTPEndpoint, base: str) -> None:
    fs.pipe_file(f"{base}/src", b"new")
    fs.pipe_file(f"{base}/dst", b"old")
    inode = (sftp_server.root / base.lstrip("/") / "src").stat().st_ino
    fs.mv(f"{base}/src", f"{base}/dst")
    assert fs.cat_file(f"{base}/dst") == b"new"
    assert not fs.exists(f"{base}/src")
    assert (sftp_server.root / base.lstrip("/") / "dst").stat().st_ino == inode  # a rename, not a copy
    with pytest.raises(FileNotFoundError):
        fs.mv(f"{base}/src", f"{base}/elsewhere")


def test_rmdir_does_nothing_and_rm_removes_only_empty_directories(fs: Any, base: str) -> None:
    fs.makedirs(f"{base}/empty")
    fs.pipe_file(f"{base}/full/f", b"1")
    fs.rmdir(f"{base}/empty")  # fsspec's no-op: sshfs's _rmdir is never mirrored
    fs.rmdir(f"{base}/full")
    assert fs.isdir(f"{base}/empty")
    assert fs.isdir(f"{base}/full")
    fs.rm(f"{base}/empty")
    assert not fs.exists(f"{base}/empty")
    with pytest.raises(asyncssh.SFTPFailure, match="Directory not empty"):
        fs.rm(f"{base}/full")
    fs.rm(f"{base}/full", recursive=True)
    assert not fs.exists(f"{base}/full")
    with pytest.raises(FileExistsError):
        fs.makedirs(base)
    fs.makedirs(base, exist_ok=True)


# -- errors ----------------------------------------------------------------------------


def test_missing_paths_raise_file_not_found(fs: Any, base: str) -> None:
    for call in (fs.cat_file, fs.info, fs.rm_file, fs.ls, lambda p: fs.open(p, "rb")):
        with pytest.raises(FileNotFoundError):
            call(f"{base}/missing")
    assert not fs.exists(f"{base}/missing")


def test_a_path_below_a_file(fs: Any, base: str) -> None:
    fs.pipe_file(f"{base}/file", b"1")
    below = f"{base}/file/below"
    for call in (fs.cat_file, fs.info, fs.ls):  # reads: "Not a directory" as FileNotFoundError
        with pytest.raises(FileNotFoundError) as raised:
            call(below)
        assert str(raised.value.__cause__) == "Not a directory"
    with pytest.raises(asyncssh.SFTPFailure, match="is not a directory"):  # writes: asyncssh's own error
        fs.pipe_file(below, b"2")
    with pytest.raises(asyncssh.SFTPFailure, match="is not a directory"):
        fs.makedirs(f"{below}/deeper")
    fs.makedirs(f"{base}/dir")
    with pytest.raises(FileNotFoundError):  # moving a directory onto a file
        fs.mv(f"{base}/dir", f"{base}/file")
    assert fs.cat_file(f"{base}/file") == b"1"


def test_permission_denied_is_asyncssh_not_permission_error(fs: Any, sftp_server: SFTPEndpoint, base: str) -> None:
    fs.pipe_file(f"{base}/locked", b"secret")
    os.chmod(sftp_server.root / base.lstrip("/") / "locked", 0)  # the server runs as nobody when we are root
    with pytest.raises(asyncssh.SFTPPermissionDenied) as raised:
        fs.cat_file(f"{base}/locked")
    assert not isinstance(raised.value, OSError)  # sshfs maps only login failures to PermissionError
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        fs.pipe_file(f"{base}/locked", b"overwrite")
    with pytest.raises(asyncssh.SFTPPermissionDenied):
        fs.open(f"{base}/locked", "rb")
    assert fs.info(f"{base}/locked")["size"] == 6  # stat needs no read permission
    fs.pipe_file(f"{base}/closed/f", b"1")
    os.chmod(sftp_server.root / base.lstrip("/") / "closed", 0)
    try:
        with pytest.raises(asyncssh.SFTPPermissionDenied):  # a directory that cannot be read
            fs.ls(f"{base}/closed")
        with pytest.raises(asyncssh.SFTPPermissionDenied):
            fs.info(f"{base}/closed/f")
    finally:
        os.chmod(sftp_server.root / base.lstrip("/") / "closed", 0o755)  # so that clean-up can remove it
