"""``gcs``: Google Cloud Storage (and its emulators), through the JSON API.

Parameters are distribution's (``docs/content/storage-drivers/gcs.md``) plus ``endpoint``
(see :mod:`.settings`); keys of the driver path ``/a/b`` are ``<rootdirectory>/a/b`` in
``bucket``. The store primitives (:mod:`.store`) are JSON API requests sent with aiohttp
and google-auth (both installed with the ``gcs`` extra, through gcsfs); uploads are part
objects composed server-side (:mod:`.uploads`); everything else (pinned readers, journaled
writers, deletes, flat walks, server-side moves, retries) is the object-store engine's
(:mod:`distfs.engine`). ``redirect_url`` signs V4 URLs for GET and HEAD for 20 minutes
when the credentials can sign (a service account).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import build
from .settings import KNOWN, NAME, GCSSettings, credentials_of, settings_from
from .store import GCSStore

__all__ = ["KNOWN", "GCSSettings", "GCSStore", "factory", "raw_filesystem", "settings_from"]

#: The largest ranged read of a reader.
READ_BLOCK = 16 << 20


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build a ``gcs`` driver from distribution's gcs parameters (plus ``endpoint``)."""
    settings = settings_from(parameters)
    return build(
        GCSStore(settings, NAME),
        root=settings.rootdirectory,
        retries=settings.maxretries,
        chunk=settings.chunksize,
        read_block=min(settings.chunksize, READ_BLOCK),
        max_concurrency=settings.maxconcurrency,
    )


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe`` and ``distfs bench``: what a user gets from gcsfs with the same
    parameters (listings cache on, default ``ls`` detail...).
    """
    # gcsfs's default class probes a gRPC control API (long timeouts against emulators)
    # unless this is set before gcsfs is first imported.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    from gcsfs import GCSFileSystem

    settings = settings_from(parameters)
    token: Any = credentials_of(settings.service_account) if settings.service_account else None
    if token is None and settings.endpoint:
        token = "anon"
    fs = GCSFileSystem(token=token, endpoint_url=settings.endpoint or None, skip_instance_cache=True)
    return fs, settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
