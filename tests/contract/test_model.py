"""Model-based differential tests: random operation sequences against an in-test model.

One hypothesis ``RuleBasedStateMachine`` drives a real driver (every built-in driver, the
cloud ones on their local servers) with random sequences of ``put_content``,
``get_content``, ``reader`` at an offset, ``stat``, ``list``, ``walk`` (with hints,
``SkipDir`` and ``StopWalk``), ``move`` (files and directories), ``delete`` and writers
(open / resume, write, close, commit, cancel, and the state errors of finished writers),
and checks every result against :class:`Model`: a plain dict of path -> bytes plus the
suspended uploads (path -> bytes persisted by the last ``close()``), written from DESIGN
section 3 and the docstrings of :mod:`distfs.driver` and :mod:`distfs.walk`, not from
distfs code.

Paths come from a small alphabet (components ``a``, ``b``, ``ab``, ``a-b``; depth at most
3) so that prefix boundaries (``/a`` vs ``/ab`` vs ``/a-b``), file-versus-directory
conflicts, directory moves and writer resumes collide often.

Cases the contract leaves open are not generated (the rule does nothing instead):

* creating a file where a directory exists, or below a file (``put_content``,
  ``commit``, ``move`` onto such a destination): object stores accept it, a filesystem
  cannot; the contract says nothing;
* moving a directory onto an existing path (file or directory);
* ``delete`` of a path at or above a writer that is still open (the open writer's upload
  state would be removed under it), and two open writers on one path;
* ``walk`` of a file (not a directory, not missing): the contract names only directories
  and missing paths.

What the contract documents per driver is modelled: ``filesystem`` keeps empty
directories after their last file goes (docs/drivers.md), the other drivers drop them.

Budget: ``max_examples=50`` per driver with up to ``STEPS`` steps each, and the test
asserts at least 50 x 30 steps ran; database off; with ``DISTFS_TEST_LONG=1`` 1000 x 60.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from profiles import PROFILES

import distfs
from distfs import (
    DriverError,
    FileInfo,
    FileWriter,
    PathNotFoundError,
    SkipDir,
    StopWalk,
    StorageDriver,
    StorageDriverError,
)
from distfs.testing import long_mode

ALL_DRIVERS = list(PROFILES)
COMPONENTS = ["a", "b", "ab", "a-b"]
MAX_LIVE_WRITERS = 3
#: Hypothesis ends some runs early (about 27 steps on average at a limit of 30, 29-33 at
#: 34, 29.7 to 36 at 40 on a loaded machine), so the limit is well above 30 to run at least
#: 30 steps per example on average.
STEPS = 48

#: Per-driver parameters that keep the emulators fast (small chunks; writes stay small anyway).
FAST: dict[str, dict[str, Any]] = {
    "s3": {"chunksize": 5 << 20},
    "gcs": {"chunksize": 256 << 10},
    "oss": {"chunksize": 5 << 20},
}

paths_st = st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
dirs_st = st.one_of(st.just("/"), paths_st)
#: A path of the alphabet, or (an int) the index of a path the model knows: biases the
#: rules towards paths that exist, so that moves, resumes and deletes mostly do something.
Pick = str | int
pick_st = st.one_of(paths_st, st.integers(0, 1000))
dir_pick_st = st.one_of(dirs_st, st.integers(0, 1000))
data_st = st.binary(max_size=24)


def model_settings() -> settings:
    long = long_mode()
    return settings(
        max_examples=1000 if long else 50,
        stateful_step_count=60 if long else STEPS,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=True,
    )


def ancestors(path: str) -> list[str]:
    """The directories above ``path``, innermost last, without ``/``."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def at_or_below(path: str, top: str) -> bool:
    return path == top or path.startswith(top + "/")


