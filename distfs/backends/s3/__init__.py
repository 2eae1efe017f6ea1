"""``s3`` (alias ``s3aws``): Amazon S3 and S3-compatible stores.

Parameters are distribution's (see :mod:`.settings`) plus ``storage_options``, the
user's s3fs keywords; keys of the driver path ``/a/b`` are ``<rootdirectory>/a/b`` in
``bucket``. The driver stands on s3fs (fsspec protocol ``s3``): the parameters become one
``S3FileSystem``, and the store primitives (:mod:`.store`) run on aiobotocore clients made
from that instance's configuration. Everything else (pinned readers, journaled multipart
writers, batched deletes, flat walks, server-side moves) is the object-store engine's
(:mod:`distfs.engine`). ``redirect_url`` presigns GET and HEAD for 20 minutes, with
``redirectendpoint`` as the host when it is set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...base import Base
from ...engine import ObjectStoreDriver, build
from ...errors import InvalidParameterError
from ..instances import split_root
from ..options import redact
from .settings import KEYS, NAME, OPTIONS, S3Settings, filesystem_kwargs, settings_from
from .store import S3Store

__all__ = [
    "OPTIONS",
    "S3Driver",
    "S3Settings",
    "S3Store",
    "factory",
    "factory_s3aws",
    "filesystem",
    "from_filesystem",
    "raw_filesystem",
    "settings_from",
]


class _RedactTokens(logging.Filter):
    """Blanks secrets out of botocore's DEBUG records (botocore logs request headers): session
    tokens and SSE-C keys."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.tokens:
            text = record.getMessage()
            if any(token in text for token in self.tokens):
                for token in self.tokens:
                    text = text.replace(token, "***")
                record.msg, record.args = text, None
        return True


_REDACT_TOKENS = _RedactTokens()
for _name in ("botocore.auth", "botocore.endpoint", "botocore.httpsession", "botocore.parsers", "aiobotocore.endpoint"):
    logging.getLogger(_name).addFilter(_REDACT_TOKENS)


def filesystem(settings: S3Settings) -> Any:
    """A new ``S3FileSystem`` (fsspec protocol ``s3``) configured by ``settings``.

    fsspec applies its own configuration (``fsspec.config.conf``, ``FSSPEC_S3_*``) beneath
    the keywords of :func:`~.settings.filesystem_kwargs`. Backend errors are
    ``InvalidParameterError`` with every ``storage_options`` value shown as ``***``.
    """
    import fsspec

    try:
        return fsspec.filesystem("s3", skip_instance_cache=True, **filesystem_kwargs(settings))
    except (TypeError, ValueError, KeyError) as exc:
        message = redact(str(exc), settings.storage_options.values())
        raise InvalidParameterError(NAME, "storage_options", f"s3fs refused them: {message}") from None


#: The parameters :func:`from_filesystem` takes with an s3fs instance (which gives the rest).
INSTANCE_KEYS = (
    "chunksize",
    "maxretries",
    "multipartcopychunksize",
    "multipartcopymaxconcurrency",
    "multipartcopythresholdsize",
    "redirectendpoint",
    "loglevel",
)


def _driver(parameters: Mapping[str, Any], name: str) -> Base:
    settings = settings_from(parameters)
    return _build(S3Store.from_filesystem(filesystem(settings), settings, name), settings)


def from_filesystem(fs: Any, root: str, parameters: Mapping[str, Any]) -> Base:
    """The ``s3`` driver of the user's ``S3FileSystem`` ``fs`` below ``root`` (``bucket[/prefix]``).

    The instance is used as it is (its credentials, endpoint, session, extra arguments);
    ``parameters`` are :data:`INSTANCE_KEYS` only.
    """
    bucket, prefix = split_root(fs, root, NAME)
    KEYS.only(INSTANCE_KEYS).parse(parameters)
    # settings_from wants a region or an endpoint; the store takes both from ``fs``
    settings = settings_from({"region": "us-east-1", **parameters, "bucket": bucket, "rootdirectory": prefix})
    return _build(S3Store.from_filesystem(fs, settings, NAME), settings)


class S3Driver(ObjectStoreDriver):
    """The engine's driver over an :class:`S3Store`, with Go's ``S3BucketKeyer`` (docs/extension.md)."""

    def s3_bucket_key(self, path: str) -> str:
        """The S3 object key of driver path ``path`` (Go's ``S3BucketKey``): what CloudFront URLs name."""
        return self.engine.key(path)


def _build(store: S3Store, settings: S3Settings) -> Base:
    _REDACT_TOKENS.tokens.update(store.header_secrets())
    return build(
        store,
        root=settings.rootdirectory,
        retries=settings.maxretries,
        chunk=settings.chunksize,
        read_block=min(settings.chunksize, 16 << 20),
        kind=S3Driver,
    )


def factory(parameters: Mapping[str, Any]) -> Base:
    """Build an ``s3`` driver from distribution's s3 parameters."""
    return _driver(parameters, NAME)


def factory_s3aws(parameters: Mapping[str, Any]) -> Base:
    """The same driver under Go's other registration name (``s3aws``, also its name)."""
    return _driver(parameters, "s3aws")


def raw_filesystem(parameters: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw fsspec filesystem of this store, with fsspec's defaults, and its root key.

    For ``distfs probe`` and ``distfs bench``: what a user gets from fsspec with the same
    parameters (listings cache on, default ``ls`` detail...).
    """
    settings = settings_from(parameters)
    fs = filesystem(settings)
    return fs, settings.bucket + ("/" + settings.rootdirectory if settings.rootdirectory else "")
