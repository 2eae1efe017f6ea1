"""``storage_options``: a user's fsspec configuration for a built-in driver, checked by a table.

Every built-in driver stands on an fsspec filesystem of its protocol (``s3`` on s3fs, ``gcs``
on gcsfs, ``azure`` on adlfs, ``oss`` on ossfs, ``filesystem`` on ``file``, ``inmemory`` on
``memory``). Users bring the keyword arguments they already give that filesystem as the
driver parameter ``storage_options``; distribution's keys are translated into the same
keywords. One :class:`OptionTable` per driver says, for every constructor keyword of its
backend, whether distfs uses it, ignores it (and why), rejects it (and why), or sets it
itself (and which distribution key to use instead). The table drives parsing, error
messages and ``docs/parameters.md``.

Precedence, highest first (:meth:`OptionTable.merge`)::

    distribution keys the user sets
    what the engine must set itself (retries, timeouts, conditional headers)
    storage_options
    distribution-key defaults
    fsspec's own configuration (fsspec.config.conf, FSSPEC_<PROTOCOL>_*), applied by fsspec

Values of ``storage_options`` are secret: never in ``repr``, logs or error messages
(:class:`StorageOptions`, :func:`redact`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InvalidParameterError
from ..parameters import BRIEF, redact

__all__ = ["Option", "OptionTable", "StorageOptions", "redact", "synchronous_base_options"]

#: What distfs does with one backend keyword.
Use = Literal["used", "ignored", "rejected", "engine"]


@dataclass(frozen=True)
class Option:
    """One keyword of a backend filesystem's constructor and what distfs does with it.

    ``use``: ``used`` (passed to the backend), ``ignored`` (accepted, has no effect;
    ``why`` says so), ``rejected`` (an error; ``why`` says why), ``engine`` (the engine sets
    it itself; an error naming ``instead``, the distribution key to use). ``distribution``
    names the distribution key translated into this keyword, if any. ``nested``: keys of
    a mapping value (``config_kwargs``, ``s3_additional_kwargs``...) that distfs treats
    specially; keys of that mapping not listed are passed through unchecked.
    """

    key: str
    use: Use = "used"
    why: str = ""
    instead: str = ""
    distribution: str = ""
    nested: tuple[Option, ...] = ()

    def get(self, key: str) -> Option | None:
        """The nested option ``key`` of this option's mapping value, if listed."""
        return next((option for option in self.nested if option.key == key), None)


