"""The exception tree and its Go message formats."""

from __future__ import annotations

import pickle

import pytest

import distfs
from distfs import errors


def test_messages_keep_go_formats() -> None:
    assert str(distfs.PathNotFoundError("/a/b", "s3")) == "s3: Path not found: /a/b"
    assert str(distfs.InvalidPathError("/a/", "gcs")) == "gcs: invalid path: /a/"
    assert str(distfs.InvalidOffsetError("/a", -1, "azure")) == "azure: invalid offset: -1 for path: /a"
    assert str(distfs.UnsupportedMethodError("oss")) == "oss: unsupported method"
    assert str(distfs.DriverError("boom", "inmemory")) == "inmemory: boom"
    assert str(distfs.InvalidStorageDriverError("nope")) == "StorageDriver not registered: nope"


def test_builtin_bases() -> None:
    assert issubclass(distfs.PathNotFoundError, FileNotFoundError)
    assert issubclass(distfs.InvalidPathError, ValueError)
    assert issubclass(distfs.InvalidOffsetError, ValueError)
    assert issubclass(distfs.UnsupportedMethodError, NotImplementedError)
    assert issubclass(distfs.InvalidStorageDriverError, LookupError)
    assert issubclass(distfs.InvalidParameterError, ValueError)
    for cls in (
        distfs.PathNotFoundError,
        distfs.InvalidPathError,
        distfs.InvalidOffsetError,
        distfs.UnsupportedMethodError,
        distfs.DriverError,
    ):
        assert issubclass(cls, distfs.StorageDriverError)


def test_fields() -> None:
    error = distfs.InvalidOffsetError("/a", -3, "x")
    assert (error.path, error.offset, error.driver_name) == ("/a", -3, "x")
    parameter = distfs.InvalidParameterError("s3", "chunksize", "too small")
    assert (parameter.driver, parameter.parameter) == ("s3", "chunksize")
    assert "chunksize" in str(parameter)
    assert "s3" in str(parameter)


@pytest.mark.parametrize(
    "error",
    [
        distfs.PathNotFoundError("/a", "d"),
        distfs.InvalidPathError("/a", "d"),
        distfs.InvalidOffsetError("/a", -1, "d"),
        distfs.UnsupportedMethodError("d"),
        distfs.DriverError("detail", "d"),
    ],
)
def test_errors_pickle(error: errors.StorageDriverError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)


def test_public_api_is_curated() -> None:
    expected = {
        "create",
        "register",
        "driver_names",
        "StorageDriver",
        "FileWriter",
        "FileInfo",
        "Capabilities",
        "SkipDir",
        "StopWalk",
        "StorageDriverError",
        "PathNotFoundError",
        "InvalidPathError",
        "InvalidOffsetError",
        "UnsupportedMethodError",
        "DriverError",
        "AccessDeniedError",
        "StoreNotFoundError",
        "ObjectChangedError",
        "WriterConflictError",
        "PartialCommitError",
        "DriverNotInstalledError",
        "InvalidStorageDriverError",
        "InvalidParameterError",
        "ConfigError",
        "from_config",
        "from_filesystem",
        "load_config",
        "register_middleware",
    }
    assert set(distfs.__all__) == expected
    for name in expected:
        assert hasattr(distfs, name)


def test_file_info_is_frozen() -> None:
    import dataclasses
    from datetime import UTC, datetime

    info = distfs.FileInfo("/a", 1, datetime.now(UTC), False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.size = 2  # type: ignore[misc]
