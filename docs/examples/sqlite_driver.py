"""``sqlite``: a toy distfs driver keeping a whole store in one SQLite file.

The worked example of ``docs/writing-a-driver.md``: the whole contract of
:class:`distfs.StorageDriver` in one small module, and the conformance suite passes on it
(``tests/drivers/test_writing_a_driver.py`` runs the suite on it and on mutants of it).

Parameters: ``file``, the path of the SQLite file (created if missing). Every instance on
one file, in any process, shares one store:

* ``objects(path, data, mtime)`` holds the committed objects; directories are implicit
  (a directory exists while an object exists below it);
* ``uploads(path, data)`` holds the suspended uploads, hidden from every listing;
* ``claims(path, owner)`` holds one row per open writer: one writer per path, across
  instances and processes (a second ``writer(path)`` is ``WriterConflictError``).

Every call opens its own connection (so threads never share one) and every change runs
in one ``BEGIN IMMEDIATE`` transaction, so that it is atomic and serialized against
other instances. Limits: SQLite caps a blob at about 1 GB, so the long mode's 5 GiB
stream cannot pass; a process that dies with a writer open leaves the path claimed.
"""

from __future__ import annotations

import builtins
import io
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, BinaryIO

from distfs import (
    Capabilities,
    DriverError,
    FileInfo,
    InvalidParameterError,
    PathNotFoundError,
    StorageDriver,
    WriterConflictError,
)
from distfs.driver import EPOCH, WalkFn
from distfs.walk import walk
from distfs.writers import WriterState

__all__ = ["NAME", "SQLiteDriver", "SQLiteWriter", "factory"]

