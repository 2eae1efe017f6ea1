"""The interface a probe runs against (:class:`Target`), what it says of a path (:class:`Stat`),
and how it says a call has no counterpart (:class:`Unsupported`); see :mod:`.targets`."""

from __future__ import annotations

import abc
import builtins
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["Stat", "Target", "Unsupported"]


class Unsupported(NotImplementedError):
    """The target's API has no way to express a probe's call (observed as ``not supported``)."""


@dataclass(frozen=True)
class Stat:
    """What ``stat``/``info`` said: ``kind`` is ``file`` or ``directory``; ``size`` may be None."""

    kind: str
    size: int | None


class Target(abc.ABC):
    """One store seen through one API; see the module docstring."""

    #: ``"raw"`` or ``"distfs"``.
    kind: str = ""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    @property
    def label(self) -> str:
        """``<backend> <kind>``, e.g. ``s3 raw``."""
        return f"{self.backend} {self.kind}"

    # -- calls under test -------------------------------------------------------------

    @abc.abstractmethod
    def put(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``."""

    @abc.abstractmethod
    def get(self, path: str) -> bytes:
        """The content of ``path``."""

    @abc.abstractmethod
    def read(self, path: str, start: int, end: int | None) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive; None: to the end) of ``path``."""

    @abc.abstractmethod
    def open_reader(self, path: str) -> BinaryIO:
        """A stream of ``path``."""

    @abc.abstractmethod
    def list(self, path: str) -> builtins.list[str]:
        """Names listed for ``path``, as scratch paths (trailing slashes kept), sorted."""

    @abc.abstractmethod
    def list_form(self, path: str) -> builtins.list[str]:
        """Names listed for ``path`` as returned, the root key replaced by ``ROOT``."""

    @abc.abstractmethod
    def list_entry_type(self, path: str) -> str:
        """The type of the entries a plain listing call returns."""

    @abc.abstractmethod
    def stat(self, path: str) -> Stat:
        """Kind and size of ``path``."""

    @abc.abstractmethod
    def mtime(self, path: str) -> object:
        """The modification time of ``path`` as the API returns it."""

    @abc.abstractmethod
    def move(self, source: str, dest: str) -> None:
        """Move ``source`` to ``dest``."""

    @abc.abstractmethod
    def delete(self, path: str) -> None:
        """Remove ``path`` and everything below it."""

    @abc.abstractmethod
    def append(self, path: str, data: bytes, before_close: Callable[[], None]) -> None:
        """Append ``data`` to ``path``; ``before_close`` runs once ``data`` is written and flushed."""

    @abc.abstractmethod
    def create_exclusive(self, path: str, data: bytes) -> None:
        """Create ``path`` only if it does not exist (NotImplementedError where the API has none)."""

    @abc.abstractmethod
    def presign(self, path: str, method: str) -> str | None:
        """A signed URL for ``method`` on ``path``; None where the API cannot sign ``method``."""

    @abc.abstractmethod
    def second(self) -> Target:
        """An independent instance on the same store (another process would build it alike)."""

    # -- set-up, inspection, cleanup (uncached, always through the store) --------------

    @abc.abstractmethod
    def seed(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``, creating parents where the store needs them."""

    @abc.abstractmethod
    def mark_directory(self, path: str) -> None:
        """Create a directory marker for ``path`` (``path/`` object; a real directory locally)."""

    @abc.abstractmethod
    def files(self, path: str) -> builtins.list[str]:
        """Every object below ``path`` as the store holds it, sorted."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove everything below the root and forget cached listings."""

    @contextlib.contextmanager
    def portable_names(self) -> Iterator[None]:
        """Within the block a distfs driver applies its ``portable`` path rules (raw: no rules)."""
        yield

    def remove_object(self, path: str) -> None:
        """Remove the one object at ``path`` by name, without listing (a listing may fail on it)."""
        self.delete(path)

    def is_empty(self) -> bool:
        """Nothing at all is stored below the root (probes refuse to run otherwise)."""
        return not [name for name in self.files("") if name]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (nothing by default)."""
