"""Hostile configurations: typed errors naming the key, no secrets, bounded work, Go's typing.

Issue 17, items 2 to 6: every configuration mistake is a ``ConfigError`` naming the key
path or variable; secret values never reach a message or a traceback; YAML aliases
cannot blow the document up; environment overrides are typed as the Go registry's
yaml.v2 types them; middleware builds only http(s) URLs of percent-encoded paths.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import distfs
from distfs.middleware import apply_middleware

SECRET = "TOPSECRET-9f3kq"


def text_of(error: BaseException) -> str:
    """Everything a user could see of ``error``: its message and its formatted traceback."""
    return str(error) + "".join(traceback.format_exception(error))


# -- item 2: secrets never shown ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f'storage:\n  s3:\n    bucket: b\n    secretkey: "{SECRET}\n    region: x\n',  # unclosed quote
        f"storage:\n  s3:\n    secretkey: {SECRET}: more\n",  # a colon inside a plain value
        f"storage:\n  s3:\n    secretkey: *{SECRET}\n",  # an undefined alias
        f"storage:\n  s3:\n    secretkey: [{SECRET}\n",
        f"storage:\n  s3:\n    secretkey: !!int {SECRET}\n",
    ],
)
def test_yaml_errors_never_show_the_text(text: str, tmp_path: Path) -> None:
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.load_config(text, environ={})
    assert SECRET not in text_of(caught.value)
    assert "(line " in str(caught.value)
    config = tmp_path / "config.yml"
    config.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "distfs.tools.cli", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "not valid YAML" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("value", [f"{SECRET}: [x", f'"{SECRET}', f"*{SECRET}", f"[{SECRET}", f"{{{SECRET}"])
def test_env_override_that_is_not_yaml_never_shows_the_value(value: str) -> None:
    variable = "REGISTRY_STORAGE_S3_SECRETKEY"
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.load_config("storage: {s3: {bucket: b}}", environ={variable: value})
    assert caught.value.key == variable
    assert SECRET not in text_of(caught.value)


@pytest.mark.parametrize("key", ["secretkey", "accesskey", "sessiontoken"])
def test_secret_parameter_of_a_wrong_type_is_not_quoted(key: str) -> None:
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.from_config({"storage": {"s3": {"bucket": "b", "region": "us-east-1", key: [SECRET]}}}, environ={})
    assert caught.value.key == f"storage.s3.{key}"
    assert SECRET not in text_of(caught.value)


# -- item 3: malformed shapes are ConfigErrors naming the key ---------------------------


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"storage": {None: {}}}, "storage"),
        ({"storage": {1: {}}}, "storage"),
        ({"storage": {"inmemory": {1: "x"}}}, "storage.inmemory"),
        ({"storage": {"inmemory": {None: "x"}}}, "storage.inmemory"),
        ({"storage": "inmemory", "middleware": ["redirect"]}, "middleware"),
        ({"storage": "inmemory", "middleware": {"storage": {"name": "x"}}}, "middleware.storage"),
        ({"storage": "inmemory", "middleware": {"storage": ["redirect"]}}, "middleware.storage[0]"),
        ({"storage": "inmemory", "middleware": {"storage": [{"name": ["x"]}]}}, "middleware.storage[0].name"),
        (
            {"storage": "inmemory", "middleware": {"storage": [{"name": "redirect", "options": ["x"]}]}},
            "middleware.storage[0].options",
        ),
        (
            {"storage": "inmemory", "middleware": {"storage": [{"name": "redirect", "options": "x"}]}},
            "middleware.storage[0].options",
        ),
        ({"storage": "inmemory", "health": ["x"]}, "health"),
        ({"storage": "inmemory", "health": {"storagedriver": ["x"]}}, "health.storagedriver"),
        ({"storage": "inmemory", "health": {"storagedriver": "on"}}, "health.storagedriver"),
        ({"storage": {"inmemory": {}, "delete": ["x"]}}, "storage.delete"),
    ],
)
def test_malformed_shapes_name_the_key(document: dict[Any, Any], key: str) -> None:
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.from_config(document, environ={})
    assert caught.value.key == key


def test_env_override_below_a_scalar_storage_is_typed() -> None:
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.load_config("storage: [a]", environ={"REGISTRY_STORAGE_S3_BUCKET": "b"})
    assert caught.value.key == "REGISTRY_STORAGE_S3_BUCKET"


def test_middleware_options_must_be_a_mapping() -> None:
    with pytest.raises(distfs.InvalidParameterError) as caught:
        apply_middleware(distfs.create("inmemory"), "redirect", ["baseurl"])  # type: ignore[arg-type]
    assert caught.value.parameter == "options"


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["inmemory", "redirect", "rewrite", "cloudfront", "name", "options", "storage", "disabled"]),
)
_keys = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.sampled_from(["name"]))
_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(_keys, inner, max_size=3),
        st.fixed_dictionaries({"name": inner, "options": inner}),
    ),
    max_leaves=12,
)
_documents = st.fixed_dictionaries(
    {},
    optional={
        "storage": st.one_of(_values, st.dictionaries(_keys, _values, max_size=2), st.just("inmemory")),
        "middleware": st.one_of(_values, st.fixed_dictionaries({"storage": st.lists(_values, max_size=3)})),
        "health": st.one_of(_values, st.fixed_dictionaries({"storagedriver": _values})),
    },
)


@given(document=_documents)
@settings(max_examples=200, database=None, deadline=None)
def test_any_document_gives_a_driver_or_a_config_error(document: dict[str, Any]) -> None:
    """Item 3: whatever the shapes, only ConfigError escapes (no KeyError, TypeError, ...)."""
    message = ""
    try:
        distfs.from_config(document, environ={})
    except distfs.ConfigError as error:
        message = str(error)
    assert len(message) < 2000


# -- item 4: alias bombs -----------------------------------------------------------------

# 623 bytes: nine levels of nine aliases each, about 387 million nodes once expanded.
BOMB = (
    "storage: inmemory\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def test_alias_bomb_is_refused_at_once() -> None:
    start = time.perf_counter()
    with pytest.raises(distfs.ConfigError, match="aliases are expanded"):
        distfs.load_config(BOMB, environ={})
    with pytest.raises(distfs.ConfigError, match="aliases are expanded"):
        distfs.load_config("storage: inmemory", environ={"REGISTRY_STORAGE_INMEMORY_X": BOMB})
    assert time.perf_counter() - start < 5


def test_alias_bomb_in_a_parameter_is_not_quoted() -> None:
    """A value built from aliases below the bound is still described briefly, never repr'd."""
    text = "storage:\n  filesystem:\n    maxthreads: &a [[x, x, x], [x, x, x]]\n    rootdirectory: *a\n"
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.from_config(text, environ={})
    assert "'x'" not in str(caught.value)
    assert len(str(caught.value)) < 300


