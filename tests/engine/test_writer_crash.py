"""Crash safety of the ``filesystem`` driver: processes killed with SIGKILL mid-write.

``test_resume_after_kill``: a child process uploads three 1 MiB chunks to one path, each
through its own writer (``writer(p)`` / ``writer(p, append=True)``, write, ``close()``),
then opens a fourth ``writer(p, append=True)`` and writes junk in small pieces forever.
The parent SIGKILLs it at a chosen point -- inside the ``close()`` of chunk 3 (just before
the size is recorded) or some way into chunk 4 -- checks that the path is not visible,
and that the kill really left unrecorded bytes in the upload. A *new* process then
resumes with ``writer(p, append=True)``: it must see exactly the last closed size, write
the rest, and commit. The result must be byte-exact and leave no upload state behind.

``test_put_content_is_atomic_under_kill``: a child overwrites an 8 MiB object with two
alternating contents forever; killed at random moments, the object is always exactly one
of them, never a mix or a truncated file.

This module is also the child: ``python test_writer_crash.py <mode> ...`` (see ``main``).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import distfs

MiB = 1 << 20
KiB = 1 << 10
CHUNK = MiB
PIECE = 4 * KiB  # the size of each small write of chunk 4
OBJECT = 8 * MiB  # put_content test
MARKER = "distfs-crash-marker"
PATH = "/repo/_uploads/u1/data"
MARKER_TIMEOUT = 20.0

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


# -- shared by parent and child -----------------------------------------------------------


def chunks(seed: int) -> list[bytes]:
    """The four distinct 1 MiB chunks of an upload."""
    return [random.Random(f"{seed}-chunk-{index}").randbytes(CHUNK) for index in range(4)]


def contents(seed: int) -> tuple[bytes, bytes]:
    """The two distinct full contents A and B of the put_content test."""
    return random.Random(f"{seed}-A").randbytes(OBJECT), random.Random(f"{seed}-B").randbytes(OBJECT)


def upload_dir(root: Path, path: str) -> Path:
    """Where distfs keeps the suspended upload of ``path`` (``.distfs~/uploads/<path>/.distfs~``)."""
    return root / ".distfs~" / "uploads" / path.lstrip("/") / ".distfs~"


def data_file(root: Path, path: str) -> Path:
    """The one file of the upload of ``path`` (``<upload dir>/<scratch>/data``)."""
    (found,) = upload_dir(root, path).glob("*/data")
    return found


def journaled_size(data: bytes) -> int:
    """The size a writer's journal (``state``) records: its parts and its tail."""
    header = json.loads(data.partition(b"\n")[0])
    return sum(size for _, size in header["parts"]) + int(header["tail"][0])


def open_driver(root: str) -> distfs.StorageDriver:
    return distfs.create("filesystem", {"rootdirectory": root})


# -- the child processes ----------------------------------------------------------------


def child_crash_writer(root: str, path: str, seed: int, kill_point: str) -> int:
    """Upload chunks 1-3 through three writers, then write chunk 4 forever; print MARKER."""
    driver = open_driver(root)
    first, second, third, _ = chunks(seed)
    writer = driver.writer(path)
    writer.write(first)
    writer.close()
    for index, chunk in enumerate((second, third), start=1):
        writer = driver.writer(path, append=True)
        if writer.size != index * CHUNK:
            print(f"resumed at {writer.size}, expected {index * CHUNK}", file=sys.stderr)
            return 3
        writer.write(chunk)
        if kill_point == "close3" and index == 2:
            hang_before_recording_size(3 * CHUNK)
        writer.close()
    writer = driver.writer(path, append=True)
    threshold = 3 * CHUNK + int(kill_point)
    data = data_file(Path(root), path)
    junk = random.Random(f"{seed}-junk").randbytes(CHUNK)
    marked = False
    while True:
        for offset in range(0, len(junk), PIECE):
            # Small writes: the stream flushes its buffer to the file each time it fills.
            # The marker waits until the file itself holds the threshold, whatever the
            # buffer size, so the kill always leaves unrecorded bytes in the upload.
            writer.write(junk[offset : offset + PIECE])
            if not marked and data.stat().st_size >= threshold:
                print(MARKER, writer.size - 3 * CHUNK, flush=True)
                marked = True


def hang_before_recording_size(size: int) -> None:
    """Make ``close()`` stop (and announce it) right before it records ``size``.

    ``close()`` syncs the data, then journals the size through ``LocalStore.put`` of the
    journal ``state``; the hook stops at that call, so a kill lands inside ``close()``
    deterministically.
    """
    from distfs.backends.filesystem import LocalStore

    original = LocalStore.put

    async def put(self: LocalStore, key: str, data: bytes, *, if_absent: bool = False) -> None:
        if key.endswith("/state") and journaled_size(data) == size:
            print(MARKER, "close", flush=True)
            time.sleep(3600)
        await original(self, key, data, if_absent=if_absent)

    pytest.MonkeyPatch().setattr(LocalStore, "put", put)


def child_resume(root: str, path: str, seed: int) -> int:
    """Resume the upload, write what is missing, commit; report what was seen as JSON."""
    driver = open_driver(root)
    full = b"".join(chunks(seed))
    writer = driver.writer(path, append=True)
    report: dict[str, object] = {"resumed": writer.size}
    for offset in range(writer.size, len(full), 64 * KiB):
        writer.write(full[offset : offset + 64 * KiB])
    report["size_before_commit"] = writer.size
    observer = open_driver(root)  # another driver instance: the path must not exist yet
    hidden = []
    for look in (observer.stat, observer.get_content, observer.reader):
        try:
            look(path)
            hidden.append(False)
        except distfs.PathNotFoundError:
            hidden.append(True)
    report["hidden_before_commit"] = hidden
    writer.commit()
    writer.close()
    print(json.dumps(report), flush=True)
    return 0


