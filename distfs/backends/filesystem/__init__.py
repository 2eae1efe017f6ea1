"""``filesystem``: a directory tree on the local filesystem (fsspec protocol ``file``).

Parameters (the registry's names): :data:`KEYS`. None of its ``storage_options`` (fsspec's
``LocalFileSystem`` keywords, checked against :data:`OPTIONS`) changes what the driver
does: every call goes through the confined descriptor calls of :class:`LocalStore`, never
through ``LocalFileSystem``'s own file operations (the table says why for each key).

The driver is the object-store engine (:mod:`distfs.engine`) over :class:`LocalStore`, a
native :class:`~distfs.engine.seam.Store` of the directory tree with the seam's optional
extensions: ``blocking`` (every call is a few system calls, run on the caller's thread),
:class:`~distfs.engine.seam.Tree` (real directories: an emptied directory stays, ``move``
is one ``rename``, ``delete`` removes the tree) and :class:`~distfs.engine.seam.Claims`
(one writer per path). Keys are paths relative to ``rootdirectory``.

Writes are atomic and durable: ``put`` (``put_content``, the writer's journal) writes a
file under ``.distfs~/tmp``, syncs it (``fsync``), renames it onto the key (``os.replace``;
a create-only put links it, which fails if the key exists) and syncs the directory.
Temporary files left by a process killed mid-write are removed by the next driver created
on the root once they are a day old (:meth:`LocalStore.sweep_temporary_files`).

Uploads append natively: an upload is ONE file, ``data``, in its scratch directory
(``.distfs~/uploads/<path>/.distfs~/<id>/``) beside ``parts``, an index of fixed-width
lines holding each part's end offset in ``data``. Part ``n`` is the range from the end of
part ``n - 1``: ``upload_part`` truncates ``data`` there and appends (so a resumed writer
sends only new bytes, and parts written after the last ``close()`` are overwritten);
``list_parts`` reads the index back, keeping the parts that ``data``'s length still
holds; ``persist_parts`` (every ``close()``) syncs both before the engine
journals them. ``complete_upload`` cuts ``data`` to the journaled parts, stamps the
upload's origin on it (extended attribute ``user.distfsupload``), syncs it and
renames it into place: the published file is the upload's file, never a concatenation.
``copy_part`` (an append to a committed file) copies the range into ``data`` locally.

``version`` tokens are ``inode:mtime_ns:size``: a pinned reader, ``copy`` and the registry
tools' identity checks see a replaced file as changed.

No call reads, writes, lists or deletes outside ``rootdirectory``, also while another
process changes symbolic links in the store: every call resolves its path beneath a
descriptor of the root, in one step with no gap between a check and the use
(:mod:`distfs.beneath`: ``openat2`` with ``RESOLVE_BENEATH``, or per-component
``O_NOFOLLOW`` opens). Symbolic links that stay inside the root work (relative ones, and
absolute ones naming the root's real path); a path through a link that leads out is an
``InvalidPathError`` for that path, and listings and walks leave such links (and dangling
ones) out. The root directory itself is opened once, when the driver is created.

Only regular files are read: a FIFO, socket or device below the root is refused at once
with ``DriverError`` naming the path (opened with ``O_NONBLOCK``, checked with ``fstat``),
never waited on.

Writers: one writer at a time per path. An upload is locked (``flock`` on its ``lock``
file, beside the journal) while a writer of it is open, across processes;
``writer(path)`` while another writer of ``path`` is open (here or in another process on
this machine) raises ``WriterConflictError``. Commit and cancel leave no directory behind
in ``.distfs~``.

The store is :mod:`.store`'s :class:`LocalStore`, built of :mod:`.tree` (the root, errors,
the atomic publish), :mod:`.listing`, :mod:`.uploads` (and claims) and :mod:`.files`
(constants and descriptor helpers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import paths
from ...base import Base
from ...engine import build
from ...errors import InvalidParameterError
from ...parameters import DEFAULT_ROOT, Key, KeyTable
from ..options import Option, OptionTable, synchronous_base_options
from .files import CHUNK, NAME, READ_BLOCK
from .store import LocalStore

if TYPE_CHECKING:
    from fsspec.implementations.local import LocalFileSystem

__all__ = [
    "KEYS",
    "KNOWN",
    "OPTIONS",
    "LocalStore",
    "driver",
    "factory",
    "from_filesystem",
    "local_parameters",
    "raw_filesystem",
]

#: Every keyword of fsspec's ``LocalFileSystem`` (and ``AbstractFileSystem``).
OPTIONS = OptionTable(
    NAME,
    "file",
    "fsspec",
    (
        Option(
            "auto_mkdir",
            "ignored",
            "the driver always creates parent directories itself, beneath the root (distribution's contract)",
        ),
        *synchronous_base_options("LocalFileSystem"),
    ),
)
#: Every parameter of the ``filesystem`` driver.
KEYS = KeyTable(
    NAME,
    (
        Key(
            "rootdirectory",
            "string",
            "the local directory holding the store; created if missing, must not be empty",
            DEFAULT_ROOT,
        ),
        Key("maxthreads", "limit", "calls running at once in the driver", default=100, minimum=25),
        Key(
            "storage_options",
            "options",
            "keywords of fsspec's `LocalFileSystem` (see [storage_options](#storage_options-of-each-driver))",
            secret=True,
            shown="`{}`",
        ),
    ),
    about="Details: [inmemory and filesystem](drivers.md).",
    options=OPTIONS,
)
KNOWN = KEYS.names


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build a ``filesystem`` driver from ``rootdirectory``, ``maxthreads`` and ``storage_options``."""
    values = KEYS.parse(parameters)  # storage_options checked: none of them changes what the driver does
    root, limit = values["rootdirectory"], values["maxthreads"]
    if not root:
        raise values.error("rootdirectory", "must not be empty")
    if "\x00" in root:
        raise values.error("rootdirectory", "must not contain NUL characters")
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as exc:
        raise InvalidParameterError(NAME, "rootdirectory", f"cannot create {root}: {exc.strerror}") from None
    if not os.path.isdir(root):
        raise InvalidParameterError(NAME, "rootdirectory", f"{root} is not a directory")
    if paths.HIDDEN in os.path.abspath(root).split("/"):
        reason = f"must not lie inside another root's {paths.HIDDEN} (distfs's own state)"
        raise InvalidParameterError(NAME, "rootdirectory", reason)
    store = LocalStore(root)
    store.sweep_temporary_files()
    return driver(store, max_concurrency=limit)


