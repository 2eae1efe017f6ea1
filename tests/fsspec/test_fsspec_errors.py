"""distfs:// errors are OSError kinds with errno, naming the caller's path only (issue 26).

A full disk and a read-only store are real: a small tmpfs mounted for the test (skipped
where this process may not mount).
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS

from distfs.fsspec import DistFileSystem

pytestmark = NO_LEAKS

UPLOADS = ".distfs~"


def _fs(root: Path) -> DistFileSystem:
    filesystem = fsspec.filesystem("distfs", driver="filesystem", rootdirectory=str(root), skip_instance_cache=True)
    assert isinstance(filesystem, DistFileSystem)
    return filesystem


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted at a fresh directory (unmounted afterwards)."""
    where = tmp_path / "mnt"
    where.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)]
    made = subprocess.run(command, check=False, capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _named_only(error: BaseException, path: str) -> None:
    assert path in str(error)
    assert UPLOADS not in str(error)
    assert error.filename == path  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("call", "number", "kind"),
    [
        (lambda fs: fs.pipe("/a/b", b"y"), errno.ENOTDIR, NotADirectoryError),
        (lambda fs: fs.open("/a/b", "wb").close(), errno.ENOTDIR, NotADirectoryError),
        (lambda fs: fs.open("/d", "rb"), errno.EISDIR, IsADirectoryError),
        (lambda fs: fs.rm_file("/d"), errno.EISDIR, IsADirectoryError),
        (lambda fs: fs.open("/d/x", "xb"), errno.EEXIST, FileExistsError),
        (lambda fs: fs.pipe_file("/d/x", b"", mode="create"), errno.EEXIST, FileExistsError),
        (lambda fs: fs.cat("/missing"), errno.ENOENT, FileNotFoundError),
    ],
)
def test_failures_are_os_errors_with_errno(tmp_path: Path, call: Any, number: int, kind: type[OSError]) -> None:
    fs = _fs(tmp_path / "store")
    fs.pipe({"/a": b"x", "/d/x": b"1"})
    with pytest.raises(kind) as failure:
        call(fs)
    assert failure.value.errno == number
    assert failure.value.filename in ("/a/b", "/d", "/d/x", "/missing")


def test_a_full_disk_is_enospc_naming_the_callers_path(tmpfs: Path) -> None:
    fs = _fs(tmpfs)
    fs.pipe("/old.bin", b"old")

    def fill() -> None:
        with fs.open("/big.bin", "wb", block_size=256 << 10) as stream:
            for _ in range(16):
                stream.write(b"x" * (256 << 10))

    with pytest.raises(OSError) as failure:
        fill()
    assert failure.value.errno == errno.ENOSPC
    _named_only(failure.value, "/big.bin")
    assert not fs.exists("/big.bin")
    assert fs.cat("/old.bin") == b"old"


def test_rm_on_a_read_only_store_is_permission_error(tmpfs: Path) -> None:
    fs = _fs(tmpfs)
    fs.pipe({"/keep/a": b"a", "/keep/b": b"b"})
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    for call in (lambda: fs.rm("/keep/a"), lambda: fs.rm(["/keep/a", "/keep/b"]), lambda: fs.rm_file("/keep/b")):
        with pytest.raises(PermissionError) as failure:
            call()
        assert failure.value.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
        assert UPLOADS not in str(failure.value)
    assert fs.cat("/keep/a") == b"a"
