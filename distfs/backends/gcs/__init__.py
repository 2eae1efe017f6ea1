"""``gcs``: Google Cloud Storage (and its emulators), on gcsfs's configuration and the JSON API.

Parameters are distribution's (``docs/content/storage-drivers/gcs.md``) plus ``endpoint``
and ``storage_options`` (see :mod:`.settings`); keys of the driver path ``/a/b`` are
``<rootdirectory>/a/b`` in ``bucket``. The driver is built from a gcsfs
``GCSFileSystem`` (fsspec protocol ``gcs``): distribution's keys are translated into its
keywords and ``storage_options`` merged beneath them. The store primitives (:mod:`.store`)
are JSON API requests sent with aiohttp, authorized by that filesystem's credentials;
uploads are part objects composed server-side (:mod:`.uploads`); everything else (pinned
readers, journaled writers, deletes, flat walks, server-side moves, retries) is the
object-store engine's (:mod:`distfs.engine`). ``redirect_url`` signs V4 URLs for GET and
HEAD for 20 minutes (:mod:`.signing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import build
from ..instances import split_root
from .settings import KEYS, KNOWN, NAME, OPTIONS, GCSSettings, filesystem, settings_from
from .store import GCSStore

__all__ = [
    "KNOWN",
    "OPTIONS",
    "GCSSettings",
    "GCSStore",
    "factory",
    "from_filesystem",
    "raw_filesystem",
    "settings_from",
]

#: The largest ranged read of a reader.
READ_BLOCK = 16 << 20


#: The parameters :func:`from_filesystem` takes with a gcsfs instance (which gives the rest).
INSTANCE_KEYS = ("chunksize", "maxretries", "maxconcurrency")


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build a ``gcs`` driver from distribution's gcs parameters (plus ``endpoint`` and ``storage_options``)."""
    settings = settings_from(parameters)
    return _build(GCSStore.from_filesystem(filesystem(settings), settings, NAME), settings)


def from_filesystem(fs: Any, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``gcs`` driver of the user's ``GCSFileSystem`` ``fs`` below ``root`` (``bucket[/prefix]``),
    configured by the instance alone; ``parameters`` are :data:`INSTANCE_KEYS` only."""
    bucket, prefix = split_root(fs, root, NAME)
    KEYS.only(INSTANCE_KEYS).parse(parameters)
    settings = settings_from({**parameters, "bucket": bucket, "rootdirectory": prefix})
    return _build(GCSStore.from_filesystem(fs, settings, NAME), settings)


def _build(store: GCSStore, settings: GCSSettings) -> Base:
    return build(
        store,
        root=settings.rootdirectory,
        retries=settings.maxretries,
        chunk=settings.chunksize,
        read_block=min(settings.chunksize, READ_BLOCK),
        max_concurrency=settings.maxconcurrency,
    )


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw gcsfs filesystem of these parameters, and its root key.

    For ``distfs probe`` and ``distfs bench``: what a user gets from gcsfs with the same
    configuration (fsspec's defaults otherwise: listings cache on, default ``ls`` detail...).
    """
    settings = settings_from(parameters)
    return filesystem(settings), settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