def driver(store: LocalStore, *, max_concurrency: int | None = None) -> Base:
    """The ``filesystem`` driver over ``store`` (the engine, wrapped in :class:`~distfs.base.Base`)."""
    return build(store, retries=0, chunk=CHUNK, read_block=READ_BLOCK, max_concurrency=max_concurrency)


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[LocalFileSystem, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe``: what a user gets from fsspec with the same parameters (listings
    cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps instances independent.
    """
    from fsspec.implementations.local import LocalFileSystem  # here: the driver itself never needs fsspec

    values = KEYS.parse(parameters)
    root = os.path.abspath(values["rootdirectory"])
    return LocalFileSystem(**values["storage_options"], skip_instance_cache=True), root


def from_filesystem(fs: LocalFileSystem, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``filesystem`` driver of directory ``root`` for the user's ``LocalFileSystem`` ``fs``
    (which holds no configuration the driver uses); ``parameters``: ``maxthreads`` only."""
    KEYS.only(["maxthreads"]).parse(parameters)
    directory = fs._strip_protocol(root) if root else ""
    if not directory.strip("/"):
        raise InvalidParameterError(NAME, "root", "must name a directory (the registry's root directory)")
    return factory({**parameters, "rootdirectory": directory})


def local_parameters(workdir: str) -> dict[str, Any]:
    """The parameters of a new, empty store: the fresh directory ``workdir``."""
    return {"rootdirectory": workdir}
