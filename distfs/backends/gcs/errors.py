"""The gcs store's one error mapping: aiohttp's, gcsfs's, google-auth's and the JSON API's failures as the seam's."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from ...engine import seam
from ..options import redact

__all__ = ["Status", "mapped"]


class Status(Exception):
    """An HTTP answer that is not a success (mapped by :func:`mapped`)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@contextlib.contextmanager
def mapped(bucket: str, listing: bool, endpoint: str, secrets: Sequence[Any]) -> Iterator[None]:
    """aiohttp's, gcsfs's credentials', google-auth's and the JSON API's failures as the seam's
    (the one mapping of this backend).

    A 404 of a listing is the bucket; of an object call, the object unless the message says
    the bucket does not exist (as GCS does; fake-gcs-server answers both with one body).
    A connection failure names ``endpoint``; ``secrets`` (storage_options and credential
    values) are shown as ``***`` in aiohttp's messages (which may quote a proxy, a header).
    """
    import aiohttp
    import google.auth.exceptions
    from gcsfs.retry import HttpError, NonRetryableError

    try:
        yield
    except Status as exc:
        status = exc.status
        code, message = _error(exc.body, status)
        if status == 404 and (listing or "bucket does not exist" in message.lower()):
            raise seam.StoreMissing(bucket, "bucket", code) from None
        if status == 404:
            raise seam.NotFound(code, message) from None
        if status in (401, 403):
            raise seam.Denied(code, message) from None
        if status == 412:
            raise seam.Changed(code, message) from None
        if status == 416:
            raise seam.StoreError("InvalidRange", message) from None
        if status >= 500 or status in (408, 429):
            raise seam.Transient(code, message) from None
        raise seam.StoreError(code, message) from None
    except HttpError as exc:  # gcsfs's failed refresh (401 whatever the token endpoint said)
        if getattr(exc.__cause__, "retryable", False):  # 5xx, 429...: google-auth retried it already
            raise seam.StoreError("RefreshError", "the token endpoint failed (retried by google-auth)") from exc
        raise seam.Denied("RefreshError", "the credentials were refused") from exc
    except (google.auth.exceptions.RefreshError, NonRetryableError) as exc:
        raise seam.Denied("RefreshError", "the credentials were refused") from exc
    except google.auth.exceptions.TransportError as exc:
        raise seam.Transient("TransportError", "the token endpoint could not be reached") from exc
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        raise seam.Transient(type(exc).__name__, f"{endpoint}: {redact(str(exc), secrets)}") from None


def _error(body: bytes, status: int) -> tuple[str, str]:
    """The code (the JSON error's reason, else the status) and message of an error answer."""
    try:
        error = json.loads(body)["error"]
        reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
        return (reasons[0] if reasons and reasons[0] else str(status)), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return str(status), body[:200].decode("utf-8", "replace").strip()
