"""A record of what gc deletes and migrate copies, as it happens.

Every deletion (``gc``) and copy (``migrate``) is logged once it is done, at INFO on the
``distfs.registry`` logger (a child of ``distfs``), with the event as the record's
``event`` attribute: a dict of ``timestamp`` (ISO 8601 UTC), ``action`` (``delete``,
``copy``), ``kind`` (``blob``, ``manifest``, ``upload``, ``object``), ``digest`` (``""``
for what has none), ``size`` (bytes), ``reason`` and ``path``. :class:`JsonLines`
writes each event as one JSON object per line (``distfs registry ... --log-json``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["JsonLines", "logger", "record"]

logger = logging.getLogger("distfs.registry")


def record(action: str, kind: str, digest: str, size: int, *, reason: str, path: str) -> None:
    """Log one event (see the module docstring)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    event = {
        "timestamp": datetime.now(UTC).isoformat(),
        "action": action,
        "kind": kind,
        "digest": digest,
        "size": size,
        "reason": reason,
        "path": path,
    }
    logger.info("%s %s %s (%d bytes): %s", action, kind, digest or path, size, reason, extra={"event": event})


class JsonLines(logging.Handler):
    """Writes the ``event`` of each record that has one as a line of JSON to ``stream``, flushed."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.INFO)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if event is None:
            return
        try:
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()
        except Exception:  # pragma: no cover - as logging.StreamHandler does
            self.handleError(record)
