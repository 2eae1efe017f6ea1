"""``with fs.transaction:`` of ``distfs://``: complete files publish at the end, one after another.

On a successful exit every file written inside and closed without an exception is
published, one after another (not atomically as a group: a reader may see some before
the others). A file whose ``with`` block raised, or that was never closed, publishes
nothing, whatever happens to the others. When the block raises, nothing is published. A
commit failing part-way stops there, cancels the files not yet published and raises
:class:`~distfs.errors.PartialCommitError` naming what was and what was not published.
"""

from __future__ import annotations

from typing import Any

from fsspec.transaction import Transaction

from ..errors import PartialCommitError

__all__ = ["DistTransaction"]


def _abandon(file: Any) -> None:
    abandon = getattr(file, "abandon", None)
    if callable(abandon):
        abandon()
    else:
        file.discard()


class DistTransaction(Transaction):  # type: ignore[misc]
    """fsspec's transaction with distfs's publish rule (see the module docstring)."""

    def complete(self, commit: bool = True) -> None:
        files: list[Any] = list(self.files)
        self.files.clear()
        try:
            if commit:
                self._publish(files)
            else:
                for file in files:
                    _abandon(file)
        finally:
            self.fs._intrans = False

    def _publish(self, files: list[Any]) -> None:
        published: list[str] = []
        for index, file in enumerate(files):
            if not getattr(file, "complete", False):
                _abandon(file)  # its block raised, or it was never closed
                continue
            try:
                file.commit()
            except Exception as exc:
                rest = files[index + 1 :]
                for other in rest:
                    _abandon(other)
                unpublished = [file.path] + [other.path for other in rest if getattr(other, "complete", False)]
                raise PartialCommitError(published, unpublished, self.fs.driver.name) from exc
            published.append(file.path)
