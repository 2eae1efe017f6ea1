"""The base wrapper: validation, error naming, the regulator, logging and tracing."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

import pytest

import distfs
from distfs.base import Base
from distfs.driver import EPOCH, FileInfo, FileWriter, WalkFn


class Recorder(distfs.StorageDriver):
    """An inner driver that records calls and can be told to fail or to block."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: BaseException | None = None
        self.delay = 0.0
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "recorder"

    def _enter(self, method: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((method, args))
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.delay:
                time.sleep(self.delay)
            if self.fail is not None:
                raise self.fail
        finally:
            with self._lock:
                self.active -= 1

    def get_content(self, path: str) -> bytes:
        self._enter("get_content", path)
        return b""

    def put_content(self, path: str, content: bytes) -> None:
        self._enter("put_content", path, content)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        self._enter("reader", path, offset)
        raise AssertionError("not used")

    def writer(self, path: str, append: bool = False) -> FileWriter:
        self._enter("writer", path, append)
        raise AssertionError("not used")

    def stat(self, path: str) -> FileInfo:
        self._enter("stat", path)
        return FileInfo(path, 0, EPOCH, True)

    def list(self, path: str) -> list[str]:
        self._enter("list", path)
        return []

    def move(self, source: str, dest: str) -> None:
        self._enter("move", source, dest)

    def delete(self, path: str) -> None:
        self._enter("delete", path)

    def walk(self, path: str, fn: WalkFn, *, start_after_hint: str = "") -> None:
        self._enter("walk", path)
        fn(FileInfo(path + "/x" if path != "/" else "/x", 1, EPOCH, False))


@pytest.fixture
def inner() -> Recorder:
    return Recorder()


CALLS: list[tuple[str, Callable[[distfs.StorageDriver, str], object]]] = [
    ("get_content", lambda d, p: d.get_content(p)),
    ("put_content", lambda d, p: d.put_content(p, b"x")),
    ("reader", lambda d, p: d.reader(p, 0)),
    ("writer", lambda d, p: d.writer(p)),
    ("stat", lambda d, p: d.stat(p)),
    ("list", lambda d, p: d.list(p)),
    ("move source", lambda d, p: d.move(p, "/ok")),
    ("move dest", lambda d, p: d.move("/ok", p)),
    ("delete", lambda d, p: d.delete(p)),
    ("redirect_url", lambda d, p: d.redirect_url(p)),
    ("walk", lambda d, p: d.walk(p, lambda info: None)),
]
ROOT_OK = {"stat", "list", "walk"}


@pytest.mark.parametrize(("method", "call"), CALLS, ids=[c[0] for c in CALLS])
@pytest.mark.parametrize("path", ["", "a", "/a/", "//a", "/a/../b", "/a*", "/"])
def test_invalid_paths_never_reach_the_inner_driver(
    inner: Recorder, method: str, call: Callable[[distfs.StorageDriver, str], object], path: str
) -> None:
    driver = Base(inner)
    if path == "/" and method in ROOT_OK:
        call(driver, path)
        assert len(inner.calls) == 1
        return
    with pytest.raises(distfs.InvalidPathError) as info:
        call(driver, path)
    assert info.value.path == path
    assert info.value.driver_name == "recorder"
    assert str(info.value) == f"recorder: invalid path: {path}"
    assert inner.calls == []


def test_move_checks_the_source_first(inner: Recorder) -> None:
    with pytest.raises(distfs.InvalidPathError) as info:
        Base(inner).move("bad-source", "bad-dest")
    assert info.value.path == "bad-source"


@pytest.mark.parametrize("offset", [-1, -(2**40), "1", 1.5, None, True])
def test_reader_checks_the_offset_before_the_path(inner: Recorder, offset: Any) -> None:
    with pytest.raises(distfs.InvalidOffsetError) as info:
        Base(inner).reader("not a path", offset)
    assert info.value.offset == offset
    assert info.value.path == "not a path"
    assert inner.calls == []


def test_typed_errors_get_the_driver_name(inner: Recorder) -> None:
    inner.fail = distfs.PathNotFoundError("/a")
    with pytest.raises(distfs.PathNotFoundError) as info:
        Base(inner).get_content("/a")
    assert str(info.value) == "recorder: Path not found: /a"


def test_other_errors_become_driver_errors(inner: Recorder) -> None:
    cause = ConnectionResetError("peer went away")
    inner.fail = cause
    with pytest.raises(distfs.DriverError) as info:
        Base(inner).stat("/a")
    assert info.value.detail == "peer went away"
    assert info.value.__cause__ is cause
    assert str(info.value) == "recorder: peer went away"


def test_walk_callback_errors_are_named(inner: Recorder) -> None:
    def fn(info: FileInfo) -> None:
        raise KeyError("from the callback")

    with pytest.raises(distfs.DriverError) as info:
        Base(inner).walk("/", fn)
    assert isinstance(info.value.__cause__, KeyError)


def test_put_content_needs_bytes(inner: Recorder) -> None:
    with pytest.raises(distfs.DriverError, match="must be bytes"):
        Base(inner).put_content("/a", "text")  # type: ignore[arg-type]
    Base(inner).put_content("/a", bytearray(b"ok"))
    assert inner.calls == [("put_content", ("/a", b"ok"))]


def test_keyboard_interrupt_is_not_wrapped(inner: Recorder) -> None:
    inner.fail = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        Base(inner).list("/")


def test_regulator_bounds_concurrent_calls(inner: Recorder) -> None:
    inner.delay = 0.02
    driver = Base(inner, max_concurrency=3)
    threads = [threading.Thread(target=driver.stat, args=("/a",)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inner.peak == 3
    assert len(inner.calls) == 20


def test_regulator_releases_slots_on_errors(inner: Recorder) -> None:
    inner.fail = OSError("boom")
    driver = Base(inner, max_concurrency=1)
    for _ in range(5):
        with pytest.raises(distfs.DriverError):
            driver.stat("/a")
    inner.fail = None
    driver.stat("/a")


def test_walk_takes_no_slot(inner: Recorder) -> None:
    driver = Base(inner, max_concurrency=1)
    # The callback calls the driver again; with a slot held by the walk this would deadlock.
    driver.walk("/", lambda info: driver.stat(info.path))
    assert [c[0] for c in inner.calls] == ["walk", "stat"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, 100),
        (100, 100),
        ("100", 100),
        (1, 25),
        ("5", 25),
        (812, 812),
        ("0x20", 32),
        ("010", 25),
        ("0100", 64),
        (0, 25),
        (-4, 25),
        ("  50 ", 50),
        ("1_000", 1000),
    ],
)
def test_maxthreads_rules(tmp_path: Any, value: Any, expected: int) -> None:
    parameters = {"rootdirectory": str(tmp_path)}
    if value is not None:
        parameters["maxthreads"] = value
    driver = distfs.create("filesystem", parameters)
    assert isinstance(driver, Base)
    assert driver.max_concurrency == expected


@pytest.mark.parametrize("value", ["fail", "-5", "1.5", 2.5, True, "", "0x", "1__0", [1]])
def test_bad_maxthreads_is_named(tmp_path: Any, value: Any) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("filesystem", {"rootdirectory": str(tmp_path), "maxthreads": value})
    assert info.value.parameter == "maxthreads"
    assert info.value.driver == "filesystem"
    assert "maxthreads" in str(info.value)


def test_unknown_parameters_are_rejected(tmp_path: Any) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("filesystem", {"rootdirectory": str(tmp_path), "rootdir": "/x"})
    assert info.value.parameter == "rootdir"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("inmemory", {"anything": 1})
    assert info.value.parameter == "anything"


def test_calls_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    driver = distfs.create("inmemory")
    with caplog.at_level(logging.DEBUG, logger="distfs"):
        driver.put_content("/a/b", b"x")
        with pytest.raises(distfs.PathNotFoundError):
            driver.get_content("/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "distfs"]
    assert any(line.startswith("inmemory PutContent /a/b ") for line in lines)
    assert any("GetContent /missing" in line and "PathNotFoundError" in line for line in lines)


TRACING = """
import json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import distfs

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

driver = distfs.create("inmemory")
driver.put_content("/a/b", b"12345")
driver.get_content("/a/b")
driver.reader("/a/b", 2).read()
w = driver.writer("/a/c", append=False); w.write(b"x"); w.commit(); w.close()
driver.stat("/a/b")
driver.list("/a")
driver.move("/a/c", "/a/d")
driver.redirect_url("/a/b")
driver.walk("/", lambda info: None)
driver.delete("/a")
try:
    driver.get_content("/a/b")
except distfs.PathNotFoundError:
    pass
print(json.dumps([
    {"name": s.name, "attributes": dict(s.attributes), "status": s.status.status_code.name}
    for s in exporter.get_finished_spans()
]))
"""


def test_spans_use_go_names_and_attributes() -> None:
    result = subprocess.run([sys.executable, "-c", TRACING], capture_output=True, text=True, check=True)
    spans = json.loads(result.stdout)
    assert [s["name"] for s in spans] == [
        "PutContent",
        "GetContent",
        "Reader",
        "Writer",
        "Stat",
        "List",
        "Move",
        "RedirectURL",
        "Walk",
        "Delete",
        "GetContent",
    ]
    prefix = "io.cncf.distribution.storage."
    for span in spans:
        assert span["attributes"][prefix + "driver.name"] == "inmemory"
    put, _, reader, writer, *_ = spans
    assert put["attributes"][prefix + "path"] == "/a/b"
    assert put["attributes"][prefix + "content.length"] == 5
    assert reader["attributes"][prefix + "offset"] == 2
    assert writer["attributes"][prefix + "append"] is False
    move = spans[6]
    assert move["attributes"][prefix + "source.path"] == "/a/c"
    assert move["attributes"][prefix + "dest.path"] == "/a/d"
    assert spans[-1]["status"] == "ERROR"
    assert spans[0]["status"] == "UNSET"


TRACING_LATE = """
import sys
import distfs

driver = distfs.create("inmemory")
driver.put_content("/a", b"untraced")  # OpenTelemetry not imported: distfs does not import it
assert "opentelemetry" not in sys.modules
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
driver.get_content("/a")
print([s.name for s in exporter.get_finished_spans()])
"""


def test_a_tracer_provider_set_after_the_first_call_is_used() -> None:
    result = subprocess.run([sys.executable, "-c", TRACING_LATE], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['GetContent']"


def test_unwrap_reaches_the_driver_below_middleware_and_base(inner: Recorder) -> None:
    """docs/extension.md: ``unwrap()`` walks down middleware and Base; a driver that wraps none says None."""
    from distfs.middleware import Middleware

    base = Base(inner)
    stack = Middleware(Middleware(base))
    seen: list[distfs.StorageDriver] = []
    below: distfs.StorageDriver | None = stack
    while below is not None:
        seen.append(below)
        below = below.unwrap()
    assert seen[2:] == [base, inner]
    assert [type(driver).__name__ for driver in seen[:2]] == ["Middleware", "Middleware"]
