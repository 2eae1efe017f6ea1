"""The generic driver's parameters, errors and time bounds (``fsspec``, ``fsspec+<protocol>``).

A backend call that hangs ends in DriverError naming the driver and the path after the
driver's ``timeout``, and frees its concurrency slot; parameters are checked by name and
``storage_options`` values are never shown; the backend's own errors are typed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem

import distfs

SECRET = "s3cr3t-value-never-shown"


class BlockingFileSystem(MemoryFileSystem):
    """A memory filesystem whose calls on a path holding ``slow`` block until released."""

    protocol = "blocking"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(global_store=False, **kwargs)
        self.release = threading.Event()

    def _wait(self, path: str) -> None:
        if "slow" in path:
            self.release.wait(30)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        self._wait(path)
        return super().info(path, **kwargs)  # type: ignore[no-any-return]

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        self._wait(path)
        return super().cat_file(path, start, end, **kwargs)  # type: ignore[no-any-return]


def test_a_hung_call_ends_in_driver_error_and_frees_its_slot() -> None:
    fs = BlockingFileSystem(skip_instance_cache=True)
    driver = distfs.from_filesystem(fs, "/r", native=False, timeout=0.5, maxconcurrency=1)
    assert driver.name == "fsspec+blocking"
    driver.put_content("/fast", b"ok")
    fs.pipe_file("/r/slow", b"late")
    try:
        started = time.monotonic()
        with pytest.raises(distfs.DriverError) as info:
            driver.get_content("/slow")
        assert time.monotonic() - started < 5
        message = str(info.value)
        assert message.startswith("fsspec+blocking: ")
        assert "/slow" in message
        assert "0.5s" in message
        # the one slot (maxconcurrency=1) is free again while the backend's call still hangs
        assert driver.get_content("/fast") == b"ok"
        with pytest.raises(distfs.DriverError):
            driver.stat("/slow")
    finally:
        fs.release.set()
    assert driver.get_content("/slow") == b"late"


def test_parameters_are_checked_by_name(tmp_path: Path) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("fsspec+file", {"root": str(tmp_path), "rootdirectory": "/x"})
    assert info.value.parameter == "rootdirectory"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("fsspec", {"root": str(tmp_path)})
    assert info.value.parameter == "protocol"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("fsspec+file", {"protocol": "memory"})
    assert info.value.parameter == "protocol"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("fsspec", {"protocol": "no-such-protocol"})
    assert info.value.parameter == "protocol"
    for bad in (0, -1, "soon", True):
        with pytest.raises(distfs.InvalidParameterError) as info:
            distfs.create("fsspec+memory", {"timeout": bad})
        assert info.value.parameter == "timeout"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("fsspec+file", {"root": str(tmp_path / ".distfs~" / "x")})
    assert info.value.parameter == "root"
    driver = distfs.create("fsspec", {"protocol": "file", "root": str(tmp_path), "timeout": "2.5"})
    assert driver.name == "fsspec+file"
    assert "fsspec" in distfs.driver_names()


class Refusing(MemoryFileSystem):
    """A filesystem whose constructor refuses its options, quoting them (as some do)."""

    protocol = "refusing"

    def __init__(self, **kwargs: Any) -> None:
        raise ValueError(f"cannot use {kwargs}")


def test_storage_options_are_never_shown() -> None:
    import fsspec

    fsspec.register_implementation("refusing", Refusing, clobber=True)
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("fsspec+refusing", {"storage_options": {"password": SECRET}})
    assert info.value.parameter == "storage_options"
    assert SECRET not in str(info.value)
    driver = distfs.create("fsspec+memory", {"storage_options": {"global_store": False, "x": SECRET}})
    assert SECRET not in repr(driver)
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/missing")


def test_backend_errors_are_typed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    driver = distfs.create("fsspec+file", {"root": str(root)})
    driver.put_content("/a/file", b"x")
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/a")  # a directory is not an object
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/a/file/below")
    with pytest.raises(distfs.StorageDriverError) as info:
        driver.put_content("/a/file/below", b"y")
    assert str(root) not in str(info.value)
    (root / "a").chmod(0o500)
    try:
        if not (root / "a").stat().st_mode & 0o200 and not _is_root():
            with pytest.raises(distfs.AccessDeniedError):
                driver.put_content("/a/new", b"z")
    finally:
        (root / "a").chmod(0o700)


def _is_root() -> bool:
    import os

    return os.geteuid() == 0
