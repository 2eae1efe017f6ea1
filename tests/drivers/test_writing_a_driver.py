"""The toy driver of docs/writing-a-driver.md passes the suite; every bug planted in it is caught.

``docs/examples/sqlite_driver.py`` is the guide's example, a whole driver over one SQLite
file. The unmodified driver passes every case (run three ways, as the guide shows). Each
mutant below plants one bug a driver author could make; :func:`distfs.testing.run` must
fail the case(s) named for it, and no mutant may pass the suite. Four of them (resume
from another instance, sharing an upload across instances, a commit leaving its upload,
a delete keeping uploads below) survived every case before the suite had a second
instance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

import pytest

import distfs
from distfs.base import Base
from distfs.driver import FileInfo, SkipDir, StorageDriver, WalkFn
from distfs.testing import CASES, DriverSuite, run
from distfs.tools.cli import main
from distfs.walk import key_of

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sqlite_driver.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sqlite_driver", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sqlite_driver"] = module
    spec.loader.exec_module(module)
    return module


toy = _load()
SQLiteDriver: Any = toy.SQLiteDriver
if "sqlite" not in distfs.driver_names():
    distfs.register("sqlite", toy.factory)  # as the guide's entry point would


def _scratch(fallback: Path) -> Iterator[str]:
    """A fresh SQLite file, in memory-backed /dev/shm where there is one (each commit fsyncs)."""
    shm = Path("/dev/shm")
    directory = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() else fallback
    yield str(directory / "store.db")
    if directory != fallback:
        shutil.rmtree(directory)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    yield from _scratch(tmp_path)


@pytest.fixture(scope="class")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _scratch(tmp_path_factory.mktemp("sqlite"))


# -- the unmodified driver passes, three ways ---------------------------------------


def test_the_toy_driver_passes_the_whole_suite_from_python(store: str) -> None:
    results = run(distfs.create("sqlite", {"file": store}))
    assert {r.name for r in results} == {case.name for case in CASES}
    skipped = {r.name: r.message for r in results if r.outcome == "skipped"}
    read_only = "the driver does not declare capabilities.read_only"
    assert skipped == {
        "write_read_large_streams": "long mode only (DISTFS_TEST_LONG=1 or --long)",
        "presigned_urls": "the driver does not declare capabilities.presign_get",
        "pinned_reader_sees_one_version": "the driver does not declare capabilities.pinned_reads",
        "puts_are_atomic": "the driver does not declare capabilities.atomic_put",
        "resume_after_a_crash": "the driver does not declare capabilities.crash_resume",
        "read_only_reads": read_only,
        "read_only_listings": read_only,
        "read_only_refuses_writes": read_only,
    }
    assert [(r.name, r.message) for r in results if r.outcome not in ("passed", "skipped")] == []


def test_the_toy_driver_passes_distfs_check(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "sqlite", "-p", f"file={store}", "-k", "instance"]) == 0
    assert "0 failed" in capsys.readouterr().out


class TestSQLiteDriver(DriverSuite):
    """The guide's pytest example (run here on the cases of two instances only, to stay fast)."""

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        return distfs.create("sqlite", {"file": request.getfixturevalue("sqlite_file")})


for _case in CASES:  # keep the pytest way to the two-instance cases: the whole suite ran above
    if not _case.two_instances:
        setattr(TestSQLiteDriver, "test_" + _case.name, None)


# -- the mutants ---------------------------------------------------------------------


class ResumesOthersAtZero(SQLiteDriver):  # type: ignore[misc]
    """Resumes only uploads this instance started; another instance's upload starts over at 0."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.mine: set[str] = set()

    def _start_upload(self, db: sqlite3.Connection, path: str, append: bool) -> int:
        known = path in self.mine
        self.mine.add(path)
        if append and not known and db.execute("SELECT 1 FROM uploads WHERE path = ?", (path,)).fetchone():
            db.execute("UPDATE uploads SET data = x'' WHERE path = ?", (path,))
            return 0
        return int(super()._start_upload(db, path, append))


class ClaimsPerInstance(SQLiteDriver):  # type: ignore[misc]
    """Keeps writer claims in the instance, so two instances share one upload."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.open: set[str] = set()

    def _claim(self, db: sqlite3.Connection, path: str, owner: str) -> None:
        if path in self.open:
            raise distfs.WriterConflictError(path, self.name)
        self.open.add(path)

    def _release(self, db: sqlite3.Connection, path: str, owner: str) -> None:
        self.open.discard(path)

    def writer(self, path: str, append: bool = False) -> distfs.FileWriter:
        held = path in self.open
        try:
            return super().writer(path, append)  # type: ignore[no-any-return]
        except distfs.PathNotFoundError:
            if not held:  # the transaction rolled back; so does the instance's claim
                self.open.discard(path)
            raise


class CommitLeavesUpload(SQLiteDriver):  # type: ignore[misc]
    """A commit leaves the upload behind: a later append resumes the old bytes."""

    def _drop_upload(self, db: sqlite3.Connection, path: str, *, committed: bool) -> None:
        if not committed:
            super()._drop_upload(db, path, committed=committed)


class DeleteKeepsUploadsBelow(SQLiteDriver):  # type: ignore[misc]
    """delete(d) removes the upload of d only, not those below it."""

    def _delete_uploads(self, db: sqlite3.Connection, path: str) -> None:
        db.execute("DELETE FROM uploads WHERE path = ?", (path,))


class ListsInKeyOrder(SQLiteDriver):  # type: ignore[misc]
    """list sorts by walk key (directory + "/"), not by name: /a-1 before /a."""

    def list(self, path: str) -> list[str]:
        return [info.path for info in sorted(self._children(path), key=key_of)]