def test_recursive_alias_and_deep_nesting_are_refused() -> None:
    with pytest.raises(distfs.ConfigError, match="contains it"):
        distfs.load_config("storage: inmemory\nx: &x [*x]\n", environ={})
    with pytest.raises(distfs.ConfigError, match="levels deep"):
        distfs.load_config("storage: inmemory\nx: " + "[" * 5000 + "]" * 5000 + "\n", environ={})


def test_anchors_and_merge_keys_below_the_bound_still_work() -> None:
    text = "common: &c {region: us-east-1, bucket: b}\nstorage:\n  s3:\n    <<: *c\n    bucket: mine\n"
    assert distfs.load_config(text, environ={}).parameters == {"region": "us-east-1", "bucket": "mine"}


# -- item 5: environment typing as the Go registry's yaml.v2 ----------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # gopkg.in/yaml.v2 v2.4.0 resolve.go, as configuration/parser.go uses it
        ("12:34:56", "12:34:56"),  # no base 60 (PyYAML/YAML 1.1: 45296)
        ("0123", 83),  # strconv.ParseInt(s, 0, 64): octal, as YAML 1.1
        ("0x1F", 31),
        ("0o17", 15),  # PyYAML: a string
        ("0b101", 5),
        ("-0b101", -5),
        ("1_000", 1000),
        ("08", 8.0),  # not octal, so the float rule
        ("yes", True),
        ("on", True),
        ("y", True),  # PyYAML: a string
        ("N", False),
        ("off", False),
        ("1e3", 1000.0),  # PyYAML: a string
        (".5", 0.5),
        ("1e999", "1e999"),  # Go's ParseFloat fails on overflow
        ("~", None),
        ("", None),
        ("null", None),
        ("2001-12-14", "2001-12-14"),  # timestamps stay strings in an ``any``
        ("18446744073709551615", 2**64 - 1),  # ParseUint
        ("'0123'", "0123"),
        ("true", True),
        ("+1", 1),
        ("x:y", "x:y"),
    ],
)
def test_env_values_are_typed_as_go_yaml_v2(text: str, expected: Any) -> None:
    config = distfs.load_config("storage: inmemory", environ={"REGISTRY_STORAGE_INMEMORY_X": text})
    got = config.parameters["x"]
    assert got == expected
    assert type(got) is type(expected)


