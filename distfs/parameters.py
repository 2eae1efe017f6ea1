"""Driver parameters: the registry's ``storage:`` maps, typed the way its Go drivers type them.

Values come from YAML (native ``bool``/``int``) or from strings (environment overrides,
the command line), so every reader accepts both. A bad value is an
``InvalidParameterError`` naming the driver and the key; the value of a secret key is
never quoted. Unknown keys are rejected too, so a typo cannot silently fall back to a
default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .errors import InvalidParameterError

__all__ = ["DEFAULT_ROOT", "MAX_LIMIT", "Parameters", "brief", "redact"]

_TRUE = {"1", "t", "true"}
_FALSE = {"0", "f", "false"}
_GO_UINT = re.compile(r"^(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]*|0[bB][01_]+|[1-9][0-9_]*)$")


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
