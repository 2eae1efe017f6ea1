"""The ``filesystem`` driver under what a disk and a root can do to it (issue 27).

* a write that fails part-way (EFBIG from ``RLIMIT_FSIZE``, in a child process that
  ignores ``SIGXFSZ``; ENOSPC on a 256 KiB tmpfs where the tests may mount one) accepts
  none of its bytes, and no later ``commit`` publishes the
  part of it that reached the disk; bytes accepted before it are all published;
* a FIFO, socket or other non-regular file below the root is refused at once (a typed
  error naming the path) by ``get_content`` and ``reader`` (so by ``registry ls`` and
  ``fsck`` too), instead of blocking the call and the concurrency slot it holds.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import distfs
from distfs import DriverError, StorageDriver, registry
from distfs.registry.layout import blob_data_path, tag_current_path
from distfs.tools.registry_store import put_image

LIMIT = 64 << 10  # the file size limit of the child (RLIMIT_FSIZE)

CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    import distfs

    root, mode, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    driver = distfs.create("filesystem", {"rootdirectory": root})
    writer = driver.writer("/big")
    writer.write(b"a" * 1000)
    if mode == "closed":
        writer.close()
        writer = driver.writer("/big", append=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # "buffered": the 1000 accepted bytes are still buffered and cannot all be stored either
    resource.setrlimit(resource.RLIMIT_FSIZE, (500 if mode == "buffered" else limit, hard))
    try:
        writer.write(b"b" * (4 * limit))
    except distfs.DriverError as exc:
        print("refused", exc.driver_name, file=sys.stderr)
    else:
        sys.exit("the write did not fail")
    print(writer.size)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space again
    writer.commit()
    """
)


@pytest.mark.parametrize("mode", ["closed", "open", "buffered"])
def test_a_failed_write_is_never_published(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "root"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), mode, str(LIMIT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "refused filesystem" in result.stderr
    assert result.stdout.split() == ["1000"]  # the accepted size is what it was before
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    assert driver.get_content("/big") == b"a" * 1000


def _within_a_second(call: Callable[[], object], *fifos: Path) -> BaseException | None:
    """Run ``call`` in a thread; its exception, or a failure if it still runs after a second
    (then the FIFOs get a writer, which unblocks a reader waiting on them)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(1.0)
    if thread.is_alive():
        for fifo in fifos:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # opens if a reader waits, freeing it
            except OSError:
                continue  # ENXIO: nobody reads that one
        thread.join(5.0)
        pytest.fail(f"{call} blocked on a FIFO")
    return outcome[0]


@pytest.fixture
def special(tmp_path: Path) -> tuple[StorageDriver, Path]:
    """A store (``maxthreads`` at its minimum, 25) holding a FIFO at ``/fifo/f``."""
    root = tmp_path / "root"
    driver = distfs.create("filesystem", {"rootdirectory": str(root), "maxthreads": 25})
    driver.put_content("/fifo/regular", b"ok")
    os.mkfifo(root / "fifo" / "f")
    return driver, root / "fifo" / "f"


def test_a_fifo_is_refused_at_once(special: tuple[StorageDriver, Path]) -> None:
    driver, fifo = special
    calls: list[Callable[[], object]] = [
        lambda: driver.get_content("/fifo/f"),
        lambda: driver.reader("/fifo/f"),
        lambda: driver.reader("/fifo/f", 3),
    ]
    for call in calls * 10:  # more calls than concurrency slots: none is held
        error = _within_a_second(call, fifo)
        assert isinstance(error, DriverError), error
        assert "/fifo/f" in str(error)
        assert error.driver_name == "filesystem"
    assert driver.get_content("/fifo/regular") == b"ok"
    assert driver.stat("/fifo/f").size == 0  # listed and stat-ed as before
    assert driver.list("/fifo") == ["/fifo/f", "/fifo/regular"]


def test_a_socket_is_refused_at_once(tmp_path: Path) -> None:
    root = tmp_path / "r"
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    driver.put_content("/s/regular", b"ok")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "s" / "sock"))
        for call in (lambda: driver.get_content("/s/sock"), lambda: driver.reader("/s/sock")):
            with pytest.raises(DriverError, match="/s/sock"):
                call()


def test_registry_ls_and_fsck_never_block_on_a_fifo(tmp_path: Path) -> None:
    """A tag link and a manifest that are FIFOs: ``ls`` and ``fsck`` end (reporting or
    raising a typed error) instead of blocking."""
    root = tmp_path / "store"
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    put_image(driver, "app", "v1", [os.urandom(100)])
    put_image(driver, "lib", "v2", [os.urandom(100)])
    digest = registry.ls(driver, "app")[0].tags["v1"]
    manifest = root / blob_data_path(digest)[1:]
    manifest.unlink()
    os.mkfifo(manifest)
    link = root / tag_current_path("lib", "v2")[1:]
    link.unlink()
    os.mkfifo(link)
    for call in (lambda: registry.ls(driver), lambda: registry.fsck(driver)):
        error = _within_a_second(call, manifest, link)
        assert error is None or isinstance(error, distfs.StorageDriverError), error


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (skipped where this process may not mount one)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, check=False
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs CAP_SYS_ADMIN)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)  # lazy: a failed test may hold files open


def test_a_write_that_fills_the_disk_is_never_published(tiny_disk: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tiny_disk / "root")})
    writer = driver.writer("/full")
    writer.write(b"a" * 1000)
    writer.close()
    writer = driver.writer("/full", append=True)
    with pytest.raises(DriverError, match="No space left"):
        writer.write(b"b" * (1 << 20))  # ENOSPC part-way
    assert writer.size == 1000
    writer.commit()  # the partial bytes were cut: space for the commit again
    assert driver.get_content("/full") == b"a" * 1000
