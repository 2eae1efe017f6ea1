"""distfs.from_filesystem: a user's configured fsspec instance becomes a driver, used as it is.

The built-in backend classes get their native store (s3fs here, on moto: the instance's
endpoint and credentials, nothing passed again), local and memory instances the
``filesystem`` and ``inmemory`` drivers (the latter over that very instance), and every
other filesystem, or ``native=False``, the generic store. Objects land at the key the
plain fsspec path names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

import distfs
from distfs.base import Base
from distfs.tools.servers import ACCESS_KEY, SECRET_KEY


def s3fs_instance(endpoint: str) -> Any:
    """An s3fs instance configured the way a user configures one (no distfs parameters)."""
    from s3fs import S3FileSystem

    return S3FileSystem(
        key=ACCESS_KEY,
        secret=SECRET_KEY,
        client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"},
        skip_instance_cache=True,
    )


def _store_of(driver: distfs.StorageDriver) -> Any:
    assert isinstance(driver, Base)
    return driver.inner.engine.store  # type: ignore[attr-defined]


@pytest.mark.parametrize("native", [True, False])
def test_s3fs_instance_is_used_as_is(s3_endpoint: str, s3_bucket: str, s3_admin: Any, native: bool) -> None:
    fs = s3fs_instance(s3_endpoint)
    driver = distfs.from_filesystem(fs, f"s3://{s3_bucket}/pre/fix", native=native)
    assert driver.name == ("s3" if native else "fsspec+s3")
    assert _store_of(driver).fs is fs
    driver.put_content("/a/b", b"hello")
    body = s3_admin.get_object(Bucket=s3_bucket, Key="pre/fix/a/b")["Body"].read()
    assert body == b"hello"
    assert fs.cat_file(f"{s3_bucket}/pre/fix/a/b") == b"hello"
    assert driver.list("/") == ["/a"]
    writer = driver.writer("/big")
    writer.write(b"x" * (6 << 20))
    writer.commit()
    assert driver.stat("/big").size == 6 << 20
    other = driver.reopen()  # another driver over the same instance
    assert _store_of(other).fs is fs
    assert other.get_content("/a/b") == b"hello"


def test_s3fs_instance_takes_engine_settings_only(s3_endpoint: str, s3_bucket: str) -> None:
    fs = s3fs_instance(s3_endpoint)
    driver = distfs.from_filesystem(fs, s3_bucket, chunksize=5 << 20, maxretries=1)
    assert driver.name == "s3"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.from_filesystem(fs, s3_bucket, accesskey="AKIA-not-used")
    assert info.value.parameter == "accesskey"
    assert "AKIA-not-used" not in str(info.value)
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.from_filesystem(fs, "", native=True)
    assert info.value.parameter == "root"


def test_local_instance_is_the_filesystem_driver(tmp_path: Path) -> None:
    driver = distfs.from_filesystem(LocalFileSystem(), f"file://{tmp_path}/root")
    assert driver.name == "filesystem"
    driver.put_content("/a/b", b"x")
    assert (tmp_path / "root" / "a" / "b").read_bytes() == b"x"
    generic = distfs.from_filesystem(LocalFileSystem(), str(tmp_path / "root"), native=False)
    assert generic.name == "fsspec+file"
    assert generic.get_content("/a/b") == b"x"


def test_memory_instance_is_inmemory_over_that_instance() -> None:
    fs = MemoryFileSystem(global_store=False, skip_instance_cache=True)
    fs.pipe_file("/data/existing", b"theirs")
    driver = distfs.from_filesystem(fs, "/data", paths="portable")
    assert driver.name == "inmemory"
    assert driver.get_content("/existing") == b"theirs"
    driver.put_content("/with space", b"mine")
    assert fs.cat_file("/data/with space") == b"mine"
    assert driver.reopen().get_content("/with space") == b"mine"


def test_other_filesystems_get_the_generic_store() -> None:
    from fsspec.implementations.dirfs import DirFileSystem

    inner = MemoryFileSystem(global_store=False, skip_instance_cache=True)
    fs = DirFileSystem("/base", fs=inner)
    driver = distfs.from_filesystem(fs, "reg")
    assert driver.name == "fsspec+dir"
    driver.put_content("/k", b"v")
    assert inner.cat_file("/base/reg/k") == b"v"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.from_filesystem(fs, "reg", protocol="memory")
    assert info.value.parameter == "protocol"
    with pytest.raises(TypeError):
        distfs.from_filesystem(object())
    with pytest.raises(distfs.InvalidParameterError):
        distfs.from_filesystem(fs, "reg", paths="nonsense")


def test_adlfs_instance_is_used_as_is(azurite_endpoint: str) -> None:
    from adlfs import AzureBlobFileSystem
    from conftest import azurite_connection_string, unique_name

    fs = AzureBlobFileSystem(connection_string=azurite_connection_string(azurite_endpoint), skip_instance_cache=True)
    container = unique_name("fromfs")
    fs.mkdir(container)
    driver = distfs.from_filesystem(fs, f"abfs://{container}/pre", max_retries=2)
    assert driver.name == "azure"
    assert _store_of(driver).fs is fs
    driver.put_content("/a/b", b"blob")
    fs.invalidate_cache()
    assert fs.cat_file(f"{container}/pre/a/b") == b"blob"
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.from_filesystem(fs, container, accountkey="x")
    assert info.value.parameter == "accountkey"


@pytest.mark.parametrize("name", ["gcs", "oss"])
def test_gcsfs_and_ossfs_instances_get_their_native_store(name: str, local_stores: Any) -> None:
    """An instance made the way the driver makes its own (on the local fake), then handed over."""
    parameters = local_stores.parameters(name)
    if name == "gcs":
        from distfs.backends.gcs import filesystem, settings_from

        fs = filesystem(settings_from(parameters))
    else:
        from distfs.backends.oss import settings_from

        fs = settings_from(parameters).filesystem()
    driver = distfs.from_filesystem(fs, parameters["bucket"] + "/pre", maxretries=1)
    assert driver.name == name
    assert _store_of(driver).fs is fs
    driver.put_content("/a/b", b"native")
    assert driver.get_content("/a/b") == b"native"
    assert fs.cat_file(parameters["bucket"] + "/pre/a/b") == b"native"
