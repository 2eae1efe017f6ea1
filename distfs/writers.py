"""What every resumable writer shares: the FileWriter state machine.

:class:`WriterState` holds the :class:`~distfs.driver.FileWriter` state rules once:
``write`` and ``commit`` need an open writer, ``close`` after ``commit`` succeeds, every
other repeat is a ``DriverError`` saying what already happened. The writers of the
object stores (:mod:`distfs.engine.writer`) and of the fsspec driver
(:class:`distfs.fsspec_driver.StagedWriter`) both build on it.
"""

from __future__ import annotations

from .driver import FileWriter
from .errors import DriverError

__all__ = ["WriterState"]


class WriterState(FileWriter):
    """The FileWriter state machine; subclasses persist in :meth:`_suspend`."""

    def __init__(self, path: str, driver_name: str) -> None:
        self._path = path
        self._name = driver_name
        self._state = "open"
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def closed(self) -> bool:
        return self._state != "open"

    def _require_open(self) -> None:
        if self._state != "open":
            raise DriverError(f"writer for {self._path} already {self._state}", self._name)

    def close(self) -> None:
        if self._state == "committed":
            self._state = "committed and closed"
            return
        self._require_open()
        self._suspend()
        self._state = "closed"

    def _suspend(self) -> None:
        """Persist everything written so far so that a later writer resumes from here."""
        raise NotImplementedError
