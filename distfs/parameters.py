"""Driver parameters: the registry's ``storage:`` maps, typed the way its Go drivers type them.

Values come from YAML (native ``bool``/``int``) or from strings (environment overrides,
the command line), so every reader accepts both. A bad value is an
``InvalidParameterError`` naming the driver and the key; the value of a secret key is
never quoted. Unknown keys are rejected too, so a typo cannot silently fall back to a
default.

A driver declares its keys once, in a :class:`KeyTable` of :class:`Key` rows (name, type,
default, bounds, choices, secrecy, a one-line meaning): :meth:`KeyTable.parse` reads a
parameter map by it and :meth:`KeyTable.markdown` is the driver's table in
``docs/parameters.md`` (``python -m distfs.tools.parameters_doc``). Rules across keys (one
key required with another, an endpoint's form) stay in the driver's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .errors import InvalidParameterError

__all__ = ["DEFAULT_ROOT", "MAX_LIMIT", "Key", "KeyTable", "Parameters", "Parsed", "brief", "redact", "size"]

_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}
_GO_UINT = re.compile(r"^(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]*|0[bB][01_]+|[1-9][0-9_]*)$")
_DURATION_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)"
_DURATION = re.compile(f"^(?:{_DURATION_PART})+$")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


#: Byte units for parameter defaults and limits.
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30

#: The ``filesystem`` driver's default ``rootdirectory`` (Go's).
DEFAULT_ROOT = "/var/lib/registry"

#: The largest concurrency limit a driver accepts (threads or requests in flight at once).
MAX_LIMIT = 4096

#: The most characters of a value any message quotes.
BRIEF = 40


def brief(value: object) -> str:
    """A short, bounded description of ``value`` for an error message.

    Strings and bytes are quoted up to :data:`BRIEF` characters (``...`` marks the cut),
    numbers, booleans and ``None`` as they are (huge integers by their size), anything
    else by its type only: a container's ``repr`` may be unbounded (a YAML alias bomb).
    """
    if isinstance(value, str | bytes):
        return repr(value[:BRIEF]) + ("..." if len(value) > BRIEF else "")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * BRIEF:
        return f"an integer of {value.bit_length()} bits"
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return f"a {type(value).__name__}"


class Parameters:
    """Typed, checked access to one driver's parameter map."""

    def __init__(
        self,
        driver: str,
        values: Mapping[str, Any] | None,
        known: Iterable[str],
        secret: Iterable[str] = (),
    ) -> None:
        self.driver = driver
        self.secret = frozenset(secret)
        self._values = dict(values or {})
        for key in self._values:
            if not isinstance(key, str):
                raise InvalidParameterError(driver, brief(key), "parameter names are strings")
        unknown = sorted(set(self._values) - set(known))
        if unknown:
            name = unknown[0] if len(unknown[0]) <= BRIEF else unknown[0][:BRIEF] + "..."
            raise InvalidParameterError(driver, name, f"unknown parameter; known: {', '.join(sorted(known))}")

    def raw(self, key: str) -> Any:
        """The value given for ``key``, unchecked (``None`` when not given)."""
        return self._values.get(key)

    @property
    def given(self) -> frozenset[str]:
        """The keys given a value (not null)."""
        return frozenset(key for key, value in self._values.items() if value is not None)

    def error(self, key: str, rule: str) -> InvalidParameterError:
        """An error for ``key`` saying which ``rule`` its value breaks."""
        if key in self.secret:
            return InvalidParameterError(self.driver, key, rule)
        return InvalidParameterError(self.driver, key, f"{rule}, got {brief(self._values.get(key))}")

    def string(self, key: str, default: str = "") -> str:
        value = self._values.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.error(key, "must be a string")
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._values.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self.error(key, "must be a boolean")

    def integer(self, key: str, default: int, minimum: int, maximum: int = MAX_LIMIT) -> int:
        """An integer in ``[minimum, maximum]`` (inclusive; :data:`MAX_LIMIT` unless given).

        Every numeric parameter has an upper bound: a count (of threads, requests,
        retries) is capped at :data:`MAX_LIMIT`, a size at what the store accepts.
        """
        value = self._values.get(key)
        if value is None:
            return default
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            # Beyond BRIEF digits a number is out of every bound (and int() refuses 4300 digits).
            number = int(value) if len(value) <= BRIEF else maximum + 1
        if number is None:
            raise self.error(key, "must be an integer")
        if not minimum <= number <= maximum:
            raise self.error(key, f"must be a number between {minimum} and {maximum} (inclusive)")
        return number

    def limit(self, key: str, default: int, minimum: int, maximum: int = MAX_LIMIT) -> int:
        """A concurrency limit, read as the registry's ``GetLimitFromParameter``.

        Integers and unsigned integer strings (Go base prefixes ``0x``, ``0o``, ``0b``
        and a leading ``0`` for octal) are accepted; zero or negative integers mean
        ``minimum``, and anything below ``minimum`` is raised to it. Above ``maximum``
        (:data:`MAX_LIMIT` unless given) the value is refused, naming the key.
        """
        value = self._values.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self.error(key, "must be an integer")
        if isinstance(value, str):
            text = value.strip()
            if len(text) > 2 * BRIEF or not _GO_UINT.fullmatch(text):
                raise self.error(key, "must be an integer")
            if re.fullmatch(r"0[0-7_]+", text):
                text = "0o" + text[1:]
            try:
                number = int(text, 0)
            except ValueError:
                raise self.error(key, "must be an integer") from None
        else:
            number = value if value > 0 else minimum
        if number > maximum:
            raise self.error(key, f"must be at most {maximum}")
        return max(number, minimum)

    def seconds(self, key: str, default: float, maximum: int) -> float:
        """A number of seconds above 0, at most ``maximum`` (an int, a float or a decimal string)."""
        value = self._values.get(key)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise self.error(key, "must be a number of seconds") from None
        if isinstance(value, bool) or not 0 < number <= maximum:
            raise self.error(key, f"must be a number of seconds above 0 (at most {maximum})")
        return number

    def duration(self, key: str, default: float) -> float:
        """A Go duration string (``100ms``, ``1.5s``, ``1m30s``, or ``0``) in seconds."""
        value = self._values.get(key)
        if value is None:
            return default
        text = value.strip() if isinstance(value, str) else ""
        if text == "0":
            return 0.0
        if not _DURATION.fullmatch(text):
            raise self.error(key, "must be a duration such as 100ms")
        return sum(float(number) * _UNIT[unit] for number, unit in re.findall(_DURATION_PART, text))


