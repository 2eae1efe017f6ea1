"""Crash safety: worker processes SIGKILLed at random points of every mutating operation.

A long-lived parent (the test) forks one worker per *kill point*. The worker creates its
own driver (after the fork: no live client crosses it), runs a scripted, seeded sequence
of operations on a small store -- ``put_content`` of versioned contents, writer sessions
(open, write, close, commit), ``move`` of objects and of a directory, ``delete`` of objects
and directories -- and journals each operation to a pipe: a *begin* record before the
call, an *end* record once it returned (a pipe write survives the writer's death, so the
journal is exactly what the worker saw succeed). Each round targets one operation kind:
the worker flags the begin record of that kind, and the parent SIGKILLs it a random delay
later (uniform over the recently measured duration of that kind). The operation really in
progress at the kill is read from the journal (the last begin without its end) and
counted, so the report shows where the kills landed.

After every kill the parent replays the completed operations onto its model and checks,
with its own driver (no state shared with the worker):

* every object path holds the old or the new complete version, or is absent where a
  delete was in progress: contents carry their version and a checksum, and are compared
  byte for byte with the regenerated version, so a partial or mixed object fails;
* a moved object is complete at the source or at the destination, never lost (on
  ``filesystem``, where a rename is atomic, never at both either); a move cut half way is
  then finished by the parent (delete the source copy, or move the rest);
* the store holds no path the model does not allow (a delete never hits ``p-suffix``);
* a suspended upload resumes (``writer(p, append=True)``) with ``size`` equal to its last
  successful ``close()``. When the kill hit inside ``close()`` the size may be the one
  before or the one being closed -- DESIGN: "resumes with size equal to the bytes
  persisted"; a close that never returned may or may not have persisted, and either way
  the bytes match the size -- and inside ``commit()`` the upload is either still
  suspended (at the old or the new size) or committed complete. The parent then commits
  (and compares the object with the bytes written) or closes the resumed writer again.
  On ``s3`` one more outcome is allowed after a kill inside ``commit()``: the object is
  published complete while the upload still resumes at its last ``close()`` (an upload
  under one chunk is published with PutObject, then aborted, then its state deleted);
* the next worker (a fresh process) also checks that its writers resume at the size the
  model says.

On ``s3`` the parent waits a moment after each kill before looking: a request sent before
the kill still completes on the server (moto finishes it), which is not a crash effect.

CI runs :data:`ROUNDS` kill points per driver; ``DISTFS_TEST_LONG=1`` runs
:data:`LONG_ROUNDS`. The per-kind distribution is printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import random
import select
import signal
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from profiles import CLOUD

import distfs
from distfs.testing import long_mode

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(signal, "SIGKILL"), reason="needs fork")

KiB = 1 << 10
MiB = 1 << 20
ROUNDS = 70  # 10 kill points per operation kind (a kill lands inside a fast kind, oss's write, 1 to 4 times in 10)
#: Rounds added, at most, for the kinds no kill has landed inside yet (0 of 10 happens: about 1 run in 20 on oss).
EXTRA_ROUNDS = 40
LONG_ROUNDS = 1000
KINDS = ("put", "delete", "move", "open", "write", "close", "commit")
MARKER_TIMEOUT = 60.0
FULL_CHECK_EVERY = 25  # rounds between byte-for-byte checks of every object (touched ones: every round)
RESUME_SHARE = 0.25  # the parent also resumes this share of uploads touched without ambiguity

PUT_PATHS = tuple(f"/crash/put/p{i}" for i in range(3))
TREES = ("/crash/del/t0", "/crash/del/t1")
TREE_FILES = tuple(f"{tree}/d/f{j}" if j == 2 else f"{tree}/f{j}" for tree in TREES for j in range(3))
SENTINELS = tuple(f"{tree}-x" for tree in TREES)  # never written after setup: a delete must spare them
MOVE_OBJECTS = ("o0", "o1")
MOVE_SIDES = ("/crash/mv/a", "/crash/mv/b")
MOVE_TREE_SIDES = ("/crash/mvd/a/t", "/crash/mvd/b/t")
MOVE_TREE_FILES = ("f0", "f1", "sub/f2")
UPLOADS = ("/crash/up/u0", "/crash/up/u1")
PERIOD = 65521  # upload bytes repeat with a prime period: shifted or misplaced bytes never match


# -- contents -------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def blob(version: int) -> bytes:
    """The complete content of object version ``version``: a header naming it, then its bytes."""
    size = 200 + (version * 7919) % (40 * KiB) if version % 8 else MiB + version % 1000
    body = random.Random(version).randbytes(size)
    header = f"distfs-crash v={version} n={size} sha256={hashlib.sha256(body).hexdigest()}\n"
    return header.encode() + body


def version_of(content: bytes) -> int:
    """The version ``content`` claims to be (-1 if the header is unreadable)."""
    head = content[:120].split(b"\n", 1)[0].split()
    try:
        return int(head[1].removeprefix(b"v="))
    except (IndexError, ValueError):
        return -1


@functools.lru_cache(maxsize=16)
def _period(generation: int) -> bytes:
    return random.Random(f"upload-{generation}").randbytes(PERIOD)


def stream(generation: int, start: int, end: int) -> bytes:
    """Bytes ``start:end`` of upload generation ``generation``."""
    block = _period(generation)
    first = start % PERIOD
    count = end - start
    repeats = (first + count) // PERIOD + 1
    return (block * repeats)[first : first + count] if repeats > 1 else block[first : first + count]


# -- the model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One upload path: ``obj`` is the committed size (None: no object), ``up`` the
    suspended upload's size (None: none); both hold ``stream(gen)`` from byte 0."""

    gen: int = 0
    obj: int | None = None
    up: int | None = None

    def seen(self) -> tuple[int | None, int | None]:
        """What a check observes: the object size and the size a resume starts at."""
        return self.obj, self.up if self.up is not None else self.obj


