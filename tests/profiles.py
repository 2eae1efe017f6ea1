"""What each built-in driver is, for the tests: one :class:`DriverProfile` per driver (issue 28).

The driver list is the factory's (:data:`distfs.tools.local.DRIVERS`, read from
:data:`distfs.factory.BUILTIN_DRIVERS`; ``s3aws`` is ``s3``): a driver added there gets a
plain profile here and runs in every test parametrized over :data:`PROFILES`; this module
fails at import when a quirk names a driver the factory does not have. A profile says

* which local server the driver needs (``server``, from its entry in
  :data:`distfs.tools.local.SERVERS`; none for ``inmemory`` and ``filesystem``), its retry
  parameter (``retries``, from that entry too) and the parameter naming its URL
  (``endpoint``), so a test can put a
  :class:`fault_proxy.FaultProxy` in front of it (:class:`stores.Setup`);
* its capabilities, read from the driver itself (:meth:`DriverProfile.capabilities`);
* its quirks: the smallest chunk it takes, the settings that make every writer multipart,
  the sizes a resumed upload is suspended at, how a listing request looks on the wire;
* an :class:`Admin`: the test's own client of the store (never the driver's), to place
  objects the driver did not write (markers such as ``dir/``) and to see every key.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import distfs
from distfs.tools.local import DRIVERS, SERVERS, LocalStores
from distfs.tools.servers import ACCESS_KEY, AZURITE_ACCOUNT, AZURITE_KEY, SECRET_KEY

MiB = 1 << 20


class Admin(Protocol):
    """The test's own client of one store (bucket, container) a driver's parameters name."""

    #: Whether :meth:`uploads` sees pending multipart uploads (S3, OSS).
    sees_uploads: bool

    def put(self, key: str, data: bytes = b"") -> None:
        """Write object ``key`` (no leading ``/``; ``dir/`` is a marker object)."""

    def keys(self) -> list[str]:
        """Every key of the store, sorted: hidden ones, and (Azure) blobs of uncommitted blocks only."""

    def uploads(self) -> dict[str, list[int]]:
        """Part sizes of every pending multipart upload, by key ({} where the store cannot list
        them: GCS resumable sessions; Azure's uncommitted blocks show in :meth:`keys`)."""


@dataclass(frozen=True)
class DriverProfile:
    """One driver as the tests see it (see the module docstring)."""

    name: str
    #: How the driver's name is spelt in class names and tables (``TestS3``, ``TestAzure``).
    title: str = ""
    #: The local server behind the driver ("" when it needs none); from its :data:`SERVERS` entry.
    server: str = ""
    #: The parameter that holds the server's URL.
    endpoint: str = ""
    #: The parameter naming the store (bucket, container) on the server.
    store_key: str = ""
    #: The parameter holding the retry count and the parameters that turn retries off (both from
    #: its :data:`SERVERS` entry), and those that make retries quick (Azure waits between
    #: retries unless told otherwise).
    retries: str = ""
    no_retries: Mapping[str, Any] = field(default_factory=dict)
    quick_retries: Mapping[str, Any] = field(default_factory=dict)
    #: A wrong credential, where the local server verifies them (moto and fake-gcs-server do not).
    wrong_credentials: Mapping[str, Any] = field(default_factory=dict)
    #: The request that publishes a writer's upload (method and path fragment).
    publish: tuple[str, str] = ("", "")
    #: The smallest chunk the driver takes (more requests per MiB).
    chunk: Mapping[str, Any] = field(default_factory=dict)
    #: Settings that make every writer multipart and every move a multipart copy.
    small_parts: Mapping[str, Any] = field(default_factory=dict)
    #: Sizes at which fresh processes suspend one upload in turn; the last is the object's size.
    resume_sizes: tuple[int, ...] = ()
    #: Method and path fragment of a listing request on the wire.
    listing: tuple[str, str] = ("", "")
    #: HEAD requests a walk of a flat listing may send at most (None: not counted).
    walk_heads: int | None = None
    #: Whether the server starts a listing after a given name (S3 ``StartAfter``, GCS
    #: ``startOffset``, OSS ``marker``), so a walk skips a directory without listing it
    #: (Azurite ignores ``start_from``: the azure store drops the names itself).
    seeks: bool = False
    #: The request header that names the source of a server-side copy (S3 ``x-amz-copy-source``,
    #: OSS ``x-oss-copy-source``; empty where copies are not such requests).
    copy_source: str = ""
    #: Method and path fragment of a batch delete on the wire (empty: deletes are single).
    batch_delete: tuple[str, str] = ("", "")
    #: Whether the driver runs on the object-store engine (``distfs.aio`` drives it without threads).
    engine: bool = True
    #: The test's own client of a store, from the driver's parameters.
    admin: Callable[[LocalStores, Mapping[str, Any]], Admin] | None = None

    def __post_init__(self) -> None:
        if not self.title:
            object.__setattr__(self, "title", self.name.capitalize())
        entry = SERVERS.get(self.name)
        if entry is not None:
            object.__setattr__(self, "server", entry.server)
            if entry.retries:
                object.__setattr__(self, "retries", entry.retries)
                object.__setattr__(self, "no_retries", {entry.retries: entry.never})

    @property
    def cloud(self) -> bool:
        """Whether the driver talks HTTP to a server (the harness starts a local one)."""
        return bool(self.server)

    def capabilities(self, stores: LocalStores) -> distfs.Capabilities:
        """What the driver declares, read from a driver on a fresh local store."""
        return distfs.create(self.name, stores.parameters(self.name)).capabilities

    def copies(self, heard: list[tuple[str, str, dict[str, str]]], part: bool) -> int:
        """How many requests a :class:`fault_proxy.FaultProxy` heard were server-side copies:
        of parts of a multipart upload (``part``: UploadPartCopy), or of whole objects (CopyObject)."""
        return sum(1 for _, path, headers in heard if self.copy_source in headers and ("uploadId=" in path) == part)

    def requests(self, trace: list[str], kind: tuple[str, str]) -> int:
        """How many lines of a :class:`fault_proxy.FaultProxy` trace are requests of ``kind``
        (a method and a path fragment, such as :attr:`listing`)."""
        method, fragment = kind
        return sum(1 for line in trace if line.split(" ")[1] == method and fragment in line.split(" ")[2])


class _S3Admin:
    sees_uploads = True

    def __init__(self, stores: LocalStores, parameters: Mapping[str, Any]) -> None:
        import botocore.session

        self.bucket = parameters["bucket"]
        self.client = botocore.session.get_session().create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=parameters["regionendpoint"],
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def put(self, key: str, data: bytes = b"") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def keys(self) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def uploads(self) -> dict[str, list[int]]:
        found = {}
        for upload in self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []):
            listing = self.client.list_parts(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
            found[upload["Key"]] = [part["Size"] for part in listing.get("Parts", [])]
        return found


class GCSAdmin:
    """The test's own client of a fake-gcs-server bucket (plain JSON API requests)."""

    sees_uploads = False

    def __init__(self, stores: LocalStores | None, parameters: Mapping[str, Any]) -> None:
        self.bucket, self.endpoint = parameters["bucket"], parameters["endpoint"]

    def put(self, key: str, data: bytes = b"") -> None:
        query = urllib.parse.urlencode({"uploadType": "media", "name": key})
        request = urllib.request.Request(
            f"{self.endpoint}/upload/storage/v1/b/{self.bucket}/o?{query}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        urllib.request.urlopen(request).read()

    def keys(self) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            query = urllib.parse.urlencode({"pageToken": token} if token else {})
            with urllib.request.urlopen(f"{self.endpoint}/storage/v1/b/{self.bucket}/o?{query}") as response:
                listing = json.loads(response.read())
            names += [item["name"] for item in listing.get("items", [])]
            token = listing.get("nextPageToken", "")
            if not token:
                return sorted(names)

    def uploads(self) -> dict[str, list[int]]:
        return {}


class _AzureAdmin:
    sees_uploads = False

    def __init__(self, stores: LocalStores, parameters: Mapping[str, Any]) -> None:
        from azure.storage.blob import BlobServiceClient

        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={parameters['serviceurl']};"
        )
        service = BlobServiceClient.from_connection_string(connection)
        self.container = service.get_container_client(parameters["container"])

    def put(self, key: str, data: bytes = b"") -> None:
        self.container.upload_blob(key, data, overwrite=True)

    def keys(self) -> list[str]:
        return sorted(b.name for b in self.container.list_blobs(include=["uncommittedblobs"]))

    def uploads(self) -> dict[str, list[int]]:
        return {}


class _OSSAdmin:
    sees_uploads = True

    def __init__(self, stores: LocalStores, parameters: Mapping[str, Any]) -> None:
        import oss2

        self.fake = stores.oss_fake()
        self.bucket = parameters["bucket"]
        auth = oss2.Auth(parameters["accesskeyid"], parameters["accesskeysecret"])
        self.client = oss2.Bucket(auth, parameters["endpoint"], self.bucket)

    def put(self, key: str, data: bytes = b"") -> None:
        self.client.put_object(key, data)

    def keys(self) -> list[str]:
        return list(self.fake.keys(self.bucket))

    def uploads(self) -> dict[str, list[int]]:
        return dict(self.fake.upload_parts(self.bucket))


_QUIRKS = (
    DriverProfile("filesystem", engine=False),
    DriverProfile(
        "s3",
        title="S3",
        store_key="bucket",
        publish=("POST", "uploadId="),  # CompleteMultipartUpload
        endpoint="regionendpoint",
        chunk={"chunksize": 5 * MiB},
        small_parts={
            "chunksize": 5 * MiB,
            "multipartcopythresholdsize": 0,
            "multipartcopychunksize": str(5 * MiB),
            "multipartcopymaxconcurrency": "3",
        },
        resume_sizes=(0, 3 * MiB, 6 * MiB + 5, 7 * MiB + 11),
        listing=("GET", "list-type=2"),
        walk_heads=0,
        seeks=True,
        copy_source="x-amz-copy-source",
        batch_delete=("POST", "?delete"),
        admin=_S3Admin,
    ),
    DriverProfile(
        "gcs",
        title="GCS",
        store_key="bucket",
        publish=("POST", "/compose"),  # compose of the segments onto the path
        endpoint="endpoint",
        chunk={"chunksize": 8 * MiB},
        small_parts={"chunksize": 256 << 10},
        resume_sizes=(0, MiB, 2 * MiB + 5, 3 * MiB + 11),
        listing=("GET", "/o?"),
        seeks=True,
        admin=GCSAdmin,
    ),
    DriverProfile(
        "azure",
        title="Azure",
        store_key="container",
        quick_retries={"retry_delay": "1ms"},
        wrong_credentials={"accountkey": "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="},
        publish=("PUT", "comp=blocklist"),  # Put Block List of the staging blob
        endpoint="serviceurl",
        resume_sizes=(0, 3 * MiB, 6 * MiB + 5, 9 * MiB + 11),
        listing=("GET", "comp=list"),
        admin=_AzureAdmin,
    ),
    DriverProfile(
        "oss",
        title="OSS",
        store_key="bucket",
        wrong_credentials={"accesskeysecret": "not-the-secret"},
        publish=("POST", "uploadId="),  # CompleteMultipartUpload
        endpoint="endpoint",
        chunk={"chunksize": 5 * MiB},
        small_parts={"chunksize": 5 * MiB},
        resume_sizes=(0, 3 * MiB, 6 * MiB + 5, 7 * MiB + 11),
        listing=("GET", "max-keys="),
        walk_heads=1,
        seeks=True,
        copy_source="x-oss-copy-source",
        batch_delete=("POST", "?delete"),
        admin=_OSSAdmin,
    ),
)

_unknown = {p.name for p in _QUIRKS} - set(DRIVERS)
assert not _unknown, f"profiles of drivers the factory does not have: {sorted(_unknown)}"

#: Every built-in driver's profile, in the factory's order.
PROFILES: dict[str, DriverProfile] = {
    name: next((p for p in _QUIRKS if p.name == name), DriverProfile(name)) for name in DRIVERS
}
#: Drivers that need no server (they run on a fresh store with no harness).
LOCAL = tuple(name for name, p in PROFILES.items() if not p.cloud)
#: Drivers that talk to a server (object stores; the harness starts a local one).
CLOUD = tuple(name for name, p in PROFILES.items() if p.cloud)
