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

from .documents import Obj, OSSError, Upload
from .fake import OSSFake
from .server import serve

__all__ = ["OSSError", "OSSFake", "Obj", "Upload", "serve"]
