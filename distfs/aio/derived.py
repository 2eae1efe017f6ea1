"""Contract methods with a default (:func:`distfs.driver.derived`) on the async drivers.

:func:`asynchronous` makes the coroutine method of such a contract method (what
:class:`~distfs.aio.driver.AsyncStorageDriver` answers for any of them, and how it types
one); :func:`run_default` runs the method's synchronous default over an async driver's own
coroutines, where neither the engine nor a synchronous driver has the method.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from ..base import _as_driver_error
from ..driver import Derived, StorageDriver
from .blocking import BlockingDriver

if TYPE_CHECKING:
    from .driver import AsyncStorageDriver

__all__ = ["asynchronous", "run_default"]

T = TypeVar("T")
P = ParamSpec("P")


def asynchronous(
    method: Callable[Concatenate[StorageDriver, P], T],
) -> Callable[Concatenate[AsyncStorageDriver, P], Coroutine[Any, Any, T]]:
    """The coroutine method of ``method``, a contract method with a default: ``StorageDriver.delete_many``.

    Its arguments are bound and checked as the synchronous method's, then the async driver
    runs it (:meth:`~distfs.aio.driver.AsyncStorageDriver._derived`).
    """
    contract = getattr(method, "derived", None)
    if not isinstance(contract, Derived):
        raise TypeError(f"{method.__name__} is not a contract method with a default (distfs.driver.derived)")

    async def run(self: AsyncStorageDriver, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return cast(T, await self._run_derived(contract, contract.bind(args, kwargs)))

    run.__name__ = run.__qualname__ = contract.name
    run.__doc__ = method.__doc__
    return run


async def run_default(driver: AsyncStorageDriver, method: Derived, arguments: inspect.BoundArguments) -> Any:
    """``method``'s default over ``driver``'s own coroutines, run in a thread of its own.

    Each call the default makes comes back to the running loop through a
    :class:`~distfs.aio.blocking.BlockingDriver`, checked, bounded and named as any call;
    the thread holds no slot. Cancelled, the call ends at once and the default's next call
    raises ``CancelledError`` in the thread (the one running finishes). A foreign error of
    the default becomes a ``DriverError`` naming the driver.
    """
    loop = asyncio.get_running_loop()
    stopped = threading.Event()

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        if stopped.is_set():
            coroutine.close()
            raise asyncio.CancelledError
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    facade = BlockingDriver(driver, run)
    done: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def work() -> None:
        if done.set_running_or_notify_cancel():
            try:
                done.set_result(method.default(facade, *arguments.args, **arguments.kwargs))
            except BaseException as exc:
                done.set_exception(exc)

    threading.Thread(target=work, name="distfs-aio-default", daemon=True).start()
    try:
        return await asyncio.wrap_future(done)
    except asyncio.CancelledError:
        stopped.set()
        raise
    except Exception as exc:
        error = _as_driver_error(exc, driver.name)
        if error is exc:
            raise
        raise error from exc
