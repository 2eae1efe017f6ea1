"""The fake's state, its hooks for tests, and the dispatch of a request to its operation."""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import threading
import urllib.parse
from collections import Counter
from typing import Any

from .documents import Obj, OSSError, Upload, document, element, iso
from .multipart import Multipart
from .signatures import Signatures

__all__ = ["OSSFake"]


class OSSFake(Signatures, Multipart):
    """The store and the protocol; :func:`serve` puts it on a socket."""

    def __init__(self, key_id: str, secret: str) -> None:
        self.credentials = {key_id: secret}
        #: STS key id -> the security token its requests must carry.
        self.tokens: dict[str, str] = {}
        #: Buckets whose ACL is public-read (anonymous requests may read them).
        self.public_read: set[str] = set()
        self.lock = threading.RLock()
        self.buckets: dict[str, dict[str, Obj]] = {}
        self.uploads: dict[str, Upload] = {}
        self.calls: Counter[str] = Counter()
        self.bytes_received = 0
        #: operation name -> (status, code): the next request of that operation fails so.
        self.failures: dict[str, tuple[int, str]] = {}
        #: Keys that DeleteMultipleObjects leaves in place and leaves out of its answer (a
        #: test hook standing for a key the service refused to delete).
        self.undeletable: set[str] = set()
        self._ids = itertools.count(1)

    def create_bucket(self, name: str) -> None:
        with self.lock:
            self.buckets.setdefault(name, {})

    def forget_bucket(self, name: str) -> None:
        """Drop bucket ``name`` with its objects and uploads (a fake serving a whole test session
        lives in the test process and would keep every test's objects)."""
        with self.lock:
            self.buckets.pop(name, None)
            self.public_read.discard(name)
            for upload_id in [key for key, upload in self.uploads.items() if upload.bucket == name]:
                del self.uploads[upload_id]

    def add_sts(self, key_id: str, secret: str, token: str) -> None:
        """Accept temporary credentials: ``key_id`` and ``secret`` with the security ``token``."""
        with self.lock:
            self.credentials[key_id] = secret
            self.tokens[key_id] = token

    def set_acl(self, bucket: str, acl: str) -> None:
        """The bucket's ACL: ``private`` or ``public-read``."""
        if acl not in ("private", "public-read"):
            raise ValueError(f"the OSS fake knows the ACLs private and public-read, not {acl!r}")
        with self.lock:
            (self.public_read.add if acl == "public-read" else self.public_read.discard)(bucket)

    def keys(self, bucket: str) -> list[str]:
        with self.lock:
            return sorted(self.buckets[bucket])

    def upload_parts(self, bucket: str) -> dict[str, list[int]]:
        with self.lock:
            return {
                u.key: [len(u.parts[n].data) for n in sorted(u.parts)]
                for u in self.uploads.values()
                if u.bucket == bucket
            }

    def reset_counters(self) -> None:
        with self.lock:
            self.calls.clear()
            self.bytes_received = 0

    def handle(
        self, method: str, raw_path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        path = urllib.parse.unquote(raw_path)
        bucket, _, key = path.lstrip("/").partition("/")
        op = self._operation(method, bucket, key, query, headers)
        self.authenticate(method, headers=headers, bucket=bucket, key=key, query=query, raw_path=raw_path, operation=op)
        with self.lock:
            self.calls[op] += 1
            self.bytes_received += len(body)
            failure = self.failures.pop(op, None)
            if failure:
                raise OSSError(failure[0], failure[1], f"injected failure of {op}")
            if (
                "content-md5" in headers
                and base64.b64encode(hashlib.md5(body).digest()).decode() != headers["content-md5"]
            ):
                raise OSSError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
            if op == "PutBucket":
                self.buckets.setdefault(bucket, {})
                return 200, {}, b""
            if op == "ListBuckets":
                names = "".join(
                    f"<Bucket>{element('Name', b)}{element('CreationDate', iso(0))}</Bucket>"
                    for b in sorted(self.buckets)
                )
                return 200, {}, document("ListAllMyBucketsResult", f"<Buckets>{names}</Buckets>")
            if bucket not in self.buckets:
                raise OSSError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
            handler = getattr(self, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower())
            result: tuple[int, dict[str, str], bytes] = handler(bucket, key, query, headers, body)
            return result

    def _operation(self, method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str]) -> str:
        if not bucket:
            return "ListBuckets"
        if not key:
            table = {
                ("GET", "uploads"): "ListMultipartUploads",
                ("GET", "bucketInfo"): "GetBucketInfo",
                ("POST", "delete"): "DeleteMultipleObjects",
                ("PUT", ""): "PutBucket",
                ("GET", ""): "ListObjects",
            }
            sub = next((s for s in ("uploads", "delete", "bucketInfo") if s in query), "")
            if (method, sub) in table:
                return table[method, sub]
        elif method == "GET":
            return "ListParts" if "uploadId" in query else "GetObject"
        elif method == "HEAD":
            return "GetObjectMeta" if "objectMeta" in query else "HeadObject"
        elif method == "PUT":
            if "uploadId" in query:
                return "UploadPartCopy" if "x-oss-copy-source" in headers else "UploadPart"
            return "CopyObject" if "x-oss-copy-source" in headers else "PutObject"
        elif method == "POST":
            if "uploads" in query:
                return "InitiateMultipartUpload"
            if "uploadId" in query:
                return "CompleteMultipartUpload"
            if "append" in query:
                return "AppendObject"
        elif method == "DELETE":
            return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
        raise OSSError(400, "InvalidRequest", f"operation not supported by the OSS fake: {method} {query}")
