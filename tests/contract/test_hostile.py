"""Hostile input: only the documented typed errors ever escape a driver.

Hypothesis throws generated paths (arbitrary text, ``..``, ``//``, NUL, very long,
unicode, trailing slashes, the reserved ``.distfs~`` name, non-strings), offsets
(negative, huge, wrong types), content, walk hints, HTTP methods, ``append`` flags and
writer data through every public method of every driver (the cloud ones on their local
servers), and ``distfs.create`` parameters (wrong types, negative and huge sizes, unknown
keys, empty strings) through every driver factory. Each call either succeeds or raises
one of the distfs error tree -- ``PathNotFoundError``, ``InvalidPathError``,
``InvalidOffsetError``, ``UnsupportedMethodError``, ``DriverError`` (all
``StorageDriverError``), ``InvalidParameterError``, ``InvalidStorageDriverError`` --
naming the driver, and the path, offset or parameter where the error type carries one.

The expected outcome of path validation comes from an independent oracle (the registry
pattern of DESIGN section 3, written here), not from :mod:`distfs.paths`.

While these tests run, an audit hook refuses (and records) any socket connection or name
lookup that is not for 127.0.0.1 / localhost: a fuzzed parameter must never make a
driver reach another address.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import PROFILES

import distfs
from distfs import (
    DriverError,
    InvalidOffsetError,
    InvalidParameterError,
    InvalidPathError,
    InvalidStorageDriverError,
    PathNotFoundError,
    StorageDriverError,
    factory,
)
from distfs.testing import long_mode

ALL_DRIVERS = list(PROFILES)
TYPED = (StorageDriverError, InvalidParameterError, InvalidStorageDriverError)

_REGISTRY_PATH = re.compile(r"(/[A-Za-z0-9._-]+)+")


def valid_path(path: object, *, root_ok: bool) -> bool:
    """DESIGN section 3: the registry pattern, no ``.``/``..``/reserved components; ``/`` where allowed."""
    if not isinstance(path, str):
        return False
    if path == "/":
        return root_ok
    if _REGISTRY_PATH.fullmatch(path) is None:
        return False
    return all(part not in (".", "..", ".distfs~") for part in path[1:].split("/"))


# -- no address but the local servers -------------------------------------------------

_guard = {"on": False}  # process-wide: fsspec does its I/O on its own threads
_refused: list[str] = []
_LOCAL = {"127.0.0.1", "localhost", "::1"}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _guard["on"]:
        return
    host: object = None
    if event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    elif event == "socket.getaddrinfo":
        host = args[0]
    if host is not None and str(host) not in _LOCAL:
        _refused.append(f"{event} {host}")
        raise OSError(f"test guard: no connections to {host}")


sys.addaudithook(_audit)  # process-wide and permanent, but inert unless a test here enables it


@pytest.fixture(autouse=True)
def local_only() -> Iterator[None]:
    """Refuse non-local connections during the test; fail it if one was attempted."""
    _refused.clear()
    _guard["on"] = True
    try:
        yield
    finally:
        _guard["on"] = False
    assert not _refused, f"a driver tried to reach another address: {_refused[:5]}"


# -- strategies -----------------------------------------------------------------------

NASTY_PATHS = [
    "",
    "/",
    "//",
    "/a/",
    "//a",
    "/a//b",
    "a",
    "a/b",
    "/.",
    "/..",
    "/a/..",
    "/a/../..",
    "/../etc/passwd",
    "/a/./b",
    "/a\x00b",
    "/\x00",
    "/a\nb",
    "/a b",
    "/a\\b",
    "\\a",
    "/%2e%2e/x",
    "/ä",
    "/日本",
    "/\udcff",
    "/.distfs~",
    "/.distfs~/uploads",
    "/.distfs~/uploads/a/.distfs~/data",
    "/a/.distfs~",
    "/" + "a" * 5000,
    "/" + "/".join(["a"] * 2000),
    "/a" * 300,
    "/a~",
    "/a*",
    "/a?b",
    "/a#b",
    "/a;b",
    " /a",
    "/a ",
]
NOT_STRINGS: list[object] = [None, 0, 1, -1, 1.5, b"/a", bytearray(b"/a"), ["/a"], {"/a": 1}, ("/a",), object(), True]

#: Existing content each store holds before the fuzzing starts.
PRELOADED = {"/a": b"alpha", "/b/c": b"bravo-charlie", "/a-b/x": b"x"}

valid_names = st.sampled_from(["a", "b", "c", "x", "a-b", "A.b_9", "ab"])
valid_paths = st.lists(valid_names, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
path_values: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(NASTY_PATHS),
    st.sampled_from(list(PRELOADED)),
    valid_paths,
    st.text(max_size=40),
    st.text(max_size=20).map(lambda s: "/" + s),
    st.sampled_from(NOT_STRINGS),
)
offsets: st.SearchStrategy[Any] = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 5, 13, 2**31, 2**63 - 1, 2**63, 2**64]),
    st.sampled_from([None, 1.0, "1", b"1", True, False, [], -0.5]),
)
contents: st.SearchStrategy[Any] = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([None, "text", 1, [], bytearray(b"ba"), memoryview(b"mv"), 3.5, {"a": 1}]),
)
methods: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "POST", "get", "", "G\r\nX: y", "GET ", "\x00"]),
    st.text(max_size=12),
    st.sampled_from([None, 1, b"GET", ["GET"]]),
)
hints: st.SearchStrategy[Any] = st.one_of(path_values, st.sampled_from([None, 1, b"/a"]))


# -- checking one call ----------------------------------------------------------------


def outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return call(), None
    except TYPED as error:
        return None, error
    except Exception as error:  # this is what the test is about
        raise AssertionError(f"untyped {type(error).__name__} escaped: {error!r}") from error


def check_named(error: BaseException, driver: distfs.StorageDriver) -> None:
    assert isinstance(error, StorageDriverError), f"{type(error).__name__}: {error}"
    assert error.driver_name == driver.name
    assert str(error).startswith(f"{driver.name}: ")


def check_path_call(
    driver: distfs.StorageDriver, call: Callable[[], Any], path: object, *, root_ok: bool = False
) -> Any:
    """Run ``call`` on ``path``: an invalid path must give InvalidPathError naming it."""
    result, error = outcome(call)
    if not valid_path(path, root_ok=root_ok):
        assert isinstance(error, InvalidPathError), f"{path!r}: expected InvalidPathError, got {error!r}"
        assert error.path == str(path)
    if error is not None:
        check_named(error, driver)
        if isinstance(error, PathNotFoundError | InvalidPathError):
            assert error.path == str(path) or isinstance(error, PathNotFoundError)
    return result


def fuzz_operation(driver: distfs.StorageDriver, data: st.DataObject) -> str:
    """Draw one public method and hostile arguments, call it, check the outcome."""
    method = data.draw(
        st.sampled_from(
            ["get_content", "put_content", "reader", "writer", "stat", "list", "move", "delete", "redirect", "walk"]
        )
    )
    path = data.draw(path_values, label="path")
    if method == "get_content":
        got = check_path_call(driver, lambda: driver.get_content(path), path)
        if got is not None:
            assert isinstance(got, bytes)
    elif method == "put_content":
        content: Any = data.draw(contents, label="content")
        _, error = outcome(lambda: driver.put_content(path, content))
        if not valid_path(path, root_ok=False):
            assert isinstance(error, InvalidPathError)
        elif not isinstance(content, bytes | bytearray | memoryview):
            assert isinstance(error, DriverError)
        if error is not None:
            check_named(error, driver)
    elif method == "reader":
        offset: Any = data.draw(offsets, label="offset")
        stream, error = outcome(lambda: driver.reader(path, offset))
        good_offset = isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0
        if not good_offset:
            assert isinstance(error, InvalidOffsetError), f"offset {offset!r}: got {error!r}"
            assert error.offset == offset
        elif not valid_path(path, root_ok=False):
            assert isinstance(error, InvalidPathError)
        if error is not None:
            check_named(error, driver)
        else:
            with stream:
                body = stream.read()
            assert isinstance(body, bytes)
            if isinstance(path, str) and path in PRELOADED and driver.get_content(path) == PRELOADED[path]:
                assert body == PRELOADED[path][offset:]
    elif method == "writer":
        append: Any = data.draw(st.one_of(st.booleans(), st.sampled_from([None, 0, 1, "yes", "", [], 2.5])))
        chunk: Any = data.draw(contents, label="write data")
        finish = data.draw(st.sampled_from(["close", "cancel", "commit"]))
        writer = check_path_call(driver, lambda: driver.writer(path, append), path)
        if writer is not None:
            written, error = outcome(lambda: writer.write(chunk))
            if error is not None:
                check_named(error, driver)
                assert not isinstance(chunk, bytes | bytearray | memoryview), f"write of bytes failed: {error!r}"
            else:
                assert written == len(chunk)
            _, error = outcome(getattr(writer, finish))
            if error is not None:
                check_named(error, driver)
            if not writer.closed:
                outcome(writer.close)
    elif method == "stat":
        info = check_path_call(driver, lambda: driver.stat(path), path, root_ok=True)
        if info is not None:
            assert info.path == path
            assert info.size >= 0
    elif method == "list":
        listed = check_path_call(driver, lambda: driver.list(path), path, root_ok=True)
        if listed is not None:
            assert all(valid_path(child, root_ok=False) for child in listed), listed
    elif method == "move":
        dest = data.draw(path_values, label="dest")
        _, error = outcome(lambda: driver.move(path, dest))
        if not valid_path(path, root_ok=False):
            assert isinstance(error, InvalidPathError)
            assert error.path == str(path)
        elif not valid_path(dest, root_ok=False):
            assert isinstance(error, InvalidPathError)
            assert error.path == str(dest)
        if error is not None:
            check_named(error, driver)
    elif method == "delete":
        check_path_call(driver, lambda: driver.delete(path), path)
    elif method == "redirect":
        http_method: Any = data.draw(methods, label="method")
        url, error = outcome(lambda: driver.redirect_url(path, http_method))
        if not valid_path(path, root_ok=False):
            assert isinstance(error, InvalidPathError)
        elif not isinstance(http_method, str):
            assert isinstance(error, DriverError)
        if error is not None:
            check_named(error, driver)
        else:
            assert url is None or (isinstance(url, str) and url.startswith("http://127.0.0.1:")), url
    else:
        hint: Any = data.draw(hints, label="hint")
        seen: list[str] = []
        _, error = outcome(lambda: driver.walk(path, lambda info: seen.append(info.path), start_after_hint=hint))
        if not valid_path(path, root_ok=True):
            assert isinstance(error, InvalidPathError)
        elif not isinstance(hint, str):
            assert isinstance(error, DriverError)
        if error is not None:
            check_named(error, driver)
        assert all(valid_path(p, root_ok=False) for p in seen), seen
    return method


#: The methods :func:`fuzz_operation` calls that may change the store.
MUTATING = frozenset({"put_content", "writer", "move", "delete"})

HOSTILE = settings(
    max_examples=600 if long_mode() else 100,  # 100: every one of the 10 methods is drawn (1 - 3e-4)
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", ALL_DRIVERS)
def test_public_methods_raise_only_typed_errors(name: str, store_parameters: Callable[[str], dict[str, Any]]) -> None:
    """100 hostile calls per driver (600 with ``DISTFS_TEST_LONG=1``): every escaping error is a
    named distfs error.

    Each example starts from the same store content (everything listed is deleted, then
    PRELOADED is written, unless the examples since the last reset only called methods that
    change nothing: the reset is most of an example's requests); every draw happens before
    the call it feeds, so that what an earlier example left behind cannot change what
    hypothesis generates.
    """
    driver = distfs.create(name, store_parameters(name))
    calls: dict[str, int] = {}
    changed = [True]

    @given(data=st.data())
    @HOSTILE
    def fuzz(data: st.DataObject) -> None:
        if changed[0]:
            for top in driver.list("/"):
                driver.delete(top)
            for path, content in PRELOADED.items():
                driver.put_content(path, content)
        changed[0] = True  # until the call below returns: an example that failed may have changed anything
        method = fuzz_operation(driver, data)
        changed[0] = method in MUTATING
        calls[method] = calls.get(method, 0) + 1

    fuzz()
    print(f"\nhostile[{name}]: " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))
    assert sum(calls.values()) >= HOSTILE.max_examples
    assert len(calls) == 10  # every method was fuzzed


# -- distfs.create parameters ---------------------------------------------------------

#: The keys each driver takes: its table's (docs/contributing.md, Settings once).
KNOWN: dict[str, tuple[str, ...]] = {
    name: factory.builtin_keys(factory.BUILTIN_DRIVERS[name]).names for name in ALL_DRIVERS
}
#: Parameters naming an address or credentials source: only values no driver could use
#: as one are fuzzed there (the network guard would catch a driver that tried).
ADDRESSES = {"regionendpoint", "endpoint", "serviceurl", "redirectendpoint", "realm", "keyfile", "credentials"}
BAD_VALUES: list[object] = [-1, 0, 2**70, -(2**70), "", " ", "\x00", "-5", "0x", "1e9999", 1.5, [], {}, ["x"], b"x"]
ADDRESS_VALUES: list[object] = [-1, 2**70, 1.5, [], {}, ["x"], b"x", {"type": 1}]


@pytest.mark.parametrize("name", ALL_DRIVERS)
def test_create_parameters_raise_only_typed_errors(
    name: str, store_parameters: Callable[[str], dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fuzzed parameter values and unknown keys: success, or InvalidParameterError naming driver and key.

    Runs in ``tmp_path``: a fuzzed relative ``rootdirectory`` is created there.
    """
    monkeypatch.chdir(tmp_path)
    base = store_parameters(name)
    known = KNOWN[name]
    outcomes = {"created": 0, "refused": 0}

    keys = st.one_of(st.sampled_from(known), st.text(min_size=1, max_size=12)) if known else st.text(max_size=12)

    @given(key=keys, data=st.data())
    @settings(max_examples=60, database=None, deadline=None)
    def fuzz(key: str, data: st.DataObject) -> None:
        pool = ADDRESS_VALUES if key in ADDRESSES else BAD_VALUES
        value = data.draw(
            st.one_of(
                st.sampled_from(pool),
                st.integers(-(2**70), 2**70),
                st.text(max_size=8).filter(lambda _: key not in ADDRESSES),
            )
        )
        parameters = {**base, key: value}
        _, error = outcome(lambda: distfs.create(name, parameters))
        if key not in known and key != "paths":
            assert isinstance(error, InvalidParameterError), f"unknown key {key!r}: {error!r}"
        if error is not None:
            assert isinstance(error, InvalidParameterError), f"{key}={value!r}: {error!r}"
            assert error.driver == name
            assert str(error).startswith(f"{name}: ")
            named = error.parameter == key or error.parameter.split(".")[0] in known  # azure: credentials.type
            assert named, error.parameter
            outcomes["refused"] += 1
        else:
            outcomes["created"] += 1

    fuzz()
    print(f"\ncreate[{name}]: {outcomes}")
    assert outcomes["refused"] > 0


@given(name=st.one_of(st.text(max_size=20), st.sampled_from(["", "S3", "s3 ", "../s3", "azure\x00"])))
@settings(max_examples=50, database=None, deadline=None)
def test_unknown_driver_names(name: str) -> None:
    """An unregistered name is an InvalidStorageDriverError carrying it."""
    if name in distfs.driver_names():
        return
    with pytest.raises(InvalidStorageDriverError) as caught:
        distfs.create(name, {})
    assert caught.value.name == name


def test_bad_paths_parameter() -> None:
    """``paths`` other than registry/portable is an InvalidParameterError naming ``paths``."""
    for value in ["", "REGISTRY", "posix", None, 1, ["registry"]]:
        with pytest.raises(InvalidParameterError) as caught:
            distfs.create("inmemory", {"paths": value})
        assert caught.value.parameter == "paths"


# -- every numeric parameter has an upper bound (issue 17, item 1) ----------------------

#: Every numeric parameter of every built-in driver, read from its table.
NUMERIC = {
    name: tuple(
        key.name
        for key in factory.builtin_keys(factory.BUILTIN_DRIVERS[name]).keys
        if key.kind in ("int", "size", "limit", "seconds")
    )
    for name in ALL_DRIVERS
}


def test_numeric_parameters_are_read_from_the_tables() -> None:
    """The cloud drivers' numbers (issue 17) are all in their tables, so all bounded below."""
    assert {"chunksize", "multipartcopymaxconcurrency", "maxretries"} <= set(NUMERIC["s3"])
    assert {"chunksize", "maxconcurrency"} <= set(NUMERIC["gcs"])
    assert NUMERIC["filesystem"] == ("maxthreads",)


@pytest.mark.parametrize(("name", "key"), [(name, key) for name, keys in NUMERIC.items() for key in keys])
def test_numeric_parameters_have_upper_bounds(
    name: str, key: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    """Huge values are refused naming the key, and the message quotes a short prefix at most."""
    base = store_parameters(name)
    for value in (2**62, 2**63 - 1, str(2**62), "9" * 100_000, 10**10):
        with pytest.raises(InvalidParameterError) as caught:
            distfs.create(name, {**base, key: value})
        assert caught.value.parameter == key
        assert len(str(caught.value)) < 300, str(caught.value)[:400]


def test_parameter_messages_quote_a_short_prefix() -> None:
    """A value's text is cut short in a message; a container is named by its type only."""
    for value in ["x" * 1_000_000, [["x"] * 1000] * 1000, {"k": "v" * 10_000}, b"y" * 100_000]:
        with pytest.raises(InvalidParameterError) as caught:
            distfs.create("filesystem", {"rootdirectory": "/tmp", "maxthreads": value})
        assert len(str(caught.value)) < 300, str(caught.value)[:400]
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create("inmemory", {"k" * 100_000: 1})
    assert len(str(caught.value)) < 300


def test_create_with_parameters_that_are_not_a_mapping() -> None:
    for parameters in ([1, 2], "rootdirectory=/x", 5):
        with pytest.raises(InvalidParameterError) as caught:
            distfs.create("inmemory", parameters)  # type: ignore[arg-type]
        assert caught.value.parameter == "parameters"
    with pytest.raises(InvalidStorageDriverError):
        distfs.create("nosuch", [1])  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create("inmemory", {"paths": [["x"] * 1000] * 1000})
    assert len(str(caught.value)) < 200
