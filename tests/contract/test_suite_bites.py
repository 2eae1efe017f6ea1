"""The conformance suite bites: each mutant driver breaks one rule, and a named case fails.

Every mutant wraps a real ``inmemory`` driver and gets one behaviour subtly wrong. For each
one, the conformance case(s) meant to catch it must fail (``run_case`` raises), while the
same case passes against the unmutated driver (the controls). The mutants under "gaps" are
ones no case of the short suite catches; they are strict xfails, so they turn into failures
as soon as the suite learns to catch them (then move them up to ``CAUGHT``).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pytest

import distfs
from distfs import paths
from distfs.base import Base
from distfs.driver import FileInfo, FileWriter, SkipDir, StopWalk, StorageDriver, WalkFn
from distfs.errors import DriverError, InvalidOffsetError, InvalidPathError, PathNotFoundError
from distfs.testing import CASES
from distfs.testing.runner import run_case

CASE = {case.name: case for case in CASES}


def raw_inmemory() -> StorageDriver:
    """A fresh ``inmemory`` driver without the Base wrapper (no validation, no error naming)."""
    driver = distfs.create("inmemory")
    assert isinstance(driver, Base)
    return driver.inner


# -- delegation ------------------------------------------------------------------------


class DelegateWriter(FileWriter):
    """Forwards every call to ``inner``."""

    def __init__(self, inner: FileWriter) -> None:
        self.inner = inner

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self.inner.write(data)

    @property
    def size(self) -> int:
        return self.inner.size

    def close(self) -> None:
        self.inner.close()

    def cancel(self) -> None:
        self.inner.cancel()

    def commit(self) -> None:
        self.inner.commit()

    @property
    def closed(self) -> bool:
        return self.inner.closed


class Delegate(StorageDriver):
    """Forwards every call to ``inner``; a mutant overrides one method."""

    def __init__(self, inner: StorageDriver) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    def get_content(self, path: str) -> bytes:
        return self.inner.get_content(path)

    def put_content(self, path: str, content: bytes) -> None:
        self.inner.put_content(path, content)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self.inner.reader(path, offset)

    def writer(self, path: str, append: bool = False) -> FileWriter:
        return self.inner.writer(path, append)

    def stat(self, path: str) -> FileInfo:
        return self.inner.stat(path)

    def move(self, source: str, dest: str) -> None:
        self.inner.move(source, dest)

    def delete(self, path: str) -> None:
        self.inner.delete(path)

    def redirect_url(self, path: str, method: str = "GET") -> str | None:
        return self.inner.redirect_url(path, method)

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        self.inner.walk(path, fn, start_after_hint=start_after_hint)

    def list(self, path: str) -> builtins.list[str]:
        return self.inner.list(path)


# -- mutants the suite catches ---------------------------------------------------------


class DeletesPrefixSiblings(Delegate):
    """delete("/a") also removes "/ab" and "/a-b"."""

    def delete(self, path: str) -> None:
        self.inner.delete(path)
        with contextlib.suppress(PathNotFoundError):
            for sibling in self.inner.list(paths.parent(path)):
                if sibling.startswith(path):
                    self.inner.delete(sibling)


class ListsBasenames(Delegate):
    """list returns child names instead of absolute paths."""

    def list(self, path: str) -> builtins.list[str]:
        return [child.rsplit("/", 1)[-1] for child in self.inner.list(path)]


class ListsMissingAsEmpty(Delegate):
    """list of a missing directory is [] instead of PathNotFoundError."""

    def list(self, path: str) -> builtins.list[str]:
        try:
            return self.inner.list(path)
        except PathNotFoundError:
            return []


class ReaderIgnoresOffset(Delegate):
    """reader always starts at byte 0."""

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        return self.inner.reader(path, 0)


class CountsFromZero(DelegateWriter):
    """A writer whose size counts only the bytes written through it."""

    def __init__(self, inner: FileWriter) -> None:
        super().__init__(inner)
        self.written = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        count = self.inner.write(data)
        self.written += count
        return count

    @property
    def size(self) -> int:
        return self.written


class ResumedSizeZero(Delegate):
    """A resumed writer reports size 0 instead of the bytes persisted before."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        writer = self.inner.writer(path, append)
        return CountsFromZero(writer) if append else writer


