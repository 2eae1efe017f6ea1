"""Load: 64 threads of mixed operations on one driver, then every object verified.

Each thread owns a subtree (``/load/t<N>``) and keeps a record of what it holds there:
objects written with ``put_content``, moved, deleted, and writer sessions (new, resumed,
closed, committed). Its reads (``get_content``, ``reader`` at an offset, ``stat``,
``list``, ``walk``) are checked against that record as it goes. All threads also hammer a
few shared *hot* paths (put, get, stat, delete); there a ``PathNotFoundError`` is expected
when another thread's delete wins the race, and is counted as such -- every other error,
anywhere, fails the test. Every content names itself and carries its checksum, so a read
of a hot path is checked to be one complete input that some thread really wrote.

At the end every subtree is compared with its record (listing and bytes; suspended
uploads are resumed at their recorded size and committed), and all threads
``put_content`` different inputs to ONE path at the same moment (a barrier), several
times: the object is then exactly one complete input.

The regulator: ``filesystem`` accepts ``maxthreads`` (minimum 25), enforced by
:class:`distfs.base.Base`. The test puts a counting proxy between ``Base`` and the driver
it wraps and asserts that no more than ``maxthreads`` calls were ever inside at once
(``walk`` takes no slot, by design, and writer methods run outside the regulator, like
Go's). The ``s3`` driver has no regulator (neither has distribution's: only its
filesystem driver takes ``maxthreads``); the same proxy reports its peak concurrency,
which shows the regulator's bound is not an accident of the workload.

CI runs :data:`SECONDS` seconds per driver; ``DISTFS_TEST_LONG=1`` runs
:data:`LONG_SECONDS`. Figures are printed (``pytest -s``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import distfs
from distfs.base import Base
from distfs.testing import long_mode

KiB = 1 << 10
THREADS = 64
SECONDS = 6.0  # the issue: 60 s (LONG_SECONDS), CI 6 s: some 5,000 operations on s3, 20,000 on filesystem
LONG_SECONDS = 60.0
MAXTHREADS = 25  # the smallest value filesystem accepts: well below THREADS
HOT = tuple(f"/load/hot/h{i}" for i in range(4))
ONE = "/load/one"
ONE_ROUNDS = 2
REGULATED = ("get_content", "put_content", "reader", "writer", "stat", "list", "move", "delete", "redirect_url")


# -- contents ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def content(tag: str, size: int) -> bytes:
    """A self-describing content: ``tag``, body size and the body's checksum, then the body."""
    body = random.Random(tag).randbytes(size)
    return f"{tag} {size} {hashlib.sha256(body).hexdigest()}\n".encode() + body


def tag_of(data: bytes) -> str | None:
    """The tag of a complete, intact content; None if ``data`` is partial or mixed."""
    header, newline, body = data.partition(b"\n")
    fields = header.decode(errors="replace").split(" ")
    if not newline or len(fields) != 3 or fields[1] != str(len(body)):
        return None
    return fields[0] if hashlib.sha256(body).hexdigest() == fields[2] else None


# -- the counting proxy ----------------------------------------------------------------------


class Counting:
    """Stands between :class:`Base` and the driver it wraps; counts calls inside at once."""

    def __init__(self, inner: distfs.StorageDriver) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name not in REGULATED:
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.active += 1
                self.calls += 1
                self.peak = max(self.peak, self.active)
            try:
                return target(*args, **kwargs)
            finally:
                with self._lock:
                    self.active -= 1

        return counted


def counted(driver: distfs.StorageDriver) -> Counting:
    """Wrap ``driver``'s inner driver in a :class:`Counting` proxy (in place)."""
    assert isinstance(driver, Base)
    proxy = Counting(driver.inner)
    driver._inner = proxy  # type: ignore[assignment]
    return proxy


# -- the threads -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What all threads did (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter[str] = field(default_factory=Counter)
    expected: Counter[str] = field(default_factory=Counter)  # typed errors a concurrent delete explains
    errors: list[str] = field(default_factory=list)
    hot_tags: set[str] = field(default_factory=set)  # every input ever put to a hot path

    def add(self, ops: Counter[str], expected: Counter[str], errors: list[str]) -> None:
        with self.lock:
            self.ops.update(ops)
            self.expected.update(expected)
            self.errors.extend(errors)


class Mismatch(AssertionError):
    """A read that disagrees with the thread's record."""