@dataclass
class Model:
    objects: dict[str, int] = field(default_factory=dict)  # path -> version, present objects only
    uploads: dict[str, Upload] = field(default_factory=lambda: {u: Upload() for u in UPLOADS})


def below(path: str, candidates: Iterator[str] | tuple[str, ...] | list[str]) -> list[str]:
    return [p for p in candidates if p == path or p.startswith(path + "/")]


def apply(model: Model, record: dict[str, Any]) -> None:
    """Update ``model`` with one *completed* operation (its begin record plus end fields)."""
    kind = record["k"]
    if kind == "put":
        model.objects[record["path"]] = record["v"]
    elif kind == "delete":
        path = record["path"]
        for p in below(path, list(model.objects)):
            del model.objects[p]
        if path in model.uploads:
            model.uploads[path] = Upload()
    elif kind == "move":
        source, dest = record["src"], record["dst"]
        for p in below(source, list(model.objects)):
            model.objects[dest + p[len(source) :]] = model.objects.pop(p)
    elif kind in ("open", "close", "commit"):
        path = record["path"]
        upload = model.uploads[path]
        if kind == "open" and record["mode"] == "new":
            model.uploads[path] = Upload(record["gen"], None, 0)
        elif kind == "open" and record["mode"] == "append":
            model.uploads[path] = dataclasses.replace(upload, up=upload.obj)
        elif kind == "close":
            model.uploads[path] = dataclasses.replace(upload, up=record["size"])
        elif kind == "commit":
            model.uploads[path] = dataclasses.replace(upload, obj=record["size"], up=None)


# -- the worker (a forked child) -----------------------------------------------------------


