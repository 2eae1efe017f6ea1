"""The fake's records (objects, uploads), its errors, and the XML and ETag forms of its answers."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

__all__ = ["OSSError", "Obj", "Upload", "document", "element", "iso", "md5_etag"]


class OSSError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass
class Obj:
    data: bytes
    etag: str
    mtime: float
    kind: str = "Normal"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Upload:
    bucket: str
    key: str
    initiated: float
    headers: dict[str, str]
    parts: dict[int, Obj] = field(default_factory=dict)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))  # OSS lists whole seconds


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest().upper() + '"'


def document(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>'.encode()


def element(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"
