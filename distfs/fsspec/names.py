"""Names and directories of the fsspec face, as fsspec's own backends have them.

``mv`` moves what fsspec's ``copy`` would copy (into ``dir/``, lists, globs, recursive), each
file by the driver's ``move`` (server-side, never through the client); ``rmdir`` removes an
empty directory (``NotADirectoryError`` for a file, ``OSError(ENOTEMPTY)`` for a directory
with content, ``FileNotFoundError`` for nothing); ``touch`` creates an empty file and, with
``truncate=False``, leaves an existing one as it is; ``modified`` of a directory is its time
where the driver keeps one (``filesystem``), else ``IsADirectoryError`` (as s3fs);
``sign(path, expiration)`` is the driver's ``redirect_url(path, "GET", expires=expiration)``.

Directories: the driver contract has none of its own (a directory exists while something is
below it), so ``mkdir``/``makedirs`` are *remembered by this filesystem instance only*:
nothing is persisted, another instance or process does not see them, and they are forgotten
by ``rmdir`` and ``rm(recursive=True)``; removing the last file of a directory keeps the
directory on this instance, as a local filesystem does. ``info``, ``exists``, ``isdir``, ``ls`` and ``find``
of this instance show them, so writers that make a directory first and check it (duckdb's
``COPY ... (PARTITION_BY ...)``, pyarrow's dataset writer) work on every driver.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from fsspec import AbstractFileSystem

from .. import paths
from ..driver import EPOCH
from ..errors import PathNotFoundError
from .base import DriverFileSystem
from .batches import is_glob
from .oserrors import os_error

__all__ = ["Names"]


class Names(DriverFileSystem):
    """mv, rm, rm_file, rmdir, mkdir, makedirs, touch, modified, sign and the remembered directories (a mixin).

    Every method takes this filesystem's names (``/a/b``; a chained filesystem's target names)
    and works on driver paths (``_key``); the remembered directories are driver paths.
    """

    # -- directories remembered by this instance --------------------------------------

    @property
    def _made(self) -> set[str]:
        """The directories ``mkdir`` made on this instance (driver paths)."""
        made: set[str] | None = self.__dict__.get("_made_dirs")
        if made is None:
            made = self.__dict__["_made_dirs"] = set()
        return made

    def _made_entry(self, key: str) -> dict[str, Any]:
        """fsspec's info of the directory at driver path ``key``."""
        return {"name": self._name(key), "size": 0, "type": "directory"}

    def _made_dir(self, key: str) -> dict[str, Any] | None:
        """The directory info of driver path ``key`` when it is (or lies above) a remembered directory."""
        below = key.rstrip("/") + "/"
        if key in self._made or any(made.startswith(below) for made in self._made):
            return self._made_entry(key)
        return None

    def _made_below(self, key: str, maxdepth: int | None) -> Iterable[str]:
        """Remembered directories (and their parents) strictly below ``key``, within ``maxdepth`` (driver paths)."""
        base = paths.split(key) if key != paths.ROOT else []
        for made in self._made:
            parts = paths.split(made)
            if len(parts) <= len(base) or parts[: len(base)] != base:
                continue
            for depth in range(len(base) + 1, len(parts) + 1):
                if maxdepth is None or depth - len(base) <= maxdepth:
                    yield "/" + "/".join(parts[:depth])

    def _keep_parents(self, removed: Iterable[str]) -> None:
        """Files were removed (driver paths): their directories stay on this instance (as on a local filesystem)."""
        self._made.update(parent for parent in map(paths.parent, removed) if parent != paths.ROOT)

    async def _native_info(self, path: str) -> dict[str, Any]:
        """The coroutine ``info`` (``_info``, ``_exists``, ``_isdir``) sees remembered directories too."""
        try:
            return await super()._native_info(path)
        except FileNotFoundError:
            made = self._made_dir(self._key(path))
            if made is None:
                raise
            return made

    def _forget(self, key: str) -> None:
        below = key.rstrip("/") + "/"
        self._made.difference_update({made for made in self._made if made == key or made.startswith(below)})

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Remember ``path`` as a directory on this instance (nothing is stored); a file there is FileExistsError."""
        path = self._strip_protocol(path)
        with self._errors():
            key = self._key(path)
        if key == paths.ROOT:
            return
        try:
            if self.info(path)["type"] != "directory":
                raise FileExistsError(errno.EEXIST, f"{self.driver.name}: a file exists at the path", path)
        except FileNotFoundError:
            if not create_parents and not self.exists(self._parent(path)):
                raise
        self._made.add(key)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """``mkdir`` with parents; an existing directory is FileExistsError unless ``exist_ok``."""
        if not exist_ok and self.exists(path):
            raise FileExistsError(errno.EEXIST, f"{self.driver.name}: the path exists", self._strip_protocol(path))
        self.mkdir(path, create_parents=True)

    def rmdir(self, path: str) -> None:
        """Remove the empty directory ``path`` (a remembered one, or an empty one the driver keeps)."""
        path = self._strip_protocol(path)
        if self.info(path)["type"] != "directory":  # missing: FileNotFoundError
            raise NotADirectoryError(errno.ENOTDIR, f"{self.driver.name}: not a directory", path)
        key = self._key(path)
        if key == paths.ROOT or self.ls(path, detail=False):
            raise OSError(errno.ENOTEMPTY, f"{self.driver.name}: directory not empty", path)
        self._forget(key)
        try:
            with self._errors():
                self.driver.delete(key)  # an empty directory the driver keeps (filesystem)
        except PathNotFoundError:
            pass

    # -- names ------------------------------------------------------------------------

    def rm_file(self, path: str) -> None:
        with self._errors():
            key = self._key(path)
            if self.driver.stat(key).is_dir:
                raise os_error(errno.EISDIR, self._strip_protocol(path), self.driver.name)
            self.driver.delete_many([key], files_only=True)
        self._keep_parents([key])

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Remove ``path``: one path, a glob or a list of paths; one ``delete_many`` of the driver.

        ``recursive``: each path with everything below it (a path with nothing stored is
        ``FileNotFoundError``, raised after the others went). Otherwise files only: one
        path that is not a glob must be a file (``IsADirectoryError``,
        ``FileNotFoundError``); of a list or a glob, every file is removed, a directory keeps
        its content and a name with nothing stored is skipped (as s3fs and gcsfs do), so an
        object store removes them in one round of batch requests, with no lookup first.
        """
        given = self.expand_path(path)
        one_file = not recursive and isinstance(path, str) and len(given) == 1 and not is_glob(path)
        if one_file and self.info(given[0])["type"] == "directory":  # missing: FileNotFoundError
            raise os_error(errno.EISDIR, given[0], self.driver.name)
        with self._errors():
            keys = [self._key(name) for name in given]
        made = [key for key in keys if recursive and self._made_dir(key) is not None]
        for key in made:
            self._forget(key)
        if keys:
            try:
                with self._errors():
                    self.driver.delete_many(keys, files_only=not recursive)
            except FileNotFoundError as exc:
                if getattr(exc, "path", None) not in {self._name(key) for key in made}:
                    raise  # a remembered directory stores nothing
        if not recursive:
            self._keep_parents(keys)

    def mv(self, path1: Any, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        """Move as fsspec's ``copy`` then ``rm`` would, each file by one driver ``move``.

        ``mv(file, "dir/")`` moves into ``dir``; a list or a glob moves every file it names;
        one directory moves whole (as ``mv`` of LocalFileSystem and s3fs), ``recursive`` or not.
        A missing source is FileNotFoundError and moves nothing.
        """
        one = isinstance(path1, str) and not is_glob(path1)
        if one and self._strip_protocol(path1) == self._strip_protocol(path2):
            return
        info = self.info(path1) if one else None  # missing: FileNotFoundError
        whole = info is not None and info["type"] == "directory"
        pairs = self._move_pairs(path1, path2, recursive or whole, maxdepth)
        sources = {source for source, _ in pairs}
        # A directory of the expansion moves with its files; an empty one is remembered at its target.
        files = [(s, d) for s, d in pairs if not any(o.startswith(s + "/") for o in sources)]

        def move(pair: tuple[str, str]) -> None:
            source, dest = pair
            try:
                with self._errors():
                    self.driver.move(source, dest)
            except FileNotFoundError:
                made = self._made_dir(source)
                if made is None and self.info(self._name(source))["type"] != "directory":
                    raise
                self._made.add(dest)

        self._first_error(self._batch(move, files))
        if whole:
            self._drop_emptied(self._key(path1))

    def _move_pairs(self, path1: Any, path2: str, recursive: bool, maxdepth: int | None) -> list[tuple[str, str]]:
        """The (source, target) driver paths of the pairs fsspec's ``copy`` would make (the batches' collector)."""
        pairs: list[tuple[str, str]] = self._pairs(
            lambda: AbstractFileSystem.copy(self, path1, path2, recursive=recursive, maxdepth=maxdepth)
        )
        with self._errors():
            return [(self._key(s), self._key(d)) for s, d in pairs]

    def _drop_emptied(self, key: str) -> None:
        """After a directory (driver path ``key``) moved: forget it, and remove it where the driver keeps it empty."""
        self._forget(key)
        try:
            with self._errors():
                if not self.driver.stat(key).is_dir:
                    return
                remaining: list[str] = []
                self.driver.walk(key, lambda entry: None if entry.is_dir else remaining.append(entry.path))
                if not remaining:
                    self.driver.delete(key)
        except FileNotFoundError:
            pass

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """An empty file at ``path``; with ``truncate=False`` an existing file is left as it is."""
        path = self._strip_protocol(path)
        if not truncate:
            try:
                if self.info(path)["type"] == "directory":
                    raise IsADirectoryError(errno.EISDIR, f"{self.driver.name}: a directory", path)
                return
            except FileNotFoundError:
                pass
        self.pipe_file(path, b"")

    def modified(self, path: str) -> datetime:
        """The modification time; a directory's where the driver keeps one, else IsADirectoryError."""
        info = self.info(path)
        mtime: datetime | None = info.get("mtime")
        if info["type"] == "directory" and (mtime is None or mtime == EPOCH):
            reason = f"{self.driver.name}: a directory has no modification time"
            raise IsADirectoryError(errno.EISDIR, reason, self._strip_protocol(path))
        assert mtime is not None
        return mtime

    created = modified

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """A URL to GET ``path`` for ``expiration`` seconds: the driver's ``redirect_url(path, "GET", expires=)``."""
        with self._errors():
            url = self.driver.redirect_url(self._key(path), "GET", expires=int(expiration))
        if url is None:
            raise NotImplementedError(f"the {self.driver.name} driver cannot sign URLs")
        return url
