"""``distfs.parameters.KeyTable``: a driver's parameters declared once, read and documented by it."""

from __future__ import annotations

import pytest

from distfs.errors import InvalidParameterError
from distfs.parameters import Key, KeyTable, MiB

TABLE = KeyTable(
    "toy",
    (
        Key("bucket", "string", "the bucket", shown="required"),
        Key("secure", "bool", "HTTPS", default=True),
        Key("chunksize", "size", "part size", 10 * MiB, 5 * MiB, 64 * MiB),
        Key("threads", "limit", "calls at once", default=100, minimum=25),
        Key("delay", "duration", "backoff base", default=0.1, shown="`100ms`"),
        Key("timeout", "seconds", "seconds a call may take", 60.0, maximum=600),
        Key("class", "string", "storage class", "STANDARD", choices=("STANDARD", "COLD"), fold="upper"),
        Key("password", "string", "the password", secret=True),
    ),
)


def test_a_key_missing_from_the_table_is_rejected_naming_it_and_the_driver() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        TABLE.parse({"bucket": "b", "rootdirectory": "/x"})
    assert (caught.value.driver, caught.value.parameter) == ("toy", "rootdirectory")
    assert caught.value.reason.startswith("unknown parameter; known: bucket, chunksize, class, delay")
    with pytest.raises(InvalidParameterError) as caught:
        TABLE.parse({"rootdirectory": "/x"}, driver="toy2")  # a driver sharing the table names itself
    assert caught.value.driver == "toy2"


def test_values_are_typed_and_defaults_filled() -> None:
    values = TABLE.parse(
        {"bucket": "b", "secure": "false", "chunksize": "8388608", "threads": "0x10", "delay": "1m30s"}
    )
    assert values["bucket"] == "b"
    assert values["secure"] is False
    assert values["chunksize"] == 8 * MiB
    assert values["threads"] == 25  # a limit below its minimum is raised to it
    assert values["delay"] == 90.0
    assert values["timeout"] == 60.0
    assert values["class"] == "STANDARD"
    assert values["password"] == ""
    assert values.given == {"bucket", "secure", "chunksize", "threads", "delay"}
    assert TABLE.parse({"class": "cold", "timeout": "2.5"})["class"] == "COLD"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("secure", "maybe", "must be a boolean"),
        ("chunksize", 64 * MiB + 1, "between 5242880 and 67108864"),
        ("chunksize", "9" * 100_000, "between"),
        ("threads", 5000, "at most 4096"),
        ("delay", "soon", "must be a duration"),
        ("timeout", 0, "above 0"),
        ("timeout", "x", "number of seconds"),
        ("class", "WARM", "must be one of STANDARD, COLD"),
        ("bucket", ["b"], "must be a string"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(key: str, value: object, words: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        TABLE.parse({key: value})
    assert caught.value.parameter == key
    assert words in caught.value.reason
    assert len(str(caught.value)) < 300


def test_a_secret_value_is_never_quoted() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        TABLE.parse({"password": ["hunter2-secret"]})
    assert caught.value.parameter == "password"
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)
    values = TABLE.parse({"password": "hunter2-secret"})
    assert values["password"] == "hunter2-secret"
    assert "hunter2" not in repr(values)


def test_only_restricts_the_table() -> None:
    engine = TABLE.only(["chunksize", "threads"])
    assert engine.names == ("chunksize", "threads")
    assert engine.parse({"chunksize": 6 * MiB})["chunksize"] == 6 * MiB
    with pytest.raises(InvalidParameterError) as caught:
        engine.parse({"bucket": "b"})
    assert caught.value.parameter == "bucket"


def test_a_key_listed_twice_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        KeyTable("toy", (Key("a", "bool", "x"), Key("a", "int", "y")))


def test_the_table_is_its_documentation() -> None:
    text = TABLE.markdown()
    assert text.startswith("| name | type | default | storage_options | meaning |\n|---|---|---|---|---|\n")
    assert "| `bucket` | string | required |  | the bucket |" in text
    assert "| `secure` | bool | `true` |  | HTTPS |" in text
    assert "| `chunksize` | size, 5 MiB .. 64 MiB | 10 MiB |  | part size |" in text
    assert "| `threads` | limit, 25 .. 4096 | 100 |  | calls at once |" in text
    assert "| `delay` | duration | `100ms` |  | backoff base |" in text
    assert "| `class` | string | `STANDARD` |  | storage class; one of `STANDARD`, `COLD` (any case) |" in text
    assert "| `password` | string, *secret* |  |  | the password |" in text
    assert len(text.splitlines()) == 2 + len(TABLE.keys)