class StorageOptions(Mapping[str, Any]):
    """A read-only mapping of storage_options whose ``repr`` never shows a value."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return "StorageOptions({" + ", ".join(f"{key!r}: '***'" for key in self._values) + "})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        return (StorageOptions, (self._values,))


@dataclass(frozen=True)
class OptionTable:
    """Every constructor keyword of one driver's fsspec backend (see the module docstring)."""

    driver: str
    protocol: str
    package: str
    options: tuple[Option, ...]

    def __post_init__(self) -> None:
        keys = [option.key for option in self.options]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{self.driver}: a storage_options key is listed twice")

    def get(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)

    def check(self, value: object) -> StorageOptions:
        """``value`` checked as this driver's ``storage_options``.

        Raises :class:`InvalidParameterError` naming the driver and the key for a value that
        is not a mapping, a key that is not a string, unknown, rejected or set by the engine.
        Values are never quoted.
        """
        if value is None:
            return StorageOptions({})
        if not isinstance(value, Mapping):
            raise InvalidParameterError(
                self.driver, "storage_options", f"must be a mapping, not {type(value).__name__}"
            )
        for key in value:
            if not isinstance(key, str):
                raise InvalidParameterError(self.driver, "storage_options", "keys must be strings")
            option = self.get(key)
            name = f"storage_options.{key if len(key) <= BRIEF else key[:BRIEF] + '...'}"
            if option is None:
                known = ", ".join(sorted(o.key for o in self.options if o.use in ("used", "ignored")))
                raise InvalidParameterError(self.driver, name, f"unknown {self.package} option; accepted: {known}")
            self._refuse(option, name)
            inner = value[key]
            if option.nested and isinstance(inner, Mapping):
                for sub in inner:
                    nested = option.get(sub) if isinstance(sub, str) else None
                    if nested is not None:
                        self._refuse(nested, f"{name}.{sub}")
        return StorageOptions({key: item for key, item in value.items() if self.get(key).use == "used"})  # type: ignore[union-attr]

    def _refuse(self, option: Option, name: str) -> None:
        """Raise for a rejected or engine-owned ``option`` (shown as ``name``)."""
        if option.use == "rejected":
            raise InvalidParameterError(self.driver, name, f"not accepted: {option.why}")
        if option.use == "engine":
            instead = f"; use the parameter {option.instead!r} instead" if option.instead else ""
            raise InvalidParameterError(self.driver, name, f"distfs sets this itself ({option.why}){instead}")

    @staticmethod
    def merge(
        user_set: Mapping[str, Any],
        engine: Mapping[str, Any],
        storage_options: Mapping[str, Any],
        defaults: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The backend's keyword arguments, by the precedence of the module docstring.

        ``user_set``: translated from distribution keys the user gave; ``engine``: what the
        engine must set; ``defaults``: translated from distribution keys left at their
        default. Nested dicts (``client_kwargs``, ``config_kwargs``, ...) merge key by key
        with the same precedence.
        """
        merged: dict[str, Any] = {}
        for layer in (defaults, storage_options, engine, user_set):
            for key, value in layer.items():
                if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                    merged[key] = OptionTable.merge(value, {}, {}, merged[key])
                else:
                    merged[key] = value
        return merged

    def targets(self) -> dict[str, str]:
        """The keywords each distribution key becomes (``region``: ``client_kwargs.region_name``),
        read from the options' ``distribution`` (a key's sub-key, ``credentials.type``, counts
        for the key)."""
        found: dict[str, list[str]] = {}
        for option in self.options:
            for key, row in [(option.key, option)] + [(f"{option.key}.{n.key}", n) for n in option.nested]:
                for name in filter(None, row.distribution.split(", ")):
                    targets = found.setdefault(name.partition(".")[0], [])
                    targets += [] if key in targets else [key]
        return {name: ", ".join(sorted(keys)) for name, keys in found.items()}

    def markdown(self) -> str:
        """This table as the Markdown of ``docs/parameters.md``."""
        rows = [
            f"### `{self.driver}`: fsspec protocol `{self.protocol}` ({self.package})",
            "",
            "| storage_options key | distribution key | distfs | why |",
            "|---|---|---|---|",
        ]
        for option in sorted(self.options, key=lambda o: o.key):
            for key, row in [(option.key, option)] + [(f"{option.key}.{n.key}", n) for n in option.nested]:
                why = row.why + (f" (use `{row.instead}`)" if row.instead else "")
                distribution = f"`{row.distribution}`" if row.distribution else ""
                rows.append(f"| `{key}` | {distribution} | {row.use} | {why} |")
        return "\n".join(rows) + "\n"


def synchronous_base_options(cls: str) -> tuple[Option, ...]:
    """The keywords ``AbstractFileSystem`` gives a synchronous, cache-less filesystem ``cls``
    (fsspec's ``LocalFileSystem``, ``MemoryFileSystem``), classified the same way for each."""
    synchronous = f"{cls} is synchronous; distfs.aio is the async API"
    no_cache = f"{cls} keeps no listings cache, and distfs never caches listings"
    return (
        Option("skip_instance_cache", "ignored", "distfs always makes a private instance"),
        Option("use_listings_cache", "rejected", no_cache),
        Option("listings_expiry_time", "rejected", no_cache),
        Option("max_paths", "rejected", no_cache),
        Option("asynchronous", "rejected", synchronous),
        Option("loop", "rejected", synchronous),
    )
