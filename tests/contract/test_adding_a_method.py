"""docs/contributing.md's "Adding a contract method" stays true.

A toy method with a default, added to ``StorageDriver`` alone (``@derived()``), is reachable,
checked and named through ``distfs.create``, middleware, ``distfs.aio`` (the engine's async
driver and the threaded one) and the blocking facade, with no other code; a method of its
name on the driver or a coroutine of its name on the engine is its fast path; and the
page's tables name at most 6 files, all of which exist.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import distfs
import distfs.aio
from distfs.base import Base
from distfs.driver import StorageDriver, derived, derived_method
from distfs.engine.core import Engine
from distfs.errors import DriverError, InvalidPathError, PathNotFoundError
from distfs.middleware import apply_middleware

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "contributing.md"

UNLUCKY = 13  # a content of this size makes the toy's default fail with a foreign error


@derived()
def toy_size(self: StorageDriver, path: str, *, twice: bool = False) -> int:
    """The size of the object at ``path``, from its content (``twice``: doubled)."""
    size = len(self.get_content(path))
    if size == UNLUCKY:
        raise ValueError("unlucky size")
    return 2 * size if twice else size


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The toy method on the contract, for this test only."""
    monkeypatch.setattr(StorageDriver, "toy_size", toy_size, raising=False)


def _size(driver: Any, path: str, **keywords: Any) -> Any:
    return driver.toy_size(path, **keywords)


def _fronts(driver: StorageDriver) -> dict[str, StorageDriver]:
    """The driver as create() gives it, behind middleware, and through distfs.aio's blocking facade."""
    return {
        "create": driver,
        "middleware": apply_middleware(driver, "redirect", {"baseurl": "https://cdn.example"}),
        "blocking aio": distfs.aio.blocking(distfs.aio.wrap(driver)),
    }


def test_a_method_with_a_default_reaches_every_front(toy: None, driver: StorageDriver) -> None:
    driver.put_content("/a/five", b"12345")
    driver.put_content("/a/unlucky", b"x" * UNLUCKY)
    for front, facade in _fronts(driver).items():
        assert _size(facade, "/a/five") == 5, front
        assert _size(facade, "/a/five", twice=True) == 10, front
        with pytest.raises(InvalidPathError) as invalid:
            _size(facade, "/a/../five")
        assert invalid.value.driver_name == driver.name, front
        assert str(invalid.value) == f"{driver.name}: invalid path: /a/../five", front
        with pytest.raises(PathNotFoundError) as missing:
            _size(facade, "/a/missing")
        assert str(missing.value) == f"{driver.name}: Path not found: /a/missing", front
        with pytest.raises(DriverError) as foreign:
            _size(facade, "/a/unlucky")
        assert foreign.value.driver_name == driver.name, front
        assert "unlucky size" in str(foreign.value), front
        with pytest.raises(TypeError):
            facade.toy_size()  # type: ignore[attr-defined]


def test_the_async_drivers_have_it_as_a_coroutine(toy: None, driver: StorageDriver) -> None:
    driver.put_content("/a/five", b"12345")
    driver.put_content("/a/unlucky", b"x" * UNLUCKY)

    async def main() -> None:
        async with distfs.aio.wrap(driver) as adriver:
            expected = "EngineDriver" if driver.name == "inmemory" else "ThreadedDriver"
            assert type(adriver).__name__ == expected
            assert await adriver.toy_size("/a/five", twice=True) == 10
            with pytest.raises(InvalidPathError, match=f"^{driver.name}: invalid path: five$"):
                await adriver.toy_size("five")
            with pytest.raises(PathNotFoundError, match=f"^{driver.name}: Path not found: /a/missing$"):
                await adriver.toy_size("/a/missing")
            with pytest.raises(DriverError, match="unlucky size") as foreign:
                await adriver.toy_size("/a/unlucky")
            assert foreign.value.driver_name == driver.name
            with pytest.raises(AttributeError):
                adriver.no_such_method  # type: ignore[attr-defined]  # noqa: B018

    asyncio.run(main())


def test_one_slot_is_enough(toy: None, driver: StorageDriver) -> None:
    """Base runs the inner driver's default under one slot (its calls of the inner driver take
    none); distfs.aio holds none around the default (each call it makes takes one): a driver
    allowing one call at a time runs the method, it does not wait for itself."""
    driver.put_content("/five", b"12345")
    single = Base(driver.unwrap() or driver, max_concurrency=1)
    assert single.toy_size("/five") == 5  # type: ignore[attr-defined]

    async def main() -> int:
        async with distfs.aio.wrap(single) as adriver:
            assert adriver.max_concurrency == 1
            size: int = await asyncio.wait_for(adriver.toy_size("/five"), 30)
            return size

    assert asyncio.run(main()) == 5


