"""YAML read the way the Go registry reads its ``config.yml``: :func:`load`.

The registry parses its configuration, and every ``REGISTRY_*`` environment override
value, with ``gopkg.in/yaml.v2`` (v2.4.0 in distribution/distribution's ``go.mod``;
``configuration/parser.go`` calls ``yaml.Unmarshal`` on the override value into the
``any`` values of a ``Parameters`` map). yaml.v2 types plain (unquoted) scalars with its
own rules (``resolve.go``), which are neither YAML 1.1 (PyYAML's) nor YAML 1.2:

* ``y Y yes Yes YES true True TRUE on On ON`` are true, the ``n``/``no``/``false``/``off``
  forms false; ``"" ~ null Null NULL`` are null; ``.inf``, ``-.inf``, ``.nan`` floats;
* a scalar starting with a digit or sign is, with ``_`` removed, an integer as Go's
  ``strconv.ParseInt(s, 0, 64)`` reads it (``0x1F`` = 31, ``0o17`` = 15, ``0b101`` = 5,
  ``0123`` = 83 octal, ``1_000`` = 1000), else an unsigned 64-bit one, else a float if it
  looks like ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?`` (``1e3`` = 1000.0,
  ``08`` = 8.0) and is finite; a scalar starting with ``.`` is a float if Go parses it;
* everything else is a string: base-60 numbers (``12:34:56``), timestamps
  (``2001-12-14``: yaml.v2 keeps them strings when decoding into ``any``), ``1e999``.

Unlike Go (which caps the *ratio* of alias-driven decodes), the expanded size of a
document is bounded outright: more than :data:`MAX_NODES` nodes once aliases are
expanded, or an alias inside itself, is refused. Errors are :class:`YAMLValueError`
with a position and a problem that never quotes the text (it may hold a secret).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "MAX_NODES", "YAMLValueError", "load", "scalar"]

#: The most nodes a document may hold once its aliases are expanded.
MAX_NODES = 100_000
#: The deepest nesting of collections a document may hold.
MAX_DEPTH = 200

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"

_WORDS: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], (_BOOL, True)),
    **dict.fromkeys(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], (_BOOL, False)),
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], (_NULL, None)),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], (_FLOAT, math.nan)),
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], (_FLOAT, math.inf)),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], (_FLOAT, -math.inf)),
    "<<": (_MERGE, "<<"),
}
# strconv.ParseInt(s, 0, 64) syntax: sign, then a 0x / 0o / 0b prefix, a leading 0 (octal) or decimal.
_GO_INT = re.compile(r"([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))")
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")


# What PyYAML quotes in a problem, but for the names of tokens (',' ']' '<stream end>').
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_TOKEN = re.compile(r"'(?:[-,:?\[\]{}]|<[a-z ]+>)'")


class YAMLValueError(ValueError):
    """Text that is not YAML, or a document too large once expanded; never quotes the text."""


def _go_int(text: str) -> int | None:
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    sign, hexa, octal, binary, zero, decimal = match.groups()
    if hexa is not None:
        number = int(hexa, 16)
    elif octal is not None:
        number = int(octal, 8)
    elif binary is not None:
        number = int(binary, 2)
    elif zero is not None:
        number = int(zero or "0", 8)
    else:
        number = int(decimal)
    number = -number if sign == "-" else number
    if -(2**63) <= number < 2**63:
        return number  # ParseInt
    if not sign and number < 2**64:
        return number  # ParseUint (no sign allowed)
    return None


def _finite(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None  # Go's ParseFloat fails on overflow


def scalar(text: str) -> tuple[str, Any]:
    """The tag and value yaml.v2 gives the plain scalar ``text`` (``resolve`` in resolve.go)."""
    if text in _WORDS:
        return _WORDS[text]
    first = text[:1]
    if first == ".":
        number = _finite(text) if _DOT_FLOAT.fullmatch(text) else None
        return (_FLOAT, number) if number is not None else (_STR, text)
    if first and first in "+-0123456789":
        # Timestamps (2001-12-14) are resolved first in Go but decode into ``any`` as
        # strings, and no timestamp parses as a number: nothing to do for them here.
        plain = text.replace("_", "")
        integer = _go_int(plain)
        if integer is not None:
            return _INT, integer
        if _YAML_FLOAT.fullmatch(plain):
            number = _finite(plain)
            if number is not None:
                return _FLOAT, number
    return _STR, text


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml.v2's typing of plain scalars."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return scalar(value)[0]
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


def _construct(tag: str) -> Any:
    def construct(loader: _Loader, node: yaml.ScalarNode) -> Any:
        found, value = scalar(loader.construct_scalar(node))
        if found == tag:
            return value
        if tag == _FLOAT and found == _INT:
            return float(value)
        # yaml.v2: "cannot decode !!str `...` as a !!int"; the text is not quoted here.
        raise yaml.constructor.ConstructorError(None, None, f"cannot decode the value as {tag}", node.start_mark)

    return construct


for _tag in (_INT, _FLOAT, _BOOL, _NULL):
    _Loader.add_constructor(_tag, _construct(_tag))


def _expanded_size(node: yaml.Node) -> int:
    """Nodes of ``node`` with aliases expanded; raises YAMLValueError above the bounds."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(current: yaml.Node, depth: int) -> int:
        if isinstance(current, yaml.ScalarNode):
            return 1
        known = sizes.get(id(current))
        if known is not None:
            return known
        if id(current) in active:
            raise YAMLValueError(f"an alias refers to a node that contains it (line {current.start_mark.line + 1})")
        if depth > MAX_DEPTH:
            raise YAMLValueError(f"nested more than {MAX_DEPTH} levels deep")
        active.add(id(current))
        children = current.value if isinstance(current, yaml.SequenceNode) else [n for kv in current.value for n in kv]
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_NODES:
                raise YAMLValueError(f"more than {MAX_NODES} nodes once aliases are expanded")
        active.discard(id(current))
        sizes[id(current)] = total
        return total

    return size(node, 0)


def _problem(error: yaml.YAMLError) -> str:
    """Where and what, without the text PyYAML quotes and shows in its messages."""
    if isinstance(error, yaml.reader.ReaderError):
        return f"{error.reason} (character {error.position + 1})"
    parts = []
    for what, mark in (
        (getattr(error, "context", None), getattr(error, "context_mark", None)),
        (getattr(error, "problem", None) or "malformed", getattr(error, "problem_mark", None)),
    ):
        if what is None:
            continue
        text = _QUOTED.sub(lambda quoted: quoted[0] if _TOKEN.fullmatch(quoted[0]) else "...", str(what))
        parts.append(f"{text} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else text)
    return ": ".join(parts)


def load(text: str) -> Any:
    """The document in ``text``, typed as yaml.v2 types it; ``YAMLValueError`` if malformed or too large."""
    try:
        loader = _Loader(text)  # refuses characters YAML does not allow (NUL, lone surrogates)
    except yaml.YAMLError as error:
        raise YAMLValueError(f"not valid YAML: {_problem(error)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise YAMLValueError(f"not valid YAML: {_problem(error)}") from None
    except RecursionError:
        raise YAMLValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
