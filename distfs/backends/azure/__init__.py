"""``azure``: Azure Blob Storage.

Parameters are distribution's plus ``storage_options``, adlfs's keyword arguments (see
:mod:`.settings`); keys of the driver path ``/a/b`` are ``<rootdirectory>/a/b`` in
``container``. The driver stands on an ``adlfs.AzureBlobFileSystem`` (fsspec protocol
``abfs``); the store primitives (:mod:`.store`) run on ``azure.storage.blob.aio`` clients
made from that filesystem's configuration (installed with the ``azure`` extra);
everything else (pinned readers, journaled writers on staged blocks, deletes, flat
walks, server-side moves) is the object-store engine's (:mod:`distfs.engine`).
``redirect_url`` signs a read-only blob SAS for GET and HEAD, valid 20 minutes, by the
credential kind: an account key signs a service SAS, a token credential a user
delegation SAS; a SAS token or anonymous access gives None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import build
from ..instances import split_root
from .settings import BLOCK_SIZE, KEYS, KNOWN, NAME, OPTIONS, AzureSettings, filesystem_options, settings_from
from .store import AzureStore

__all__ = [
    "KEYS",
    "KNOWN",
    "NAME",
    "OPTIONS",
    "AzureSettings",
    "AzureStore",
    "factory",
    "from_filesystem",
    "raw_filesystem",
    "settings_from",
]


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``azure`` driver from distribution's azure parameters (and ``storage_options``)."""
    settings = settings_from(parameters)
    return build(
        AzureStore.from_settings(settings),
        root=settings.rootdirectory,
        retries=max(settings.max_retries, 0),
        chunk=BLOCK_SIZE,
        read_block=2 * BLOCK_SIZE,
    )


#: The parameters :func:`from_filesystem` takes with an adlfs instance (which gives the rest).
INSTANCE_KEYS = ("max_retries",)


def from_filesystem(fs: Any, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``azure`` driver of the user's ``AzureBlobFileSystem`` ``fs`` below ``root``
    (``container[/prefix]``): its account, endpoint and credential; ``parameters`` are
    :data:`INSTANCE_KEYS` only."""
    import dataclasses

    container, prefix = split_root(fs, root, NAME, "container")
    values = KEYS.only(INSTANCE_KEYS).parse(parameters)
    fields = dict(part.split("=", 1) for part in (fs.connection_string or "").split(";") if "=" in part)
    settings = AzureSettings(
        accountname=fs.account_name or fields.get("AccountName", ""),
        container=container,
        credentials="storage_options",
        max_retries=values["max_retries"],
    )
    settings = dataclasses.replace(settings, rootdirectory=prefix)
    return build(
        AzureStore.from_filesystem(fs, settings),
        root=settings.rootdirectory,
        retries=max(settings.max_retries, 0),
        chunk=BLOCK_SIZE,
        read_block=2 * BLOCK_SIZE,
    )


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store (adlfs), with fsspec's defaults, and its root key.

    For ``distfs probe`` and ``distfs bench``: what a user gets from fsspec with the same
    parameters (listings cache on, default ``ls`` detail...), but for its requests' retries,
    which are the driver's (``max_retries``, ``retry_delay``), as the s3 raw filesystem's are:
    a probe compares semantics, not retry policies (the SDK's own waits 15 s and more before
    each of its retries).
    """
    from adlfs import AzureBlobFileSystem

    from .client import service_client

    settings = settings_from(parameters)
    arguments = filesystem_options(settings)
    if settings.serviceurl.startswith("http://") and settings.credentials == "shared_key":
        # adlfs reaches an http service URL (an emulator) only through a connection string.
        arguments["connection_string"] = (
            f"DefaultEndpointsProtocol=http;AccountName={settings.accountname};"
            f"AccountKey={settings.accountkey};BlobEndpoint={settings.serviceurl};"
        )
    fs = AzureBlobFileSystem(**arguments)
    fs.service_client = service_client(fs, settings, {})
    return fs, settings.container + ("/" + settings.rootdirectory if settings.rootdirectory else "")
