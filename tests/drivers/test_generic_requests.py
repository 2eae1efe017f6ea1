"""Requests per operation of the generic store, against the native store on the same s3fs instance.

Both drivers come from one user's s3fs instance on moto (``from_filesystem``, with and without
``native=False``); every S3 request each sends is counted through botocore's event hooks, as
``tests/engine/test_hot_paths.py`` counts the native store's. The goal (issue 25): the generic store
needs at most twice the native store's requests for every operation. ``pytest -s`` prints the
table docs/performance.md shows; memory and local calls are counted at the store's caller.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem
from test_from_filesystem import s3fs_instance

import distfs
from distfs.backends.generic.calls import Caller
from distfs.base import Base
from distfs.tools.bench import s3_events

KiB = 1 << 10


def operations(driver: distfs.StorageDriver) -> list[tuple[str, Callable[[], object]]]:
    """The operations counted, in order (each sets up what the next needs)."""

    def write(path: str) -> None:
        writer = driver.writer(path)
        writer.write(b"w" * KiB)
        writer.commit()

    def resume(path: str) -> None:
        writer = driver.writer(path)
        writer.write(b"r" * KiB)
        writer.close()
        writer = driver.writer(path, append=True)
        writer.write(b"s" * KiB)
        writer.commit()

    def read(path: str) -> bytes:
        with driver.reader(path) as stream:
            return stream.read()

    return [
        ("put_content 1 KiB", lambda: driver.put_content("/d/a", b"x" * KiB)),
        ("get_content 1 KiB", lambda: driver.get_content("/d/a")),
        ("stat of a file", lambda: driver.stat("/d/a")),
        ("stat of a directory", lambda: driver.stat("/d")),
        ("list", lambda: driver.list("/d")),
        ("reader 1 KiB", lambda: read("/d/a")),
        ("writer 1 KiB + commit", lambda: write("/d/w")),
        ("writer close + append + commit", lambda: resume("/d/r")),
        ("move", lambda: driver.move("/d/a", "/d/b")),
        ("delete of a file", lambda: driver.delete("/d/b")),
        ("delete of a directory", lambda: driver.delete("/d")),
    ]


def counted(driver: distfs.StorageDriver, calls: list[str]) -> dict[str, int]:
    counts = {}
    for name, operation in operations(driver):
        before = len(calls)
        operation()
        counts[name] = len(calls) - before
    return counts


def _s3_requests(fs: Any, calls: list[str]) -> None:
    fs.ls("")  # makes the client
    fs.s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))


class CountingCaller(Caller):
    """The store's caller, noting each backend call in ``calls`` (memory and local)."""

    calls: list[str]
    within = 0  # inside __call__ (whose synchronous calls go through thread): counted once

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(method)
        self.within += 1
        try:
            return await super().__call__(method, *args, **kwargs)
        finally:
            self.within -= 1

    async def thread(self, function: Callable[[], Any]) -> Any:
        if not self.within:
            self.calls.append("file object")
        return await super().thread(function)


def _store_calls(driver: distfs.StorageDriver, calls: list[str]) -> None:
    """Count the generic store's backend calls (its Caller's)."""
    assert isinstance(driver, Base)
    caller = driver.inner.engine.store.call  # type: ignore[attr-defined]
    caller.__class__ = CountingCaller
    caller.calls = calls


def test_generic_store_requests_on_s3fs_at_most_twice_the_native_ones(
    s3_endpoint: str, s3_admin: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = f"distfs-requests-{uuid.uuid4().hex[:12]}"
    s3_admin.create_bucket(Bucket=bucket)
    native_calls: list[str] = []
    native = distfs.from_filesystem(s3fs_instance(s3_endpoint), f"{bucket}/native")
    s3_events(native).register("before-call.s3", lambda model, **_: native_calls.append(model.name))
    fs = s3fs_instance(s3_endpoint)
    generic_calls: list[str] = []
    _s3_requests(fs, generic_calls)
    generic = distfs.from_filesystem(fs, f"{bucket}/generic", native=False)
    native_counts, generic_counts = counted(native, native_calls), counted(generic, generic_calls)

    memory_calls: list[str] = []
    memory = distfs.from_filesystem(MemoryFileSystem(global_store=False, skip_instance_cache=True), native=False)
    _store_calls(memory, memory_calls)
    local_calls: list[str] = []
    local = distfs.from_filesystem(LocalFileSystem(), tempfile.mkdtemp(prefix="distfs-requests-"), native=False)
    _store_calls(local, local_calls)
    memory_counts, local_counts = counted(memory, memory_calls), counted(local, local_calls)

    with capsys.disabled():
        print("\n| operation | s3 (native) | generic on s3fs | generic on memory | generic on local |")
        print("|---|---|---|---|---|")
        for name in native_counts:
            row = (native_counts[name], generic_counts[name], memory_counts[name], local_counts[name])
            print(f"| {name} | " + " | ".join(str(n) for n in row) + " |")
    over = {n: (generic_counts[n], native_counts[n]) for n in native_counts if generic_counts[n] > 2 * native_counts[n]}
    assert not over, f"more than twice the native store's requests: {over}"
