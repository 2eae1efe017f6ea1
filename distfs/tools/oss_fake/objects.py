"""Objects and listings: Put/Append/Get/Head/GetObjectMeta/Delete(Multiple)/CopyObject, GetBucketInfo,
ListObjects, with the read conditions and ranges of OSS."""

from __future__ import annotations

import time
import urllib.parse
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from xml.etree import ElementTree

from .documents import Obj, OSSError, document, element, iso, md5_etag

__all__ = ["Objects", "byte_range", "check_conditions"]


class Objects:
    """The object and listing operations (a mixin of :class:`~.fake.OSSFake`)."""

    buckets: dict[str, dict[str, Obj]]
    undeletable: set[str]

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
        obj = Obj(body, md5_etag(body), time.time(), headers=self._kept_headers(h))
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
        self.buckets[bucket][key] = Obj(data, md5_etag(data), time.time(), "Appendable", self._kept_headers(h))
        return 200, {"x-oss-next-append-position": str(len(data)), "ETag": md5_etag(data)}, b""

    def _get_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        obj = self._object(bucket, key)
        check_conditions(obj, h, "")
        headers = self._meta_headers(obj)
        size = len(obj.data)
        span = byte_range(h.get("range", ""), size, h.get("x-oss-range-behavior", "") == "standard")
        if span is None:
            return 200, headers, obj.data
        first, last = span
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return 206, headers, memoryview(obj.data)[first : last + 1]

    def _head_object(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        obj = self._object(bucket, key)
        check_conditions(obj, h, "")
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
                deleted += f"<Deleted>{element('Key', urllib.parse.quote(name) if encode else name)}</Deleted>"
        return 200, {}, document("DeleteResult", (element("EncodingType", "url") if encode else "") + deleted)

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
            document("CopyObjectResult", element("ETag", obj.etag) + element("LastModified", iso(obj.mtime))),
        )

    def _copy_source(self, h: dict[str, str]) -> Obj:
        source = urllib.parse.unquote(h["x-oss-copy-source"]).lstrip("/")
        source_bucket, _, source_key = source.partition("/")
        if source_bucket not in self.buckets:
            raise OSSError(404, "NoSuchBucket", "The specified bucket does not exist.")
        obj = self._object(source_bucket, source_key)
        check_conditions(obj, h, "x-oss-copy-source-")
        return obj

    def _get_bucket_info(self, bucket: str, key: str, q: dict[str, str], h: dict[str, str], body: bytes) -> Any:
        info = (
            element("Name", bucket)
            + element("CreationDate", iso(0))
            + element("StorageClass", "Standard")
            + element("ExtranetEndpoint", "127.0.0.1")
            + element("IntranetEndpoint", "127.0.0.1")
            + element("Location", "oss-fake")
            + "<Owner><DisplayName>0</DisplayName><ID>0</ID></Owner>"
            + "<AccessControlList><Grant>private</Grant></AccessControlList>"
        )
        return 200, {}, document("BucketInfo", f"<Bucket>{info}</Bucket>")

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
        out = (
            element("Name", bucket)
            + element("Prefix", enc(prefix))
            + element("Marker", enc(marker))
            + element("MaxKeys", max_keys)
        )
        out += element("Delimiter", enc(delimiter)) + (element("EncodingType", "url") if encode else "")
        out += element("IsTruncated", "true" if truncated else "false")
        if truncated:
            out += element("NextMarker", enc(last))
        for name in contents:
            obj = self.buckets[bucket][name]
            out += (
                "<Contents>"
                + element("Key", enc(name))
                + element("LastModified", iso(obj.mtime))
                + element("ETag", obj.etag)
                + element("Type", obj.kind)
                + element("Size", len(obj.data))
                + element("StorageClass", "Standard")
                + "<Owner><ID>0</ID><DisplayName>0</DisplayName></Owner></Contents>"
            )
        for common in prefixes:
            out += f"<CommonPrefixes>{element('Prefix', enc(common))}</CommonPrefixes>"
        return 200, {}, document("ListBucketResult", out)


def check_conditions(obj: Obj, h: dict[str, str], prefix: str) -> None:
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


def byte_range(header: str, size: int, standard: bool) -> tuple[int, int] | None:
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
