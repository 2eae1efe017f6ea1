"""The FileWriter state machine, suspend/resume, cancel, and what stays hidden."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from profiles import LOCAL

import distfs
from distfs.backends import filesystem
from distfs.base import Base
from distfs.engine import ObjectStoreDriver

MiB = 1 << 20


def raw_keys(driver: distfs.StorageDriver) -> list[str]:
    """Every object key the backend holds, hidden state included (on filesystem: every file)."""
    assert isinstance(driver, Base)
    inner = driver.inner
    if isinstance(inner, ObjectStoreDriver):
        store = inner.engine.store
        if isinstance(store, filesystem.LocalStore):  # filesystem: every file below its root
            return sorted(str(path) for path in Path(store.bucket).rglob("*") if path.is_file())
        return sorted(store.fs.find(store.full("")))  # the generic store (inmemory): its filesystem below its root
    raise AssertionError(f"not an engine driver: {inner!r}")


def test_state_machine(driver: distfs.StorageDriver) -> None:
    w = driver.writer("/a/b")
    w.write(b"abc")
    w.commit()
    w.close()  # close after commit succeeds
    for action in (lambda: w.write(b"x"), w.commit, w.close, w.cancel):
        with pytest.raises(distfs.DriverError, match="already"):
            action()

    w = driver.writer("/a/c")
    w.close()
    for action in (lambda: w.write(b"x"), w.commit, w.close, w.cancel):
        with pytest.raises(distfs.DriverError, match="already closed") as info:
            action()
        assert str(info.value).startswith(f"{driver.name}: ")

    w = driver.writer("/a/d")
    w.cancel()
    for action in (lambda: w.write(b"x"), w.commit, w.close, w.cancel):
        with pytest.raises(distfs.DriverError, match="already cancelled"):
            action()
    assert w.closed


def test_suspend_is_invisible_until_commit(driver: distfs.StorageDriver) -> None:
    driver.put_content("/keep", b"k")
    w = driver.writer("/up/data")
    w.write(b"12345")
    w.close()
    assert w.size == 5
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/up/data")
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/up/data")
    with pytest.raises(distfs.PathNotFoundError):
        driver.reader("/up/data")
    assert driver.list("/") == ["/keep"]
    seen: list[str] = []
    driver.walk("/", lambda info: seen.append(info.path))
    assert seen == ["/keep"]
    w = driver.writer("/up/data", append=True)
    assert w.size == 5
    w.write(b"678")
    w.commit()
    w.close()
    assert driver.get_content("/up/data") == b"12345678"


def test_resume_from_another_driver_instance(tmp_path: Path) -> None:
    params = {"rootdirectory": str(tmp_path)}
    first = distfs.create("filesystem", params)
    w = first.writer("/u/data")
    w.write(b"x" * 1000)
    w.close()
    second = distfs.create("filesystem", params)
    w = second.writer("/u/data", append=True)
    assert w.size == 1000
    w.write(b"y")
    w.commit()
    assert first.get_content("/u/data") == b"x" * 1000 + b"y"


def test_resume_from_another_process(tmp_path: Path) -> None:
    data = os.urandom(3 * MiB + 7)
    (tmp_path / "input").write_bytes(data)
    step = textwrap.dedent(
        """
        import sys, distfs
        root, start, end, finish = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "commit"
        data = open(sys.argv[5], "rb").read()
        d = distfs.create("filesystem", {"rootdirectory": root})
        w = d.writer("/blobs/upload", append=start > 0)
        assert w.size == start, (w.size, start)
        w.write(data[start:end])
        w.commit() if finish else None
        w.close()
        print(w.size)
        """
    )
    root = tmp_path / "root"
    bounds = [0, MiB, 2 * MiB + 3, len(data)]
    for index in range(3):
        finish = "commit" if index == 2 else "close"
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                step,
                str(root),
                str(bounds[index]),
                str(bounds[index + 1]),
                finish,
                str(tmp_path / "input"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert int(result.stdout) == bounds[index + 1]
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    assert driver.get_content("/blobs/upload") == data


def test_cancel_removes_every_trace(driver: distfs.StorageDriver) -> None:
    before = raw_keys(driver)
    w = driver.writer("/x/y/z")
    w.write(b"data" * 1000)
    w.close()
    w = driver.writer("/x/y/z", append=True)
    w.write(b"more")
    w.cancel()
    assert raw_keys(driver) == before
    with pytest.raises(distfs.PathNotFoundError):
        driver.writer("/x/y/z", append=True)
    assert driver.list("/") == []


def test_commit_leaves_no_upload_state(driver: distfs.StorageDriver) -> None:
    w = driver.writer("/c/d")
    w.write(b"1")
    w.close()
    w = driver.writer("/c/d", append=True)
    w.write(b"2")
    w.commit()
    w.close()
    assert [k.rsplit("/", 2)[-2:] for k in raw_keys(driver)] == [["c", "d"]]


def test_append_on_missing_path(driver: distfs.StorageDriver) -> None:
    with pytest.raises(distfs.PathNotFoundError) as info:
        driver.writer("/nothing/here", append=True)
    assert str(info.value) == f"{driver.name}: Path not found: /nothing/here"


def test_append_to_committed_content_preserves_it(driver: distfs.StorageDriver) -> None:
    driver.put_content("/p", b"committed")
    w = driver.writer("/p", append=True)
    assert w.size == 9
    w.write(b"+more")
    w.close()
    assert driver.get_content("/p") == b"committed"  # still the committed object until commit
    w = driver.writer("/p", append=True)
    assert w.size == 14
    w.commit()
    assert driver.get_content("/p") == b"committed+more"


def test_new_writer_discards_a_suspended_upload(driver: distfs.StorageDriver) -> None:
    w = driver.writer("/q")
    w.write(b"old upload")
    w.close()
    w = driver.writer("/q", append=False)
    assert w.size == 0
    w.write(b"new")
    w.commit()
    assert driver.get_content("/q") == b"new"


def test_commit_replaces_the_committed_object(driver: distfs.StorageDriver) -> None:
    driver.put_content("/r", b"previous content that is longer")
    w = driver.writer("/r")
    w.write(b"short")
    w.commit()
    assert driver.get_content("/r") == b"short"
    assert driver.stat("/r").size == 5


def test_failed_commit_keeps_the_upload(driver: distfs.StorageDriver) -> None:
    driver.put_content("/f", b"a file")
    w = driver.writer("/f/child")  # a parent is a file: the publish cannot succeed
    w.write(b"precious")
    with pytest.raises(distfs.StorageDriverError):
        w.commit()
    assert driver.get_content("/f") == b"a file"
    w = driver.writer("/f/child", append=True)  # the upload is suspended, not lost
    assert w.size == 8
    w.cancel()


def test_delete_removes_suspended_uploads_below(driver: distfs.StorageDriver) -> None:
    driver.put_content("/_uploads/1/startedat", b"now")
    w = driver.writer("/_uploads/1/data")
    w.write(b"chunk")
    w.close()
    before = len(raw_keys(driver))
    driver.delete("/_uploads/1")
    assert len(raw_keys(driver)) < before - 1
    with pytest.raises(distfs.PathNotFoundError):
        driver.writer("/_uploads/1/data", append=True)


def test_writer_as_context_manager_suspends(driver: distfs.StorageDriver) -> None:
    def fail_midway() -> distfs.FileWriter:
        with driver.writer("/cm") as w:
            w.write(b"kept")
            raise RuntimeError("caller failed")

    with pytest.raises(RuntimeError):
        fail_midway()
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/cm")
    with driver.writer("/cm", append=True) as w:
        assert w.size == 4
        w.commit()
    assert driver.get_content("/cm") == b"kept"


@pytest.mark.parametrize("name", LOCAL)
def test_write_memory_is_bounded(make_driver: Callable[[str], distfs.StorageDriver], name: str) -> None:
    driver = make_driver(name)
    chunk = os.urandom(MiB)
    tracemalloc.start()
    try:
        w = driver.writer("/big")
        for _ in range(64):
            w.write(chunk)
        w.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if name == "filesystem":
        assert peak < 4 * MiB, peak  # 64 MiB written through a small buffer
    w = driver.writer("/big", append=True)
    assert w.size == 64 * MiB
    w.cancel()


def test_read_memory_is_bounded(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    with driver.writer("/big") as w:
        for _ in range(32):
            w.write(os.urandom(MiB))
        w.commit()
    tracemalloc.start()
    try:
        total = 0
        with driver.reader("/big", 5) as stream:
            while block := stream.read(MiB):
                total += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 32 * MiB - 5
    assert peak < 4 * MiB, peak