def _old_content(driver: StorageDriver, path: str) -> bytes:
    try:
        return driver.get_content(path)
    except PathNotFoundError:
        return b""


class PutAppends(Delegate):
    """put_content appends to the existing content instead of replacing it."""

    def put_content(self, path: str, content: bytes) -> None:
        self.inner.put_content(path, _old_content(self.inner, path) + content)


class PutOverwritesStart(Delegate):
    """put_content writes over the start of the existing content without truncating."""

    def put_content(self, path: str, content: bytes) -> None:
        self.inner.put_content(path, content + _old_content(self.inner, path)[len(content) :])


class MoveCopies(Delegate):
    """move copies the content and leaves the source in place."""

    def move(self, source: str, dest: str) -> None:
        self.inner.put_content(dest, self.inner.get_content(source))


class MoveDeletesDestFirst(Delegate):
    """move clears the destination before finding out that the source is missing."""

    def move(self, source: str, dest: str) -> None:
        with contextlib.suppress(PathNotFoundError):
            self.inner.delete(dest)
        self.inner.move(source, dest)


class MoveEmptiesDestFirst(Delegate):
    """move overwrites the destination with nothing before finding out that the source is missing."""

    def move(self, source: str, dest: str) -> None:
        self.inner.put_content(dest, b"")
        self.inner.move(source, dest)


class DirectorySize(Delegate):
    """stat of a directory reports 4096 bytes instead of 0."""

    def stat(self, path: str) -> FileInfo:
        info = self.inner.stat(path)
        return dataclasses.replace(info, size=4096) if info.is_dir else info


class FrozenModTime(Delegate):
    """stat reports the time a path was first seen, however often it is overwritten."""

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self.first_seen: dict[str, datetime] = {}

    def stat(self, path: str) -> FileInfo:
        info = self.inner.stat(path)
        return dataclasses.replace(info, mod_time=self.first_seen.setdefault(path, info.mod_time))


class UnnamedErrors(Delegate):
    """get_content errors do not name the driver (used without Base, which would stamp the name)."""

    def get_content(self, path: str) -> bytes:
        try:
            return self.inner.get_content(path)
        except PathNotFoundError as exc:
            exc.driver_name = ""
            raise


class AcceptsTrailingSlash(Delegate):
    """Validates paths itself (no Base) but lets a trailing slash through: "/abc_123/" is accepted."""

    def _check(self, path: str) -> None:
        if not paths.is_valid(path.rstrip("/")):
            raise InvalidPathError(path, self.name)

    def get_content(self, path: str) -> bytes:
        self._check(path)
        return self.inner.get_content(path)

    def put_content(self, path: str, content: bytes) -> None:
        self._check(path)
        self.inner.put_content(path, content)


class WalkIgnoresSkipDir(Delegate):
    """walk descends into a directory whose callback raised SkipDir."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        def visit(info: FileInfo) -> None:
            with contextlib.suppress(SkipDir):
                fn(info)

        self.inner.walk(path, visit, start_after_hint=start_after_hint)


class WalkHintedIgnoresStop(Delegate):
    """A hinted walk goes on after the callback raised StopWalk (an unhinted one stops)."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        def visit(info: FileInfo) -> None:
            with contextlib.suppress(StopWalk):
                fn(info)

        self.inner.walk(path, visit if start_after_hint else fn, start_after_hint=start_after_hint)


class WalkPostOrder(Delegate):
    """walk visits a directory after its contents."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        with contextlib.suppress(StopWalk):
            self._walk(path, fn)

    def _walk(self, directory: str, fn: WalkFn) -> None:
        for child in sorted(self.inner.list(directory)):
            info = self.inner.stat(child)
            if info.is_dir:
                self._walk(child, fn)
            fn(info)


class WalkFileSizeZero(Delegate):
    """walk reports files with size 0."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        def visit(info: FileInfo) -> None:
            fn(info if info.is_dir else dataclasses.replace(info, size=0))

        self.inner.walk(path, visit, start_after_hint=start_after_hint)


