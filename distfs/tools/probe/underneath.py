"""The fsspec filesystem underneath a target: its protocols, whether it is a tree, clearing it."""

from __future__ import annotations

import contextlib

from fsspec import AbstractFileSystem

from ...base import Base
from ...driver import StorageDriver
from ...engine import ObjectStoreDriver

#: fsspec protocols whose directories are real (made and removed apart from the files in
#: them; ``rm_file`` refuses one): set-up and clean-up walk them as trees, not as keys.
TREE_PROTOCOLS = frozenset({"file", "local", "memory", "sftp", "ssh"})

__all__ = ["TREE_PROTOCOLS", "wipe"]


def wipe(fs: AbstractFileSystem, root: str, tree: bool) -> None:
    """Remove everything below ``root`` of ``fs``, directory marker objects included.

    Recursive ``rm`` leaves ``dir/`` marker blobs behind on adlfs, and asyncssh's recursive
    remove (sshfs) refuses a name with a backslash in it, so leftovers are removed one by
    one, deepest first, with and without their trailing slash (then, in a tree, as emptied
    directories); ``root`` itself stays. Backends raise their own error types here (an
    asyncssh ``SFTPError`` is no ``OSError``): a removal that fails is retried, then left.
    """
    for attempt in range(3):
        fs.invalidate_cache()
        if tree and not fs.exists(root):
            fs.makedirs(root, exist_ok=True)
        try:
            found = [str(n) for n in fs.find(root, withdirs=True) if str(n).rstrip("/") != root.rstrip("/")]
        except FileNotFoundError:
            found = []
        if not found:
            return
        if tree and attempt == 0:
            for entry in fs.ls(root, detail=True):
                with contextlib.suppress(Exception):
                    fs.rm(entry["name"], recursive=entry["type"] == "directory")
            continue
        for name in sorted(found, key=len, reverse=True):
            for candidate in (name, name.rstrip("/") + "/"):
                with contextlib.suppress(Exception):
                    fs.rm_file(candidate)
            if tree:  # an emptied directory: rmdir (local), rm (sshfs, whose rmdir does nothing)
                for remove in (fs.rmdir, fs.rm):
                    with contextlib.suppress(Exception):
                        remove(name)


def _local_tree(inner: object) -> tuple[AbstractFileSystem, str] | None:
    """For the ``filesystem`` driver: fsspec's local filesystem and the store's root directory."""
    from ...backends.filesystem import LocalStore

    if isinstance(inner, ObjectStoreDriver) and isinstance(inner.engine.store, LocalStore):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem(), inner.engine.store.bucket
    return None


def _protocols(fs: AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _filesystem_of(driver: StorageDriver) -> tuple[AbstractFileSystem, str] | None:
    """The fsspec filesystem and root a driver stands on, where it says."""
    from ...backends.generic import FsspecStore
    from ...engine import ObjectStoreDriver

    inner = driver.unwrap() if isinstance(driver, Base) else driver
    if isinstance(inner, ObjectStoreDriver) and isinstance(inner.engine.store, FsspecStore):
        store = inner.engine.store
        return store.fs, store.full("")
    return None
