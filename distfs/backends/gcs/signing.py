"""V4 signed URLs of the gcs store: signed locally with a service-account key, else by IAM ``signBlob``.

google-cloud-storage builds the URL (``Blob.generate_signed_url``, nothing sent); the
signature comes from the credentials of the store's gcsfs filesystem:

* a service-account key signs locally;
* other credentials that stand for a service account (Compute Engine, impersonated,
  workload identity) sign through the IAM Credentials API's ``signBlob``
  (``{IAM_ENDPOINT}/v1/projects/-/serviceAccounts/{email}:signBlob``), one request per URL,
  sent by the store (its session, its bearer token, its error mapping); the token needs
  the ``iam`` or ``cloud-platform`` scope and the ``iam.serviceAccounts.signBlob`` permission;
* anonymous access and user credentials cannot sign: no URL (the registry serves the blob).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from google.auth.credentials import Signing

from ...engine import seam

__all__ = [
    "IAM_ENDPOINT",
    "Target",
    "can_sign",
    "email_of",
    "sign_blob_request",
    "signature_of",
    "signed_url",
    "signed_url_remotely",
    "signs_locally",
]

IAM_ENDPOINT = "https://iamcredentials.googleapis.com"


def signs_locally(credentials: Any) -> bool:
    """True for a service-account key (google.oauth2's service-account credentials)."""
    from google.oauth2 import service_account

    return isinstance(credentials, service_account.Credentials)


def can_sign(credentials: Any) -> bool:
    """True when ``credentials`` can sign locally or stand for a service account (None: anonymous)."""
    if credentials is None:
        return False
    return isinstance(credentials, Signing) or any(
        hasattr(credentials, n) for n in ("signer_email", "service_account_email")
    )


def email_of(credentials: Any) -> str:
    """The service account's e-mail ("" while unknown: Compute Engine says ``default`` until refreshed)."""
    for name in ("signer_email", "service_account_email"):
        email = getattr(credentials, name, None)
        if isinstance(email, str) and "@" in email:
            return email
    return ""


def sign_blob_request(email: str, payload: bytes) -> tuple[str, dict[str, str]]:
    """The path (below the IAM endpoint) and JSON document of one ``signBlob`` request."""
    path = f"/v1/projects/-/serviceAccounts/{urllib.parse.quote(email, safe='@')}:signBlob"
    return path, {"payload": base64.b64encode(payload).decode()}


def signature_of(answer: Any) -> bytes:
    """The signature of a ``signBlob`` answer."""
    try:
        return base64.b64decode(answer["signedBlob"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise seam.StoreError("InvalidResponse", "signBlob answered without a signature") from None


@dataclass(frozen=True)
class Target:
    """What one signed URL is for: ``method`` on ``bucket/key`` at ``endpoint``, valid ``seconds``,
    with the extra ``query`` parameters (``userProject``) signed in."""

    endpoint: str
    bucket: str
    key: str
    method: str
    seconds: int
    query: Mapping[str, str]


def signed_url(credentials: Any, target: Target) -> str:
    """The V4 URL of ``target``, signed by ``credentials`` (a google.auth ``Signing``)."""
    url: str = (
        _client()
        .bucket(target.bucket)
        .blob(target.key)
        .generate_signed_url(
            version="v4",
            expiration=timedelta(seconds=target.seconds),
            method=target.method,
            credentials=credentials,
            api_access_endpoint=target.endpoint,
            query_parameters=dict(target.query) or None,
        )
    )
    return url


async def signed_url_remotely(sign_blob: Callable[[bytes], Awaitable[bytes]], email: str, target: Target) -> str:
    """:func:`signed_url` whose signature is ``await sign_blob(string_to_sign)`` on the running loop.

    google-cloud-storage signs synchronously, so the URL is built in a thread whose signer
    waits for ``sign_blob`` running on this loop.
    """
    loop = asyncio.get_running_loop()

    def sign(payload: bytes) -> bytes:
        return asyncio.run_coroutine_threadsafe(sign_blob(payload), loop).result()  # type: ignore[arg-type]

    return await asyncio.to_thread(signed_url, _RemoteSigner(email, sign), target)


@functools.cache
def _client() -> Any:
    """A google-cloud-storage client that only builds URLs (anonymous, sends nothing)."""
    from google.cloud.storage import Client

    return Client.create_anonymous_client()


class _RemoteSigner(Signing):
    """A google.auth ``Signing`` whose ``sign_bytes`` is a callable (IAM signBlob)."""

    def __init__(self, email: str, sign: Callable[[bytes], bytes]) -> None:
        self._email = email
        self._sign = sign

    def sign_bytes(self, message: bytes | str) -> bytes:
        return self._sign(message.encode() if isinstance(message, str) else message)

    @property
    def signer_email(self) -> str:
        return self._email

    @property
    def signer(self) -> Any:
        return None
