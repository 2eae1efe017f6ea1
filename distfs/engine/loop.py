"""One event-loop thread that runs the engine's coroutines for the synchronous API.

:func:`run` blocks the calling thread until a coroutine finished on the loop thread
``distfs-io`` (started on first use, daemon). It is distfs's own loop, never fsspec's,
so a synchronous distfs call works inside fsspec's coroutines (``GenericFileSystem``,
``rsync``) and inside any other running loop (which it blocks, as any blocking call
does). After ``fork()`` the child starts a new loop thread on first use; stores notice
the new loop and make new clients.

asyncio is imported when the loop thread starts, not before: a ``blocking`` store's calls
(:func:`run_here`) never need it, and importing it is about a third of a short command's
start-up (``distfs registry gc`` on ``filesystem``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncio

__all__ = ["awaiting", "exit_all", "in_loop_thread", "release_on", "run", "run_here", "track"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    loop = _loop
    if loop is not None:
        return loop
    with _lock:
        if _loop is None:
            import asyncio

            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="distfs-io", daemon=True)
            thread.start()
            _loop, _thread = loop, thread
        return _loop


class _Closable(Protocol):
    async def close(self) -> None: ...


_open: weakref.WeakSet[Any] = weakref.WeakSet()


def track(closable: _Closable) -> None:
    """Close ``closable`` (a store with connections on the loop thread) at interpreter exit."""
    _open.add(closable)


@atexit.register
def _close_all() -> None:
    loop = _loop
    if loop is None or not loop.is_running():
        return
    import asyncio

    for closable in list(_open):
        with contextlib.suppress(Exception):  # exiting: a store that cannot close is left as it is
            asyncio.run_coroutine_threadsafe(closable.close(), loop).result(timeout=5)


def _forget_after_fork() -> None:
    global _loop, _thread, _lock, _open
    _loop, _thread, _lock, _open = None, None, threading.Lock(), weakref.WeakSet()


os.register_at_fork(after_in_child=_forget_after_fork)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the loop thread and return its result (or raise its error)."""
    loop = _get_loop()
    if threading.current_thread() is _thread:
        coroutine.close()
        raise RuntimeError("a synchronous distfs call was made on distfs's own event-loop thread")
    import asyncio

    return asyncio.run_coroutine_threadsafe(coroutine, loop).result()


async def awaiting(coroutine: Coroutine[Any, Any, T]) -> T:
    """Await ``coroutine`` on the loop thread from any event loop (cancelling one cancels both)."""
    if threading.current_thread() is _thread:
        return await coroutine
    import asyncio

    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, _get_loop()))


def run_here(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on this thread, without an event loop (a ``blocking`` store's).

    A blocking store's calls never wait, and the engine's paths for such a store await
    nothing but the store (no ``gather``, no ``sleep``): the coroutine finishes in one
    step, with no hand-over to the loop thread, and calls from many threads run at once.
    Where this thread runs an event loop already (a synchronous call inside async code),
    the coroutine goes to the loop thread as with :func:`run`. A coroutine that does wait
    is an error in the engine (RuntimeError), never a hang.
    """
    running = sys.modules.get("asyncio")  # not imported yet: no loop runs
    if running is not None and running._get_running_loop() is not None:
        return run(coroutine)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a blocking store's call waited on an event loop")


def in_loop_thread() -> bool:
    """True when called on the loop thread (where :func:`run` must not be used)."""
    return threading.current_thread() is _thread


async def exit_all(contexts: list[Any]) -> None:
    """Exit the async context managers ``contexts`` (SDK clients), in order."""
    for context in contexts:
        await context.__aexit__(None, None, None)


def release_on(loop: asyncio.AbstractEventLoop, contexts: list[Any], pid: int) -> None:
    """Exit ``contexts`` on their ``loop`` (a finalizer of a store dropped unclosed; waits when off the loop).

    Only in process ``pid``, the one that runs ``loop``: a forked child inherits the loop
    as running but not its thread, so nothing would ever answer there.
    """
    if os.getpid() != pid or loop.is_closed() or not loop.is_running():
        return
    import asyncio

    done = asyncio.run_coroutine_threadsafe(exit_all(contexts), loop)
    if threading.current_thread() is not _thread:
        with contextlib.suppress(Exception):  # a finalizer: best effort, never raise
            done.result(timeout=5)