class Journal:
    """Begin/end records, one JSON line each (under PIPE_BUF: every write is atomic)."""

    def __init__(self, fd: int, model: Model) -> None:
        self.fd = fd
        self.model = model
        self.target: str | None = None
        self._open: dict[str, Any] | None = None
        self._start = 0.0

    def _send(self, record: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(record) + "\n").encode())

    def begin(self, kind: str, **fields: Any) -> None:
        record = {"k": kind, **fields}
        if self.target == kind:
            record["t"] = 1
            self.target = None
        self._open = record
        self._send({"b": record})
        self._start = time.perf_counter()

    def end(self, **fields: Any) -> None:
        assert self._open is not None
        record = {**self._open, **fields}
        self._send({"e": fields, "dt": time.perf_counter() - self._start})
        apply(self.model, record)
        self._open = None


class Worker:
    """Runs random operations forever (until killed), journaling each."""

    def __init__(self, driver: distfs.StorageDriver, model: Model, journal: Journal, seed: int, ids: int) -> None:
        self.d = driver
        self.m = model
        self.j = journal
        self.rng = random.Random(seed)
        self.ids = ids  # unique versions and generations: round * 10000 + n

    def next_id(self) -> int:
        self.ids += 1
        return self.ids

    def run(self, target: str) -> None:
        ops: dict[str, Callable[[], None]] = {"put": self.put, "delete": self.delete, "move": self.move}
        for _ in range(self.rng.randrange(2)):
            self.random_op(ops)
        self.j.target = target
        while self.j.target is not None:  # until the target kind has begun (and, mostly, been killed)
            ops[target]() if target in ops else self.session(finish="commit" if target == "commit" else "close")
        while True:
            self.random_op(ops)

    def random_op(self, ops: dict[str, Callable[[], None]]) -> None:
        choice = self.rng.choice(("put", "put", "delete", "move", "session", "session"))
        ops[choice]() if choice in ops else self.session(self.rng.choice(("close", "close", "commit")))

    def put(self) -> None:
        path = self.rng.choice(PUT_PATHS + TREE_FILES)
        version = self.next_id()
        self.j.begin("put", path=path, v=version)
        self.d.put_content(path, blob(version))
        self.j.end()

    def delete(self) -> None:
        candidates = [p for p in PUT_PATHS if p in self.m.objects]
        candidates += [t for t in TREES if below(t, list(self.m.objects))]
        candidates += [u for u, up in self.m.uploads.items() if up.obj is not None and up.up is None]
        if not candidates:
            self.put()
            return
        path = self.rng.choice(candidates)
        self.j.begin("delete", path=path)
        self.d.delete(path)
        self.j.end()

    def move(self) -> None:
        if self.rng.random() < 0.3:
            a, b = MOVE_TREE_SIDES
            source, dest = (a, b) if below(a, list(self.m.objects)) else (b, a)
        else:
            name = self.rng.choice(MOVE_OBJECTS)
            a, b = (f"{side}/{name}" for side in MOVE_SIDES)
            source, dest = (a, b) if a in self.m.objects else (b, a)
        self.j.begin("move", src=source, dst=dest)
        self.d.move(source, dest)
        self.j.end()

    def write_size(self) -> int:
        return self.rng.randint(1, 300 * KiB) if self.rng.random() < 0.7 else self.rng.randint(MiB, 3 * MiB)

    def session(self, finish: str) -> None:
        path = self.rng.choice(UPLOADS)
        upload = self.m.uploads[path]
        if upload.obj is not None and upload.up is None and upload.obj > 8 * MiB:
            self.j.begin("delete", path=path)
            self.d.delete(path)
            self.j.end()
            return
        if upload.obj is None and upload.up is None:
            gen = self.next_id()
            self.j.begin("open", path=path, mode="new", gen=gen)
            writer = self.d.writer(path)
        else:
            gen = upload.gen
            mode = "append" if upload.up is None else "resume"
            self.j.begin("open", path=path, mode=mode)
            writer = self.d.writer(path, append=True)
        self.j.end(size=writer.size)
        expected = 0 if upload.obj is None and upload.up is None else upload.up if upload.up is not None else upload.obj
        if writer.size != expected:  # a fresh process resumes where the last close (or commit) left it
            raise AssertionError(f"{path} resumed at {writer.size}, expected {expected} ({upload})")
        for _ in range(self.rng.randint(1, 2)):
            start = writer.size
            data = stream(gen, start, start + self.write_size())
            self.j.begin("write", path=path, n=len(data))
            writer.write(data)
            self.j.end(size=writer.size)
        self.j.begin(finish, path=path, size=writer.size)
        writer.commit() if finish == "commit" else writer.close()
        self.j.end()


