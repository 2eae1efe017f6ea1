"""How a topic module registers its cases: ``case = Registrar(CASES)``, then ``@case(...)`` on each."""

from __future__ import annotations

from collections.abc import Callable

from ..context import Case, Context

__all__ = ["Registrar"]

CaseFunction = Callable[[Context], None]


class Registrar:
    """The ``@case(...)`` decorator of one topic: each decorated ``test_<name>`` becomes the case
    ``<name>`` of ``cases``, described by its docstring's first line."""

    def __init__(self, cases: list[Case]) -> None:
        self.cases = cases

    def __call__(
        self,
        *,
        long_only: bool = False,
        two_instances: bool = False,
        requires: tuple[str, ...] = (),
        writes: bool = True,
    ) -> Callable[[CaseFunction], CaseFunction]:
        def register(fn: CaseFunction) -> CaseFunction:
            name = fn.__name__.removeprefix("test_")
            doc = (fn.__doc__ or "").strip().splitlines()[0]
            self.cases.append(
                Case(name, fn, doc, long_only, two_instances=two_instances, requires=requires, writes=writes)
            )
            return fn

        return register