class WalkSwallowsErrors(Delegate):
    """An error raised by the walk callback silently ends the walk."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        def visit(info: FileInfo) -> None:
            try:
                fn(info)
            except (SkipDir, StopWalk):
                raise
            except Exception:
                raise StopWalk from None

        self.inner.walk(path, visit, start_after_hint=start_after_hint)


class WalkMissingIsEmpty(Delegate):
    """walk of a missing path visits nothing instead of raising PathNotFoundError."""

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        with contextlib.suppress(PathNotFoundError):
            self.inner.walk(path, fn, start_after_hint=start_after_hint)


class LeavesStrayObject(Delegate):
    """put_content also writes a top-level object that nobody cleans up."""

    def put_content(self, path: str, content: bytes) -> None:
        self.inner.put_content(path, content)
        self.inner.put_content("/stray-object", b"x")


class StaleCache(Delegate):
    """get_content serves a write-through cache that delete never invalidates."""

    def __init__(self, inner: StorageDriver) -> None:
        super().__init__(inner)
        self.cache: dict[str, bytes] = {}

    def put_content(self, path: str, content: bytes) -> None:
        self.inner.put_content(path, content)
        self.cache[path] = content

    def get_content(self, path: str) -> bytes:
        return self.cache[path] if path in self.cache else self.inner.get_content(path)


class DeleteMissingSucceeds(Delegate):
    """delete of a missing path succeeds silently."""

    def delete(self, path: str) -> None:
        with contextlib.suppress(PathNotFoundError):
            self.inner.delete(path)


class ReaderMissingIsEmpty(Delegate):
    """reader of a missing path is an empty stream."""

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        try:
            return self.inner.reader(path, offset)
        except PathNotFoundError:
            return io.BytesIO(b"")


class ReaderAtEndRaises(Delegate):
    """reader at the end of the object raises InvalidOffsetError instead of giving an empty stream."""

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        if offset >= self.inner.stat(path).size > 0:
            raise InvalidOffsetError(path, offset, self.name)
        return self.inner.reader(path, offset)


class EmptyIsMissing(Delegate):
    """writer(append=True) of a zero-length object raises PathNotFoundError, as if it were missing."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        try:
            size: int | None = self.inner.stat(path).size
        except PathNotFoundError:
            size = None
        if append and size == 0:
            raise PathNotFoundError(path, self.name)
        return self.inner.writer(path, append)


class ListsReversed(Delegate):
    """list returns the children in reverse order (the contract says sorted)."""

    def list(self, path: str) -> builtins.list[str]:
        return self.inner.list(path)[::-1]


class ReaderPastEndRaises(Delegate):
    """reader past (not at) the end raises InvalidOffsetError instead of giving an empty stream."""

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        if offset > self.inner.stat(path).size:
            raise InvalidOffsetError(path, offset, self.name)
        return self.inner.reader(path, offset)


class CancelSuspends(DelegateWriter):
    """cancel keeps everything written, like close."""

    def cancel(self) -> None:
        self.inner.close()


class CancelKeepsUpload(Delegate):
    """Writers whose cancel suspends instead of discarding."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        return CancelSuspends(self.inner.writer(path, append))


class FreshWriterResumes(Delegate):
    """writer(append=False) resumes a suspended upload (or the committed object) instead of starting over."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        if not append:
            with contextlib.suppress(PathNotFoundError):
                return self.inner.writer(path, True)
        return self.inner.writer(path, append)


class AppendToMissingStartsFresh(Delegate):
    """writer(append=True) of a path with nothing to resume starts a new upload instead of raising."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        try:
            return self.inner.writer(path, append)
        except PathNotFoundError:
            return self.inner.writer(path, False)


class IgnoresWriteAfterClose(DelegateWriter):
    """write after close silently drops the data instead of failing."""

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return len(data) if self.inner.closed else self.inner.write(data)


class WriteAfterCloseIgnored(Delegate):
    """Writers that break the state rule "write after close fails"."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        return IgnoresWriteAfterClose(self.inner.writer(path, append))


class EmptyRootMissing(Delegate):
    """list("/") of an empty store is PathNotFoundError."""

    def list(self, path: str) -> builtins.list[str]:
        children = self.inner.list(path)
        if not children:
            raise PathNotFoundError(path, self.name)
        return children


