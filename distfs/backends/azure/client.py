"""How the azure driver's SDK clients are made from an ``AzureBlobFileSystem``'s configuration.

adlfs makes its clients on fsspec's event loop; the engine runs on its own, so the store
makes its own ``azure.storage.blob.aio`` clients, one per loop, from what the filesystem
holds: its connection string, credential object, account key, SAS token or none (anon),
in adlfs's order, its account URL and timeouts, and the engine's retry policy.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidParameterError
from ...retry import backoff
from .settings import CREDENTIAL_TYPES as DISTRIBUTION_CREDENTIALS
from .settings import NAME, AzureSettings

__all__ = ["account_url", "retry_policy", "service_client"]


def retry_policy(settings: AzureSettings) -> Any:
    """The SDK's retries (408, 5xx but 501/505, connection and read failures): ``max_retries`` of them
    (negative: none, as Go's azcore), backoff ``retry_delay * 2**n`` with jitter."""
    from azure.storage.blob.aio import ExponentialRetry

    retries = max(settings.max_retries, 0)

    class Retry(ExponentialRetry):
        def get_backoff_time(self, state: dict[str, Any]) -> float:
            return backoff(max(int(state.get("count", 1)) - 1, 0), settings.retry_delay)

    return Retry(retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries)


def _endpoint(fs: Any, settings: AzureSettings) -> tuple[str, Any]:
    """The account URL and the SDK credential of ``fs`` (adlfs's order: a connection string
    overrides the rest; then a credential object, an account key, a SAS token, none).

    A connection string adlfs found in ``AZURE_STORAGE_CONNECTION_STRING`` does not override
    the credential of a distribution key the user set (``accountkey``, ``credentials``).
    """
    if fs.connection_string and settings.credentials not in DISTRIBUTION_CREDENTIALS:
        from azure.storage.blob._shared.base_client import parse_connection_str

        url, _, credential = parse_connection_str(fs.connection_string, None, "blob")
    else:
        # adlfs's account URL (it sets none when it found a connection string)
        url = f"https://{getattr(fs, 'account_host', f'{fs.account_name}.blob.core.windows.net')}"
        if fs.credential is not None:
            credential = fs.credential
        elif fs.account_key:
            from azure.core.credentials import AzureNamedKeyCredential

            credential = AzureNamedKeyCredential(fs.account_name, fs.account_key)
        else:
            credential = None
    url = settings.serviceurl or url  # an http service URL, which adlfs's account_host cannot hold
    if hasattr(credential, "get_token") and not url.startswith("https://"):
        raise InvalidParameterError(NAME, "serviceurl", "a token credential needs an https service URL")
    if credential is None and fs.sas_token:
        credential = fs.sas_token.lstrip("?")
    return url.rstrip("/"), credential


def account_url(fs: Any, settings: AzureSettings) -> str:
    """The service URL the store's clients talk to (without any SAS)."""
    return _endpoint(fs, settings)[0]


def service_client(fs: Any, settings: AzureSettings, options: dict[str, Any]) -> Any:
    """A new ``BlobServiceClient`` of ``fs`` for the running loop; ``options``: more client options."""
    from azure.storage.blob.aio import BlobServiceClient

    url, credential = _endpoint(fs, settings)
    arguments: dict[str, Any] = {"connection_verify": not settings.skipverify, "retry_policy": retry_policy(settings)}
    timeouts = getattr(fs, "_timeout_kwargs", {})  # connection_timeout, read_timeout
    arguments.update({key: value for key, value in timeouts.items() if key != "timeout"})
    arguments.update(options)
    return BlobServiceClient(url, credential=credential, **arguments)
