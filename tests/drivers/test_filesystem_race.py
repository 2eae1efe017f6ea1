"""The ``filesystem`` driver stays inside its root while another process flips links.

A second process replaces the link ``root/d`` in a tight loop (atomically, by rename,
with short random pauses now and then) with links to a directory inside the root
(relative, absolute) and to one outside it (absolute, relative). Meanwhile this process
calls put, get, reader, writer, move (both ways), delete, list, stat and walk on paths
through ``/d``, and counts escapes: a file
created, changed or deleted outside, outside bytes returned or moved into the store,
outside names listed or walked, outside sizes reported. The count must be 0 -- a check
made once and a use that resolves the path again would lose this race thousands of times.

Each call through ``/d`` either works on the inside directory or raises
``InvalidPathError`` (or ``PathNotFoundError`` for a missing object); the test also
checks that both outcomes happened, so a run where the flipper never won is not a pass.

The run lasts ``RACE_SECONDS`` per resolver (the kernel's ``openat2`` and the
per-component fallback), ``LONG_SECONDS`` with ``DISTFS_TEST_LONG=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import distfs
from distfs import FileInfo, InvalidPathError, PathNotFoundError, StorageDriver, StorageDriverError, beneath
from distfs.backends import filesystem

RACE_SECONDS = 2.0
LONG_SECONDS = 20.0
SECONDS = LONG_SECONDS if os.environ.get("DISTFS_TEST_LONG") == "1" else RACE_SECONDS

OUTSIDE_SECRET = b"OUTSIDE secret bytes -- must never be read through the store"
INSIDE_SECRET = b"inside"  # a different size too: a stat of 6 bytes is inside
OUTSIDE_ONLY = "outside-only"

FLIPPER = textwrap.dedent(
    """
    import os, random, sys, time
    root, targets = sys.argv[1], sys.argv[2:]
    link, temp = os.path.join(root, "d"), os.path.join(root, "d.flip")
    i = 0
    while True:
        i += 1
        try:
            os.symlink(targets[i % len(targets)], temp)
            os.replace(temp, link)
        except FileExistsError:
            os.unlink(temp)
        # Mostly flat out; now and then a pause, so that some calls run start to end
        # inside (and the test can check that both outcomes happen).
        time.sleep(random.choice((0, 0, 0, 0, 0.0005, 0.002)))
    """
)


def _tree(top: Path, secret: bytes, *extra: str) -> None:
    """``secret``, a ``victim`` directory with a file, and ``extra`` empty files in ``top``."""
    (top / "victim").mkdir(parents=True, exist_ok=True)
    (top / "victim" / "file").write_bytes(b"v")
    (top / "secret").write_bytes(secret)
    for name in extra:
        (top / name).write_bytes(b"")


def _outside_state(outside: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for directory, names, files in os.walk(outside):
        for name in names + files:
            path = Path(directory, name)
            found[str(path.relative_to(outside))] = b"<dir>" if path.is_dir() else path.read_bytes()
    return found


@pytest.fixture
def flipping(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    _tree(root / "in", INSIDE_SECRET)
    _tree(outside, OUTSIDE_SECRET, OUTSIDE_ONLY)
    (root / "source").write_bytes(b"source")
    os.symlink("in", root / "d")
    targets = ["in", str(root / "in"), str(outside), "../outside"]
    flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(root), *targets])
    try:
        yield root, outside
    finally:
        flipper.kill()
        flipper.wait()


def _driver(root: Path, use_openat2: bool) -> StorageDriver:
    if use_openat2:
        return distfs.create("filesystem", {"rootdirectory": str(root)})  # the default resolver
    return filesystem.driver(filesystem.LocalStore(str(root), use_openat2=False))


def _read(driver: StorageDriver, path: str) -> bytes:
    with driver.reader(path) as stream:
        return stream.read()


def _write(driver: StorageDriver, path: str, data: bytes) -> None:
    writer = driver.writer(path)
    writer.write(data)
    writer.commit()


def _walked(driver: StorageDriver, path: str) -> list[str]:
    seen: list[FileInfo] = []
    driver.walk(path, seen.append)
    return [info.path for info in seen]


@pytest.mark.parametrize("use_openat2", [True, False], ids=["openat2", "per-component"])
def test_no_escape_while_a_link_flips(flipping: tuple[Path, Path], use_openat2: bool) -> None:
    root, outside = flipping
    driver = _driver(root, use_openat2)
    baseline = _outside_state(outside)
    escapes: Counter[str] = Counter()
    outcomes: Counter[tuple[str, str]] = Counter()
    number = [0]

    def fresh() -> str:
        number[0] += 1
        return str(number[0])

    def put() -> None:
        driver.put_content("/d/put-" + fresh(), b"EVIL put")

    def get() -> None:
        if driver.get_content("/d/secret") == OUTSIDE_SECRET:
            escapes["get"] += 1

    def reader() -> None:
        if _read(driver, "/d/secret") == OUTSIDE_SECRET:
            escapes["reader"] += 1

    def writer() -> None:
        _write(driver, "/d/writer-" + fresh(), b"EVIL writer")

    def move_in() -> None:
        driver.put_content("/source", b"source")
        driver.move("/source", "/d/moved-" + fresh())

    def move_out() -> None:
        driver.move("/d/secret", "/taken")
        if driver.get_content("/taken") == OUTSIDE_SECRET:
            escapes["move"] += 1
        (root / "in" / "secret").write_bytes(INSIDE_SECRET)

    def delete() -> None:
        driver.delete("/d/victim")
        _tree(root / "in", INSIDE_SECRET)

    def listing() -> None:
        if "/d/" + OUTSIDE_ONLY in driver.list("/d"):
            escapes["list"] += 1

    def stat() -> None:
        if driver.stat("/d/secret").size == len(OUTSIDE_SECRET):
            escapes["stat"] += 1

    def walk() -> None:
        if "/d/" + OUTSIDE_ONLY in _walked(driver, "/d"):
            escapes["walk"] += 1

    ops: dict[str, Callable[[], None]] = {
        "put": put,
        "get": get,
        "reader": reader,
        "writer": writer,
        "move-in": move_in,
        "move-out": move_out,
        "delete": delete,
        "list": listing,
        "stat": stat,
        "walk": walk,
    }
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        for name, op in ops.items():
            try:
                op()
                outcomes[name, "ok"] += 1
            except InvalidPathError:
                outcomes[name, "refused"] += 1
            except PathNotFoundError:
                outcomes[name, "missing"] += 1  # the link was replaced mid-call
            except StorageDriverError as error:
                outcomes[name, type(error).__name__] += 1
                if str(root) in str(error) or str(outside) in str(error):
                    escapes["host path in an error"] += 1
        state = _outside_state(outside)
        if state != baseline:
            escapes["outside changed: " + ", ".join(sorted(set(state) ^ set(baseline)))] += 1
            for name in set(state) - set(baseline):
                path = outside / name
                if path.is_file():
                    path.unlink()
            _tree(outside, OUTSIDE_SECRET, OUTSIDE_ONLY)
    assert not escapes, (escapes, outcomes)
    for name in ops:
        assert outcomes[name, "ok"] > 0, (name, outcomes)
        assert outcomes[name, "refused"] > 0, (name, outcomes)


def test_the_kernel_resolver_is_used_where_the_kernel_has_it() -> None:
    """openat2 exists since Linux 5.6: the probe must find it (a broken probe falls back silently)."""
    release = tuple(int(part) for part in os.uname().release.split(".")[:2] if part.isdigit())
    if sys.platform != "linux" or release < (5, 6):
        pytest.skip("no openat2 on this kernel")
    assert beneath._OPENAT2 is not None
