"""A user's own fsspec instance as a built-in driver's store: where in it, and with what settings.

:func:`distfs.from_filesystem` gives the instance of a built-in backend's class its native
store, configured by the instance alone (credentials, endpoint, session). The driver's
parameters then are only the engine's settings (chunk size, retries...): each backend
lists the ones it takes (``INSTANCE_KEYS``) and reads them by its table restricted to them
(:meth:`distfs.parameters.KeyTable.only`), which refuses any other by name, since a
connection parameter would silently be ignored.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterError

__all__ = ["split_root"]


def split_root(fs: Any, root: str, driver: str, what: str = "bucket") -> tuple[str, str]:
    """``(bucket, prefix)`` of ``root`` in ``fs`` (``bucket[/prefix]``, a protocol prefix allowed)."""
    path = str(fs._strip_protocol(root) if root else "").strip("/")
    bucket, _, prefix = path.partition("/")
    if not bucket:
        raise InvalidParameterError(driver, "root", f"must name the {what} (root: {what}[/prefix])")
    return bucket, prefix.strip("/")