def worker_main(driver_name: str, parameters: dict[str, Any], model: Model, target: str, seed: int, fd: int) -> None:
    """The forked child: never returns (``os._exit``)."""
    code = 0
    try:
        driver = distfs.create(driver_name, parameters)
        Worker(driver, model, Journal(fd, model), seed, seed * 10000).run(target)
    except BaseException:
        code = 1
        os.write(fd, (json.dumps({"error": traceback.format_exc()[-3500:]}) + "\n").encode())
    finally:
        os._exit(code)


# -- the parent ---------------------------------------------------------------------------


@dataclass
class Round:
    """What one killed worker did: completed operations and the one in progress."""

    done: list[dict[str, Any]]
    pending: dict[str, Any] | None
    durations: list[tuple[str, float]]


def read_lines(fd: int, buffer: bytearray, deadline: float) -> Iterator[dict[str, Any]]:
    """Records from the worker's pipe until EOF or ``deadline``."""
    while True:
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            yield json.loads(line)
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk


def run_worker(
    driver_name: str, parameters: dict[str, Any], model: Model, target: str, seed: int, delay: float
) -> Round:
    """Fork a worker, SIGKILL it ``delay`` seconds after it begins ``target``, parse its journal."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        worker_main(driver_name, parameters, model, target, seed, write_fd)
    os.close(write_fd)
    records: list[dict[str, Any]] = []
    buffer = bytearray()
    try:
        for record in read_lines(read_fd, buffer, time.monotonic() + MARKER_TIMEOUT):
            records.append(record)
            if record.get("b", {}).get("t") or "error" in record:
                break
        time.sleep(delay)
    finally:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    records += read_lines(read_fd, buffer, time.monotonic() + 10)
    os.close(read_fd)
    errors = [r["error"] for r in records if "error" in r]
    assert not errors, f"the worker failed before the kill:\n{errors[0]}"
    assert os.WIFSIGNALED(status), f"worker ended with status {status}"
    assert os.WTERMSIG(status) == signal.SIGKILL, f"worker ended with status {status}"
    assert any(r.get("b", {}).get("t") for r in records), f"the worker never began {target}: {records[-3:]}"
    done, durations, pending = [], [], None
    for record in records:
        if "b" in record:
            pending = record["b"]
        else:
            assert pending is not None
            done.append({**pending, **record["e"]})
            durations.append((pending["k"], record["dt"]))
            pending = None
    return Round(done, pending, durations)


class Checker:
    """The parent's view: verifies the store against the model after a kill, then repairs."""

    def __init__(self, driver: distfs.StorageDriver, atomic_rename: bool, seed: int) -> None:
        self.d = driver
        self.atomic_rename = atomic_rename
        self.rng = random.Random(seed)
        self.commits = 0
        self.resumes = 0

    def files(self) -> dict[str, int]:
        found: dict[str, int] = {}

        def collect(info: distfs.FileInfo) -> None:
            if not info.is_dir:
                found[info.path] = info.size

        with contextlib.suppress(distfs.PathNotFoundError):
            self.d.walk("/crash", collect)
        return found

    def check(self, model: Model, pending: dict[str, Any] | None, touched: set[str], full: bool) -> None:
        files = self.files()
        sentinels = {p: files.pop(p, None) for p in SENTINELS}
        assert sentinels == {p: len(blob(0)) for p in SENTINELS}, f"a sentinel was hit: {sentinels}"
        self.check_objects(model, pending, files, touched, full)
        self.check_uploads(model, pending, files, touched, full)
        assert not files, f"paths the model does not allow: {sorted(files)}"

    # objects: put, delete, move ----------------------------------------------------------

    def check_objects(
        self, model: Model, pending: dict[str, Any] | None, files: dict[str, int], touched: set[str], full: bool
    ) -> None:
        allowed: dict[str, set[int | None]] = {p: {v} for p, v in model.objects.items()}
        pairs: list[tuple[str, str]] = []
        kind = pending["k"] if pending else ""
        if kind == "put":
            allowed.setdefault(pending["path"], {None}).add(pending["v"])  # type: ignore[index]
        elif kind == "delete":
            for p in below(pending["path"], list(model.objects)):  # type: ignore[index]
                allowed[p].add(None)
        elif kind == "move":
            source, dest = pending["src"], pending["dst"]  # type: ignore[index]
            for p in below(source, list(model.objects)):
                q = dest + p[len(source) :]
                allowed[p].add(None)
                allowed.setdefault(q, {None}).add(model.objects[p])
                pairs.append((p, q))
        candidates = set(allowed) | {p for p in files if not p.startswith("/crash/up/")}
        seen: dict[str, int | None] = {}
        for path in sorted(candidates):
            size = files.pop(path, None)
            options = allowed.get(path, {None})
            if size is None:
                assert None in options, f"{path} is lost (expected version {options})"
                seen[path] = None
                continue
            sizes = [len(blob(v)) for v in options if v is not None]
            if full or (path in touched and len(options) > 1) or sizes.count(size) != 1:
                content = self.d.get_content(path)
                version = version_of(content)
                assert version in options, f"{path} holds version {version}, allowed {options} (size {len(content)})"
                assert content == blob(version), f"{path} holds a partial or mixed version {version}"
            else:
                (version,) = (v for v in options if v is not None and len(blob(v)) == size)
            seen[path] = version
        for p, q in pairs:
            assert seen[p] is not None or seen[q] is not None, f"move {p} -> {q} lost the object"
            if self.atomic_rename:
                assert seen[p] is None or seen[q] is None, f"move {p} -> {q} left two copies"
        model.objects = {p: v for p, v in seen.items() if v is not None}
        self.finish_move(model, pairs)

    def finish_move(self, model: Model, pairs: list[tuple[str, str]]) -> None:
        """Finish a move cut half way: every object of the moved unit ends at the destination."""
        if not any(q in model.objects for _, q in pairs):
            return  # nothing moved: the unit is whole at the source
        for p, q in pairs:
            if p in model.objects:
                if q in model.objects:
                    self.d.delete(p)
                else:
                    self.d.move(p, q)
                    model.objects[q] = model.objects[p]
                del model.objects[p]

    # uploads ---------------------------------------------------------------------------------

    def check_uploads(
        self, model: Model, pending: dict[str, Any] | None, files: dict[str, int], touched: set[str], full: bool
    ) -> None:
        for path, upload in model.uploads.items():
            options = {upload}
            if pending is not None and pending.get("path") == path:
                options = upload_outcomes(upload, pending, stale_after_commit=not self.atomic_rename)
            obj = files.pop(path, None)
            if not (full or len(options) > 1 or (path in touched and self.rng.random() < RESUME_SHARE)):
                # Unambiguous: the next worker checks that its writer resumes where the model says.
                assert obj == upload.obj, f"{path}: object of {obj} bytes, expected {upload.obj}"
                if obj is not None and path in touched:
                    data = self.d.get_content(path)
                    assert data == stream(upload.gen, 0, obj), f"{path}: {differs(data, stream(upload.gen, 0, obj))}"
                continue
            try:
                writer = self.d.writer(path, append=True)
            except distfs.PathNotFoundError:
                writer = None
            seen = (obj, None if writer is None else writer.size)
            matching = [o for o in options if o.seen() == seen]
            allowed = sorted(str(o.seen()) for o in options)
            assert matching, f"{path}: object of {obj} bytes, resumed at {seen[1]}; allowed {allowed}"
            gen = matching[0].gen
            if obj is not None:
                content = self.d.get_content(path)
                assert content == stream(gen, 0, obj), f"{path}: {differs(content, stream(gen, 0, obj))}, {pending}"
            self.resumes += writer is not None
            if writer is None:
                model.uploads[path] = Upload()
            elif self.rng.random() < 0.25:
                writer.commit()
                self.commits += 1
                content = self.d.get_content(path)
                assert content == stream(gen, 0, writer.size), (
                    f"{path}: commit: {differs(content, stream(gen, 0, writer.size))}"
                )
                model.uploads[path] = Upload(gen, writer.size, None)
            else:
                writer.close()
                model.uploads[path] = Upload(gen, obj, writer.size)