def test_go_float_words() -> None:
    from distfs import goyaml

    assert math.isnan(goyaml.load(".nan"))
    assert goyaml.load("-.Inf") == -math.inf
    assert goyaml.load("[1, {a: 0x10}]") == [1, {"a": 16}]


# -- item 6: middleware URLs -------------------------------------------------------------


def test_redirect_percent_encodes_the_path() -> None:
    driver = distfs.create("inmemory", {"paths": "portable"})
    redirect = apply_middleware(driver, "redirect", {"baseurl": "https://cdn.example/base/"})
    assert redirect.redirect_url("/a?x") == "https://cdn.example/base/a%3Fx"
    assert redirect.redirect_url("/a#b/c d/%41/ä") == "https://cdn.example/base/a%23b/c%20d/%2541/%C3%A4"
    assert redirect.redirect_url("/plain-path/x_1.2~") == "https://cdn.example/base/plain-path/x_1.2~"


@pytest.mark.parametrize(
    "base", ["javascript://x/alert", "file:///etc", "ftp://example.com", "data://x", "JAVASCRIPT://x"]
)
def test_only_http_base_urls(base: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as caught:
        apply_middleware(distfs.create("inmemory"), "redirect", {"baseurl": base})
    assert caught.value.parameter == "baseurl"
    with pytest.raises(distfs.InvalidParameterError) as caught:
        apply_middleware(distfs.create("inmemory"), "rewrite", {"scheme": base.split(":", maxsplit=1)[0]})
    assert caught.value.parameter == "scheme"


@pytest.mark.parametrize("middleware", ["redirect", "cloudfront"])
@pytest.mark.parametrize("base", ["http://[::1", "https://[cdn.example/x", "http://]"])
def test_a_malformed_base_url_is_a_config_error_naming_the_key(middleware: str, base: str) -> None:
    """Issue 27: ``http://[::1`` (urlsplit's ValueError) names middleware.storage[0].options.baseurl."""
    options = {"baseurl": base, "privatekey": "/nonexistent.pem", "keypairid": "K"}
    document = {"storage": "inmemory", "middleware": {"storage": [{"name": middleware, "options": options}]}}
    with pytest.raises(distfs.ConfigError) as caught:
        distfs.from_config(document, environ={})
    assert caught.value.key == "middleware.storage[0].options.baseurl"
    assert "not a valid URL" in str(caught.value)


def test_long_values_are_quoted_by_a_short_prefix() -> None:
    long_url = "javascript://" + "x" * 100_000
    with pytest.raises(distfs.InvalidParameterError) as caught:
        apply_middleware(distfs.create("inmemory"), "redirect", {"baseurl": long_url})
    assert len(str(caught.value)) < 200


@given(
    text=st.one_of(
        st.text(max_size=60), st.sampled_from(["storage: inmemory\x00", "\ud800: x", "a" * 5000, "&a [*a]"])
    ),
    variable=st.sampled_from(["REGISTRY_STORAGE", "REGISTRY_STORAGE_INMEMORY_X", "REGISTRY_STORAGE_S3"]),
)
@settings(max_examples=200, database=None, deadline=None)
def test_any_text_gives_a_config_or_a_config_error(text: str, variable: str) -> None:
    """Arbitrary text as the file or as an override: a configuration or a ConfigError."""
    for source, environ in ((text, {}), ("storage: inmemory", {variable: text})):
        message = ""
        try:
            distfs.load_config(source, environ=environ)
        except distfs.ConfigError as error:
            message = str(error)
        assert len(message) < 2000


@pytest.mark.parametrize("source", [5, None, b"storage: inmemory", ["storage"]])
def test_source_of_a_wrong_type(source: Any) -> None:
    with pytest.raises(distfs.ConfigError, match="a configuration is a path"):
        distfs.load_config(source, environ={})