NAME = "sqlite"

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS objects (path TEXT PRIMARY KEY, data BLOB NOT NULL, mtime REAL NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (path TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS claims (path TEXT PRIMARY KEY, owner TEXT NOT NULL);
"""


class SQLiteDriver(StorageDriver):
    """The store in the SQLite file ``file``."""

    def __init__(self, file: str) -> None:
        self.file = file
        with self._db() as db:
            db.executescript(SCHEMA)

    @property
    def name(self) -> str:
        return NAME

    @property
    def capabilities(self) -> Capabilities:
        # A move is one UPDATE (the object keeps its mtime); every read sees every commit.
        return Capabilities(append="emulated", atomic_move=True, listing_consistency="strong")

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one call; with ``write``, inside one immediate transaction."""
        db = sqlite3.connect(self.file, timeout=60, isolation_level=None)
        try:
            if write:
                db.execute("BEGIN IMMEDIATE")
            yield db
            if write:
                db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def _below(self, path: str) -> tuple[str, tuple[int, str]]:
        """SQL (and its arguments) true for the paths strictly below directory ``path``.

        A prefix compare on ``path + "/"``: never ``LIKE path || '%'``, which would take
        ``/ab`` to be below ``/a`` (and reads ``_`` and ``%`` in names as wildcards).
        """
        prefix = "/" if path == "/" else path + "/"
        return "substr(path, 1, ?) = ?", (len(prefix), prefix)

    def _mtime(self, value: float) -> datetime:
        """Stored seconds as the contract's timezone-aware UTC time."""
        return datetime.fromtimestamp(value, UTC)

    # -- content ----------------------------------------------------------------------

    def get_content(self, path: str) -> bytes:
        with self._db() as db:
            row = db.execute("SELECT data FROM objects WHERE path = ?", (path,)).fetchone()
        if row is None:
            raise PathNotFoundError(path, NAME)
        return bytes(row[0])

    def put_content(self, path: str, content: bytes) -> None:
        with self._db(write=True) as db:
            db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", (path, content, time.time()))

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        data = self.get_content(path)
        stream = io.BytesIO(data)  # seekable, readinto, readline: what the contract asks
        stream.seek(min(offset, len(data)))  # past the end: empty, positioned at the end
        return stream

    def writer(self, path: str, append: bool = False) -> SQLiteWriter:
        return SQLiteWriter(self, path, append)

    # -- writer state (used by SQLiteWriter, inside its transactions) -----------------

    def _claim(self, db: sqlite3.Connection, path: str, owner: str) -> None:
        """Claim ``path`` for one writer: ``WriterConflictError`` while another holds it."""
        try:
            db.execute("INSERT INTO claims VALUES (?, ?)", (path, owner))
        except sqlite3.IntegrityError:
            raise WriterConflictError(path, NAME) from None

    def _release(self, db: sqlite3.Connection, path: str, owner: str) -> None:
        db.execute("DELETE FROM claims WHERE path = ? AND owner = ?", (path, owner))

    def _start_upload(self, db: sqlite3.Connection, path: str, append: bool) -> int:
        """Open the upload of ``path``; returns the bytes already in it."""
        row = db.execute("SELECT length(data) FROM uploads WHERE path = ?", (path,)).fetchone()
        if append and row is not None:
            return int(row[0])  # resume the suspended upload
        data = b""
        if append:  # no upload: continue the committed object, if there is one
            committed = db.execute("SELECT data FROM objects WHERE path = ?", (path,)).fetchone()
            if committed is None:
                raise PathNotFoundError(path, NAME)
            data = committed[0]
        db.execute("INSERT OR REPLACE INTO uploads VALUES (?, ?)", (path, data))
        return len(data)

    def _drop_upload(self, db: sqlite3.Connection, path: str, *, committed: bool) -> None:
        """After a commit or a cancel, the upload is gone for every instance."""
        db.execute("DELETE FROM uploads WHERE path = ?", (path,))

    def _delete_uploads(self, db: sqlite3.Connection, path: str) -> None:
        """delete(path): the uploads at and below ``path`` go with it."""
        below, arguments = self._below(path)
        db.execute(f"DELETE FROM uploads WHERE path = ? OR {below}", (path, *arguments))

    # -- metadata ---------------------------------------------------------------------

    def stat(self, path: str) -> FileInfo:
        if path == "/":
            return FileInfo(path, 0, EPOCH, True)
        below, arguments = self._below(path)
        with self._db() as db:
            row = db.execute("SELECT length(data), mtime FROM objects WHERE path = ?", (path,)).fetchone()
            inside = row is None and db.execute(f"SELECT 1 FROM objects WHERE {below} LIMIT 1", arguments).fetchone()
        if row is not None:
            return FileInfo(path, int(row[0]), self._mtime(row[1]), False)
        if inside:
            return FileInfo(path, 0, EPOCH, True)
        raise PathNotFoundError(path, NAME)

    def list(self, path: str) -> list[str]:
        return sorted(info.path for info in self._children(path))

    def _children(self, path: str) -> builtins.list[FileInfo]:  # `list` is a method here
        """The direct children of directory ``path``; PathNotFoundError if it has none."""
        below, arguments = self._below(path)
        with self._db() as db:
            rows = db.execute(f"SELECT path, length(data), mtime FROM objects WHERE {below}", arguments).fetchall()
        prefix = arguments[1]
        found: dict[str, FileInfo] = {}
        for name, size, mtime in rows:
            first, _, rest = name[len(prefix) :].partition("/")
            child = prefix + first
            if rest:
                found[child] = FileInfo(child, 0, EPOCH, True)  # a directory wins over a file of its name
            else:
                found.setdefault(child, FileInfo(child, int(size), self._mtime(mtime), False))
        if not found and path != "/":
            raise PathNotFoundError(path, NAME)
        return list(found.values())

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        # distfs's walk gives the contract's order, hints, SkipDir and StopWalk.
        walk(self._children, path, fn, start_after_hint)

    # -- namespace changes ------------------------------------------------------------

    def move(self, source: str, dest: str) -> None:
        if dest.startswith(source + "/"):
            raise DriverError(f"cannot move {source} into itself ({dest})", NAME)
        below, arguments = self._below(source)
        with self._db(write=True) as db:
            if db.execute("SELECT 1 FROM objects WHERE path = ?", (source,)).fetchone():
                moves = [(source, dest)]
            else:  # a directory: everything below it
                names = db.execute(f"SELECT path FROM objects WHERE {below}", arguments).fetchall()
                moves = [(name, dest + name[len(source) :]) for (name,) in names]
            if not moves:
                raise PathNotFoundError(source, NAME)
            if source == dest:
                return
            for old, new in moves:
                db.execute("DELETE FROM objects WHERE path = ?", (new,))
                db.execute("UPDATE objects SET path = ? WHERE path = ?", (new, old))

    def delete(self, path: str) -> None:
        below, arguments = self._below(path)
        with self._db(write=True) as db:
            removed = db.execute(f"DELETE FROM objects WHERE path = ? OR {below}", (path, *arguments)).rowcount
            self._delete_uploads(db, path)
        if not removed:  # raised after the commit: the uploads of ``path`` are gone anyway
            raise PathNotFoundError(path, NAME)


class SQLiteWriter(WriterState):
    """A resumable writer: bytes are buffered, then appended to the upload at ``close``.

    :class:`distfs.writers.WriterState` keeps the contract's state rules (``write`` and
    ``commit`` need an open writer, ``close`` after ``commit`` succeeds, ...); this class
    only persists.
    """

    def __init__(self, driver: SQLiteDriver, path: str, append: bool) -> None:
        super().__init__(path, NAME)
        self._driver = driver
        self._owner = uuid.uuid4().hex
        self._buffer = bytearray()
        with driver._db(write=True) as db:  # claim and open in one transaction
            driver._claim(db, path, self._owner)
            self._size = driver._start_upload(db, path, append)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._require_open()
        self._buffer += data
        self._size += len(data)
        return len(data)

    def _flush(self, db: sqlite3.Connection) -> bytes:
        """Append the buffer to the upload; returns the upload's data."""
        row = db.execute("SELECT data FROM uploads WHERE path = ?", (self._path,)).fetchone()
        if row is None:
            raise DriverError(f"the upload of {self._path} was deleted while its writer was open", NAME)
        data = bytes(row[0]) + self._buffer
        db.execute("UPDATE uploads SET data = ? WHERE path = ?", (data, self._path))
        self._buffer.clear()
        return data

    def _suspend(self) -> None:
        with self._driver._db(write=True) as db:
            self._flush(db)
            self._driver._release(db, self._path, self._owner)

    def commit(self) -> None:
        self._require_open()
        with self._driver._db(write=True) as db:
            data = self._flush(db)
            db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", (self._path, data, time.time()))
            self._driver._drop_upload(db, self._path, committed=True)
            self._driver._release(db, self._path, self._owner)
        self._state = "committed"

    def cancel(self) -> None:
        self._require_open()
        with self._driver._db(write=True) as db:
            self._driver._drop_upload(db, self._path, committed=False)
            self._driver._release(db, self._path, self._owner)
        self._state = "cancelled"


def factory(parameters: Mapping[str, Any]) -> SQLiteDriver:
    """Build the driver from ``{"file": PATH}`` (what ``distfs.create("sqlite", ...)`` calls)."""
    unknown = sorted(set(parameters) - {"file"})
    if unknown:
        raise InvalidParameterError(NAME, unknown[0], "unknown parameter (the only one is 'file')")
    file = parameters.get("file")
    if not isinstance(file, str) or not file:
        raise InvalidParameterError(NAME, "file", "must be the path of the SQLite file")
    return SQLiteDriver(file)
