"""``inmemory``: the generic store over a private fsspec memory filesystem per driver (for tests).

fsspec protocol ``memory`` (``MemoryFileSystem``). Parameters: ``storage_options`` only,
the filesystem's keywords, checked against :data:`OPTIONS`; none of them changes what the
driver does (the table says why). Nothing persists beyond the driver object, and two
drivers never share a store (fsspec's memory filesystem is process-global by default; the
driver always sets ``global_store=False``), except that ``driver.reopen()`` gives a second
instance over the same store. :func:`distfs.from_filesystem` gives a user's own
``MemoryFileSystem`` this driver, over that very instance.

The driver is the object-store engine over :class:`MemoryStore`, the generic store
(:mod:`distfs.backends.generic`) with the fast paths of a filesystem that is a dict in
this process: its calls run on the event loop (nothing blocks), an object is read and
versioned in one look-up (one version, never a mix), and whole reads hand out the stored
bytes without a copy. One writer at a time per path: ``writer(path)`` while another
writer of ``path`` on the same store is open raises ``WriterConflictError`` (a writer
dropped without closing releases the path when it is garbage-collected).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from fsspec.implementations.memory import MemoryFileSystem

from ..base import Base
from ..driver import EPOCH
from ..engine import seam
from ..parameters import Key, KeyTable
from .generic import build_driver, check_root
from .generic.settings import GenericSettings, engine_settings
from .generic.store import FsspecStore, with_origins
from .options import Option, OptionTable, StorageOptions, synchronous_base_options

__all__ = [
    "KEYS",
    "KNOWN",
    "OPTIONS",
    "MemoryStore",
    "factory",
    "from_filesystem",
    "local_parameters",
    "raw_filesystem",
]

NAME = "inmemory"
#: Every keyword of fsspec's ``MemoryFileSystem`` (and ``AbstractFileSystem``).
OPTIONS = OptionTable(
    NAME,
    "memory",
    "fsspec",
    (
        Option("global_store", "engine", "every driver has a private store (global_store=False)"),
        *synchronous_base_options("MemoryFileSystem"),
    ),
)
#: Every parameter of the ``inmemory`` driver.
KEYS = KeyTable(
    NAME,
    (
        Key(
            "storage_options",
            "options",
            "keywords of fsspec's `MemoryFileSystem` (see [storage_options](#storage_options-of-each-driver)); "
            "each driver has its own private store",
            secret=True,
            shown="`{}`",
        ),
    ),
    about="Details: [inmemory and filesystem](drivers.md).",
    options=OPTIONS,
)
KNOWN = KEYS.names


class MemoryStore(FsspecStore):
    """The generic store over a ``MemoryFileSystem``, reading its dict directly."""

    def __init__(self, fs: MemoryFileSystem, root: str = "", settings: GenericSettings | None = None) -> None:
        settings = settings or GenericSettings()
        super().__init__(fs, root, name=NAME, timeout=settings.timeout, chunk=settings.chunksize, inline=True)
        self._files: dict[str, Any] = fs.store
        self._below = self.base + "/"  # the dict's names of keys: "/key", "/root/key"
        #: The keys of open writers (:meth:`claim_upload`), shared by reopened drivers.
        self.claims: weakref.WeakValueDictionary[str, _Claim] = weakref.WeakValueDictionary()
        self.claims_lock = threading.Lock()
        # a resumed writer sends only its new bytes: the committed object is shared, not copied
        self.capabilities = dataclasses.replace(self.capabilities, append="native")

    async def claim_upload(self, key: str, state: str) -> object:
        """One writer per key (:class:`~distfs.engine.seam.Claims`): Busy while another holds
        it; a writer dropped unclosed frees its key with its claim (a weak mapping)."""
        claim = _Claim(key)
        with self.claims_lock:
            if self.claims.get(key) is not None:
                raise seam.Busy("Busy", f"{key} has an open writer")
            self.claims[key] = claim
        return claim

    async def release_upload(self, claim: object, finished: bool) -> None:
        assert isinstance(claim, _Claim)
        with self.claims_lock:
            if self.claims.get(claim.key) is claim:
                del self.claims[claim.key]

    def _file(self, key: str) -> Any:
        found = self._files.get(self.full(key))
        if found is None:
            raise seam.NotFound("NotFound", f"{key} does not exist")
        return found

    @staticmethod
    def _info(key: str, found: Any) -> seam.ObjectInfo:
        # the file object is replaced (never changed) by every write: its identity, creation
        # time and size name one version; the size is the stored bytes' (``found.size``
        # exports the buffer, which makes the file copy bytes it shares)
        modified, size = found.created, len(found.getvalue())
        version = f"mem:{id(found):x}:{modified.timestamp()!r}:{size}"
        return seam.ObjectInfo(key, size, modified, version)

    async def info(self, key: str) -> seam.ObjectInfo:
        return self._info(key, self._file(key))

    async def get_range(self, key: str, start: int, end: int, version: str | None) -> tuple[bytes, seam.ObjectInfo]:
        found = self._file(key)  # one look-up: the bytes and the version belong together
        info = self._info(key, found)
        if version is not None and info.version != version:
            raise seam.Changed("Changed", "the object was replaced")
        return self._slice(found, start, end), info

    async def _read(self, key: str, start: int, end: int) -> bytes:
        return self._slice(self._file(key), start, end)

    @staticmethod
    def _slice(found: Any, start: int, end: int) -> bytes:
        data: bytes = found.getvalue()  # the stored bytes themselves: no copy
        return data if start == 0 and end >= len(data) else data[start:end]

    async def list_page(self, prefix: str, *, delimiter: bool, start_after: str, token: str | None) -> seam.Page:
        """One pass over the dict (fsspec's ``ls`` and ``find`` scan it too, more than once)."""
        below, cut = self._below + prefix, len(self._below)
        objects, prefixes = [], set()
        for name, found in list(self._files.items()):
            if not name.startswith(below):
                continue
            key = name[cut:]
            if key <= start_after:
                continue
            rest = key[len(prefix) :]
            if delimiter and "/" in rest:
                prefixes.add(prefix + rest.partition("/")[0] + "/")
            else:
                objects.append(self._info(key, found))
        for directory in list(self.fs.pseudo_dirs):  # made by makedirs: markers, as "d/" on S3
            key = directory[cut:] + "/"
            if not (directory + "/").startswith(below) or key <= start_after:
                continue
            rest = key[len(prefix) :]
            if delimiter and "/" in rest[:-1]:
                prefixes.add(prefix + rest.partition("/")[0] + "/")
            elif delimiter and rest:
                prefixes.add(key)
            else:
                objects.append(seam.ObjectInfo(key, 0, EPOCH, ""))
        objects.sort(key=lambda o: o.key)
        return seam.Page(objects, sorted(prefixes))

    async def delete_many(self, keys: Sequence[str]) -> list[tuple[str, str]]:
        for key in with_origins(keys):
            if key.endswith("/"):
                with contextlib.suppress(ValueError):
                    self.fs.pseudo_dirs.remove(self.full(key[:-1]))
            else:
                self._files.pop(self.full(key), None)
        return []


class _Claim:
    """What an open writer holds: its key is claimed while the claim lives."""

    __slots__ = ("__weakref__", "key")

    def __init__(self, key: str) -> None:
        self.key = key


def _store(fs: MemoryFileSystem, root: str, settings: GenericSettings) -> MemoryStore:
    check_root(NAME, root)
    return MemoryStore(fs, root, settings)


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``inmemory`` driver; it takes ``storage_options`` only."""
    options = OptionTable.merge({}, {"global_store": False}, _storage_options(parameters), {})
    store = _store(MemoryFileSystem(**options, skip_instance_cache=True), "", GenericSettings())
    # The store lives in this object: a second instance shares it.
    settings = GenericSettings()
    return build_driver(store, settings, reopen=lambda: build_driver(store, settings))


def from_filesystem(fs: MemoryFileSystem, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``inmemory`` driver over the user's ``MemoryFileSystem`` ``fs`` below ``root``: its
    files are the driver's; ``parameters``: the engine's settings (``chunksize``, ``maxretries``...)."""
    settings = engine_settings(NAME, parameters)
    return build_driver(_store(fs, root, settings), settings)


def _storage_options(parameters: Mapping[str, Any]) -> StorageOptions:
    options: StorageOptions = KEYS.parse(parameters)["storage_options"]
    return options


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[MemoryFileSystem, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    return MemoryFileSystem(**_storage_options(parameters), skip_instance_cache=True), "/"


def local_parameters(workdir: str) -> dict[str, Any]:
    """The parameters of a new, empty store (every driver built from none holds its own)."""
    return {}
