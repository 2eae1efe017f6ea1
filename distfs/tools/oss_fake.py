"""OUR OWN TEST FAKE of the Alibaba Cloud OSS protocol (not the real service).

This is a small, in-memory OSS-protocol server written for distfs's tests from the
public OSS API documentation (PutObject, GetObject, ListObjects, multipart uploads, V1
signatures, ...). It checks our reading of the protocol; it makes no claim about how the
real service behaves beyond what that documentation says, and tests that pass against
it are "tests against an in-repo OSS fake". The live mode of ``tests/drivers/test_oss.py`` runs
the same suite against a real bucket.

Served (path-style addressing only, ``http://127.0.0.1:<port>/<bucket>/<key>``, which is
what oss2 uses for IP endpoints): PutBucket, PutObject, AppendObject, GetObject (Range:
206; an invalid range gets 200 and the whole object unless ``x-oss-range-behavior:
standard``), HeadObject, GetObjectMeta, DeleteObject, DeleteMultipleObjects (Quiet),
ListObjects v1 (prefix, marker, delimiter, max-keys, encoding-type=url), CopyObject
(``x-oss-copy-source``), InitiateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads.
Conditions: ``If-Match``, ``If-None-Match``, ``If-Modified-Since`` and
``If-Unmodified-Since`` on GetObject and HeadObject (412, or 304), and their
``x-oss-copy-source-if-...`` forms on CopyObject and UploadPartCopy (412).

Errors are OSS error documents; a HEAD answer has no body, so, as on OSS, the document
comes base64-encoded in the ``x-oss-err`` header (which the OSS SDKs decode).

Every request must carry a valid OSS V1 signature: the ``Authorization: OSS
<id>:<signature>`` header (HMAC-SHA1 over ``VERB\\nContent-MD5\\nContent-Type\\nDate\\n``
+ canonicalized ``x-oss-`` headers + canonicalized resource, Date within 15 minutes) or
the URL form (``OSSAccessKeyId``, ``Expires``, ``Signature``). Failures are 403 with an
OSS error document. A temporary (STS) key id (:meth:`OSSFake.add_sts`) also needs its
security token, in the signed ``x-oss-security-token`` header or the ``security-token``
query parameter (403 ``InvalidSecurityToken`` otherwise). A request with neither
signature form is anonymous: a bucket whose ACL is ``public-read``
(:meth:`OSSFake.set_acl`) lets it read (GetObject, HeadObject, GetObjectMeta,
ListObjects); anything else is 403 ``AccessDenied``. The store is guarded by one lock.

Run standalone: ``python -m distfs.tools.oss_fake --port 9900 --key-id ID --secret SECRET``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

__all__ = ["OSSFake", "serve"]

MIN_PART = 100 * 1024  # OSS: every part but the last is at least 100 KiB
SKEW = 15 * 60
#: What an anonymous request may do on a public-read bucket.
PUBLIC_READS = frozenset({"GetObject", "HeadObject", "GetObjectMeta", "ListObjects"})

SUBRESOURCES = frozenset(
    [
        "acl",
        "uploads",
        "location",
        "cors",
        "logging",
        "website",
        "referer",
        "lifecycle",
        "delete",
        "append",
        "tagging",
        "objectMeta",
        "uploadId",
        "partNumber",
        "security-token",
        "position",
        "img",
        "style",
        "styleName",
        "replication",
        "replicationProgress",
        "replicationLocation",
        "cname",
        "bucketInfo",
        "comp",
        "qos",
        "live",
        "status",
        "vod",
        "startTime",
        "endTime",
        "symlink",
        "x-oss-process",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "udf",
        "udfName",
        "udfImage",
        "udfId",
        "udfImageDesc",
        "udfApplication",
        "udfApplicationLog",
        "restore",
        "callback",
        "callback-var",
        "continuation-token",
        "versions",
        "versioning",
        "versionId",
        "policy",
        "requestPayment",
        "x-oss-traffic-limit",
        "qosInfo",
        "asyncFetch",
        "x-oss-request-payer",
        "sequential",
        "inventory",
        "inventoryId",
        "worm",
        "wormId",
        "wormExtend",
        "encryption",
        "stat",
        "objectInfo",
    ]
)


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


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))  # OSS lists whole seconds


def _etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest().upper() + '"'


def _xml(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>'.encode()


def _el(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


class OSSFake:
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

    # -- helpers for tests ------------------------------------------------------------

    def create_bucket(self, name: str) -> None:
        with self.lock:
            self.buckets.setdefault(name, {})

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

    # -- authentication ---------------------------------------------------------------

    def _resource(self, bucket: str, key: str, query: dict[str, str], raw_path: str) -> str:
        resource = f"/{bucket}/{key}" if bucket else "/"
        subs = sorted((k, v) for k, v in query.items() if k in SUBRESOURCES)
        if subs:
            resource += "?" + "&".join(k + "=" + v if v else k for k, v in subs)
        return resource

    def authenticate(
        self,
        method: str,
        *,
        headers: dict[str, str],
        bucket: str,
        key: str,
        query: dict[str, str],
        raw_path: str,
        operation: str = "",
    ) -> None:
        if "Signature" not in query and "authorization" not in headers:
            if bucket in self.public_read and operation in PUBLIC_READS:
                return
            raise OSSError(403, "AccessDenied", "You have no right to access this object because of bucket acl.")
        oss_headers = sorted((k, v.strip()) for k, v in headers.items() if k.startswith("x-oss-"))
        canonical = "".join(f"{k}:{v}\n" for k, v in oss_headers) + self._resource(bucket, key, query, raw_path)
        md5, ctype = headers.get("content-md5", ""), headers.get("content-type", "")
        if "Signature" in query:
            key_id, given = query.get("OSSAccessKeyId", ""), query["Signature"]
            expires = query.get("Expires", "")
            if not expires.isdigit():
                raise OSSError(403, "AccessDenied", "Invalid Expires")
            if int(expires) < time.time():
                raise OSSError(403, "AccessDenied", "Request has expired.", Expires=expires)
            date = expires
        else:
            authorization = headers.get("authorization", "")
            if not authorization.startswith("OSS ") or ":" not in authorization:
                raise OSSError(403, "AccessDenied", "You have no right to access this object.")
            key_id, _, given = authorization[4:].partition(":")
            date = headers.get("x-oss-date", "") or headers.get("date", "")
            try:
                skew = abs(parsedate_to_datetime(date).timestamp() - time.time())
            except (TypeError, ValueError):
                raise OSSError(403, "AccessDenied", "Invalid Date header") from None
            if skew > SKEW:
                raise OSSError(
                    403,
                    "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                )
        secret = self.credentials.get(key_id)
        if secret is None:
            raise OSSError(
                403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records."
            )
        string_to_sign = f"{method}\n{md5}\n{ctype}\n{date}\n{canonical}"
        expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, given):
            raise OSSError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        token = self.tokens.get(key_id)
        if token is not None:
            sent = headers.get("x-oss-security-token", query.get("security-token", ""))
            if not hmac.compare_digest(sent.encode(), token.encode()):
                raise OSSError(403, "InvalidSecurityToken", "The security token you provided is invalid.")

    # -- dispatch ---------------------------------------------------------------------

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
                    f"<Bucket>{_el('Name', b)}{_el('CreationDate', _iso(0))}</Bucket>" for b in sorted(self.buckets)
                )
                return 200, {}, _xml("ListAllMyBucketsResult", f"<Buckets>{names}</Buckets>")
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

    # -- objects ----------------------------------------------------------------------

    def _object(self, bucket: str, key: str) -> Obj:
        obj = self.buckets[bucket].get(key)
        if obj is None:
            raise OSSError(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return obj

    def _meta_headers(self, obj: Obj) -> dict[str, str]:
        headers = {
            "Content-Type": obj.headers.get("content-type", "application/octet-stream"),
            "ETag": obj.etag,
            "Last-Modified": formatdate(obj.mtime, usegmt=True),
            "x-oss-object-type": obj.kind,
            "x-oss-storage-class": "Standard",
            "Accept-Ranges": "bytes",
        }
        for name, value in obj.headers.items():
            if name.startswith("x-oss-meta-") or name.startswith("x-oss-server-side-"):
                headers[name] = value
        if obj.kind == "Appendable":
            headers["x-oss-next-append-position"] = str(len(obj.data))
        return headers

    def _kept_headers(self, headers: dict[str, str]) -> dict[str, str]:
        return {
            k: v
            for k, v in headers.items()
            if k.startswith("x-oss-meta-") or k.startswith("x-oss-server-side-") or k == "content-type"
        }

    def _put_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        if h.get("x-oss-forbid-overwrite", "").lower() == "true" and key in self.buckets[bucket]:
            raise OSSError(
                409, "FileAlreadyExists", "The object you specified already exists and can not be overwritten."
            )
        obj = Obj(body, _etag(body), time.time(), headers=self._kept_headers(h))
        self.buckets[bucket][key] = obj
        return 200, {"ETag": obj.etag}, b""

    def _append_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        position = int(q.get("position", "0"))
        obj = self.buckets[bucket].get(key)
        if obj is not None and obj.kind != "Appendable":
            raise OSSError(409, "ObjectNotAppendable", "The object is not appendable")
        current = obj.data if obj else b""
        if position != len(current):
            raise OSSError(409, "PositionNotEqualToLength", "Position is not equal to file length")
        data = current + body
        self.buckets[bucket][key] = Obj(data, _etag(data), time.time(), "Appendable", self._kept_headers(h))
        return 200, {"x-oss-next-append-position": str(len(data)), "ETag": _etag(data)}, b""

    def _get_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        obj = self._object(bucket, key)
        _check_conditions(obj, h, "")
        headers = self._meta_headers(obj)
        size = len(obj.data)
        span = _range(h.get("range", ""), size, h.get("x-oss-range-behavior", "") == "standard")
        if span is None:
            return 200, headers, obj.data
        first, last = span
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return 206, headers, memoryview(obj.data)[first : last + 1]

    def _head_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        obj = self._object(bucket, key)
        _check_conditions(obj, h, "")
        return 200, {**self._meta_headers(obj), "Content-Length": str(len(obj.data))}, b""

    def _get_object_meta(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        obj = self._object(bucket, key)
        return (
            200,
            {
                "ETag": obj.etag,
                "Last-Modified": formatdate(obj.mtime, usegmt=True),
                "Content-Length": str(len(obj.data)),
            },
            b"",
        )

    def _delete_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        self.buckets[bucket].pop(key, None)
        return 204, {}, b""

    def _delete_multiple_objects(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        if "content-md5" not in h:
            raise OSSError(400, "MissingArgument", "Missing Some Required Arguments: Content-MD5")
        root = ElementTree.fromstring(body)
        quiet = (root.findtext("Quiet") or "false").lower() == "true"
        keys = [node.findtext("Key") or "" for node in root.findall("Object")]
        if len(keys) > 1000:
            raise OSSError(400, "MalformedXML", "more than 1000 keys")
        encode = q.get("encoding-type") == "url"
        deleted = ""
        for name in keys:
            if name in self.undeletable:
                continue
            self.buckets[bucket].pop(name, None)
            if not quiet:
                deleted += f"<Deleted>{_el('Key', urllib.parse.quote(name) if encode else name)}</Deleted>"
        return 200, {}, _xml("DeleteResult", (_el("EncodingType", "url") if encode else "") + deleted)

    def _copy_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        source = self._copy_source(h)
        kept = source.headers if h.get("x-oss-metadata-directive", "COPY") == "COPY" else self._kept_headers(h)
        obj = Obj(
            source.data, source.etag, time.time(), "Normal" if source.kind != "Multipart" else "Multipart", dict(kept)
        )
        self.buckets[bucket][key] = obj
        return (
            200,
            {"ETag": obj.etag},
            _xml("CopyObjectResult", _el("ETag", obj.etag) + _el("LastModified", _iso(obj.mtime))),
        )

    def _copy_source(self, h: dict[str, str]) -> Obj:
        source = urllib.parse.unquote(h["x-oss-copy-source"]).lstrip("/")
        source_bucket, _, source_key = source.partition("/")
        if source_bucket not in self.buckets:
            raise OSSError(404, "NoSuchBucket", "The specified bucket does not exist.")
        obj = self._object(source_bucket, source_key)
        _check_conditions(obj, h, "x-oss-copy-source-")
        return obj

    def _get_bucket_info(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        info = (
            _el("Name", bucket)
            + _el("CreationDate", _iso(0))
            + _el("StorageClass", "Standard")
            + _el("ExtranetEndpoint", "127.0.0.1")
            + _el("IntranetEndpoint", "127.0.0.1")
            + _el("Location", "oss-fake")
            + "<Owner><DisplayName>0</DisplayName><ID>0</ID></Owner>"
            + "<AccessControlList><Grant>private</Grant></AccessControlList>"
        )
        return 200, {}, _xml("BucketInfo", f"<Bucket>{info}</Bucket>")

    # -- listings ---------------------------------------------------------------------

    def _list_objects(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        prefix, marker, delimiter = q.get("prefix", ""), q.get("marker", ""), q.get("delimiter", "")
        max_keys = min(int(q.get("max-keys", "100") or 100), 1000)
        encode = q.get("encoding-type") == "url"
        enc = (lambda s: urllib.parse.quote(s, safe="/")) if encode else (lambda s: s)
        contents: list[str] = []
        prefixes: list[str] = []
        last, truncated = "", False
        for name in sorted(self.buckets[bucket]):
            if name <= marker or not name.startswith(prefix):
                continue
            if delimiter and delimiter in name[len(prefix) :]:
                common = name[: name.index(delimiter, len(prefix)) + len(delimiter)]
                if prefixes and prefixes[-1] == common:
                    continue
                if common <= marker:
                    continue
                if len(contents) + len(prefixes) == max_keys:
                    truncated = True
                    break
                prefixes.append(common)
                last = common
                continue
            if len(contents) + len(prefixes) == max_keys:
                truncated = True
                break
            contents.append(name)
            last = name
        out = _el("Name", bucket) + _el("Prefix", enc(prefix)) + _el("Marker", enc(marker)) + _el("MaxKeys", max_keys)
        out += _el("Delimiter", enc(delimiter)) + (_el("EncodingType", "url") if encode else "")
        out += _el("IsTruncated", "true" if truncated else "false")
        if truncated:
            out += _el("NextMarker", enc(last))
        for name in contents:
            obj = self.buckets[bucket][name]
            out += (
                "<Contents>"
                + _el("Key", enc(name))
                + _el("LastModified", _iso(obj.mtime))
                + _el("ETag", obj.etag)
                + _el("Type", obj.kind)
                + _el("Size", len(obj.data))
                + _el("StorageClass", "Standard")
                + "<Owner><ID>0</ID><DisplayName>0</DisplayName></Owner></Contents>"
            )
        for common in prefixes:
            out += f"<CommonPrefixes>{_el('Prefix', enc(common))}</CommonPrefixes>"
        return 200, {}, _xml("ListBucketResult", out)

    # -- multipart --------------------------------------------------------------------

    def _upload(self, bucket: str, key: str, q: dict[str, str]) -> Upload:
        upload = self.uploads.get(q.get("uploadId", ""))
        if upload is None or upload.bucket != bucket or upload.key != key:
            raise OSSError(404, "NoSuchUpload", "The specified upload does not exist.", UploadId=q.get("uploadId", ""))
        return upload

    def _initiate_multipart_upload(
        self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes
    ) -> Any:
        upload_id = uuid.uuid4().hex.upper()
        self.uploads[upload_id] = Upload(bucket, key, time.time() + next(self._ids) * 1e-6, self._kept_headers(h))
        return (
            200,
            {},
            _xml("InitiateMultipartUploadResult", _el("Bucket", bucket) + _el("Key", key) + _el("UploadId", upload_id)),
        )

    def _part_number(self, q: dict[str, str]) -> int:
        number = int(q.get("partNumber", "0"))
        if not 1 <= number <= 10000:
            raise OSSError(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.")
        return number

    def _upload_part(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        upload = self._upload(bucket, key, q)
        part = Obj(body, _etag(body), time.time())
        upload.parts[self._part_number(q)] = part
        return 200, {"ETag": part.etag}, b""

    def _upload_part_copy(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        upload = self._upload(bucket, key, q)
        source = self._copy_source(h)
        span = _range(h.get("x-oss-copy-source-range", ""), len(source.data), True)
        data = source.data if span is None else source.data[span[0] : span[1] + 1]
        part = Obj(data, _etag(data), time.time())
        upload.parts[self._part_number(q)] = part
        return (
            200,
            {"ETag": part.etag},
            _xml("CopyPartResult", _el("LastModified", _iso(part.mtime)) + _el("ETag", part.etag)),
        )

    def _complete_multipart_upload(
        self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes
    ) -> Any:
        upload = self._upload(bucket, key, q)
        chosen = [
            (int(p.findtext("PartNumber") or 0), (p.findtext("ETag") or "").strip('"').upper())
            for p in ElementTree.fromstring(body).findall("Part")
        ]
        if not chosen or [n for n, _ in chosen] != sorted({n for n, _ in chosen}):
            raise OSSError(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        data, digests = bytearray(), b""
        for index, (number, etag) in enumerate(chosen):
            part = upload.parts.get(number)
            if part is None or part.etag.strip('"') != etag:
                raise OSSError(
                    400, "InvalidPart", "One or more of the specified parts could not be found.", PartNumber=str(number)
                )
            if index < len(chosen) - 1 and len(part.data) < MIN_PART:
                raise OSSError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
            data += part.data
            digests += bytes.fromhex(etag)
        etag = '"' + hashlib.md5(digests).hexdigest().upper() + f'-{len(chosen)}"'
        self.buckets[bucket][key] = Obj(bytes(data), etag, time.time(), "Multipart", dict(upload.headers))
        del self.uploads[q["uploadId"]]
        return (
            200,
            {"ETag": etag},
            _xml("CompleteMultipartUploadResult", _el("Bucket", bucket) + _el("Key", key) + _el("ETag", etag)),
        )

    def _abort_multipart_upload(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        self._upload(bucket, key, q)
        del self.uploads[q["uploadId"]]
        return 204, {}, b""

    def _list_parts(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        upload = self._upload(bucket, key, q)
        marker = int(q.get("part-number-marker", "0") or 0)
        max_parts = min(int(q.get("max-parts", "1000") or 1000), 1000)
        numbers = [n for n in sorted(upload.parts) if n > marker]
        page, truncated = numbers[:max_parts], len(numbers) > max_parts
        out = _el("Bucket", bucket) + _el("Key", key) + _el("UploadId", q["uploadId"]) + _el("PartNumberMarker", marker)
        out += _el("NextPartNumberMarker", page[-1] if page else marker) + _el("MaxParts", max_parts)
        out += _el("IsTruncated", "true" if truncated else "false")
        for number in page:
            part = upload.parts[number]
            out += (
                "<Part>"
                + _el("PartNumber", number)
                + _el("LastModified", _iso(part.mtime))
                + _el("ETag", part.etag)
                + _el("Size", len(part.data))
                + "</Part>"
            )
        return 200, {}, _xml("ListPartsResult", out)

    def _list_multipart_uploads(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        prefix, key_marker, id_marker = q.get("prefix", ""), q.get("key-marker", ""), q.get("upload-id-marker", "")
        max_uploads = min(int(q.get("max-uploads", "1000") or 1000), 1000)
        encode = q.get("encoding-type") == "url"
        enc = (lambda s: urllib.parse.quote(s, safe="/")) if encode else (lambda s: s)
        found = sorted(
            (
                (u.key, u.initiated, uid)
                for uid, u in self.uploads.items()
                if u.bucket == bucket and u.key.startswith(prefix)
            ),
        )
        ids = {uid: i for i, (_, _, uid) in enumerate(found)}
        if key_marker:
            start = (
                ids[id_marker] + 1
                if id_marker in ids
                else next((i for i, f in enumerate(found) if f[0] > key_marker), len(found))
            )
            found = found[start:]
        page, truncated = found[:max_uploads], len(found) > max_uploads
        out = _el("Bucket", bucket) + _el("KeyMarker", enc(key_marker)) + _el("UploadIdMarker", id_marker)
        out += _el("NextKeyMarker", enc(page[-1][0] if truncated else "")) + _el(
            "NextUploadIdMarker", page[-1][2] if truncated else ""
        )
        out += (
            _el("MaxUploads", max_uploads)
            + _el("IsTruncated", "true" if truncated else "false")
            + _el("Prefix", enc(prefix))
        )
        out += _el("EncodingType", "url") if encode else ""
        for name, initiated, uid in page:
            out += (
                "<Upload>"
                + _el("Key", enc(name))
                + _el("UploadId", uid)
                + _el("StorageClass", "Standard")
                + _el("Initiated", _iso(initiated))
                + "</Upload>"
            )
        return 200, {}, _xml("ListMultipartUploadsResult", out)


def _check_conditions(obj: Obj, h: dict[str, str], prefix: str) -> None:
    """The ETag and time conditions of a GET/HEAD (``prefix`` ``""``) or of a copy source.

    OSS: ``If-Match`` / ``If-Unmodified-Since`` failing is 412 PreconditionFailed;
    ``If-None-Match`` / ``If-Modified-Since`` failing is 304 on a read and 412 on a copy
    source (``x-oss-copy-source-if-...``). ETags compare without their quotes.
    """
    etag = obj.etag.strip('"')
    not_modified = 304 if not prefix else 412
    match = h.get(prefix + "if-match")
    if match is not None and match.strip().strip('"') != etag:
        raise OSSError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
    none_match = h.get(prefix + "if-none-match")
    if none_match is not None and none_match.strip().strip('"') == etag:
        raise OSSError(not_modified, "NotModified" if not prefix else "PreconditionFailed", "Not Modified")
    for name, status in (("if-unmodified-since", 412), ("if-modified-since", not_modified)):
        value = h.get(prefix + name)
        if value is None:
            continue
        try:
            since = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            continue  # OSS ignores a time it cannot parse
        modified = int(obj.mtime) > since
        if modified == (name == "if-unmodified-since"):
            code = "PreconditionFailed" if status == 412 else "NotModified"
            raise OSSError(status, code, "At least one of the pre-conditions you specified did not hold.")


def _range(header: str, size: int, standard: bool) -> tuple[int, int] | None:
    """The inclusive byte span of a Range header, or None to answer with the whole object."""
    if not header.startswith("bytes="):
        return None
    first_text, _, last_text = header[6:].partition("-")
    try:
        if not first_text:
            count = int(last_text)
            return (max(size - count, 0), size - 1) if count and size else None
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if standard:
        if first >= size:
            raise OSSError(416, "InvalidRange", "The requested range cannot be satisfied")
        return first, min(last, size - 1)
    if first > last or first >= size or last >= size:
        return None  # OSS: an invalid range gets 200 and the whole object
    return first, last


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every response with a body.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                piece = self.rfile.read(size)
                if len(piece) != size:
                    raise ConnectionError("the request body ended early")
                data += piece
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) != length:  # the client went away mid-body: OSS applies nothing
            raise ConnectionError(f"the request body ended at {len(body)} of {length} bytes")
        return body

    def _serve(self) -> None:
        raw_path, _, raw_query = self.path.partition("?")
        query = {k: v for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True)}
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._body()
        except (ConnectionError, ValueError):  # a client killed mid-request: nothing is applied
            self.close_connection = True
            return
        request_id = uuid.uuid4().hex[:24].upper()
        try:
            status, out_headers, out = self.server.fake.handle(self.command, raw_path, query, headers, body)
        except OSSError as error:
            status, out_headers = error.status, {"Content-Type": "application/xml", "x-oss-ec": "0000-00000000"}
            extra = "".join(_el(k, v) for k, v in error.extra.items())
            out = _xml(
                "Error",
                _el("Code", error.code)
                + _el("Message", error.message)
                + _el("RequestId", request_id)
                + _el("HostId", "oss-fake")
                + extra,
            )
            if self.command == "HEAD":  # no body: OSS repeats the error document in x-oss-err
                out_headers["x-oss-err"] = base64.b64encode(out).decode()
        if status == 304:  # no body, ever
            out = b""
        self.send_response(status)
        out_headers.setdefault("Content-Type", "application/xml")
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("x-oss-request-id", request_id)
        self.send_header("Server", "AliyunOSS (distfs test fake)")
        self.send_header("Date", formatdate(usegmt=True))
        if "Content-Length" not in out_headers:
            self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            view = memoryview(out)
            for start in range(0, len(view), 1 << 20):
                self.wfile.write(view[start : start + (1 << 20)])

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: OSSFake


def serve(fake: OSSFake, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Serve ``fake`` on ``host:port`` (0: a free port) in a daemon thread."""
    server = _Server((host, port), _Handler)
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, name="oss-fake", daemon=True)
    thread.start()
    return server, thread


def main() -> None:
    parser = argparse.ArgumentParser(description="distfs's in-repo OSS protocol fake (a test tool)")
    parser.add_argument("--port", type=int, default=9900)
    parser.add_argument("--key-id", default="test-key-id")
    parser.add_argument("--secret", default="test-key-secret")
    parser.add_argument("--bucket", action="append", default=[])
    arguments = parser.parse_args()
    fake = OSSFake(arguments.key_id, arguments.secret)
    for name in arguments.bucket:
        fake.create_bucket(name)
    server, thread = serve(fake, port=arguments.port)
    print(f"OSS fake on http://127.0.0.1:{server.server_address[1]}", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