class Model:
    """The contract as data: committed files, directories, suspended uploads."""

    def __init__(self, keeps_empty_dirs: bool) -> None:
        self.files: dict[str, bytes] = {}
        self.suspended: dict[str, bytes] = {}
        self.keeps_empty_dirs = keeps_empty_dirs
        self.made_dirs: set[str] = set()  # directories created on disk (filesystem only)

    # -- queries ----------------------------------------------------------------------

    def dirs(self) -> set[str]:
        found = {d for f in self.files for d in ancestors(f)}
        return found | self.made_dirs if self.keeps_empty_dirs else found

    def is_file(self, path: str) -> bool:
        return path in self.files

    def is_dir(self, path: str) -> bool:
        return path == "/" or path in self.dirs()

    def exists(self, path: str) -> bool:
        return self.is_file(path) or self.is_dir(path)

    def file_conflict(self, path: str) -> bool:
        """A file at ``path`` would sit on a directory or below a file (not generated)."""
        return self.is_dir(path) or any(self.is_file(a) for a in ancestors(path))

    def children(self, directory: str) -> list[str]:
        prefix = "" if directory == "/" else directory
        names = [p for p in itertools.chain(self.files, self.dirs()) if p.rsplit("/", 1)[0] == prefix]
        return sorted(set(names))

    def entries_below(self, directory: str) -> list[tuple[str, bool]]:
        """(path, is_dir) of everything below ``directory``, in walk key order."""
        prefix = "/" if directory == "/" else directory + "/"
        found = [(p, False) for p in self.files if p.startswith(prefix)]
        found += [(d, True) for d in self.dirs() if d.startswith(prefix)]
        return sorted(found, key=lambda entry: entry[0] + "/" if entry[1] else entry[0])

    # -- changes ----------------------------------------------------------------------

    def put(self, path: str, data: bytes) -> None:
        self.files[path] = data
        self.made_dirs.update(ancestors(path))

    def delete(self, path: str) -> None:
        for p in [p for p in self.files if at_or_below(p, path)]:
            del self.files[p]
        self.made_dirs = {d for d in self.made_dirs if not at_or_below(d, path)}

    def forget_uploads(self, path: str) -> None:
        for p in [p for p in self.suspended if at_or_below(p, path)]:
            del self.suspended[p]

    def move(self, source: str, dest: str) -> None:
        if self.is_file(source):
            self.put(dest, self.files.pop(source))
            return
        moved = {dest + p[len(source) :]: data for p, data in self.files.items() if at_or_below(p, source)}
        dirs = {dest + d[len(source) :] for d in self.made_dirs if at_or_below(d, source)}
        self.delete(source)
        for p, data in moved.items():
            self.put(p, data)
        self.made_dirs |= dirs | set(ancestors(dest)) if self.keeps_empty_dirs else set()


class Live:
    """An open writer and the bytes the model says it holds."""

    def __init__(self, path: str, writer: FileWriter, content: bytes) -> None:
        self.path = path
        self.writer = writer
        self.content = bytearray(content)


def expect_missing(call: Callable[[], object], path: str, driver: StorageDriver) -> None:
    with pytest.raises(PathNotFoundError) as caught:
        call()
    assert caught.value.path == path
    assert caught.value.driver_name == driver.name