def test_a_method_of_the_driver_itself_is_its_fast_path(toy: None, driver: StorageDriver) -> None:
    inner = driver.unwrap()
    assert inner is not None
    seen: list[str] = []

    def native(path: str, *, twice: bool = False) -> int:
        seen.append(path)
        return -1

    inner.toy_size = native  # type: ignore[attr-defined]
    middleware = apply_middleware(driver, "redirect", {"baseurl": "https://cdn.example"})
    assert driver.toy_size("/nothing/here") == -1  # type: ignore[attr-defined]
    assert middleware.toy_size("/nothing/here") == -1  # type: ignore[attr-defined]
    with pytest.raises(InvalidPathError):
        middleware.toy_size("nothing")  # type: ignore[attr-defined]
    assert seen == ["/nothing/here", "/nothing/here"]  # checked before the driver saw it


def test_an_engine_coroutine_of_its_name_is_its_fast_path(
    toy: None, driver: StorageDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool, str]] = []

    async def fast(self: Engine, path: str, *, twice: bool = False) -> int:
        seen.append((path, twice, threading.current_thread().name))
        return 99

    monkeypatch.setattr(Engine, "toy_size", fast, raising=False)
    for front, facade in _fronts(driver).items():
        assert _size(facade, "/nothing/here", twice=True) == 99, front
        with pytest.raises(InvalidPathError):
            _size(facade, "nothing")

    async def main() -> int:
        async with distfs.aio.wrap(driver) as adriver:
            size: int = await adriver.toy_size("/nothing/here")
            return size

    assert asyncio.run(main()) == 99
    assert [(path, twice) for path, twice, _ in seen] == [("/nothing/here", True)] * 3 + [("/nothing/here", False)]
    if driver.name == "inmemory":  # awaited on the caller's loop, not in a thread
        assert seen[-1][2] == threading.main_thread().name


def test_a_cancelled_default_stops_at_its_next_call(toy: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """distfs.aio's default over the async driver's own coroutines (the engine without a fast path)."""
    driver = distfs.create("inmemory")
    driver.put_content("/five", b"12345")
    calls: list[str] = []
    started, release = threading.Event(), threading.Event()

    @derived()
    def slow_sizes(self: StorageDriver, paths: list[str]) -> list[int]:
        """The sizes of ``paths``' objects; waits for the test before the second."""
        sizes = []
        for index, path in enumerate(paths):
            if index == 1:
                started.set()
                release.wait(10)
            calls.append(path)
            sizes.append(len(self.get_content(path)))
        return sizes

    monkeypatch.setattr(StorageDriver, "slow_sizes", slow_sizes, raising=False)

    async def main() -> None:
        adriver = distfs.aio.wrap(driver)
        task = asyncio.ensure_future(adriver.slow_sizes(["/five", "/five", "/five"]))  # type: ignore[attr-defined]
        await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        await asyncio.sleep(0.2)
        await adriver.close()

    asyncio.run(main())
    assert calls == ["/five", "/five"]  # the second get_content was refused, the third never came


def test_every_engine_fast_path_has_the_contract_signature() -> None:
    """An Engine coroutine named like a contract method with a default is its fast path: same parameters."""
    methods = [derived_method(name) for name in dir(StorageDriver)]
    found = [method for method in methods if method is not None]
    assert [method.name for method in found] == ["delete_many", "files_matching"]
    for method in found:
        engine = getattr(Engine, method.name, None)
        if engine is None:
            continue
        assert inspect.iscoroutinefunction(engine)
        theirs = list(inspect.signature(engine).parameters.values())[1:]
        ours = list(method.signature.parameters.values())

        def shape(parameters: list[inspect.Parameter]) -> list[tuple[Any, ...]]:
            return [(p.kind, p.name if p.kind is p.KEYWORD_ONLY else "", p.default is p.empty) for p in parameters]

        assert shape(theirs) == shape(ours), method.name


def _section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text.split("\n## Adding a contract method\n", 1)[1].split("\n## ", 1)[0]


def _table(marker: str) -> list[str]:
    """The files of the first column of the table after the paragraph starting with ``marker``."""
    rest = _section().split("\n" + marker, 1)[1]
    lines = rest.split("\n|", 1)[1].split("\n\n", 1)[0].splitlines()[2:]  # without the header rows
    assert lines, marker
    return [cell for line in lines for cell in re.findall(r"`([^`]+)`", line.split(" | ")[0])]


def test_the_page_counts_at_most_six_files_and_they_exist() -> None:
    minimal = _table("(a) ")
    fast = _table("(b) ")
    files = len(minimal) + len(fast) - sum(" or " in line for line in _section().splitlines() if line.startswith("| `"))
    assert "distfs/driver.py" in minimal
    assert len(minimal) <= 6, minimal
    assert files <= 6, (minimal, fast)
    assert f"{len(minimal)} files for (a) and {files} with (b)" in " ".join(_section().split())
    for path in minimal + fast:
        assert (ROOT / path).exists(), path


def test_the_pages_toy_matches_this_test() -> None:
    """The page names the decorator and the parameter names this test relies on."""
    section = _section()
    for word in ("@derived()", "`path`", "`source`", "`dest`", "`paths`", "asynchronous(StorageDriver."):
        assert word in section, word