def differs(content: bytes, expected: bytes) -> str:
    """Where ``content`` departs from ``expected`` (for failure messages)."""
    first = next((i for i, (a, b) in enumerate(zip(content, expected, strict=False)) if a != b), None)
    return f"{len(content)} bytes, expected {len(expected)}, first difference at {first}"


def upload_outcomes(upload: Upload, pending: dict[str, Any], *, stale_after_commit: bool = False) -> set[Upload]:
    """The states an upload may be in after a kill inside ``pending`` (model: ``upload``).

    ``stale_after_commit``: a commit may publish the object and die before the upload
    state is cleared, so the upload still resumes at its last ``close()`` (s3: an upload
    of less than one chunk is published with PutObject, then aborted, then its state
    deleted). Both the object and the resumed bytes are complete; committing the resumed
    writer publishes again.
    """
    kind = pending["k"]
    if kind == "open" and pending["mode"] == "new":
        return {upload, Upload(pending["gen"], None, 0)}
    if kind == "open" and pending["mode"] == "append":
        return {upload, dataclasses.replace(upload, up=upload.obj)}
    if kind == "close":
        return {upload, dataclasses.replace(upload, up=pending["size"])}
    if kind == "commit":  # not yet recorded, recorded but not published, or published
        size = pending["size"]
        outcomes = {upload, dataclasses.replace(upload, up=size), dataclasses.replace(upload, obj=size, up=None)}
        if stale_after_commit and upload.up is not None:
            outcomes.add(dataclasses.replace(upload, obj=size))
        return outcomes
    if kind == "delete":
        return {upload, Upload()}
    return {upload}  # open (resume) and write change nothing persisted


