"""Calls into one fsspec filesystem, bounded in time, with its errors as the seam's.

:class:`Caller` runs a filesystem method from the engine's event loop: an async
filesystem's coroutine (``_info`` for ``info``) on the loop the filesystem belongs to
(fsspec's own loop thread for an instance made synchronously), a synchronous one's
method on a thread of the store's own pool. Every call ends within ``timeout`` seconds:
a call still running then is abandoned (its coroutine cancelled; a thread is left to
finish on its own) and reported as a :class:`~distfs.engine.seam.StoreError` with code
``Timeout``, which the engine turns into a ``DriverError`` naming the driver and path,
and the caller's concurrency slot is free again.

:func:`mapped` is the one place the backend's exceptions become the seam's: not-found
signals (``FileNotFoundError``, and ``IsADirectoryError`` / ``NotADirectoryError``,
which name no object either) are NotFound, ``PermissionError`` is Denied, connection
failures are Transient, anything else a StoreError carrying the backend's message, with
the root and every ``storage_options`` value taken out of it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fsspec import AbstractFileSystem

from ...engine import seam
from ..options import redact

__all__ = ["Caller", "mapped"]

T = TypeVar("T")

#: Threads of one store's pool (synchronous filesystems, file objects, copies).
THREADS = 16


class Caller:
    """Runs ``fs``'s methods for one store (see the module docstring).

    ``root`` (the store's root path) and ``secrets`` never appear in a message.
    """

    def __init__(
        self, fs: AbstractFileSystem, *, timeout: float, root: str, secrets: Iterable[Any] = (), inline: bool = False
    ) -> None:
        self.fs = fs
        self.timeout = timeout
        #: Run synchronous calls on the event loop itself (a filesystem that never blocks:
        #: fsspec's memory filesystem), without a thread hop and without a time bound.
        self.inline = inline
        self._root = root.rstrip("/")
        self._secrets = tuple(secrets)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        # a wrapper (dirfs) over a synchronous filesystem says async_impl but has no coroutines
        inner = getattr(fs, "fs", None)
        wrapped_sync = isinstance(inner, AbstractFileSystem) and not inner.async_impl
        self._async = bool(getattr(fs, "async_impl", False)) and not wrapped_sync

    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(THREADS, thread_name_prefix="distfs-fsspec")
        return self._pool

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``fs.<method>(*args, **kwargs)`` (its coroutine where the filesystem is async)."""
        fs = self.fs
        if self._async and hasattr(fs, "_" + method):
            return await self._bounded(self._coroutine(getattr(fs, "_" + method)(*args, **kwargs)))
        function = getattr(fs, method)
        if self.inline:
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                raise mapped(exc, self._root, self._secrets) from exc
        return await self.thread(lambda: function(*args, **kwargs))

    async def thread(self, function: Callable[[], T]) -> T:
        """``function()`` on the store's thread pool (a file object's calls, a blocking copy)."""
        if self.inline:
            try:
                return function()
            except Exception as exc:
                raise mapped(exc, self._root, self._secrets) from exc
        loop = asyncio.get_running_loop()
        result: T = await self._bounded(loop.run_in_executor(self.pool(), function))
        return result

    def _coroutine(self, coroutine: Any) -> Any:
        """``coroutine`` as an awaitable of the running loop (run on the filesystem's own loop)."""
        own = getattr(self.fs, "_loop", None)
        if own is None or own is asyncio.get_running_loop() or not own.is_running():
            return coroutine
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, own))

    async def _bounded(self, awaitable: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    return await awaitable
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    raise mapped(exc, self._root, self._secrets) from exc
        except TimeoutError:  # the backend's own TimeoutError is Transient by now: this is ours
            raise seam.StoreError("Timeout", f"the backend did not answer within {self.timeout:g}s") from None

    def message(self, text: str) -> str:
        """``text`` without the root or a secret."""
        return _clean(text, self._root, self._secrets)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _clean(text: str, root: str, secrets: Iterable[Any]) -> str:
    """``text`` with ``root`` cut out of the paths it names and ``secrets`` as ``***``."""
    if len(root) > 1:
        text = text.replace(root, "")
    return redact(text, secrets)


def mapped(exc: BaseException, root: str = "", secrets: Iterable[Any] = ()) -> seam.StoreError:
    """The seam's error for the backend's ``exc`` (see the module docstring)."""
    if isinstance(exc, seam.StoreError):
        return exc
    message = _clean(str(exc) or type(exc).__name__, root, secrets)
    code = type(exc).__name__
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return seam.NotFound(code, message)
    if isinstance(exc, PermissionError):
        return seam.Denied(code, message)
    if isinstance(exc, ConnectionError | TimeoutError):
        return seam.Transient(code, message)
    if isinstance(exc, FileExistsError):
        return seam.StoreError("Exists", message)
    return seam.StoreError(code, message)
