"""distfs: the registry's storage-driver model over fsspec.

Every built-in driver stands on the fsspec filesystem of its protocol (``inmemory`` on
``memory``, ``filesystem`` on ``file``, ``s3`` on s3fs, ``gcs`` on gcsfs, ``azure`` on adlfs,
``oss`` on ossfs) and takes that filesystem's keywords as the parameter ``storage_options``;
distfs adds one contract over them.

::

    import distfs

    driver = distfs.create("filesystem", {"rootdirectory": "/var/lib/registry"})
    driver.put_content("/a/b", b"hello")
    driver.list("/a")  # ["/a/b"]

See :class:`StorageDriver` for the contract every driver keeps, and
:mod:`distfs.errors` for the exception tree.
"""

from .capabilities import Capabilities
from .config import from_config, load_config
from .driver import FileInfo, FileWriter, SkipDir, StopWalk, StorageDriver
from .errors import (
    AccessDeniedError,
    ConfigError,
    DriverError,
    DriverNotInstalledError,
    InvalidOffsetError,
    InvalidParameterError,
    InvalidPathError,
    InvalidStorageDriverError,
    ObjectChangedError,
    PartialCommitError,
    PathNotFoundError,
    StorageDriverError,
    StoreNotFoundError,
    UnsupportedMethodError,
    WriterConflictError,
)
from .factory import create, driver_names, from_filesystem, register
from .middleware import register_middleware

__all__ = [
    "AccessDeniedError",
    "Capabilities",
    "ConfigError",
    "DriverError",
    "DriverNotInstalledError",
    "FileInfo",
    "FileWriter",
    "InvalidOffsetError",
    "InvalidParameterError",
    "InvalidPathError",
    "InvalidStorageDriverError",
    "ObjectChangedError",
    "PartialCommitError",
    "PathNotFoundError",
    "SkipDir",
    "StopWalk",
    "StorageDriver",
    "StorageDriverError",
    "StoreNotFoundError",
    "UnsupportedMethodError",
    "WriterConflictError",
    "create",
    "driver_names",
    "from_config",
    "from_filesystem",
    "load_config",
    "register",
    "register_middleware",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``distfs.aio`` is imported on first use (``import distfs`` stays free of asyncio machinery)."""
    if name == "aio":
        import importlib

        return importlib.import_module(".aio", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
