"""How the s3 driver's aiobotocore clients are made from an ``S3FileSystem``'s configuration,
and the one place botocore's errors become the seam's (:func:`mapped`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from ...engine import seam
from ..options import redact

__all__ = ["POOL_CONNECTIONS", "client_arguments", "log_call", "mapped", "new_session"]

logger = logging.getLogger("distfs.s3")

_NOT_FOUND = {"NoSuchKey", "404", "seam.NotFound", "NoSuchUpload", "NoSuchVersion"}
_DENIED = {
    "AccessDenied",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
    "TokenRefreshRequired",
}
_CHANGED = {"PreconditionFailed", "412"}

#: Connections of the client's pool unless ``config_kwargs`` names ``max_pool_connections``:
#: the requests in flight the async driver allows (:data:`distfs.aio.driver.DEFAULT_CONCURRENCY`).
POOL_CONNECTIONS = 100


_loaders: dict[Any, Any] = {}
"""The botocore data loader of each ``data_path``, shared by the sessions :func:`new_session` makes."""


def new_session(**kwargs: Any) -> Any:
    """An aiobotocore ``AioSession(**kwargs)`` that shares the process's loaded service models.

    Each botocore session loads and keeps its own copy of the S3 model and endpoint rules
    (about 12 MiB once a client is made); the sessions made here share one data loader per
    ``data_path`` instead, so another driver costs about half a MiB. The loader only caches the
    JSON it reads (as it does for the clients of one session), so sharing changes no behaviour.
    """
    from aiobotocore.session import AioSession
    from botocore.loaders import create_loader

    session = AioSession(**kwargs)
    data_path = session.get_config_variable("data_path")
    loader = _loaders.get(data_path)
    if loader is None:
        loader = _loaders[data_path] = create_loader(data_path)
    session.register_component("data_loader", loader)
    return session


def client_arguments(fs: Any) -> dict[str, Any]:
    """The arguments of aiobotocore's ``create_client("s3", ...)`` for ``fs``'s configuration.

    As s3fs makes its own client: ``key``/``secret``/``token``/``endpoint_url`` (when set,
    over ``client_kwargs``), ``use_ssl`` unless ``client_kwargs`` has it, ``config_kwargs``
    as botocore's Config (without s3fs's own timeouts: the engine keeps botocore's), and with
    ``anon`` no credentials and unsigned requests.
    """
    from aiobotocore.config import AioConfig

    client_kwargs = dict(fs.client_kwargs)
    config_kwargs = dict(fs.config_kwargs)
    init: dict[str, Any] = {
        "aws_access_key_id": fs.key,
        "aws_secret_access_key": fs.secret,
        "aws_session_token": fs.token,
        "endpoint_url": fs.endpoint_url,
    }
    init = {key: value for key, value in init.items() if value is not None}
    client_kwargs.setdefault("use_ssl", fs.use_ssl)
    # botocore's pool holds 10 connections: sized to the requests the engine runs at once.
    config_kwargs.setdefault("max_pool_connections", POOL_CONNECTIONS)
    if fs.anon:
        from botocore import UNSIGNED

        credentials = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
        init = {key: value for key, value in init.items() if key not in credentials}
        client_kwargs = {key: value for key, value in client_kwargs.items() if key not in credentials}
        config_kwargs["signature_version"] = UNSIGNED
    return client_kwargs | init | {"config": AioConfig(**config_kwargs)}


@contextlib.contextmanager
def mapped(bucket: str, secrets: Iterable[Any] = ()) -> Any:
    """botocore's errors as the seam's (the one mapping of this backend), ``secrets`` shown as ``***``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "")) or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        message = redact(str(error.get("Message", "")), secrets)
        if code in _NOT_FOUND:
            raise seam.NotFound(code, message) from exc
        if code == "NoSuchBucket":
            raise seam.StoreMissing(bucket) from exc
        if code in _DENIED:
            raise seam.Denied(code, message) from exc
        if code in _CHANGED:
            raise seam.Changed(code, message) from exc
        raise seam.StoreError(code, message) from exc
    except BotoCoreError as exc:  # connection failures botocore gave up retrying, bad configuration
        raise seam.StoreError(type(exc).__name__, redact(str(exc), secrets)) from exc


def log_call(http_response: Any = None, model: Any = None, **_: Any) -> None:
    """Log one S3 call (operation and status only: never headers, signatures or bodies)."""
    status = getattr(http_response, "status_code", "?")
    logger.debug("s3 %s -> %s", getattr(model, "name", "?"), status)
