"""Contract methods with a default over the other methods: :func:`derived` marks one.

A method of :class:`~distfs.driver.StorageDriver` marked :func:`derived` reaches every
driver without per-driver code: a plain driver runs the default over its own methods,
``Base`` checks its path parameters and hands the call on, middleware hands it to the
driver it wraps, the engine's driver runs the engine's coroutine of the same name where
there is one, and ``distfs.aio`` reaches it too (docs/contributing.md, "Adding a contract
method").
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from .driver import StorageDriver

__all__ = ["PATHS", "PATH_LISTS", "Derived", "derived"]

F = TypeVar("F", bound=Callable[..., Any])

#: The parameters of a contract method that hold one driver path, by name.
PATHS = ("path", "source", "dest")
#: The parameters of a contract method that hold a sequence of driver paths, by name.
PATH_LISTS = ("paths",)


@dataclass(frozen=True, slots=True)
class Derived:
    """A contract method with a default over the other methods (see :func:`derived`).

    ``paths`` and ``path_lists`` are its parameters holding driver paths (named as in
    :data:`PATHS` and :data:`PATH_LISTS`), checked by :class:`~distfs.base.Base` and
    ``distfs.aio`` before any driver sees them; ``root_ok``: whether ``/`` is a valid path.
    """

    name: str
    default: Callable[..., Any]
    signature: inspect.Signature
    paths: tuple[str, ...]
    path_lists: tuple[str, ...]
    root_ok: bool

    @property
    def span(self) -> str:
        """The name of its span and log line, Go's style: ``delete_many`` is ``DeleteMany``."""
        return "".join(word.capitalize() for word in self.name.split("_"))

    def bind(self, args: Sequence[Any], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        """The arguments of one call (a TypeError, as for any call, when they do not fit)."""
        return self.signature.bind(*args, **kwargs)

    def call(self, target: Any, arguments: inspect.BoundArguments) -> Any:
        """``target``'s method of this name with ``arguments`` (a coroutine, on an async driver)."""
        return getattr(target, self.name)(*arguments.args, **arguments.kwargs)


def derived(*, root_ok: bool = False) -> Callable[[F], F]:
    """Mark a method of :class:`StorageDriver` as having a default over the other methods.

    The decorated function is the default. Every driver that does not define the method
    itself runs it through :meth:`StorageDriver._run_derived`: a plain driver runs the
    default over its own methods, :class:`~distfs.base.Base` checks the path parameters
    (:data:`PATHS`, :data:`PATH_LISTS`) and hands the call to its inner driver, errors
    named, middleware hands it to the driver it wraps, the engine's driver awaits the
    engine's coroutine of the same name and signature where there is one, and
    ``distfs.aio`` reaches it too (docs/contributing.md, "Adding a contract method").
    """

    def decorate(default: F) -> F:
        signature = inspect.signature(default)
        parameters = list(signature.parameters.values())[1:]  # without self
        names = [parameter.name for parameter in parameters]
        method = Derived(
            name=default.__name__,
            default=default,
            signature=signature.replace(parameters=parameters),
            paths=tuple(name for name in names if name in PATHS),
            path_lists=tuple(name for name in names if name in PATH_LISTS),
            root_ok=root_ok,
        )

        @functools.wraps(default)
        def run(self: StorageDriver, *args: Any, **kwargs: Any) -> Any:
            return self._run_derived(method, method.bind(args, kwargs))

        run.derived = method  # type: ignore[attr-defined]
        return cast(F, run)

    return decorate