def set_up(driver: distfs.StorageDriver, model: Model) -> None:
    for index, path in enumerate(PUT_PATHS + TREE_FILES, start=1):
        driver.put_content(path, blob(index))
        model.objects[path] = index
    for sentinel in SENTINELS:
        driver.put_content(sentinel, blob(0))
    for index, name in enumerate(MOVE_OBJECTS, start=100):
        driver.put_content(f"{MOVE_SIDES[0]}/{name}", blob(index))
        model.objects[f"{MOVE_SIDES[0]}/{name}"] = index
    for index, name in enumerate(MOVE_TREE_FILES, start=200):
        driver.put_content(f"{MOVE_TREE_SIDES[0]}/{name}", blob(index))
        model.objects[f"{MOVE_TREE_SIDES[0]}/{name}"] = index


def crash_rounds(
    driver_name: str, parameters: dict[str, Any], *, atomic_rename: bool, remote: bool, seed: int
) -> dict[str, Any]:
    """Run the kill rounds; returns the figures (kills per targeted and per interrupted kind).

    ``atomic_rename``: move and commit are single renames (filesystem), so a move never
    leaves two copies. ``remote``: the store is a server, where a request sent before the
    kill may still complete after it.
    """
    rounds = LONG_ROUNDS if long_mode() else ROUNDS
    checker = Checker(distfs.create(driver_name, parameters), atomic_rename, seed)
    model = Model()
    set_up(checker.d, model)
    checker.check(model, None, set(), full=True)
    rng = random.Random(seed)
    estimate = dict.fromkeys(KINDS, 0.01)
    targeted: Counter[str] = Counter()
    interrupted: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    started = time.monotonic()
    spent: Counter[str] = Counter()

    def targets() -> Iterator[tuple[int, str]]:
        """Each kind in turn; then, while a kind has had no kill land inside it, more tries at it."""
        for number in range(1, rounds + 1):
            yield number, KINDS[number % len(KINDS)]
        for number in range(rounds + 1, rounds + EXTRA_ROUNDS + 1):
            missing = [kind for kind in KINDS if not interrupted[kind]]
            if not missing:
                return
            yield number, missing[number % len(missing)]

    kills = 0
    for number, target in targets():
        kills += 1
        targeted[target] += 1
        clock = time.monotonic()
        result = run_worker(
            driver_name,
            parameters,
            model,
            target,
            seed + number,
            rng.uniform(0.0, 1.2 * estimate[target]),
        )
        spent["worker"] += time.monotonic() - clock
        for kind, seconds in result.durations:
            estimate[kind] = 0.7 * estimate[kind] + 0.3 * seconds
        touched = set()
        for record in result.done:
            apply(model, record)
            operations[record["k"]] += 1
            touched |= {record.get(key) for key in ("path", "src", "dst")} - {None}
        if result.pending is not None:
            touched |= {result.pending.get(key) for key in ("path", "src", "dst")} - {None}
        touched = {p for t in touched for p in below(t, list(model.objects) + list(UPLOADS))} | touched
        interrupted[result.pending["k"] if result.pending else "between"] += 1
        if remote and result.pending is not None:
            # A request sent before the kill still completes on the server (moto keeps
            # processing it): look once it must have ended, not while it runs.
            # CompleteMultipartUpload and CopyObject run longest on the server.
            kind = result.pending["k"]
            # A part upload sent whole before the kill may still land (and replace a part of
            # the next worker's): wait for it as for commits and moves.
            time.sleep(
                min(1.0, 2 * estimate[kind]) if kind in ("commit", "move", "write") else min(0.3, estimate[kind])
            )
        clock = time.monotonic()
        checker.check(model, result.pending, touched, full=number % FULL_CHECK_EVERY == 0)
        spent["check"] += time.monotonic() - clock
    checker.check(model, None, set(), full=True)
    for path in UPLOADS:  # everything resumes and commits byte-exact at the end
        upload = model.uploads[path]
        if upload.obj is None and upload.up is None:
            continue
        writer = checker.d.writer(path, append=True)
        assert writer.size == (upload.up if upload.up is not None else upload.obj)
        writer.commit()
        assert checker.d.get_content(path) == stream(upload.gen, 0, writer.size)
    figures = {
        "driver": driver_name,
        "kills": kills,
        "seconds": round(time.monotonic() - started, 1),
        "targeted": dict(targeted),
        "interrupted": dict(interrupted),
        "completed_operations": dict(operations),
        "parent_resumes": checker.resumes,
        "parent_commits": checker.commits,
        "seconds_in": {key: round(value, 1) for key, value in spent.items()},
    }
    print("crash figures:", json.dumps(figures))
    return figures


def assert_spread(figures: dict[str, Any]) -> None:
    """Kills landed inside every operation kind."""
    interrupted = figures["interrupted"]
    missing = [kind for kind in KINDS if interrupted.get(kind, 0) == 0]
    assert not missing, f"no kill landed inside {missing}: {interrupted}"
    assert sum(interrupted.values()) == figures["kills"] >= ROUNDS


def test_crash_filesystem(tmp_path: Any) -> None:
    parameters = {"rootdirectory": str(tmp_path / "root")}
    figures = crash_rounds("filesystem", parameters, atomic_rename=True, remote=False, seed=20261127)
    assert_spread(figures)


#: Every driver whose store outlives a process (inmemory's dies with it: nothing to crash-test).
REMOTE = CLOUD


@pytest.mark.parametrize("name", REMOTE)
def test_crash_object_store(name: str, store_parameters: Callable[[str], dict[str, Any]]) -> None:
    seed = 20261128 + REMOTE.index(name)
    figures = crash_rounds(name, store_parameters(name), atomic_rename=False, remote=True, seed=seed)
    assert_spread(figures)
