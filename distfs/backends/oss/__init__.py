"""``oss``: Alibaba Cloud Object Storage Service, on ossfs (fsspec protocol ``oss``).

Parameters are distribution's plus ``storage_options`` (ossfs keywords; see
:mod:`.settings`); keys of the driver path ``/a/b`` are ``<rootdirectory>/a/b`` in
``bucket``. The driver is built from an ``OSSFileSystem`` made from the parameters; the
store primitives (:mod:`.store`) sign with its credentials and run on oss2 (installed with
ossfs by the ``oss`` extra), in threads; everything else
(pinned readers, journaled multipart writers, batched deletes, flat walks, server-side
moves, retries) is the object-store engine's (:mod:`distfs.engine`). ``redirect_url``
signs GET and HEAD URLs (OSS V1 query signatures) valid for 20 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import build
from .settings import KNOWN, NAME, OPTIONS, SECRET, OSSSettings, settings_from
from .store import OSSStore

__all__ = [
    "KNOWN",
    "NAME",
    "OPTIONS",
    "SECRET",
    "OSSSettings",
    "OSSStore",
    "factory",
    "raw_filesystem",
    "settings_from",
]


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``oss`` driver from distribution's oss parameters and ``storage_options``."""
    settings = settings_from(parameters)
    return build(
        OSSStore.from_filesystem(settings.filesystem(), settings),
        root=settings.rootdirectory,
        retries=settings.maxretries,
        chunk=settings.chunksize,
        read_block=min(settings.chunksize, 16 << 20),
    )


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe`` and ``distfs bench``: what a user gets from fsspec with the same
    parameters (listings cache on, default ``ls`` detail...); ``skip_instance_cache`` keeps
    instances independent.
    """
    settings = settings_from(parameters)
    return settings.filesystem(), settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
