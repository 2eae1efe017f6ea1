"""Race-free path resolution beneath a directory (the ``filesystem`` driver's confinement).

:class:`Beneath` holds a descriptor of a root directory and opens paths relative to it so
that no path, however its symbolic links change while it is resolved, leads outside:

* the fast path is one ``openat2(2)`` with ``RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS``
  (Linux 5.6 and later): the kernel resolves the whole path and refuses, atomically, any
  step that leaves the root;
* where the kernel refuses (``EXDEV``: an absolute link, or a step out of the root;
  ``ELOOP``), or has no ``openat2``, the path is walked one component at a time, each
  opened with ``O_NOFOLLOW`` relative to the descriptor of its parent. Links met on the
  way are read and followed by this module, never by the kernel: ``..`` pops a stack of
  descriptors and may not pop the root, and an absolute target must name the root or
  something below it (by the root's real path).

The rule both paths implement: **symbolic links that stay inside the root work**
(relative or absolute, in any component), **links that lead out of it are refused** with
:class:`EscapeError`, at the moment of use, with no gap between a check and the use.

Not covered: a directory that another process *renames* from inside the root to outside
it while a call is resolving a path through it (the descriptor follows the directory);
anyone who can do that can move the data out anyway.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
from collections.abc import Iterator
from typing import Any

__all__ = ["Beneath", "EscapeError"]

_SYS_OPENAT2 = 437  # the same on every architecture (the generic syscall table)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08
_MAX_LINKS = 40  # like the kernel's MAXSYMLINKS
_CLOEXEC = os.O_CLOEXEC
DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
_O_PATH = getattr(os, "O_PATH", 0)  # Linux; elsewhere a plain read-only open
_O_TMPFILE = getattr(os, "O_TMPFILE", -1)
PATH = (_O_PATH or os.O_RDONLY) | _CLOEXEC


class EscapeError(OSError):
    """A path that leads out of the root (through a symbolic link)."""

    def __init__(self, relative: str) -> None:
        super().__init__(errno.EXDEV, "leads out of the root")
        self.relative = relative


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


def _load_openat2() -> object | None:
    """``syscall(SYS_openat2, ...)`` through libc, or ``None`` where it does not work."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syscall
    except (OSError, AttributeError):  # pragma: no cover - not glibc/musl
        return None
    call.restype = ctypes.c_long
    # No argtypes (converting through them costs more than the system call): every
    # argument is passed as a ready ctypes value of the right width.
    probe = _OpenHow(os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC, 0, _RESOLVE_BENEATH)
    fd = call(_NUMBER, ctypes.c_int(-100), b".", ctypes.byref(probe), _HOW_SIZE)  # AT_FDCWD
    if fd < 0:
        return None  # ENOSYS (old kernel) or a seccomp filter
    os.close(fd)
    return call


#: How often the way to a directory is made again when a directory on it was pruned meanwhile.
_MKDIR_RACES = 8


