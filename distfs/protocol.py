"""The old name of :mod:`distfs.fsspec`, kept for imports and for filesystems pickled under it."""

from . import fsspec as _fsspec
from .fsspec import *  # noqa: F403 - the same names, under the old module

__all__ = _fsspec.__all__