class Worker:
    """One thread: mixed operations on its subtree and on the hot paths."""

    def __init__(
        self, driver: distfs.StorageDriver, number: int, tally: Tally, seed: int, *, empty_directories: bool
    ) -> None:
        self.d = driver
        self.n = number
        self.base = f"/load/t{number}"
        self.tally = tally
        self.rng = random.Random(seed * 1000 + number)
        self.seq = 0
        self.objects: dict[str, bytes] = {}  # path -> content: put, committed or moved
        self.sessions: dict[str, bytes] = {}  # path -> bytes persisted by a suspended writer
        self.empty_directories = empty_directories
        self.ops: Counter[str] = Counter()
        self.expected: Counter[str] = Counter()
        self.errors: list[str] = []

    def tag(self) -> str:
        self.seq += 1
        return f"t{self.n}.{self.seq}"

    def run(self, deadline: float) -> None:
        own: list[tuple[str, Callable[[], None]]] = [
            ("put", self.put),
            ("put", self.put),
            ("get", self.get),
            ("reader", self.reader),
            ("stat", self.stat),
            ("list", self.list),
            ("walk", self.walk),
            ("move", self.move),
            ("delete", self.delete),
            ("writer", self.session),
            ("writer", self.session),
        ]
        hot = [("hot-put", self.hot_put), ("hot-get", self.hot_get), ("hot-stat", self.hot_stat)]
        hot += [("hot-reader", self.reader_hot), ("hot-reader", self.reader_hot), ("hot-delete", self.hot_delete)]
        while time.monotonic() < deadline:
            name, op = self.rng.choice(own) if self.rng.random() < 0.8 else self.rng.choice(hot)
            try:
                op()
                self.ops[name] += 1
            except distfs.PathNotFoundError as exc:
                if name.startswith("hot-"):
                    self.expected[f"{name}: PathNotFoundError"] += 1
                    self.ops[name] += 1
                else:
                    self.errors.append(f"{name} in {self.base}: {type(exc).__name__}: {exc} (cause {exc.__cause__!r})")
            except Exception as exc:
                self.errors.append(f"{name} in {self.base}: {type(exc).__name__}: {exc} (cause {exc.__cause__!r})")
            if len(self.errors) > 5:
                break
        self.tally.add(self.ops, self.expected, self.errors)

    def pick(self, paths: list[str]) -> str | None:
        return self.rng.choice(sorted(paths)) if paths else None

    # -- own subtree ------------------------------------------------------------------

    def put(self) -> None:
        path = f"{self.base}/p{self.rng.randrange(6)}"
        data = content(self.tag(), self.rng.choice((0, 100, 3000, 40 * KiB)))
        self.d.put_content(path, data)
        self.objects[path] = data

    def get(self) -> None:
        path = self.pick(list(self.objects))
        if path is not None and self.d.get_content(path) != self.objects[path]:
            raise Mismatch(f"get_content({path}) differs")

    def reader(self, path: str | None = None) -> None:
        path = path or self.pick(list(self.objects))
        if path is None:
            return
        data = self.objects[path]
        offset = self.rng.randrange(len(data) + 1)
        with self.d.reader(path, offset) as stream:
            if stream.read() != data[offset:]:
                raise Mismatch(f"reader({path}, {offset}) differs")

    def stat(self) -> None:
        path = self.pick(list(self.objects))
        if path is not None and self.d.stat(path).size != len(self.objects[path]):
            raise Mismatch(f"stat({path}) size differs")

    def held(self) -> set[str]:
        """Every object path of the subtree according to the record."""
        return set(self.objects)

    def list(self) -> None:
        held = self.held()
        if not held:
            return
        children = {self.base + "/" + p[len(self.base) + 1 :].split("/")[0] for p in held}
        listed = set(self.d.list(self.base))
        extra = listed - children
        if self.empty_directories:  # a local directory outlives its last child
            extra = {p for p in extra if not self.d.stat(p).is_dir}
        if not children <= listed or extra:
            raise Mismatch(f"list({self.base}) = {sorted(listed)}, expected {sorted(children)}")

    def walk(self) -> None:
        held = self.held()
        if not held:
            return
        found: set[str] = set()
        self.d.walk(self.base, lambda info: None if info.is_dir else found.add(info.path))
        if found != held:
            raise Mismatch(f"walk({self.base}) found {sorted(found ^ held)} unexpectedly")

    def move(self) -> None:
        source = self.pick(list(self.objects))
        if source is None:
            return
        dest = f"{self.base}/m/{self.rng.choice('ab')}/q{self.rng.randrange(3)}"
        if dest == source:
            return
        self.d.move(source, dest)
        self.objects[dest] = self.objects.pop(source)

    def delete(self) -> None:
        if self.rng.random() < 0.2 and any(p.startswith(self.base + "/m/") for p in self.held()):
            path = f"{self.base}/m"
        else:
            path = self.pick(list(self.held()))  # type: ignore[assignment]
            if path is None:
                return
        self.d.delete(path)
        for held in list(self.objects):
            if held == path or held.startswith(path + "/"):
                del self.objects[held]
        for held in list(self.sessions):
            if held == path or held.startswith(path + "/"):
                del self.sessions[held]

    def session(self) -> None:
        """A writer session on ``w0``/``w1``: resume, append to the committed object, or start anew."""
        path = f"{self.base}/w{self.rng.randrange(2)}"
        suspended = self.sessions.get(path)
        chance = self.rng.random()
        if suspended is not None and chance < 0.85:
            writer, persisted = self.d.writer(path, append=True), suspended
        elif suspended is None and path in self.objects and chance < 0.5:
            writer, persisted = self.d.writer(path, append=True), self.objects[path]
        else:
            writer, persisted = self.d.writer(path), b""
        if writer.size != len(persisted):
            writer.cancel()
            raise Mismatch(f"{path} resumed at {writer.size}, recorded {len(persisted)}")
        self.sessions[path] = persisted  # a writer persists its starting point when it opens
        data = b"".join(self.rng.randbytes(self.rng.randint(1, 64 * KiB)) for _ in range(self.rng.randint(1, 3)))
        for start in range(0, len(data), 20 * KiB):
            writer.write(data[start : start + 20 * KiB])
        if self.rng.random() < 0.4:
            writer.commit()
            self.objects[path] = self.sessions.pop(path) + data
            if self.d.get_content(path) != self.objects[path]:
                raise Mismatch(f"committed {path} differs")
        else:
            writer.close()
            self.sessions[path] = persisted + data

    # -- hot paths ----------------------------------------------------------------------

    def hot_put(self) -> None:
        data = content(f"hot-{self.tag()}", self.rng.choice((10, 5000, 60 * KiB)))
        tag = data.split(b" ", 1)[0].decode()
        with self.tally.lock:
            self.tally.hot_tags.add(tag)
        self.d.put_content(self.rng.choice(HOT), data)

    def hot_get(self) -> None:
        data = self.d.get_content(self.rng.choice(HOT))
        check_hot(data, self.tally)

    def hot_stat(self) -> None:
        path = self.rng.choice(HOT)
        if self.d.stat(path).is_dir:
            raise Mismatch(f"{path} became a directory")

    def hot_delete(self) -> None:
        self.d.delete(self.rng.choice(HOT))

    def reader_hot(self) -> None:
        with self.d.reader(self.rng.choice(HOT)) as stream:
            check_hot(stream.read(), self.tally)

    # -- the end ------------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Compare the subtree with the record; resume and commit every suspended session."""
        problems = []
        found: set[str] = set()
        with contextlib.suppress(distfs.PathNotFoundError):
            self.d.walk(self.base, lambda info: None if info.is_dir else found.add(info.path))
        if found != self.held():
            problems.append(f"{self.base}: found {sorted(found)}, recorded {sorted(self.held())}")
        for path, data in self.objects.items():
            if self.d.get_content(path) != data:
                problems.append(f"{path}: content differs")
        for path, persisted in self.sessions.items():
            writer = self.d.writer(path, append=True)
            if writer.size != len(persisted):
                problems.append(f"{path}: resumed at {writer.size}, recorded {len(persisted)}")
                writer.cancel()
                continue
            writer.commit()
            if self.d.get_content(path) != persisted:
                problems.append(f"{path}: committed bytes differ")
        return problems