#: How a key's value is read (:meth:`Key.read`): ``size`` is an ``int`` of bytes, ``map`` any
#: mapping (the driver checks it), ``options`` the ``storage_options`` mapping, checked by the
#: driver's option table (:attr:`KeyTable.options`).
Kind = Literal["string", "bool", "int", "size", "limit", "seconds", "duration", "map", "options"]


class StorageOptionsTable(Protocol):
    """What a :class:`KeyTable` needs of a driver's ``storage_options`` table
    (:class:`distfs.backends.options.OptionTable`)."""

    def check(self, value: object) -> Mapping[str, Any]:
        """``value`` checked as the driver's ``storage_options``."""

    def targets(self) -> Mapping[str, str]:
        """The storage_options keywords each distribution key becomes, by key name."""


@dataclass(frozen=True)
class Key:
    """One parameter of a driver, declared once: how it is read and how the docs show it.

    ``default``: the typed value of a key not given (``""`` for strings unless given);
    ``minimum``/``maximum`` bound ``int``, ``size`` and ``limit`` keys; ``choices``: the
    accepted strings, compared after ``fold`` (``upper``, ``lower``); ``secret``: the value is
    never quoted; ``shown``: the default as the docs say it, when not the value itself
    (``required``); ``doc``: the one line of the docs' meaning column.
    """

    name: str
    kind: Kind
    doc: str
    default: Any = None
    minimum: int = 0
    maximum: int = MAX_LIMIT
    choices: tuple[str, ...] = ()
    fold: Literal["", "upper", "lower"] = ""
    secret: bool = False
    shown: str = ""

    def read(self, params: Parameters, options: StorageOptionsTable | None = None) -> Any:
        """This key's typed value in ``params`` (its default when not given); InvalidParameterError
        naming the key for a value of the wrong type, out of bounds or not among the choices."""
        if self.kind in ("map", "options"):
            raw = params.raw(self.name)
            return options.check(raw) if self.kind == "options" and options is not None else raw
        if self.kind == "bool":
            return params.boolean(self.name, bool(self.default))
        if self.kind in ("int", "size"):
            return params.integer(self.name, self.default, self.minimum, self.maximum)
        if self.kind == "limit":
            return params.limit(self.name, self.default, self.minimum, self.maximum)
        if self.kind == "duration":
            return params.duration(self.name, self.default)
        if self.kind == "seconds":
            return params.seconds(self.name, self.default, self.maximum)
        text = params.string(self.name, self.default or "")
        text = text.upper() if self.fold == "upper" else text.lower() if self.fold == "lower" else text
        if self.choices and text not in self.choices:
            raise params.error(self.name, f"must be one of {', '.join(self.choices)}")
        return text

    def row(self, target: str = "") -> str:
        """This key's row of the docs' table; ``target``: the storage_options keywords it becomes."""
        kind = {"map": "map", "options": "mapping"}.get(self.kind, self.kind)
        if self.kind in ("int", "size", "limit", "seconds"):
            kind += f", {_shown(self.minimum, self.kind)} .. {_shown(self.maximum, self.kind)}"
        kind += ", *secret*" if self.secret else ""
        default = self.shown or ("" if self.default in (None, "") else f"{_shown(self.default, self.kind)}")
        choices = f"; one of {', '.join(f'`{c}`' for c in self.choices)}" if self.choices else ""
        choices += " (any case)" if choices and self.fold else ""
        to = ", ".join(f"`{t}`" for t in target.split(", ")) if target not in ("", "engine") else target
        return f"| `{self.name}` | {kind} | {default} | {to} | {self.doc}{choices} |"


