"""How the azure driver's SDK clients are configured: their credential and their retry policy."""

from __future__ import annotations

from typing import Any

from ...retry import backoff
from .settings import AzureSettings

__all__ = ["credential", "retry_policy"]


def retry_policy(settings: AzureSettings) -> Any:
    """The SDK's retries (408, 5xx but 501/505, connection and read failures): ``max_retries`` of them
    (negative: none, as Go's azcore), backoff ``retry_delay * 2**n`` with jitter."""
    from azure.storage.blob.aio import ExponentialRetry

    retries = max(settings.max_retries, 0)

    class Retry(ExponentialRetry):
        def get_backoff_time(self, state: dict[str, Any]) -> float:
            return backoff(max(int(state.get("count", 1)) - 1, 0), settings.retry_delay)

    return Retry(retry_total=retries, retry_connect=retries, retry_read=retries, retry_status=retries)


def credential(settings: AzureSettings) -> Any:
    """The async SDK credential of ``settings`` (not for a connection string)."""
    if settings.credentials == "shared_key":
        from azure.core.credentials import AzureNamedKeyCredential

        return AzureNamedKeyCredential(settings.accountname, settings.accountkey)
    from azure.identity import aio

    if settings.credentials == "client_secret":
        return aio.ClientSecretCredential(settings.tenantid, settings.clientid, settings.secret)
    return aio.DefaultAzureCredential()
