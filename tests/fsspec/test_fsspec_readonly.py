"""Read-only credentials on s3: every write is ``PermissionError`` (EACCES) naming the caller's path.

A moto of its own with authentication on: the bucket, its objects and an IAM user whose
policy allows ``s3:Get*`` and ``s3:List*`` only are made while authentication is still
off, then ``/moto-api/reset-auth`` turns it on for every later request. Reads with that
user's key keep working; rm, rm(recursive), pipe, ``open("wb")``+close and mv are refused,
and nothing is lost. Before issue 26, a refused batch delete (S3 answers ``DeleteObjects``
with 200 and a per-key ``AccessDenied``) was a plain ``OSError`` ``EIO`` ("errors: ...")
and the other refusals named no path (``filename`` None).
"""

from __future__ import annotations

import errno
import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS

import distfs
from distfs.fsspec import DistFileSystem

pytestmark = NO_LEAKS

BUCKET = "read-only"
OBJECTS = {"d/a": b"a", "d/b": b"b", "f": b"f"}
ALLOW_READS = {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}
READ_ONLY = {"Version": "2012-10-17", "Statement": [ALLOW_READS]}


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """s3 driver parameters with a read-only key, on a moto that checks credentials."""
    import botocore.session

    from distfs.tools.servers import moto_server

    with moto_server(tmp_path_factory.mktemp("moto-auth") / "moto.log") as endpoint:
        session = botocore.session.get_session()
        setup = {"region_name": "us-east-1", "endpoint_url": endpoint}
        setup |= {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}  # unchecked until auth is on
        s3, iam = session.create_client("s3", **setup), session.create_client("iam", **setup)
        s3.create_bucket(Bucket=BUCKET)
        for key, body in OBJECTS.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps(READ_ONLY))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        request = urllib.request.Request(
            endpoint + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        yield {
            "bucket": BUCKET,
            "region": "us-east-1",
            "regionendpoint": endpoint,
            "accesskey": key["AccessKeyId"],
            "secretkey": key["SecretAccessKey"],
        }


@pytest.fixture
def fs(read_only: dict[str, Any]) -> DistFileSystem:
    filesystem = fsspec.filesystem("distfs", driver="s3", skip_instance_cache=True, **read_only)
    assert isinstance(filesystem, DistFileSystem)
    return filesystem


def _refused(error: BaseException, path: str, secret: str) -> None:
    assert isinstance(error, PermissionError)
    assert isinstance(error, distfs.AccessDeniedError)
    assert error.errno == errno.EACCES
    assert error.filename == path
    assert str(error).endswith(": " + path), str(error)
    assert "AccessDenied" in str(error)
    assert secret not in str(error)


WRITES: dict[str, tuple[Callable[[DistFileSystem], object], str]] = {
    "rm": (lambda fs: fs.rm("/f"), "/f"),
    "rm_file": (lambda fs: fs.rm_file("/f"), "/f"),
    "rm recursive": (lambda fs: fs.rm("/d", recursive=True), "/d"),
    "rm list": (lambda fs: fs.rm(["/d/a", "/f"]), "/d/a"),
    "pipe": (lambda fs: fs.pipe("/new", b"x"), "/new"),
    "pipe over": (lambda fs: fs.pipe("/f", b"x"), "/f"),
    "open wb close": (lambda fs: fs.open("/new", "wb").close(), "/new"),
    "with open wb": (lambda fs: fs.open("/f", "wb").__exit__(None, None, None), "/f"),
    "mv": (lambda fs: fs.mv("/f", "/g"), "/f"),
    "mv recursive": (lambda fs: fs.mv("/d", "/e", recursive=True), "/d/a"),  # fsspec moves file by file
    "cp": (lambda fs: fs.cp("/f", "/g"), "/f"),
}


@pytest.mark.parametrize("what", sorted(WRITES))
def test_writes_with_read_only_credentials_are_permission_errors(
    fs: DistFileSystem, read_only: dict[str, Any], what: str
) -> None:
    call, path = WRITES[what]
    with pytest.raises(PermissionError) as refused:
        call(fs)
    _refused(refused.value, path, read_only["secretkey"])
    # nothing lost, nothing invented; reads keep working with the same key
    assert fs.find("/") == ["/d/a", "/d/b", "/f"]
    assert fs.cat(["/d/a", "/d/b", "/f"]) == {"/" + key: body for key, body in OBJECTS.items()}
    with fs.open("/d/a", "rb") as stream:
        assert stream.read() == b"a"
    assert fs.ls("/d", detail=False) == ["/d/a", "/d/b"]


def test_the_driver_raises_access_denied(read_only: dict[str, Any]) -> None:
    """Through ``distfs.create``: delete (a refused batch delete, 200 with per-key errors,
    was a ``DriverError`` "errors: ...") and every other write is AccessDeniedError."""
    driver = distfs.create("s3", read_only)
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: driver.delete("/f"), "/f"),
        (lambda: driver.delete("/d"), "/d"),
        (lambda: driver.delete_many(["/d/b", "/f"]), "/d/b"),
        (lambda: driver.put_content("/new", b"x"), "/new"),
        (lambda: driver.move("/f", "/g"), "/f"),
    ]
    for call, path in calls:
        with pytest.raises(distfs.AccessDeniedError) as refused:
            call()
        _refused(refused.value, path, read_only["secretkey"])
    assert driver.get_content("/f") == b"f"
    assert driver.list("/d") == ["/d/a", "/d/b"]


def test_a_chained_url_names_the_callers_path(read_only: dict[str, Any], tmp_path: Path) -> None:
    """``distfs::s3://bucket/...``: the refusal names the s3 path the caller wrote, not the driver's."""
    options = {
        "endpoint_url": read_only["regionendpoint"],
        "key": read_only["accesskey"],
        "secret": read_only["secretkey"],
        "client_kwargs": {"region_name": "us-east-1"},
    }
    url = f"distfs::s3://{BUCKET}/f"
    with fsspec.open(url, "rb", s3=options) as stream:
        assert stream.read() == b"f"
    with pytest.raises(PermissionError) as refused, fsspec.open(url, "wb", s3=options) as stream:
        stream.write(b"x")
    _refused(refused.value, f"{BUCKET}/f", read_only["secretkey"])
