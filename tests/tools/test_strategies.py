"""Every hypothesis strategy in the test suite is bounded (issue 17).

An unbounded draw (a huge integer used as a thread count, a long list of large items)
once made a run exhaust a 24 GiB machine. This reads every test module and checks each
call of a sized or numeric strategy names its bound: ``integers`` both ends,
``text``/``binary``/``lists``/``sets``/``frozensets``/``dictionaries``/``iterables`` a
``max_size``, ``recursive`` a ``max_leaves``; ``from_regex`` is not used (its size has
no bound).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SIZED = {"text", "binary", "lists", "sets", "frozensets", "dictionaries", "iterables"}


def unbounded(call: ast.Call) -> str | None:
    """Why the strategy ``call`` is unbounded, or None."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "st"):
        return None
    keywords = {k.arg for k in call.keywords}
    given = {"min_value", "max_value"} & (set(["min_value", "max_value"][: len(call.args)]) | keywords)
    if func.attr == "integers" and len(given) < 2:
        return "st.integers without both bounds"
    if func.attr in SIZED and "max_size" not in keywords:
        return f"st.{func.attr} without max_size"
    if func.attr == "recursive" and "max_leaves" not in keywords:
        return "st.recursive without max_leaves"
    if func.attr == "from_regex":
        return "st.from_regex (no size bound)"
    return None


def test_every_strategy_is_bounded() -> None:
    found = []
    checked = 0
    for module in sorted([*TESTS.glob("*.py"), *TESTS.glob("*/test_*.py")]):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                checked += 1
                reason = unbounded(node)
                if reason is not None:
                    found.append(f"{module.name}:{node.lineno}: {reason}")
    assert checked > 100
    assert not found, "\n".join(found)


def test_the_check_catches_unbounded_strategies() -> None:
    for source in ("st.integers()", "st.integers(0)", "st.lists(st.none())", "st.text()", "st.recursive(a, b)"):
        call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
        assert unbounded(call) is not None, source
    for source in ("st.integers(0, 9)", "st.integers(min_value=0, max_value=9)", "st.lists(x, max_size=3)"):
        call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
        assert unbounded(call) is None, source
