"""The old name of :mod:`distfs.fsspec`, kept for imports and for filesystems pickled under it."""

from .fsspec import (
    ASYNC_MIRRORS,
    DEFAULT_CONCURRENCY,
    ENV_CONFIG,
    ENV_DRIVER,
    ENV_PARAMETERS,
    NATIVE_COROUTINES,
    DistFileSystem,
    store_from_environment,
)

__all__ = [
    "ASYNC_MIRRORS",
    "DEFAULT_CONCURRENCY",
    "ENV_CONFIG",
    "ENV_DRIVER",
    "ENV_PARAMETERS",
    "NATIVE_COROUTINES",
    "DistFileSystem",
    "store_from_environment",
]
