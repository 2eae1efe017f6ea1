"""``oss``: Alibaba Cloud Object Storage Service.

Parameters are distribution's (see :mod:`.settings`); keys of the driver path ``/a/b``
are ``<rootdirectory>/a/b`` in ``bucket``. The store primitives (:mod:`.store`) run on
oss2 (installed with the ``oss`` extra, through ossfs), in threads; everything else
(pinned readers, journaled multipart writers, batched deletes, flat walks, server-side
moves, retries) is the object-store engine's (:mod:`distfs.engine`). ``redirect_url``
signs GET and HEAD URLs (OSS V1 query signatures) valid for 20 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import build
from .settings import KNOWN, NAME, SECRET, OSSSettings, settings_from
from .store import OSSStore

__all__ = ["KNOWN", "NAME", "SECRET", "OSSSettings", "OSSStore", "factory", "raw_filesystem", "settings_from"]


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``oss`` driver from distribution's oss parameters."""
    settings = settings_from(parameters)
    return build(
        OSSStore(settings),
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
    from ossfs import OSSFileSystem

    settings = settings_from(parameters)
    fs = OSSFileSystem(
        endpoint=settings.url(), key=settings.accesskeyid, secret=settings.accesskeysecret, skip_instance_cache=True
    )
    return fs, settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
