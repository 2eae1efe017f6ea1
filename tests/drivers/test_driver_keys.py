"""Each driver reads its parameters by its table (``KEYS``, docs/contributing.md "Settings once").

- the keys a driver accepts are its table's names (an unknown key's error lists them);
- a value against a key's declared type, bound or choices is refused naming the driver and
  the key, a secret value never quoted;
- a key left out takes the table's default;
- the table drives: a bound changed in the table changes what the driver accepts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

import distfs
from distfs import factory
from distfs.backends import azure, gcs, oss, s3
from distfs.backends.generic import settings as generic
from distfs.errors import InvalidParameterError
from distfs.parameters import Key, KeyTable

#: One driver per table (an alias such as s3aws shares its driver's), and the generic driver.
TABLES: dict[str, KeyTable] = {
    **{b.name: factory.builtin_keys(b) for b in factory.BUILTIN_DRIVERS.values() if b.name != "s3aws"},
    "fsspec": generic.KEYS,
}
SECRET_TEXT = "sekrit-value-123"


def bad_value(key: Key) -> object:
    """A value the key's declared type, bound or choices refuses (None: its rules are the driver's)."""
    if key.kind in ("int", "size", "limit", "seconds"):
        return key.maximum + 1
    if key.kind == "bool":
        return "maybe"
    if key.kind == "duration":
        return "soon"
    if key.kind == "string":
        return "no-such-choice" if key.choices else [SECRET_TEXT]
    if key.kind == "options":
        return 5
    return None  # a map: its shape is checked by the driver (credentials)


CASES = [(name, key) for name, table in TABLES.items() for key in table.keys if bad_value(key) is not None]


def test_every_driver_has_a_table() -> None:
    assert set(TABLES) == {b.name for b in factory.BUILTIN_DRIVERS.values()} - {"s3aws"} | {"fsspec"}
    assert all(table.keys for table in TABLES.values())


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_accepted_keys_are_the_tables(name: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create(name, {"no-such-key": 1})
    assert (caught.value.driver, caught.value.parameter) == (name, "no-such-key")
    assert caught.value.reason == "unknown parameter; known: " + ", ".join(sorted(TABLES[name].names))


@pytest.mark.parametrize(("name", "key"), CASES, ids=[f"{name}-{key.name}" for name, key in CASES])
def test_a_value_against_the_table_is_refused_naming_the_key(name: str, key: Key) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create(name, {key.name: bad_value(key)})
    assert (caught.value.driver, caught.value.parameter) == (name, key.name)
    assert SECRET_TEXT not in str(caught.value)


def typed(settings: object) -> Mapping[str, Any]:
    return {field.name: getattr(settings, field.name) for field in dataclasses.fields(settings)}  # type: ignore[arg-type]


#: Each cloud driver's settings made of its required keys only (offline: nothing is contacted).
MINIMAL = {
    "s3": lambda: s3.settings_from({"bucket": "b", "region": "us-east-1"}),
    "gcs": lambda: gcs.settings_from({"bucket": "b"}),
    "azure": lambda: azure.settings_from({"accountname": "a", "container": "c", "accountkey": "k"}),
    "oss": lambda: oss.settings_from(
        {"bucket": "b", "region": "oss-cn-beijing", "accesskeyid": "i", "accesskeysecret": "s"}
    ),
}


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_a_key_left_out_takes_the_tables_default(name: str) -> None:
    settings = typed(MINIMAL[name]())
    defaults = {key.name: key.default for key in TABLES[name].keys if key.default is not None}
    checked = {key: value for key, value in defaults.items() if key in settings}
    assert len(checked) >= 3, checked
    assert {key: settings[key] for key in checked} == checked


def test_the_table_drives_the_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bound lowered in s3's table refuses a chunk size the driver took before."""
    parameters = {"bucket": "b", "region": "us-east-1", "chunksize": 6 << 20}
    assert s3.settings_from(parameters).chunksize == 6 << 20
    keys = tuple(
        dataclasses.replace(key, minimum=8 << 20) if key.name == "chunksize" else key for key in s3.settings.KEYS.keys
    )
    monkeypatch.setattr(s3.settings, "KEYS", dataclasses.replace(s3.settings.KEYS, keys=keys))
    with pytest.raises(InvalidParameterError) as caught:
        s3.settings_from(parameters)
    assert caught.value.parameter == "chunksize"
    assert "between 8388608 and" in caught.value.reason