class MoveRefusesOverwrite(Delegate):
    """move fails when the destination exists."""

    def move(self, source: str, dest: str) -> None:
        with contextlib.suppress(PathNotFoundError):
            self.inner.stat(dest)
            raise DriverError(f"{dest} exists", self.name)
        self.inner.move(source, dest)


Make = Callable[[], StorageDriver]


class FreshWriterContinuesCommitted(Delegate):
    """writer(append=False) over a committed object (and no upload) continues that object."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        try:
            self.inner.stat(path)
        except PathNotFoundError:
            return self.inner.writer(path, append)
        return self.inner.writer(path, True)


class KeepsOldTail(DelegateWriter):
    """commit writes over the start of the old object without truncating it."""

    def __init__(self, inner: FileWriter, driver: StorageDriver, path: str, old: bytes) -> None:
        super().__init__(inner)
        self.driver, self.path, self.old = driver, path, old

    def commit(self) -> None:
        self.inner.commit()
        new = self.driver.get_content(self.path)
        self.driver.put_content(self.path, new + self.old[len(new) :])


class CommitKeepsOldTail(Delegate):
    """Committing a new upload over a longer object leaves the old bytes past the new end."""

    def writer(self, path: str, append: bool = False) -> FileWriter:
        old = b"" if append else _old_content(self.inner, path)
        return KeepsOldTail(self.inner.writer(path, append), self.inner, path, old)


class ShowsLocation(Delegate):
    """Says where its store lives (the ``location`` extension) and shows it in an error."""

    location = "bucket/leaky-root"

    def get_content(self, path: str) -> bytes:
        try:
            return self.inner.get_content(path)
        except PathNotFoundError:
            raise DriverError(f"no object {self.location}{path}", self.name) from None


def based(cls: type[Delegate]) -> Make:
    """A maker of ``Base(cls(raw inmemory))``: validation and error naming as usual."""
    return lambda: Base(cls(raw_inmemory()))


def bare(cls: type[Delegate]) -> Make:
    """A maker of ``cls(raw inmemory)`` without Base."""
    return lambda: cls(raw_inmemory())


# (id, driver maker, case that must fail, what run_case raises, message pattern or None)
CAUGHT: list[tuple[str, Make, str, type[Exception], str | None]] = [
    (
        "delete-prefix-siblings",
        based(DeletesPrefixSiblings),
        "delete_only_deletes_subpaths",
        PathNotFoundError,
        "suffix",
    ),
    ("list-basenames", based(ListsBasenames), "list", AssertionError, r"list\(\"/\"\)"),
    ("list-missing-empty", based(ListsMissingAsEmpty), "list", AssertionError, r"list\(missing\)"),
    ("list-unsorted", based(ListsReversed), "list_sorted_and_unique", AssertionError, r"list\("),
    ("empty-root-missing", based(EmptyRootMissing), "root_exists", PathNotFoundError, "Path not found: /$"),
    ("reader-ignores-offset", based(ReaderIgnoresOffset), "reader_with_offset", AssertionError, r"reader\(32\)"),
    ("reader-at-end-raises", based(ReaderAtEndRaises), "reader_with_offset", InvalidOffsetError, "offset: 96"),
    ("reader-past-end-raises", based(ReaderPastEndRaises), "reader_past_end", InvalidOffsetError, "offset: 11"),
    ("reader-missing-empty", based(ReaderMissingIsEmpty), "read_nonexistent_stream", AssertionError, "reader"),
    ("resumed-size-zero", based(ResumedSizeZero), "continue_stream_append_small", AssertionError, "size on resume"),
    ("resumed-size-zero", based(ResumedSizeZero), "continue_stream_append_large", AssertionError, "size on resume"),
    ("empty-is-missing", based(EmptyIsMissing), "write_zero_byte_content_then_append", PathNotFoundError, None),
    ("empty-is-missing", based(EmptyIsMissing), "write_zero_byte_stream_then_append", PathNotFoundError, None),
    ("cancel-keeps-upload", based(CancelKeepsUpload), "writer_cancel", AssertionError, "resume after cancel"),
    ("fresh-writer-resumes", based(FreshWriterResumes), "writer_restart_discards_upload", AssertionError, "restarted"),
    ("append-to-missing", based(AppendToMissingStartsFresh), "writer_append_to_nothing", AssertionError, "nothing"),
    ("write-after-close", based(WriteAfterCloseIgnored), "writer_state_rules", AssertionError, "write after"),
    ("put-appends", based(PutAppends), "truncate", AssertionError, "get_content"),
    ("put-appends", based(PutAppends), "put_content_multiple_times", AssertionError, "get_content"),
    ("put-overwrites-start", based(PutOverwritesStart), "truncate", AssertionError, "get_content"),
    ("put-overwrites-start", based(PutOverwritesStart), "put_content_multiple_times", AssertionError, "get_content"),
    ("move-copies", based(MoveCopies), "move", AssertionError, r"get_content\(source\)"),
    ("move-copies", based(MoveCopies), "move_overwrite", AssertionError, r"get_content\(source\)"),
    ("move-refuses-overwrite", based(MoveRefusesOverwrite), "move_overwrite", DriverError, "exists"),
    ("move-deletes-dest-first", based(MoveDeletesDestFirst), "move_nonexistent", PathNotFoundError, "Path not found"),
    ("move-empties-dest-first", based(MoveEmptiesDestFirst), "move_nonexistent", AssertionError, "destination"),
    ("directory-size", based(DirectorySize), "stat_call", AssertionError, "directory info"),
    ("frozen-mod-time", based(FrozenModTime), "stat_call", AssertionError, "mod_time did not increase"),
    ("unnamed-errors", bare(UnnamedErrors), "read_nonexistent", AssertionError, "does not name driver"),
    ("no-validation", raw_inmemory, "invalid_paths", AssertionError, "InvalidPathError"),
    ("trailing-slash-accepted", bare(AcceptsTrailingSlash), "invalid_paths", AssertionError, "'/abc_123/'"),
    ("walk-ignores-skipdir", based(WalkIgnoresSkipDir), "walk_skip_dir", AssertionError, "skip /folder1"),
    ("walk-hinted-ignores-stop", based(WalkHintedIgnoresStop), "walk_stop", AssertionError, "inside hinted walk"),
    ("walk-post-order", based(WalkPostOrder), "walk", AssertionError, "walk all"),
    ("walk-file-size-zero", based(WalkFileSizeZero), "walk", AssertionError, "size of"),
    ("walk-swallows-errors", based(WalkSwallowsErrors), "walk_error", AssertionError, "swallowed"),
    ("walk-missing-empty", based(WalkMissingIsEmpty), "walk_subtree_and_missing", AssertionError, r"walk\(missing\)"),
    ("stray-object", based(LeavesStrayObject), "write_read1", AssertionError, "root not clean"),
    ("stale-cache", based(StaleCache), "delete", AssertionError, "get_content after delete"),
    ("delete-missing-succeeds", based(DeleteMissingSucceeds), "delete_nonexistent", AssertionError, "delete"),
    (
        "fresh-writer-continues-committed",
        based(FreshWriterContinuesCommitted),
        "writer_replaces_committed",
        AssertionError,
        "size of a new writer",
    ),
    ("commit-keeps-old-tail", based(CommitKeepsOldTail), "writer_replaces_committed", AssertionError, "rewrite"),
    ("error-shows-location", based(ShowsLocation), "errors_name_driver_paths", AssertionError, "store lives"),
]


@pytest.mark.parametrize(
    ("make", "case_name", "raises", "match"),
    [pytest.param(make, name, raises, match, id=f"{mutant}-{name}") for mutant, make, name, raises, match in CAUGHT],
)
def test_case_catches_mutant(
    make: Make, case_name: str, raises: type[Exception], match: str | None, tmp_path: Path
) -> None:
    with pytest.raises(raises, match=match):
        run_case(CASE[case_name], make(), long=False, workdir=tmp_path)


@pytest.mark.parametrize("case_name", sorted({name for _, _, name, _, _ in CAUGHT}))
@pytest.mark.parametrize("make", [lambda: distfs.create("inmemory"), based(Delegate)], ids=["inmemory", "delegate"])
def test_case_passes_unmutated(make: Make, case_name: str, tmp_path: Path) -> None:
    run_case(CASE[case_name], make(), long=False, workdir=tmp_path)
