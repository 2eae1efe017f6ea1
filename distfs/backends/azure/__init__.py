"""``azure``: Azure Blob Storage.

Parameters are distribution's (see :mod:`.settings`); keys of the driver path ``/a/b``
are ``<rootdirectory>/a/b`` in ``container``. The store primitives (:mod:`.store`) run on
``azure.storage.blob.aio`` (installed with the ``azure`` extra); everything else (pinned
readers, journaled writers on staged blocks, deletes, flat walks, server-side moves) is
the object-store engine's (:mod:`distfs.engine`). ``redirect_url`` signs a read-only blob
SAS for GET and HEAD, valid 20 minutes (with the account key, or a user delegation key
for token credentials).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import build
from .settings import BLOCK_SIZE, KNOWN, NAME, AzureSettings, settings_from
from .store import AzureStore

__all__ = ["KNOWN", "NAME", "AzureSettings", "AzureStore", "factory", "raw_filesystem", "settings_from"]


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``azure`` driver from distribution's azure parameters."""
    settings = settings_from(parameters)
    return build(
        AzureStore(settings),
        root=settings.rootdirectory,
        retries=max(settings.max_retries, 0),
        chunk=BLOCK_SIZE,
        read_block=2 * BLOCK_SIZE,
    )


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store (adlfs), with fsspec's defaults, and its root key.

    For ``distfs probe`` and ``distfs bench``: what a user gets from fsspec with the same
    parameters (listings cache on, default ``ls`` detail...).
    """
    from adlfs import AzureBlobFileSystem

    settings = settings_from(parameters)
    arguments: dict[str, Any] = {"account_name": settings.accountname, "skip_instance_cache": True}
    if settings.credentials == "connectionstring":
        arguments["connection_string"] = settings.connectionstring
    elif settings.credentials == "shared_key":
        # adlfs reaches a custom service URL (an emulator) only through a connection string.
        arguments["connection_string"] = (
            f"DefaultEndpointsProtocol={settings.serviceurl.partition(':')[0]};AccountName={settings.accountname};"
            f"AccountKey={settings.accountkey};BlobEndpoint={settings.serviceurl};"
        )
    else:
        from azure.identity import aio

        if settings.credentials == "client_secret":
            arguments["credential"] = aio.ClientSecretCredential(settings.tenantid, settings.clientid, settings.secret)
        else:
            arguments["credential"] = aio.DefaultAzureCredential()
    fs = AzureBlobFileSystem(**arguments)
    return fs, settings.container + ("/" + settings.rootdirectory if settings.rootdirectory else "")