def check_hot(data: bytes, tally: Tally) -> None:
    tag = tag_of(data)
    if tag is None:
        raise Mismatch(f"a hot path held a partial or mixed content ({len(data)} bytes)")
    with tally.lock:
        known = tag in tally.hot_tags
    if not known:
        raise Mismatch(f"a hot path held {tag}, which nobody wrote")


def one_path(driver: distfs.StorageDriver, seed: int) -> list[str]:
    """All threads put different inputs to ONE path at once; the result is exactly one of them."""
    outcomes = []
    for round_ in range(ONE_ROUNDS):
        inputs = [content(f"one-{seed}-{round_}-{n}", 64 * KiB + n) for n in range(THREADS)]
        barrier = threading.Barrier(THREADS)
        failures: list[BaseException] = []

        def put(data: bytes, barrier: threading.Barrier = barrier, failures: list[BaseException] = failures) -> None:
            try:
                barrier.wait()
                driver.put_content(ONE, data)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=put, args=(data,)) for data in inputs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures[:3]
        final = driver.get_content(ONE)
        assert final in inputs, f"round {round_}: {len(final)} bytes, not one complete input ({tag_of(final)})"
        outcomes.append(tag_of(final) or "")
    return outcomes


def run_load(driver: distfs.StorageDriver, seconds: float, seed: int, *, empty_directories: bool) -> dict[str, Any]:
    tally = Tally()
    workers = [Worker(driver, n, tally, seed, empty_directories=empty_directories) for n in range(THREADS)]
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=w.run, args=(deadline,), name=f"load-{w.n}") for w in workers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads), "a load thread hangs"
    assert not tally.errors, f"{len(tally.errors)} errors, first: {tally.errors[:5]}"
    clock = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # each worker checks its own subtree
        problems = [problem for found in pool.map(Worker.verify, workers) for problem in found]
    assert not problems, problems[:5]
    for path in HOT:
        with contextlib.suppress(distfs.PathNotFoundError):
            check_hot(driver.get_content(path), tally)
    verify_seconds = time.monotonic() - clock
    clock = time.monotonic()
    one = one_path(driver, seed)
    one_seconds = time.monotonic() - clock
    total = sum(tally.ops.values())
    return {
        "threads": THREADS,
        "seconds": round(elapsed, 1),
        "operations": total,
        "per_second": round(total / elapsed),
        "ops": dict(sorted(tally.ops.items())),
        "expected_errors": dict(tally.expected),
        "errors": len(tally.errors),
        "objects_verified": sum(len(w.objects) + len(w.sessions) for w in workers),
        "one_path_winners": one,
        "verify_seconds": round(verify_seconds, 1),
        "one_path_seconds": round(one_seconds, 1),
    }


