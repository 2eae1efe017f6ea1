"""Writers of the ``filesystem`` and ``inmemory`` drivers: one per path, no leaks.

* After 100 commits and 100 cancels (and suspends resumed then committed), the hidden
  state directory holds no empty directory and no file.
* Two writers of one path never mix: the second ``writer(path)`` is refused with
  ``WriterConflictError`` while the first is open -- also from another process (the lock
  is an ``flock``), also when the first process holds the writer without closing it;
  after a ``kill -9`` of the holder, the path is free again and resumes at the last close.
* Threads hammering one path with writers, ``put_content`` and ``move`` publish one
  writer's 1000 bytes, never 0, 2000 or a mix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import distfs
from distfs import WriterConflictError

REGISTRY = "/docker/registry/v2/repositories/library/app/_uploads"


def _hidden_leftovers(root: Path) -> list[str]:
    """Directories (empty or not) and files below ``.distfs~`` other than its fixed ones."""
    hidden = root / ".distfs~"
    found: list[str] = []
    for directory, names, files in os.walk(hidden):
        for name in names + files:
            relative = os.path.relpath(os.path.join(directory, name), hidden)
            if relative not in ("tmp", "uploads"):
                found.append(relative)
    return found


def test_commits_and_cancels_leave_no_directories(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    for i in range(100):
        writer = driver.writer(f"{REGISTRY}/{i}/data")
        writer.write(b"x" * 10)
        writer.commit()
        writer.close()
        writer = driver.writer(f"{REGISTRY}/cancelled-{i}/data")
        writer.write(b"y")
        writer.cancel()
    for i in range(10):
        writer = driver.writer(f"{REGISTRY}/resumed-{i}/data")
        writer.write(b"z")
        writer.close()
        writer = driver.writer(f"{REGISTRY}/resumed-{i}/data", append=True)
        writer.commit()
        with pytest.raises(distfs.PathNotFoundError):
            driver.writer(f"/nothing/{i}", append=True)
    assert _hidden_leftovers(tmp_path) == []
    assert len(driver.list(REGISTRY)) == 110


def test_delete_of_a_suspended_upload_leaves_no_directories(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    writer = driver.writer(f"{REGISTRY}/1/data")
    writer.write(b"x")
    writer.close()
    driver.put_content(f"{REGISTRY}/1/startedat", b"now")
    driver.delete(f"{REGISTRY}/1")
    assert _hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["filesystem", "inmemory"])
def test_second_writer_is_refused_until_the_first_finishes(tmp_path: Path, name: str) -> None:
    driver = distfs.create(name, {"rootdirectory": str(tmp_path)} if name == "filesystem" else {})
    first = driver.writer("/a/b")
    first.write(b"first")
    for append in (False, True):
        with pytest.raises(WriterConflictError) as info:
            driver.writer("/a/b", append=append)
        assert str(info.value) == f"{name}: another writer of /a/b is open"
    driver.writer("/a/c").cancel()  # other paths are free
    first.close()
    second = driver.writer("/a/b", append=True)
    assert second.size == 5
    second.write(b"+second")
    second.commit()
    assert driver.get_content("/a/b") == b"first+second"
    driver.writer("/a/b").cancel()  # free again after the commit


def test_a_dropped_inmemory_writer_frees_its_path() -> None:
    driver = distfs.create("inmemory", {})
    driver.writer("/p").write(b"abandoned")  # never closed, garbage-collected at once
    writer = driver.writer("/p")
    writer.write(b"new")
    writer.commit()
    assert driver.get_content("/p") == b"new"


HOLDER = textwrap.dedent(
    """
    import sys, time
    import distfs
    driver = distfs.create("filesystem", {"rootdirectory": sys.argv[1]})
    writer = driver.writer("/held", append=sys.argv[2] == "append")
    writer.write(b"held bytes")
    print("holding", flush=True)
    time.sleep(60)
    """
)


def test_a_writer_in_another_process_holds_the_path_until_it_dies(tmp_path: Path) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path)})
    writer = driver.writer("/held")
    writer.write(b"closed")
    writer.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "append"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(WriterConflictError):
            driver.writer("/held", append=True)
        with pytest.raises(WriterConflictError):
            driver.writer("/held")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    resumed = driver.writer("/held", append=True)  # the kernel dropped the dead holder's lock
    assert resumed.size == len(b"closed")
    resumed.commit()
    assert driver.get_content("/held") == b"closed"


@pytest.mark.parametrize("name", ["filesystem", "inmemory"])
def test_racing_writers_publish_one_writer_whole(tmp_path: Path, name: str) -> None:
    driver = distfs.create(name, {"rootdirectory": str(tmp_path)} if name == "filesystem" else {})
    contents = [bytes([65 + i]) * 1000 for i in range(8)]
    errors: list[BaseException] = []
    published: list[bytes] = []

    def work(i: int) -> None:
        try:
            for round_ in range(15):
                if i % 4 == 3:
                    driver.put_content("/p", contents[i])
                elif i % 4 == 2:
                    driver.put_content(f"/src/{i}", contents[i])
                    driver.move(f"/src/{i}", "/p")
                else:
                    try:
                        writer = driver.writer("/p", append=round_ % 2 == 1)
                    except (WriterConflictError, distfs.PathNotFoundError):
                        continue
                    if writer.size:
                        writer.cancel()
                        continue
                    for piece in range(0, 1000, 250):
                        writer.write(contents[i][piece : piece + 250])
                    writer.commit()
                published.append(driver.get_content("/p"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(contents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    wrong = [len(content) for content in published if content not in contents]
    assert wrong == [], f"published objects no writer wrote: sizes {wrong}"