def machine_for(
    make: Callable[[], StorageDriver], keeps_empty_dirs: bool, stats: Counter[str]
) -> type[RuleBasedStateMachine]:
    """The state machine class running on fresh drivers built by ``make``; ``stats`` counts
    examples, steps and driver calls checked."""

    class DriverMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            stats["examples"] += 1
            self.driver = make()
            self.model = Model(keeps_empty_dirs)
            self.live: dict[str, Live] = {}
            self.finished: list[FileWriter] = []

        @invariant()
        def count_step(self) -> None:
            stats["steps"] += 1

        def resolve(self, pick: Pick) -> str:
            """``pick`` itself, or the path a known path index stands for."""
            if isinstance(pick, str):
                return pick
            model = self.model
            known = sorted(set(model.files) | model.dirs() | set(model.suspended) | set(self.live))
            return known[pick % len(known)] if known else "/a"

        def pick_live(self, index: int) -> Live | None:
            if not self.live:
                return None
            return self.live[sorted(self.live)[index % len(self.live)]]

        # -- content ------------------------------------------------------------------

        @rule(path=paths_st, data=data_st)
        def put_content(self, path: str, data: bytes) -> None:
            if self.model.file_conflict(path):
                return
            stats["put_content"] += 1
            self.driver.put_content(path, data)
            self.model.put(path, data)

        @rule(pick=pick_st)
        def get_content(self, pick: Pick) -> None:
            path = self.resolve(pick)
            stats["get_content"] += 1
            if self.model.is_file(path):
                assert self.driver.get_content(path) == self.model.files[path]
            else:
                expect_missing(lambda: self.driver.get_content(path), path, self.driver)

        @rule(pick=pick_st, offset=st.integers(0, 30))
        def reader(self, pick: Pick, offset: int) -> None:
            path = self.resolve(pick)
            stats["reader"] += 1
            if self.model.is_file(path):
                with self.driver.reader(path, offset) as stream:
                    assert stream.read() == self.model.files[path][offset:]
                    assert stream.read() == b""
            else:
                expect_missing(lambda: self.driver.reader(path, offset), path, self.driver)

        # -- metadata -----------------------------------------------------------------

        @rule(pick=dir_pick_st)
        def stat(self, pick: Pick) -> None:
            path = self.resolve(pick)
            stats["stat"] += 1
            if self.model.is_file(path):
                info = self.driver.stat(path)
                assert (info.path, info.size, info.is_dir) == (path, len(self.model.files[path]), False)
            elif self.model.is_dir(path):
                info = self.driver.stat(path)
                assert (info.path, info.size, info.is_dir) == (path, 0, True)
            else:
                expect_missing(lambda: self.driver.stat(path), path, self.driver)

        @rule(pick=dir_pick_st)
        def list(self, pick: Pick) -> None:
            path = self.resolve(pick)
            stats["list"] += 1
            if self.model.is_dir(path):
                assert self.driver.list(path) == self.model.children(path)
            else:
                expect_missing(lambda: self.driver.list(path), path, self.driver)

        @rule(
            pick=dir_pick_st,
            hint=st.one_of(st.just(""), paths_st),
            skip=st.one_of(st.none(), paths_st),
            stop_after=st.one_of(st.none(), st.integers(0, 10)),
        )
        def walk(self, pick: Pick, hint: str, skip: str | None, stop_after: int | None) -> None:
            path = self.resolve(pick)
            if self.model.is_file(path):
                return  # not generated: see the module docstring
            stats["walk"] += 1
            if not self.model.is_dir(path):
                expect_missing(lambda: self.driver.walk(path, lambda info: None), path, self.driver)
                return
            seen: list[FileInfo] = []

            def visit(info: FileInfo) -> None:
                seen.append(info)
                if stop_after is not None and len(seen) > stop_after:
                    raise StopWalk
                if info.is_dir and info.path == skip:
                    raise SkipDir

            self.driver.walk(path, visit, start_after_hint=hint)
            expected: list[tuple[str, bool]] = []
            for entry, is_dir in self.model.entries_below(path):
                key = entry + "/" if is_dir else entry
                if hint and (key <= hint or entry == hint):
                    continue
                if skip is not None and entry.startswith(skip + "/") and (skip, True) in expected:
                    continue  # below a directory whose callback raised SkipDir
                expected.append((entry, is_dir))
                if stop_after is not None and len(expected) > stop_after:
                    break
            assert [(i.path, i.is_dir) for i in seen] == expected
            for info in seen:
                size = 0 if info.is_dir else len(self.model.files[info.path])
                assert info.size == size

        # -- namespace ----------------------------------------------------------------

        @rule(source_pick=pick_st, dest_pick=pick_st)
        def move(self, source_pick: Pick, dest_pick: Pick) -> None:
            self.check_move(self.resolve(source_pick), self.resolve(dest_pick))

        @precondition(lambda self: bool(self.model.dirs()))
        @rule(index=st.integers(0, 100), dest=paths_st)
        def move_directory(self, index: int, dest: str) -> None:
            directories = sorted(self.model.dirs())
            self.check_move(directories[index % len(directories)], dest)

        def check_move(self, source: str, dest: str) -> None:
            model = self.model
            if not model.exists(source):
                before = model.files.get(dest)
                expect_missing(lambda: self.driver.move(source, dest), source, self.driver)
                if before is not None:
                    assert self.driver.get_content(dest) == before
                return
            if source == dest:
                self.driver.move(source, dest)  # a no-op
                return
            if dest.startswith(source + "/"):
                if model.is_dir(source):
                    with pytest.raises(StorageDriverError):
                        self.driver.move(source, dest)
                return  # below a file: not generated
            if model.is_file(source):
                if model.file_conflict(dest):
                    return
            elif model.exists(dest) or any(model.is_file(a) for a in ancestors(dest)):
                return
            stats["move (directory)" if model.is_dir(source) else "move (file)"] += 1
            self.driver.move(source, dest)
            model.move(source, dest)

        @rule(pick=pick_st)
        def delete(self, pick: Pick) -> None:
            path = self.resolve(pick)
            if any(at_or_below(p, path) for p in self.live):
                return
            stats["delete"] += 1
            if self.model.exists(path):
                self.driver.delete(path)
                self.model.delete(path)
            else:
                expect_missing(lambda: self.driver.delete(path), path, self.driver)
            self.model.forget_uploads(path)

        # -- writers ------------------------------------------------------------------

        @rule(pick=pick_st, append=st.booleans())
        def open_writer(self, pick: Pick, append: bool) -> None:
            path = self.resolve(pick)
            if path in self.live or len(self.live) >= MAX_LIVE_WRITERS:
                return
            stats["writer (append)" if append else "writer"] += 1
            if not append:
                writer = self.driver.writer(path)
                self.model.suspended.pop(path, None)
                content = b""
            elif path in self.model.suspended:
                writer = self.driver.writer(path, append=True)
                content = self.model.suspended[path]
            elif self.model.is_file(path):
                writer = self.driver.writer(path, append=True)
                content = self.model.files[path]
            else:
                expect_missing(lambda: self.driver.writer(path, append=True), path, self.driver)
                return
            assert writer.size == len(content)
            assert not writer.closed
            self.live[path] = Live(path, writer, content)

        @precondition(lambda self: bool(self.live))
        @rule(index=st.integers(0, 10), data=data_st)
        def write(self, index: int, data: bytes) -> None:
            live = self.pick_live(index)
            if live is None:
                return
            stats["write"] += 1
            assert live.writer.write(data) == len(data)
            live.content += data
            assert live.writer.size == len(live.content)

        @precondition(lambda self: bool(self.live))
        @rule(index=st.integers(0, 10))
        def close_writer(self, index: int) -> None:
            live = self.pick_live(index)
            if live is None:
                return
            stats["close"] += 1
            live.writer.close()
            assert live.writer.closed
            self.model.suspended[live.path] = bytes(live.content)
            self.finish(live)

        @precondition(lambda self: bool(self.live))
        @rule(index=st.integers(0, 10))
        def commit_writer(self, index: int) -> None:
            live = self.pick_live(index)
            if live is None or self.model.file_conflict(live.path):
                return
            stats["commit"] += 1
            live.writer.commit()
            live.writer.close()  # close after commit succeeds
            assert live.writer.size == len(live.content)
            self.model.suspended.pop(live.path, None)
            self.model.put(live.path, bytes(live.content))
            self.finish(live)

        @precondition(lambda self: bool(self.live))
        @rule(index=st.integers(0, 10))
        def cancel_writer(self, index: int) -> None:
            live = self.pick_live(index)
            if live is None:
                return
            stats["cancel"] += 1
            live.writer.cancel()
            assert live.writer.closed
            self.model.suspended.pop(live.path, None)
            self.finish(live)

        @precondition(lambda self: bool(self.finished))
        @rule(index=st.integers(0, 10), operation=st.sampled_from(["write", "close", "commit", "cancel"]))
        def finished_writer(self, index: int, operation: str) -> None:
            """Every operation on a closed, committed or cancelled writer is a DriverError."""
            if not self.finished:
                return
            stats["finished writer"] += 1
            writer = self.finished[index % len(self.finished)]
            call: Callable[[], object] = {
                "write": lambda: writer.write(b"x"),
                "close": writer.close,
                "commit": writer.commit,
                "cancel": writer.cancel,
            }[operation]
            with pytest.raises(DriverError) as caught:
                call()
            assert caught.value.driver_name == self.driver.name

        def finish(self, live: Live) -> None:
            del self.live[live.path]
            self.finished = [*self.finished[-4:], live.writer]

        def teardown(self) -> None:
            try:
                seen: list[tuple[str, bool, int]] = []
                self.driver.walk("/", lambda info: seen.append((info.path, info.is_dir, info.size)))
                expected = [(p, d, 0 if d else len(self.model.files[p])) for p, d in self.model.entries_below("/")]
                assert seen == expected
                for path, data in self.model.files.items():
                    assert self.driver.get_content(path) == data
            finally:
                for live in self.live.values():
                    live.writer.close()

    return DriverMachine


_roots = itertools.count()


@pytest.mark.parametrize("name", ALL_DRIVERS)
def test_driver_matches_model(name: str, store_parameters: Callable[[str], dict[str, Any]]) -> None:
    """Zero divergences between the driver and the model over 50 x 30 random steps (1000 x 60 long)."""
    base = {**store_parameters(name), **FAST.get(name, {})}

    def make() -> StorageDriver:
        if name == "filesystem":
            return distfs.create(name, store_parameters(name))
        if name == "inmemory":
            return distfs.create(name)
        return distfs.create(name, {**base, "rootdirectory": f"model-{next(_roots)}"})

    stats: Counter[str] = Counter()
    config = model_settings()
    started = time.perf_counter()
    run_state_machine_as_test(machine_for(make, name == "filesystem", stats), settings=config)
    seconds = time.perf_counter() - started
    print(f"\nmodel[{name}]: {seconds:.1f} s, " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    assert stats["examples"] >= config.max_examples
    # Steps: the invariant runs once after setup and after every step.
    assert stats["steps"] >= config.max_examples * 30
