"""Multipart uploads: Initiate, UploadPart(Copy), Complete, Abort, ListParts, ListMultipartUploads."""

from __future__ import annotations

import hashlib
import itertools
import time
import urllib.parse
import uuid
from typing import Any
from xml.etree import ElementTree

from .documents import Obj, OSSError, Upload, document, element, iso, md5_etag
from .objects import Objects, byte_range

__all__ = ["MIN_PART", "Multipart"]

MIN_PART = 100 * 1024  # OSS: every part but the last is at least 100 KiB


class Multipart(Objects):
    """The multipart upload operations (a mixin of :class:`~.fake.OSSFake`)."""

    uploads: dict[str, Upload]
    _ids: itertools.count[int]

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
            document(
                "InitiateMultipartUploadResult",
                element("Bucket", bucket) + element("Key", key) + element("UploadId", upload_id),
            ),
        )

    def _part_number(self, q: dict[str, str]) -> int:
        number = int(q.get("partNumber", "0"))
        if not 1 <= number <= 10000:
            raise OSSError(400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive.")
        return number

    def _upload_part(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        upload = self._upload(bucket, key, q)
        part = Obj(body, md5_etag(body), time.time())
        upload.parts[self._part_number(q)] = part
        return 200, {"ETag": part.etag}, b""

    def _upload_part_copy(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        upload = self._upload(bucket, key, q)
        source = self._copy_source(h)
        span = byte_range(h.get("x-oss-copy-source-range", ""), len(source.data), True)
        data = source.data if span is None else source.data[span[0] : span[1] + 1]
        part = Obj(data, md5_etag(data), time.time())
        upload.parts[self._part_number(q)] = part
        return (
            200,
            {"ETag": part.etag},
            document("CopyPartResult", element("LastModified", iso(part.mtime)) + element("ETag", part.etag)),
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
            document(
                "CompleteMultipartUploadResult", element("Bucket", bucket) + element("Key", key) + element("ETag", etag)
            ),
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
        out = (
            element("Bucket", bucket)
            + element("Key", key)
            + element("UploadId", q["uploadId"])
            + element("PartNumberMarker", marker)
        )
        out += element("NextPartNumberMarker", page[-1] if page else marker) + element("MaxParts", max_parts)
        out += element("IsTruncated", "true" if truncated else "false")
        for number in page:
            part = upload.parts[number]
            out += (
                "<Part>"
                + element("PartNumber", number)
                + element("LastModified", iso(part.mtime))
                + element("ETag", part.etag)
                + element("Size", len(part.data))
                + "</Part>"
            )
        return 200, {}, document("ListPartsResult", out)

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
        out = element("Bucket", bucket) + element("KeyMarker", enc(key_marker)) + element("UploadIdMarker", id_marker)
        out += element("NextKeyMarker", enc(page[-1][0] if truncated else "")) + element(
            "NextUploadIdMarker", page[-1][2] if truncated else ""
        )
        out += (
            element("MaxUploads", max_uploads)
            + element("IsTruncated", "true" if truncated else "false")
            + element("Prefix", enc(prefix))
        )
        out += element("EncodingType", "url") if encode else ""
        for name, initiated, uid in page:
            out += (
                "<Upload>"
                + element("Key", enc(name))
                + element("UploadId", uid)
                + element("StorageClass", "Standard")
                + element("Initiated", iso(initiated))
                + "</Upload>"
            )
        return 200, {}, document("ListMultipartUploadsResult", out)