def duration() -> float:
    return LONG_SECONDS if long_mode() else SECONDS


def test_load_filesystem(tmp_path: Any) -> None:
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "root"), "maxthreads": MAXTHREADS})
    proxy = counted(driver)
    figures = run_load(driver, duration(), seed=1, empty_directories=True)
    figures.update(maxthreads=MAXTHREADS, peak_backend_calls=proxy.peak, backend_calls=proxy.calls)
    print("load figures filesystem:", json.dumps(figures))
    assert proxy.peak <= MAXTHREADS, f"{proxy.peak} calls ran at once, maxthreads is {MAXTHREADS}"
    assert proxy.active == 0


def test_load_s3(store_parameters: Callable[[str], dict[str, Any]]) -> None:
    driver = distfs.create("s3", store_parameters("s3"))
    assert isinstance(driver, Base)
    assert driver.max_concurrency is None  # s3 has no regulator (nor has distribution's s3 driver)
    proxy = counted(driver)
    figures = run_load(driver, duration(), seed=2, empty_directories=False)
    figures.update(maxthreads=None, peak_backend_calls=proxy.peak, backend_calls=proxy.calls)
    print("load figures s3:", json.dumps(figures))
    assert proxy.active == 0


@pytest.mark.parametrize("maxthreads", ["25", 30])
def test_regulator_bound_is_reached_not_exceeded(tmp_path: Any, maxthreads: str | int) -> None:
    """Calls that block inside the driver: exactly ``maxthreads`` get in, the rest wait."""
    driver = distfs.create("filesystem", {"rootdirectory": str(tmp_path / "root"), "maxthreads": maxthreads})
    proxy = counted(driver)
    limit = int(maxthreads)
    release = threading.Event()
    inner = proxy._inner

    def blocking_stat(path: str) -> distfs.FileInfo:
        release.wait(30)
        return inner.stat(path)

    proxy._inner = type("Blocking", (), {"stat": staticmethod(blocking_stat)})()  # type: ignore[assignment]
    threads = [threading.Thread(target=driver.stat, args=("/",)) for _ in range(limit + 15)]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + 20
    while proxy.active < limit and time.monotonic() < give_up:
        time.sleep(0.01)
    time.sleep(0.2)  # time for any call the regulator fails to hold back to get in
    inside = proxy.active
    release.set()
    for thread in threads:
        thread.join(30)
    assert inside == limit, f"{inside} calls inside at once, maxthreads {limit}"
    assert proxy.peak == limit
