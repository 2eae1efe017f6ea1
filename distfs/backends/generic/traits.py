"""What one fsspec filesystem does, as the generic store needs to know it: :class:`Traits`.

fsspec's API is one, but its backends keep it differently (``docs/semantics.md``,
``/work/shared/reference/fsspec-semantics.md``): an object store's ``pipe_file`` publishes
atomically and its ``mv`` is a copy, a local or SFTP directory tree writes in place and
renames cheaply, sshfs's ``cat_file`` ignores a byte range, a zip archive cannot be
written. :func:`traits_of` answers from the filesystem's protocol where distfs knows it,
and from what the class overrides otherwise; what it cannot know it assumes the safe way
(and the store then declares less in its capabilities).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.asyn import AsyncFileSystem

__all__ = ["Traits", "protocol_of", "traits_of"]


@dataclass(frozen=True)
class Traits:
    """One backend's behaviour (see the module docstring).

    ``atomic_write``: ``pipe_file`` publishes the whole object or nothing;
    ``atomic_stream``: so does a file opened ``"wb"``, on ``close()``; ``rename``: ``mv``
    of one file is one rename, atomic and replacing the destination; ``directories``: directories are real and outlive
    their last file (the store removes the ones it empties); ``ranged_cat``:
    ``cat_file(path, start, end)`` honours the range; ``copy``: ``cp_file`` works;
    ``server_side_copy``: it copies without the bytes passing through this process;
    ``fine_versions``: ``info()`` tells every replacement apart (an ETag, a generation,
    an inode with nanosecond times); ``read_only``: nothing can be written.
    """

    atomic_write: bool = False
    atomic_stream: bool = False
    rename: bool = False
    directories: bool = True
    ranged_cat: bool = True
    copy: bool = True
    server_side_copy: bool = False
    fine_versions: bool = False
    read_only: bool = False


_OBJECT_STORE = Traits(
    atomic_write=True, atomic_stream=True, directories=False, server_side_copy=True, fine_versions=True
)
_TREE = Traits(rename=True, fine_versions=True)
_READ_ONLY = Traits(read_only=True, copy=False)

#: What distfs knows of fsspec's protocols (the first name of a filesystem's ``protocol``).
KNOWN: dict[str, Traits] = {
    # a memory file opened "wb" is in the store at once; mv is a copy (one assignment) and a delete
    "memory": Traits(atomic_write=True, rename=True, directories=False, server_side_copy=True, fine_versions=True),
    "file": _TREE,
    "local": _TREE,
    "s3": _OBJECT_STORE,
    "s3a": _OBJECT_STORE,
    "gs": _OBJECT_STORE,
    "gcs": _OBJECT_STORE,
    "abfs": _OBJECT_STORE,
    "az": _OBJECT_STORE,
    "abfss": _OBJECT_STORE,
    "oss": _OBJECT_STORE,
    # sshfs, measured: ranged cat_file returns the whole file, cp_file runs `cp` in a shell
    # (a plain SFTP server has none), mtime has whole seconds and there is no inode.
    "sftp": Traits(rename=True, ranged_cat=False, copy=False),
    "ssh": Traits(rename=True, ranged_cat=False, copy=False),
    "zip": _READ_ONLY,
    "tar": _READ_ONLY,
    "http": _READ_ONLY,
    "https": _READ_ONLY,
    "github": _READ_ONLY,
    "git": _READ_ONLY,
    "libarchive": _READ_ONLY,
    "reference": _READ_ONLY,
}


def protocol_of(fs: AbstractFileSystem) -> str:
    """The filesystem's protocol name (the first of a tuple)."""
    protocol = fs.protocol
    name = protocol[0] if isinstance(protocol, tuple | list) else protocol
    return str(name)


def traits_of(fs: AbstractFileSystem) -> Traits:
    """What ``fs`` does: the known protocol's traits, else guessed from the class.

    A zip filesystem opened for writing is not read-only; an unknown filesystem renames
    when its class overrides ``mv`` (else fsspec's ``mv`` is a copy and a delete), and is
    read-only when it says so (``read_only`` / ``readonly`` true).
    """
    known = KNOWN.get(protocol_of(fs))
    if known is not None:
        if known.read_only and protocol_of(fs) == "zip" and getattr(fs, "mode", "r") != "r":
            return dataclasses.replace(known, read_only=False)
        return known
    if getattr(fs, "read_only", False) is True or getattr(fs, "readonly", False) is True:
        return _READ_ONLY
    return Traits(rename=_overrides(fs, "mv"))


def _overrides(fs: Any, method: str) -> bool:
    """Whether ``fs``'s class implements ``method`` itself (or its coroutine ``_method``)."""
    for name in (method, "_" + method):
        mine = getattr(type(fs), name, None)
        if mine is not None and all(
            mine is not getattr(base, name, None) for base in (AbstractFileSystem, AsyncFileSystem)
        ):
            return True
    return False
