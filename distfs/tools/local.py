"""Every built-in driver on a fresh local store, servers started on demand.

:class:`LocalStores` is what ``distfs probe --local``, ``distfs bench`` and the tests use
to reach every driver without a cloud account: ``inmemory``; ``filesystem`` in a
temporary directory; ``s3`` on moto; ``gcs`` on fake-gcs-server; ``azure`` on Azurite;
``oss`` on distfs's own OSS protocol fake; any other built-in store by its module's
``local_parameters(workdir)``, when it needs no server. A server starts the first time one
of its stores is asked for, and every store is new (a fresh bucket, container or directory)::

    with LocalStores() as stores:
        driver = distfs.create("s3", stores.parameters("s3"))

The credentials are the servers' public test values, never real ones.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import json
import os
import tempfile
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from ..factory import BUILTIN_DRIVERS
from .servers import ACCESS_KEY, AZURITE_ACCOUNT, AZURITE_KEY, SECRET_KEY, azurite, fake_gcs_server, moto_server

__all__ = ["DRIVERS", "OSS_KEY_ID", "OSS_SECRET", "RETRY_KEYS", "LocalStores"]

#: The drivers :class:`LocalStores` can serve, in the order tables show them (``s3aws`` is ``s3``).
DRIVERS = tuple(name for name in BUILTIN_DRIVERS if name != "s3aws")

#: The retry count parameter of each driver that retries (azure's ``0`` means its default, ``-1`` none).
RETRY_KEYS = {"s3": "maxretries", "gcs": "maxretries", "azure": "max_retries", "oss": "maxretries"}

OSS_KEY_ID = "oss-test-key-id"
OSS_SECRET = "oss-test-secret-Zq9"


class LocalStores:
    """Fresh stores for the built-in drivers; servers live until the context exits."""

    def __init__(self, workdir: str | Path | None = None) -> None:
        self._stack = contextlib.ExitStack()
        self._given = Path(workdir) if workdir is not None else None
        self._workdir: Path | None = None
        self._endpoints: dict[str, str] = {}
        self._oss_fake: Any = None
        self._names = itertools.count()

    def __enter__(self) -> LocalStores:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop every server started so far and remove the temporary directory."""
        self._stack.close()
        self._endpoints.clear()
        self._workdir = None

    @property
    def workdir(self) -> Path:
        """Where server logs and filesystem stores live."""
        if self._workdir is None:
            if self._given is not None:
                self._given.mkdir(parents=True, exist_ok=True)
                self._workdir = self._given
            else:
                self._workdir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="distfs-local-")))
        return self._workdir

    def _name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}-{os.getpid()}"

    def endpoint(self, driver: str) -> str:
        """The endpoint URL of the server behind ``driver`` (started on first use)."""
        if driver not in self._endpoints:
            log = self.workdir / f"{driver}.log"
            if driver == "s3":
                self._endpoints[driver] = self._stack.enter_context(moto_server(log))
            elif driver == "gcs":
                self._endpoints[driver] = self._stack.enter_context(fake_gcs_server(log))
            elif driver == "azure":
                self._endpoints[driver] = self._stack.enter_context(azurite(log))
            elif driver == "oss":
                from .oss_fake import OSSFake, serve

                self._oss_fake = OSSFake(OSS_KEY_ID, OSS_SECRET)
                server, _ = serve(self._oss_fake)
                self._stack.callback(server.server_close)  # after shutdown (the stack unwinds in reverse)
                self._stack.callback(server.shutdown)
                self._endpoints[driver] = f"http://127.0.0.1:{server.server_address[1]}"
            else:
                raise ValueError(f"no local server for driver {driver!r}")
        return self._endpoints[driver]

    def oss_fake(self) -> Any:
        """The :class:`~distfs.tools.oss_fake.OSSFake` behind ``oss`` (started on first use), for tests."""
        self.endpoint("oss")
        return self._oss_fake

    def parameters(self, driver: str, retries: int | None = None) -> dict[str, Any]:
        """Parameters of ``driver`` on a new, empty store; ``retries``: how often its requests are
        retried (None: the driver's default; 0: never), for callers to whom a failure of a local
        server is an answer to observe, not a fault to ride out (``distfs probe --local``)."""
        parameters = self._parameters(driver)
        if retries is not None and driver in RETRY_KEYS:
            key = RETRY_KEYS[driver]
            parameters[key] = -1 if retries == 0 and key == "max_retries" else retries  # azure: 0 is its default
        return parameters

    def _parameters(self, driver: str) -> dict[str, Any]:
        if driver == "inmemory":
            return {}
        if driver == "filesystem":
            root = self.workdir / self._name("filesystem")
            root.mkdir()
            return {"rootdirectory": str(root)}
        fresh = _local_parameters(driver)
        if fresh is not None:  # a store that needs no server says how to make a fresh one
            made: dict[str, Any] = fresh(str(self.workdir / self._name(driver)))
            return made
        endpoint = self.endpoint(driver)
        if driver == "s3":
            bucket = self._name("distfs-s3")
            self._s3_client().create_bucket(Bucket=bucket)
            return {
                "accesskey": ACCESS_KEY,
                "secretkey": SECRET_KEY,
                "region": "us-east-1",
                "regionendpoint": endpoint,
                "bucket": bucket,
            }
        if driver == "gcs":
            bucket = self._name("distfs-gcs")
            request = urllib.request.Request(
                endpoint + "/storage/v1/b?project=test",
                data=json.dumps({"name": bucket}).encode(),
                headers={"Content-Type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=30).close()
            return {"bucket": bucket, "endpoint": endpoint}
        if driver == "azure":
            from azure.storage.blob import BlobServiceClient

            container = self._name("distfs-azure")
            connection = (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={endpoint};"
            )
            BlobServiceClient.from_connection_string(connection).create_container(container)
            return {
                "accountname": AZURITE_ACCOUNT,
                "accountkey": AZURITE_KEY,
                "serviceurl": endpoint,
                "container": container,
            }
        if driver == "oss":
            bucket = self._name("distfs-oss")
            self._oss_fake.create_bucket(bucket)
            return {
                "accesskeyid": OSS_KEY_ID,
                "accesskeysecret": OSS_SECRET,
                "region": "oss-cn-hangzhou",
                "bucket": bucket,
                "endpoint": endpoint,
                "secure": False,
            }
        raise ValueError(f"no local store for driver {driver!r}; local drivers: {', '.join(DRIVERS)}")

    def _s3_client(self) -> Any:
        import botocore.session

        return botocore.session.get_session().create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url=self.endpoint("s3"),
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )


def _local_parameters(driver: str) -> Any:
    """The ``local_parameters(workdir)`` of built-in ``driver``'s module, if it has one (and is installed)."""
    builtin = BUILTIN_DRIVERS.get(driver)
    try:
        module = importlib.import_module(builtin.module) if builtin else None
    except ImportError:  # its extra is missing: creating the driver says so
        return None
    return getattr(module, "local_parameters", None)