class Beneath:
    """Opens paths relative to the directory ``root`` without ever leaving it.

    Relative paths use ``/`` and hold no ``.``/``..`` components (driver paths); ``""``
    is the root itself. Every method raises :class:`EscapeError` for a path that leads
    out, and the usual ``OSError`` subclasses otherwise. Returned descriptors belong to the
    caller.
    """

    def __init__(self, root: str, *, use_openat2: bool = True) -> None:
        self.fd = os.open(root, DIRECTORY)
        self._fd_arg = ctypes.c_int(self.fd)
        self.real = os.path.realpath(root)
        self._openat2 = _OPENAT2 if use_openat2 else None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)

    # -- opening ----------------------------------------------------------------------

    def open(self, relative: str, flags: int, mode: int = 0o666) -> int:
        """Open ``relative`` (links inside the root followed) with ``flags``."""
        if not relative:
            return os.open(".", flags | _CLOEXEC, mode, dir_fd=self.fd)
        call = self._openat2
        if call is not None:
            how = _HOWS.get((flags, mode)) or _how(flags, mode)
            fd: int = call(_NUMBER, self._fd_arg, relative.encode(), how, _HOW_SIZE)  # type: ignore[operator]
            if fd >= 0:
                return fd
            code = ctypes.get_errno()
            if code not in (errno.EXDEV, errno.ELOOP, errno.EAGAIN, errno.ENOSYS, errno.EPERM):
                raise OSError(code, os.strerror(code), relative)
        return self._walk(relative, flags, mode)

    def open_directory(self, relative: str) -> int:
        """A descriptor of directory ``relative`` (``NotADirectoryError`` if it is not one)."""
        return self.open(relative, DIRECTORY)

    def parent(self, relative: str, *, create: bool = False) -> tuple[int, str]:
        """The descriptor of the directory holding ``relative``, and its last name.

        ``create`` makes the missing directories first. The last name itself is not
        resolved: callers act on it through the descriptor (``dir_fd``) without following it.
        """
        head, _, name = relative.rpartition("/")
        return (self.make_directories(head) if create else self.open_directory(head)), name

    def make_directories(self, relative: str) -> int:
        """Create directory ``relative`` and its parents as needed; returns its descriptor.

        Another thread may prune a directory on the way while it is still empty (a writer's
        clean-up of emptied upload directories): the whole way is then made again, a few
        times at most.
        """
        for attempt in range(_MKDIR_RACES):
            try:
                return self._make_directories(relative)
            except FileNotFoundError:
                if attempt == _MKDIR_RACES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _make_directories(self, relative: str) -> int:
        """One attempt of :meth:`make_directories`. Iterative (any depth): the deepest
        existing ancestor is found first, then each missing directory is made below it and
        opened through its parent's descriptor."""
        missing: list[str] = []  # names to make, the deepest first
        head = relative
        while True:
            try:
                fd = self.open_directory(head)
                break
            except FileNotFoundError:
                if not head:
                    raise
            head, _, name = head.rpartition("/")
            missing.append(name)
        while missing:
            name = missing.pop()
            head = f"{head}/{name}" if head else name
            try:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
            finally:
                os.close(fd)
            fd = self.open_directory(head)
        return fd

    def _walk(self, relative: str, flags: int, mode: int) -> int:
        """Open ``relative`` one component at a time, following links by hand."""
        stack = [os.dup(self.fd)]  # descriptors of the directories from the root down
        pending = relative.split("/")[::-1]  # components still to resolve, next last
        links = 0
        try:
            while pending:
                name = pending.pop()
                if name in ("", "."):
                    continue
                if name == "..":
                    if len(stack) == 1:
                        raise EscapeError(relative)
                    os.close(stack.pop())
                    continue
                last = not pending
                fd = self._step(name, flags if last else PATH | os.O_DIRECTORY, mode, stack[-1], relative)
                if fd is None:  # a link: splice its target in
                    links += 1
                    if links > _MAX_LINKS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), relative)
                    target = os.readlink(name, dir_fd=stack[-1])
                    if os.path.isabs(target):
                        inside = self._inside(target)
                        if inside is None:
                            raise EscapeError(relative)
                        while len(stack) > 1:
                            os.close(stack.pop())
                        target = inside
                    pending.extend(target.split("/")[::-1])
                    continue
                if last:
                    return fd
                stack.append(fd)
            # The path ended on ".." or "." (after a link): open what the stack holds.
            return os.open(".", flags | _CLOEXEC, mode, dir_fd=stack[-1])
        finally:
            for fd in stack:
                os.close(fd)

    @staticmethod
    def _step(name: str, flags: int, mode: int, parent: int, relative: str) -> int | None:
        """Open ``name`` in ``parent`` without following it; ``None`` if it is a link."""
        try:
            fd = os.open(name, flags | os.O_NOFOLLOW | _CLOEXEC, mode, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(name, parent):
                return None
            raise OSError(exc.errno, exc.strerror, relative) from None
        if flags & _O_PATH and stat.S_ISLNK(os.fstat(fd).st_mode):
            os.close(fd)  # O_PATH | O_NOFOLLOW opens the link itself
            return None
        return fd

    def _inside(self, target: str) -> str | None:
        """``target`` (an absolute link target) relative to the root, or None if outside."""
        target = os.path.normpath(target)
        if target == self.real:
            return ""
        if target.startswith(self.real.rstrip("/") + "/"):
            return target[len(self.real.rstrip("/")) + 1 :]
        return None

    # -- whole operations -------------------------------------------------------------

    def stat(self, relative: str) -> os.stat_result:
        """``stat`` of ``relative``, links inside the root followed."""
        fd = self.open(relative, PATH)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def remove_tree(self, relative: str) -> None:
        """Remove ``relative``: a file or link is unlinked, a directory removed with its tree.

        The tree is walked by descriptors and never through a link (:func:`_remove_directory`).
        """
        parent, name = self.parent(relative)
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                _remove_directory(parent, name)
            else:
                os.unlink(name, dir_fd=parent)
        finally:
            os.close(parent)

    def prune(self, relative: str, stop: str) -> None:
        """Remove the empty directories ``relative`` and its ancestors, up to ``stop`` (excluded)."""
        while relative != stop and relative.startswith(stop + "/"):
            try:
                parent, name = self.parent(relative)
            except OSError:
                return
            try:
                os.rmdir(name, dir_fd=parent)
            except FileNotFoundError:
                pass  # already gone: its parent may be empty now
            except OSError:
                return  # not empty (or a link): nothing above is empty either
            finally:
                os.close(parent)
            relative = relative.rpartition("/")[0]

    @contextlib.contextmanager
    def directory(self, relative: str) -> Iterator[int]:
        """A ``with`` block holding a descriptor of directory ``relative``."""
        fd = self.open_directory(relative)
        try:
            yield fd
        finally:
            os.close(fd)


#: (flags, mode) -> a pointer to its open_how: built once, only read afterwards (by the
#: kernel, from any thread).
_HOWS: dict[tuple[int, int], Any] = {}


def _how(flags: int, mode: int) -> Any:
    # openat2 refuses a mode without O_CREAT (O_TMPFILE shares O_DIRECTORY's bit).
    creates = flags & os.O_CREAT or flags & _O_TMPFILE == _O_TMPFILE
    how = _OpenHow(flags | _CLOEXEC, mode if creates else 0, _RESOLVE_BENEATH_ALL)
    pointer = ctypes.pointer(how)
    _HOWS[flags, mode] = pointer
    return pointer


def _remove_directory(parent: int, name: str) -> None:
    """Remove directory ``name`` of ``parent`` and its tree, at any depth, never following a link.

    Iterative (``shutil.rmtree`` recurses once per level before Python 3.13): a stack of
    the directories from ``name`` down, one descriptor each, every one opened with
    ``O_NOFOLLOW`` through its parent's. An entry that is not a directory (a link to one
    included) is unlinked; an emptied directory is removed from its parent.
    """
    stack = [(name, os.open(name, _SUBDIRECTORY, dir_fd=parent))]
    try:
        while stack:
            fd = stack[-1][1]
            descend = None
            with os.scandir(fd) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        descend = entry.name
                        break
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.name, dir_fd=fd)
            if descend is not None:
                try:
                    stack.append((descend, os.open(descend, _SUBDIRECTORY, dir_fd=fd)))
                except OSError as exc:  # replaced by a file or a link meanwhile
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    os.unlink(descend, dir_fd=fd)
                continue
            own, fd = stack.pop()
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(own, dir_fd=stack[-1][1] if stack else parent)
    finally:
        for _, fd in stack:
            os.close(fd)


_SUBDIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


_NUMBER = ctypes.c_long(_SYS_OPENAT2)
_HOW_SIZE = ctypes.c_size_t(ctypes.sizeof(_OpenHow))
_RESOLVE_BENEATH_ALL = _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS
_OPENAT2 = _load_openat2()