def size(value: int, byte_unit: str = "") -> str:
    """``value`` bytes as the docs write sizes: ``10 MiB``, ``256 KiB``, ``5 GiB``; other
    values as bytes, followed by `` byte_unit`` if given (``size(100, "B")`` is ``100 B``)."""
    for unit, name in ((GiB, "GiB"), (MiB, "MiB"), (KiB, "KiB")):
        if value and value % unit == 0:
            return f"{value // unit} {name}"
    return f"{value} {byte_unit}" if byte_unit else str(value)


def _shown(value: Any, kind: Kind) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if kind == "size":
        return size(value)
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


@dataclass(frozen=True)
class Parsed:
    """A parameter map read by a :class:`KeyTable`: ``values`` holds every key's typed value
    (secrets among them: never in ``repr``)."""

    params: Parameters = field(repr=False)
    values: Mapping[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def given(self) -> frozenset[str]:
        """The keys the map gave a value (not null)."""
        return self.params.given

    def error(self, key: str, rule: str) -> InvalidParameterError:
        """An error for ``key`` saying which ``rule`` its value breaks (a secret value never quoted)."""
        return self.params.error(key, rule)


@dataclass(frozen=True)
class KeyTable:
    """Every parameter of one driver (see the module docstring).

    ``about``: the paragraph under the driver's heading in ``docs/parameters.md``; ``options``:
    the driver's storage_options table, which checks the ``options`` key and says which
    keywords each key becomes (the docs' ``storage_options`` column; ``engine``: distfs
    uses the key itself).
    """

    driver: str
    keys: tuple[Key, ...]
    about: str = ""
    options: StorageOptionsTable | None = None

    def __post_init__(self) -> None:
        if len(self.names) != len(set(self.names)):
            raise ValueError(f"{self.driver}: a parameter is listed twice")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    def only(self, names: Iterable[str]) -> KeyTable:
        """This table restricted to ``names`` (the engine's keys of an instance the user configured)."""
        wanted = set(names)
        return KeyTable(self.driver, tuple(key for key in self.keys if key.name in wanted), self.about, self.options)

    def parse(self, parameters: Mapping[str, Any] | None, driver: str = "") -> Parsed:
        """``parameters`` read by this table: an unknown key is refused by name, every key typed.

        Raises :class:`InvalidParameterError` naming the driver (``driver``, or the table's)
        and the key; a secret key's value is never quoted.
        """
        secret = [key.name for key in self.keys if key.secret]
        params = Parameters(driver or self.driver, parameters, known=self.names, secret=secret)
        return Parsed(params, {key.name: key.read(params, self.options) for key in self.keys})

    def markdown(self) -> str:
        """The table of ``docs/parameters.md`` for these keys."""
        targets = self.options.targets() if self.options is not None else {}
        rows = ["| name | type | default | storage_options | meaning |", "|---|---|---|---|---|"]
        for key in self.keys:
            engine = "engine" if self.options is not None and key.kind != "options" else ""
            rows.append(key.row(targets.get(key.name, engine)))
        return "\n".join(rows) + "\n"


def redact(text: str, values: Iterable[Any]) -> str:
    """``text`` with every string value of ``values`` (at any depth) replaced by ``***``."""
    for secret in sorted(_strings(values), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _strings(values: Iterable[Any]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str) and len(value) >= 4:
            yield value
        elif isinstance(value, Mapping):
            yield from _strings(value.values())
        elif isinstance(value, list | tuple):
            yield from _strings(value)
