"""What every resumable writer shares: the FileWriter state machine.

:class:`WriterRules` holds the :class:`~distfs.driver.FileWriter` state rules once:
``write`` and ``commit`` need an open writer, ``close`` after ``commit`` succeeds, every
other repeat is a ``DriverError`` saying what already happened. :class:`WriterState` is
the synchronous FileWriter built on them; the writers of the object stores
(:mod:`distfs.engine.writer`; every built-in driver is one) and the asynchronous
writers of :mod:`distfs.aio` build on them.
"""

from __future__ import annotations

from .driver import FileWriter
from .errors import DriverError

__all__ = ["WriterRules", "WriterState"]


class WriterRules:
    """The state machine alone (no I/O): ``open``, ``closed``, ``committed``, ``cancelled``..."""

    def __init__(self, path: str, driver_name: str) -> None:
        self._path = path
        self._name = driver_name
        self._state = "open"
        self._size = 0

    @property
    def closed(self) -> bool:
        """True once closed, committed and closed, or cancelled: a committed writer is still to close."""
        return self._state not in ("open", "committed")

    def _require_open(self) -> None:
        if self._state != "open":
            raise DriverError(f"writer for {self._path} already {self._state}", self._name)

    def _closing(self) -> bool:
        """Check that ``close`` is allowed; True when the writer must now be suspended.

        After a commit, ``close`` only marks the writer closed (False); the caller
        suspends and then sets ``_state = "closed"``.
        """
        if self._state == "committed":
            self._state = "committed and closed"
            return False
        self._require_open()
        return True


class WriterState(WriterRules, FileWriter):
    """The FileWriter state machine; subclasses persist in :meth:`_suspend`."""

    @property
    def size(self) -> int:
        return self._size

    def close(self) -> None:
        if self._closing():
            self._suspend()
            self._state = "closed"

    def _suspend(self) -> None:
        """Persist everything written so far so that a later writer resumes from here."""
        raise NotImplementedError
