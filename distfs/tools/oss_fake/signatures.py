"""Who may do what: OSS V1 signatures (header and URL forms), STS security tokens, public-read buckets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from email.utils import parsedate_to_datetime

from .documents import OSSError

__all__ = ["PUBLIC_READS", "SKEW", "SUBRESOURCES", "Signatures"]

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


class Signatures:
    """Authentication of requests (a mixin of :class:`~.fake.OSSFake`)."""

    credentials: dict[str, str]
    tokens: dict[str, str]
    public_read: set[str]

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