class NaiveMtimes(SQLiteDriver):  # type: ignore[misc]
    """Modification times without a timezone (local time)."""

    def _mtime(self, value: float) -> datetime:
        return datetime.fromtimestamp(value)  # the planted bug: no tzinfo


class DeletesByPrefix(SQLiteDriver):  # type: ignore[misc]
    """delete("/a") also removes "/ab" (a LIKE prefix without the slash)."""

    def delete(self, path: str) -> None:
        with self._db(write=True) as db:
            removed = db.execute("DELETE FROM objects WHERE path LIKE ? || '%'", (path,)).rowcount
            self._delete_uploads(db, path)
        if not removed:
            raise distfs.PathNotFoundError(path, self.name)


class IgnoresSkipDir(SQLiteDriver):  # type: ignore[misc]
    """The walk descends into a directory whose callback raised SkipDir."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        def visit(info: FileInfo) -> None:
            with contextlib.suppress(SkipDir):
                fn(info)

        super().walk(path, visit, start_after_hint=start_after_hint)


class ResumeSizeZero(SQLiteDriver):  # type: ignore[misc]
    """A resumed writer keeps the bytes but reports size 0."""

    def _start_upload(self, db: sqlite3.Connection, path: str, append: bool) -> int:
        super()._start_upload(db, path, append)
        return 0


class NoWriterConflict(SQLiteDriver):  # type: ignore[misc]
    """No claims at all: two writers of a path share its upload."""

    def _claim(self, db: sqlite3.Connection, path: str, owner: str) -> None:
        pass

    def _release(self, db: sqlite3.Connection, path: str, owner: str) -> None:
        pass


class ReaderOffsetRelative(SQLiteDriver):  # type: ignore[misc]
    """reader(path, offset) is a stream of the bytes from offset, whose tell() starts at 0."""

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return io.BytesIO(self.get_content(path)[offset:])


class DeclaresPresignGet(SQLiteDriver):  # type: ignore[misc]
    """Declares presign_get, but redirect_url returns None (the default)."""

    @property
    def capabilities(self) -> distfs.Capabilities:
        return dataclasses.replace(super().capabilities, presign_get=True)


class MoveCopies(SQLiteDriver):  # type: ignore[misc]
    """Declares atomic_move, but a move copies (the object gets a new modification time)."""

    def move(self, source: str, dest: str) -> None:
        self.put_content(dest, self.get_content(source))
        self.delete(source)


class KeepsEmptyDirectories(SQLiteDriver):  # type: ignore[misc]
    """Keeps a directory after its last child is deleted, without declaring empty_directories."""

    def delete(self, path: str) -> None:
        super().delete(path)
        if "/" in path[1:]:
            with self._db(write=True) as db:  # a marker row keeps the parent listed
                db.execute("INSERT OR REPLACE INTO objects VALUES (?, x'', 0)", (path.rsplit("/", 1)[0] + "/.keep",))


#: mutant -> the cases that must fail on it.
MUTANTS: dict[type[StorageDriver], set[str]] = {
    ResumesOthersAtZero: {"resume_from_other_instance"},
    ClaimsPerInstance: {"writer_conflict_across_instances"},
    CommitLeavesUpload: {"commit_and_cancel_leave_no_upload"},
    DeleteKeepsUploadsBelow: {"delete_removes_uploads_below"},
    ListsInKeyOrder: {"list_sorted_and_unique"},
    NaiveMtimes: {"stat_call"},
    DeletesByPrefix: {"delete_only_deletes_subpaths"},
    IgnoresSkipDir: {"walk_skip_dir"},
    ResumeSizeZero: {"continue_stream_append_small", "resume_from_other_instance"},
    NoWriterConflict: {"second_writer_of_a_path", "writer_conflict_across_instances"},
    ReaderOffsetRelative: {"reader_stream_api"},
    DeclaresPresignGet: {"presigned_urls"},
    MoveCopies: {"move_keeps_identity"},
    KeepsEmptyDirectories: {"empty_directories_as_declared"},
}

#: Cases that only move many MiB (10 MiB chunks, 8 x 8 MiB streams, 10 MiB reads): no
#: mutant is aimed at them, and they take most of the toy's run time.
BULK = {"continue_stream_append_large", "concurrent_file_streams", "concurrent_stream_reads"}


def _instances(cls: type[StorageDriver], store: str) -> tuple[StorageDriver, Callable[[], StorageDriver]]:
    """A mutant on ``store`` and how to build a second instance of it (``reopen=``)."""

    def make() -> StorageDriver:
        return Base(cls(store))  # type: ignore[call-arg]

    return make(), make


@pytest.mark.parametrize("mutant", list(MUTANTS), ids=lambda cls: cls.__name__)
def test_run_kills_every_mutant(mutant: type[StorageDriver], store: str) -> None:
    driver, reopen = _instances(mutant, store)
    results = run(driver, reopen=reopen, cases=[case for case in CASES if case.name not in BULK])
    failed = {r.name for r in results if r.outcome == "failed"}
    assert MUTANTS[mutant] <= failed, f"{mutant.__name__} survived {sorted(MUTANTS[mutant] - failed)}"


def test_the_four_cross_instance_mutants_need_the_second_instance(store: str) -> None:
    """Without a second instance (the suite before issue 29) they survive: the new cases are what kills them."""
    survivors = [ResumesOthersAtZero, ClaimsPerInstance, CommitLeavesUpload, DeleteKeepsUploadsBelow]
    one_instance = [case for case in CASES if not case.two_instances and case.name not in BULK]
    for index, mutant in enumerate(survivors):
        driver = Base(mutant(f"{store}.{index}"))  # type: ignore[call-arg]
        results = run(driver, cases=[c for c in one_instance if c.name != "stat_call"])
        assert [r.name for r in results if r.outcome == "failed"] == [], mutant.__name__
