"""distfs.aio on filesystem and inmemory: cancelling a task loses nothing and publishes nothing (issue 26).

On ``filesystem`` (the engine over a blocking store) each call runs in a worker thread, so a
cancel can land while it runs. On ``inmemory`` (the engine over an in-process store) each
call runs to its end in one step on the caller's loop: a cancel lands before the call
starts or after it ended, never inside; those tests cancel before the first step.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import distfs
import distfs.aio

BIG = 64 << 20
#: Drivers whose aio calls run to their end in one step on the caller's loop.
ONE_STEP = {"inmemory"}


@pytest.fixture(params=["filesystem", "inmemory"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], distfs.aio.AsyncStorageDriver]:
    parameters = {"rootdirectory": str(tmp_path / "store")} if request.param == "filesystem" else {}
    return lambda: distfs.aio.wrap(distfs.create(request.param, parameters))


@pytest.fixture
def one_step(request: pytest.FixtureRequest) -> bool:
    """True for a driver whose calls cannot be interrupted once started (see the module docstring)."""
    return request.node.callspec.params["driver"] in ONE_STEP


async def _cancelled(task: asyncio.Task[None], after: float | None) -> bool:
    """Cancel ``task`` after ``after`` seconds (None: before its first step); True if it ended cancelled."""
    if after is not None:
        await asyncio.sleep(after)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return True
    return False


def test_a_cancelled_put_is_not_published(driver: Callable[[], distfs.aio.AsyncStorageDriver], one_step: bool) -> None:
    async def scenario() -> None:
        aio = driver()
        await aio.put_content("/old", b"old")
        content = os.urandom(BIG)
        cancelled = 0
        timings: tuple[float | None, ...] = (None,) if one_step else (0.0, 0.001, 0.005, 0.02)
        for after in timings:
            if await _cancelled(asyncio.create_task(aio.put_content("/old", content)), after):
                cancelled += 1
                await asyncio.sleep(0.5)  # a thread still running would publish by now
                assert await aio.get_content("/old") == b"old", after
            else:
                await aio.put_content("/old", b"old")
        assert cancelled  # the put was cut short at least once
        await aio.close()

    asyncio.run(scenario())


def test_a_cancelled_read_loses_no_bytes(driver: Callable[[], distfs.aio.AsyncStorageDriver], one_step: bool) -> None:
    async def scenario() -> None:
        aio = driver()
        content = os.urandom(1 << 20)
        await aio.put_content("/r", content)
        stream = await aio.reader("/r")
        got: list[bytes] = []
        cancelled = 0
        for turn in range(10_000):  # every other read cancelled as soon as it started
            task = asyncio.ensure_future(stream.read(8192))
            if not one_step:
                await asyncio.sleep(0)  # the read starts in its thread
            if turn % 2:
                task.cancel()
            try:
                chunk = await task
            except asyncio.CancelledError:
                cancelled += 1
                continue
            if not chunk:
                break
            got.append(chunk)
        assert cancelled
        assert b"".join(got) == content
        assert stream.tell() == len(content)
        await stream.seek(10)
        assert await stream.read(5) == content[10:15]
        await stream.close()
        await aio.close()

    asyncio.run(scenario())
