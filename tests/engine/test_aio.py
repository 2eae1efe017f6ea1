"""distfs.aio: the conformance suite through the async drivers, on all six drivers, and what only async has."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from profiles import PROFILES

import distfs
import distfs.aio
from distfs.aio import AsyncStorageDriver, blocking, wrap
from distfs.aio.driver import EngineDriver
from distfs.aio.offload import ThreadedDriver
from distfs.base import Base
from distfs.driver import FileInfo, SkipDir, StopWalk
from distfs.middleware import Middleware
from distfs.protocol import DistFileSystem
from distfs.testing import DriverSuite
from distfs.tools.local import LocalStores

DRIVERS = list(PROFILES)


class AsyncSuite(DriverSuite):
    """The conformance cases against ``blocking(async driver)``: every call takes the async code path."""

    store = ""
    plain: distfs.StorageDriver

    def make_driver(self, request: pytest.FixtureRequest) -> distfs.StorageDriver:  # type: ignore[override]
        stores: LocalStores = request.getfixturevalue("local_stores")
        self.__class__.plain = distfs.create(self.store, stores.parameters(self.store))
        return blocking(wrap(self.plain))

    def make_second_driver(self, driver: distfs.StorageDriver) -> distfs.StorageDriver:
        """A second async driver over a reopened instance of the same store."""
        assert isinstance(self.plain, Base)
        return blocking(wrap(self.plain.reopen()))


class TestAsyncInMemory(AsyncSuite):
    store = "inmemory"


class TestAsyncFilesystem(AsyncSuite):
    store = "filesystem"


class TestAsyncS3(AsyncSuite):
    store = "s3"


class TestAsyncGCS(AsyncSuite):
    store = "gcs"


class TestAsyncAzure(AsyncSuite):
    store = "azure"


class TestAsyncOSS(AsyncSuite):
    store = "oss"


# -- async only -------------------------------------------------------------------------


@pytest.fixture(params=DRIVERS)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run(local_stores: LocalStores, name: str, body: Callable[[AsyncStorageDriver], Awaitable[None]]) -> None:
    """Create the async driver with ``distfs.aio.create`` in a fresh loop, run ``body``, close it."""

    async def main() -> None:
        driver = await distfs.aio.create(name, local_stores.parameters(name))
        try:
            await body(driver)
        finally:
            await driver.close()

    asyncio.run(main())


def test_create_picks_the_engine_or_threads(local_stores: LocalStores, name: str) -> None:
    async def body(driver: AsyncStorageDriver) -> None:
        engine = PROFILES[name].engine  # every engine store, the generic one too
        assert isinstance(driver, EngineDriver if engine else ThreadedDriver)
        assert driver.name == name
        assert driver.max_concurrency == {"filesystem": 100, "gcs": 50}.get(name, distfs.aio.DEFAULT_CONCURRENCY)

    run(local_stores, name, body)


def test_engine_driver_is_the_faces_way_to_the_engine(tmp_path: Path) -> None:
    """docs/extension.md: distfs.aio.engine_driver, run and awaiting (what distfs:// uses)."""
    memory = distfs.create("inmemory")
    native = distfs.aio.engine_driver(memory)
    assert isinstance(native, EngineDriver)
    assert distfs.aio.engine_driver(distfs.create("filesystem", {"rootdirectory": str(tmp_path)})) is None  # blocking
    assert distfs.aio.engine_driver(Middleware(memory)) is None  # aio.wrap would use threads too
    distfs.aio.run(native.put_content("/a", b"on the loop"))
    assert memory.get_content("/a") == b"on the loop"

    async def elsewhere() -> bytes:  # another event loop than the engine's
        return await distfs.aio.awaiting(native.get_content("/a"))

    assert asyncio.run(elsewhere()) == b"on the loop"


def test_create_errors_as_the_sync_api() -> None:
    with pytest.raises(distfs.InvalidStorageDriverError):
        asyncio.run(distfs.aio.create("nosuchdriver"))
    with pytest.raises(distfs.InvalidParameterError, match="inmemory"):
        asyncio.run(distfs.aio.create("inmemory", {"bogus": 1}))


def test_streams_and_errors(local_stores: LocalStores, name: str) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB

    async def body(driver: AsyncStorageDriver) -> None:
        async with await driver.writer("/a/blob") as writer:
            for start in range(0, len(data), 100_000):
                assert await writer.write(data[start : start + 100_000]) == len(data[start : start + 100_000])
            assert writer.size == len(data)
        writer = await driver.writer("/a/blob", append=True)
        assert writer.size == len(data)
        await writer.write(b"tail")
        await writer.commit()
        await writer.close()
        with pytest.raises(distfs.DriverError, match=name):
            await writer.write(b"x")
        content = data + b"tail"
        async with await driver.reader("/a/blob", 10) as stream:
            assert stream.tell() == 10
            assert await stream.read(5) == content[10:15]
            assert await stream.seek(-4, 2) == len(content) - 4
            assert await stream.read() == b"tail"
            assert await stream.seek(3) == 3
            chunks = [chunk async for chunk in stream]
            assert b"".join(chunks) == content[3:]
            buffer = bytearray(7)
            await stream.seek(0)
            assert await stream.readinto(buffer) == 7
            assert bytes(buffer) == content[:7]
        assert await (await driver.reader("/a/blob", 1 << 70)).read() == b""
        assert (await driver.stat("/a")).is_dir
        assert await driver.list("/") == ["/a"]
        with pytest.raises(distfs.PathNotFoundError, match=name):
            await driver.get_content("/a/missing")
        with pytest.raises(distfs.InvalidPathError, match=name):
            await driver.get_content("a//b")
        with pytest.raises(distfs.InvalidOffsetError, match=name):
            await driver.reader("/a/blob", -1)
        await driver.move("/a/blob", "/b/blob")
        assert await driver.get_content("/b/blob") == content
        await driver.delete("/b")
        with pytest.raises(distfs.PathNotFoundError):
            await driver.stat("/b/blob")
        assert "/b" not in await driver.list("/")

    run(local_stores, name, body)


WALK_FILES = ["/t/a-b/x", "/t/a/1", "/t/a/2", "/t/a/sub/3", "/t/b", "/t/c/4"]


def test_walk_callbacks_and_iterator(local_stores: LocalStores, name: str) -> None:
    async def body(driver: AsyncStorageDriver) -> None:
        await asyncio.gather(*(driver.put_content(path, b"x") for path in WALK_FILES))
        every = [info.path async for info in driver.iter_walk("/t")]
        assert every == [
            "/t/a-b",
            "/t/a-b/x",
            "/t/a",
            "/t/a/1",
            "/t/a/2",
            "/t/a/sub",
            "/t/a/sub/3",
            "/t/b",
            "/t/c",
            "/t/c/4",
        ]

        seen: list[str] = []

        async def skip_a(info: FileInfo) -> None:
            await asyncio.sleep(0)
            seen.append(info.path)
            if info.path == "/t/a":
                raise SkipDir

        await driver.walk("/t", skip_a)
        assert seen == ["/t/a-b", "/t/a-b/x", "/t/a", "/t/b", "/t/c", "/t/c/4"]

        def stop_at_b(info: FileInfo) -> None:
            seen.append(info.path)
            if info.path == "/t/b":
                raise StopWalk

        seen.clear()
        await driver.walk("/t", stop_at_b, start_after_hint="/t/a/1")
        assert seen == ["/t/a/2", "/t/a/sub", "/t/a/sub/3", "/t/b"]

        entries = driver.iter_walk("/t")
        skipped = []
        async for info in entries:
            skipped.append(info.path)
            if info.is_dir:
                entries.skip()
        assert skipped == ["/t/a-b", "/t/a", "/t/b", "/t/c"]

        async with driver.iter_walk("/t") as entries:  # leaving early ends the walk
            async for _info in entries:
                break
        with pytest.raises(distfs.PathNotFoundError, match=name):
            await driver.walk("/missing", lambda info: None)

        def fail(info: FileInfo) -> None:
            raise RuntimeError("boom")

        with pytest.raises(distfs.DriverError, match=f"{name}.*boom") as caught:
            await driver.walk("/t", fail)  # named as the sync API names it
        assert isinstance(caught.value.__cause__, RuntimeError)
        await driver.delete("/t")

    run(local_stores, name, body)


# -- the concurrency bound ----------------------------------------------------------------


class _Counting:
    """Delegates to ``inner`` and records the most calls of ``method`` ever in flight at once."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.calls = 0

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._inner, attribute)
        if attribute != self._method:
            return value
        if asyncio.iscoroutinefunction(value):

            async def counted_async(*args: Any, **kwargs: Any) -> Any:
                self._count(1)
                try:
                    await asyncio.sleep(0)  # let every other task get this far
                    return await value(*args, **kwargs)
                finally:
                    self._count(-1)

            return counted_async

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._count(1)
            try:
                time.sleep(0.001)  # let every other thread get this far
                return value(*args, **kwargs)
            finally:
                self._count(-1)

        return counted

    def _count(self, step: int) -> None:
        with self._lock:
            self.now += step
            if step > 0:
                self.calls += 1
                self.most = max(self.most, self.now)


@pytest.mark.parametrize(("name", "tasks"), [("inmemory", 10_000), ("filesystem", 10_000), ("s3", 2_000)])
def test_tasks_never_exceed_the_limit(local_stores: LocalStores, name: str, tasks: int) -> None:
    """10,000 concurrent get_content tasks (2,000 on moto: time) never put more than max_concurrency in flight."""

    async def main() -> None:
        driver = await distfs.aio.create(name, local_stores.parameters(name))
        counter: _Counting
        if isinstance(driver, EngineDriver):
            counter = _Counting(driver.engine.store, "get_range")
            driver.engine.store = counter
        else:
            assert isinstance(driver, ThreadedDriver)
            counter = _Counting(driver._inner, "get_content")
            driver._inner = counter
        await driver.put_content("/blob", b"x" * 100)
        results = await asyncio.gather(*(driver.get_content("/blob") for _ in range(tasks)))
        assert results == [b"x" * 100] * tasks
        assert counter.calls == tasks
        assert 1 < counter.most <= driver.max_concurrency
        await driver.close()

    asyncio.run(main())


# -- distfs:// as an asynchronous filesystem ---------------------------------------------------


class _CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting the calls it takes (``asyncio.to_thread``)."""

    submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("name", ["s3", "filesystem"])
def test_distfs_protocol_is_asynchronous_inside_a_running_loop(local_stores: LocalStores, name: str) -> None:
    """``asynchronous=True``: the coroutine methods on a running loop; on an object store they
    await the engine (no worker thread per call) and batches gather within the driver's limit."""
    fs = DistFileSystem(driver=name, skip_instance_cache=True, asynchronous=True, **local_stores.parameters(name))
    names = [f"/async/f{i:03}" for i in range(50)]

    async def main() -> None:
        executor = _CountingExecutor(4)
        asyncio.get_running_loop().set_default_executor(executor)
        await fs._pipe({n: n.encode() for n in names})
        assert await fs._cat(names) == {n: n.encode() for n in names}
        assert await fs._cat_file(names[0], start=-3) == names[0].encode()[-3:]
        assert await fs._cat_ranges(names[:2], 1, 3) == [n.encode()[1:3] for n in names[:2]]
        assert await fs._sizes(names[:3]) == [len(n) for n in names[:3]]
        assert await fs._exists(names[0])
        assert not await fs._exists("/async/missing")
        assert await fs._isdir("/async")
        assert not await fs._isfile("/async")
        with pytest.raises(FileNotFoundError):
            await fs._cat_file("/async/missing")
        before = executor.submitted
        assert await asyncio.gather(*(fs._cat_file(n) for n in names)) == [n.encode() for n in names]
        await asyncio.gather(*(fs._pipe_file(n, b"x") for n in names))
        assert await fs._info(names[0]) == {**(await fs._info(names[0])), "size": 1}
        threads = executor.submitted - before
        assert threads == (0 if name == "s3" else 2 * len(names) + 2)
        await fs._rm(names)
        assert not await fs._exists(names[0])

    asyncio.run(main())


def test_distfs_protocol_batches_on_an_object_store_stay_within_the_limit(local_stores: LocalStores) -> None:
    fs = DistFileSystem(driver="s3", skip_instance_cache=True, **local_stores.parameters("s3"))
    native = fs._native
    assert isinstance(native, EngineDriver)
    names = [f"/bound/f{i:03}" for i in range(300)]
    fs.pipe(dict.fromkeys(names, b"y"))
    counter = _Counting(native.engine.store, "get_range")
    native.engine.store = counter
    try:
        assert fs.cat(names) == dict.fromkeys(names, b"y")
    finally:
        native.engine.store = counter._inner
    assert counter.calls == len(names)
    assert 1 < counter.most <= native.max_concurrency
    fs.rm(names)


def test_distfs_protocol_batches_in_a_forked_child(local_stores: LocalStores) -> None:
    """An instance inherited through fork() (multiprocessing, dask): its batches gather on the
    child's own engine loop, past the concurrency limit (contended slots), as in the parent."""
    fs = DistFileSystem(driver="s3", skip_instance_cache=True, **local_stores.parameters("s3"))
    names = [f"/fork/f{i:03}" for i in range(150)]  # more than the 64 slots: they are contended
    fs.pipe(dict.fromkeys(names, b"z"))
    assert fs.cat(names) == dict.fromkeys(names, b"z")
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            signal.alarm(120)
            fs.pipe(dict.fromkeys(names, b"c"))
            code = 0 if fs.cat(names) == dict.fromkeys(names, b"c") else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert fs.cat(names) == dict.fromkeys(names, b"c")  # the parent goes on with its own loop
    fs.rm(names)


# -- packaging ------------------------------------------------------------------------------


def test_import_distfs_leaves_aio_alone() -> None:
    code = "import sys, distfs; assert 'distfs.aio' not in sys.modules; import distfs.aio; print(distfs.aio.create)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_aio_is_reachable_as_an_attribute() -> None:
    import importlib

    module = importlib.import_module("distfs")
    assert module.aio is distfs.aio
    assert "aio" not in distfs.__all__


@pytest.mark.parametrize(("name", "chunk"), [("s3", 5 << 20), ("gcs", 256 << 10)])
def test_reader_is_pinned_to_one_version(local_stores: LocalStores, name: str, chunk: int) -> None:
    """The async reader shares the sync reader's pin: a replaced object is ObjectChangedError, never a mix."""
    old, new = b"a" * (3 * chunk), b"b" * (3 * chunk)

    async def main() -> None:
        driver = await distfs.aio.create(name, {**local_stores.parameters(name), "chunksize": chunk})
        try:
            await driver.put_content("/blob", old)
            stream = await driver.reader("/blob")
            assert await stream.read(10) == old[:10]
            await driver.put_content("/blob", new)
            with pytest.raises(distfs.ObjectChangedError, match=name):
                await stream.read()
            async with await driver.reader("/blob") as fresh:
                assert await fresh.read() == new
        finally:
            await driver.close()

    asyncio.run(main())
