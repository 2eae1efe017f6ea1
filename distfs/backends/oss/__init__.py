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
from ..instances import split_root
from .settings import KEYS, KNOWN, NAME, OPTIONS, OSSSettings, settings_from
from .store import OSSStore

__all__ = [
    "KEYS",
    "KNOWN",
    "NAME",
    "OPTIONS",
    "OSSSettings",
    "OSSStore",
    "factory",
    "from_filesystem",
    "raw_filesystem",
    "settings_from",
]


#: The parameters :func:`from_filesystem` takes with an ossfs instance (which gives the rest).
INSTANCE_KEYS = ("chunksize", "maxretries", "encrypt", "encryptionkeyid")


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``oss`` driver from distribution's oss parameters and ``storage_options``."""
    settings = settings_from(parameters)
    return _build(OSSStore.from_filesystem(settings.filesystem(), settings), settings)


def from_filesystem(fs: Any, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``oss`` driver of the user's ``OSSFileSystem`` ``fs`` below ``root`` (``bucket[/prefix]``),
    signed with its credentials at its endpoint; ``parameters`` are :data:`INSTANCE_KEYS` only."""
    bucket, prefix = split_root(fs, root, NAME)
    values = KEYS.only(INSTANCE_KEYS).parse(parameters)
    settings = OSSSettings(bucket=bucket, rootdirectory=prefix, **{key: values[key] for key in INSTANCE_KEYS})
    return _build(OSSStore.from_filesystem(fs, settings), settings)


def _build(store: OSSStore, settings: OSSSettings) -> Base:
    return build(
        store,
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