def child_put_loop(root: str, path: str, seed: int) -> int:
    """Overwrite ``path`` with B, A, B, A, ... forever; print MARKER after the first overwrite."""
    driver = open_driver(root)
    first, second = contents(seed)
    driver.put_content(path, second)
    print(MARKER, flush=True)
    while True:
        driver.put_content(path, first)
        driver.put_content(path, second)


def main(argv: list[str]) -> int:
    mode, root, path, seed = argv[0], argv[1], argv[2], int(argv[3])
    if mode == "crash-writer":
        return child_crash_writer(root, path, seed, argv[4])
    if mode == "resume":
        return child_resume(root, path, seed)
    if mode == "put-loop":
        return child_put_loop(root, path, seed)
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


# -- the parent -------------------------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_marker(child: subprocess.Popen[str]) -> str:
    """The child's marker line; fails (after killing the child) if none comes in time."""
    assert child.stdout is not None
    deadline = time.monotonic() + MARKER_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([child.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = child.stdout.readline()
        if line.startswith(MARKER):
            return line
        if not line:  # the child ended without its marker
            break
    stdout, stderr = kill(child)
    pytest.fail(f"no marker from the child (exit {child.returncode}): {stdout!r} {stderr[-2000:]}")


def kill(child: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGKILL ``child`` (if still running) and reap it."""
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    stdout, stderr = child.communicate(timeout=30)
    return stdout, stderr


def files_below(directory: Path) -> list[str]:
    return [os.path.join(top, name) for top, _, names in os.walk(directory) for name in names]


def assert_not_visible(root: Path, path: str) -> None:
    driver = open_driver(str(root))
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat(path)
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content(path)
    with pytest.raises(distfs.PathNotFoundError):
        driver.reader(path)
    assert driver.list("/") == []


#: kill point -> (bytes of chunk 4 written before the kill, "close3" = inside close() of chunk 3)
KILL_POINTS = {
    "during-close-of-chunk-3": "close3",
    "chunk-4-at-16KiB": str(16 * KiB),
    "chunk-4-at-300KiB": str(300 * KiB),
    "chunk-4-at-2.5MiB": str(5 * CHUNK // 2),  # past the end of the real chunk 4
}


@pytest.mark.parametrize("kill_point", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_resume_after_kill(tmp_path: Path, kill_point: str) -> None:
    root = tmp_path / "root"
    seed = random.Random(kill_point).randrange(1 << 30)
    child = spawn("crash-writer", str(root), PATH, str(seed), kill_point)
    try:
        marker = wait_for_marker(child)
    finally:
        _, stderr = kill(child)
    assert child.returncode == -signal.SIGKILL, stderr

    # The kill left an upload whose file holds more than its recorded size.
    upload = upload_dir(root, PATH)
    recorded = journaled_size((upload / "state").read_bytes())
    on_disk = data_file(root, PATH).stat().st_size
    if kill_point == "close3":
        assert marker.split()[1:] == ["close"]
        expected_resume = 2 * CHUNK
        assert (recorded, on_disk) == (2 * CHUNK, 3 * CHUNK)
    else:
        expected_resume = 3 * CHUNK
        assert recorded == 3 * CHUNK
        assert on_disk >= 3 * CHUNK + int(kill_point), "the junk of chunk 4 never reached the file"
    assert_not_visible(root, PATH)

    resume = subprocess.run(
        [sys.executable, __file__, "resume", str(root), PATH, str(seed)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resume.returncode == 0, resume.stderr
    report = json.loads(resume.stdout)
    full = b"".join(chunks(seed))
    assert report == {
        "resumed": expected_resume,
        "size_before_commit": len(full),
        "hidden_before_commit": [True, True, True],
    }

    driver = open_driver(str(root))
    content = driver.get_content(PATH)
    size, expected_size = len(content), len(full)
    assert size == expected_size
    assert content == full, "the content differs from chunks 1-4"
    assert driver.stat(PATH).size == len(full)
    assert driver.list("/") == ["/repo"]
    assert files_below(root / ".distfs~" / "uploads") == []
    assert files_below(root / ".distfs~") == []  # no temp file left either


PUT_KILLS = 10


def test_put_content_is_atomic_under_kill(tmp_path: Path) -> None:
    root = tmp_path / "root"
    path = "/repo/blobs/big"
    seed = 20260901
    first, second = contents(seed)
    open_driver(str(root)).put_content(path, first)
    delays = random.Random(seed)
    seen: set[str] = set()
    for round_ in range(PUT_KILLS):
        child = spawn("put-loop", str(root), path, str(seed))
        try:
            wait_for_marker(child)
            time.sleep(delays.uniform(0.0, 0.03))
        finally:
            _, stderr = kill(child)
        assert child.returncode == -signal.SIGKILL, stderr
        driver = open_driver(str(root))
        content = driver.get_content(path)
        size = len(content)
        assert size == OBJECT, f"round {round_}: truncated to {size} bytes"
        is_first, is_second = content == first, content == second
        assert is_first or is_second, f"round {round_}: neither A nor B"
        assert driver.stat(path).size == OBJECT
        assert driver.list("/repo/blobs") == [path]
        seen.add("A" if is_first else "B")
    assert seen  # both are possible; which one depends on the kill moment


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
