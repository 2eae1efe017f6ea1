"""Every built-in driver on a fresh local store, servers started on demand.

:class:`LocalStores` is what ``distfs probe --local``, ``distfs bench`` and the tests use
to reach every driver without a cloud account. A store that needs no server says how to
make a fresh one with its module's ``local_parameters(workdir)`` (``inmemory``,
``filesystem``); a store that needs one has an entry in :data:`SERVERS`, a
:class:`LocalServer`: how to start its server and how to make a fresh store on it (``s3`` on
moto, ``gcs`` on fake-gcs-server, ``azure`` on Azurite, ``oss`` on distfs's own OSS protocol
fake). A server starts the first time one of its stores is asked for and stops when the
context exits; every store is new (a fresh bucket, container or directory)::

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
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import InvalidStorageDriverError
from ..factory import BUILTIN_DRIVERS
from .servers import ACCESS_KEY, AZURITE_ACCOUNT, AZURITE_KEY, SECRET_KEY, azurite, fake_gcs_server, moto_server

__all__ = ["DRIVERS", "OSS_KEY_ID", "OSS_SECRET", "RETRY_KEYS", "SERVERS", "LocalServer", "LocalStores", "Running"]

OSS_KEY_ID = "oss-test-key-id"
OSS_SECRET = "oss-test-secret-Zq9"


@dataclass(frozen=True)
class Running:
    """A local server that is up: its endpoint URL, and what else its entry needs of it
    (``handle``: the OSS fake itself, whose buckets are made in process)."""

    endpoint: str
    handle: Any = None


#: How a server starts: given the file for its output, a context manager that yields it running.
Start = Callable[[Path], AbstractContextManager[Running]]


@dataclass(frozen=True)
class LocalServer:
    """One driver's local server: the one entry a store that needs a server adds to :data:`SERVERS`.

    ``start(log)`` is a context manager that starts the server on 127.0.0.1 (its output to the
    file ``log``), yields it :class:`Running` and stops it on exit (a server that cannot start
    raises); ``fresh(running, name)`` makes a new, empty store called ``name`` on it and returns
    the driver's parameters for it. ``retries`` is the driver's retry count parameter ("": it
    has none) and ``never`` the value of it that means no retry (azure: ``-1``; its ``0`` is
    its default). ``forget(running, parameters)``, if given, drops a store ``fresh`` made (a
    server in this process keeps its objects in this process's memory until it stops).
    """

    server: str
    start: Start
    fresh: Callable[[Running, str], dict[str, Any]]
    retries: str = ""
    never: int = 0
    forget: Callable[[Running, Mapping[str, Any]], None] | None = None


def at_endpoint(start: Callable[[Path], AbstractContextManager[str]]) -> Start:
    """A :attr:`LocalServer.start` from a server's context manager that yields its endpoint URL."""

    @contextlib.contextmanager
    def started(log: Path) -> Iterator[Running]:
        with start(log) as endpoint:
            yield Running(endpoint)

    return started


def _s3(running: Running, bucket: str) -> dict[str, Any]:
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=running.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    client.create_bucket(Bucket=bucket)
    client.close()
    return {
        "accesskey": ACCESS_KEY,
        "secretkey": SECRET_KEY,
        "region": "us-east-1",
        "regionendpoint": running.endpoint,
        "bucket": bucket,
    }


def _gcs(running: Running, bucket: str) -> dict[str, Any]:
    request = urllib.request.Request(
        running.endpoint + "/storage/v1/b?project=test",
        data=json.dumps({"name": bucket}).encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=30).close()
    return {"bucket": bucket, "endpoint": running.endpoint}


def _azure(running: Running, container: str) -> dict[str, Any]:
    from azure.storage.blob import BlobServiceClient

    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={running.endpoint};"
    )
    with BlobServiceClient.from_connection_string(connection) as service:
        service.create_container(container)
    return {
        "accountname": AZURITE_ACCOUNT,
        "accountkey": AZURITE_KEY,
        "serviceurl": running.endpoint,
        "container": container,
    }


@contextlib.contextmanager
def _oss_server(log: Path) -> Iterator[Running]:
    """The OSS fake in a thread of this process (``log`` unused: it logs nothing)."""
    from .oss_fake import OSSFake, serve

    fake = OSSFake(OSS_KEY_ID, OSS_SECRET)
    server, _ = serve(fake)
    try:
        yield Running(f"http://127.0.0.1:{server.server_address[1]}", fake)
    finally:
        server.shutdown()
        server.server_close()


def _oss(running: Running, bucket: str) -> dict[str, Any]:
    running.handle.create_bucket(bucket)
    return {
        "accesskeyid": OSS_KEY_ID,
        "accesskeysecret": OSS_SECRET,
        "region": "oss-cn-hangzhou",
        "bucket": bucket,
        "endpoint": running.endpoint,
        "secure": False,
    }


def _oss_forget(running: Running, parameters: Mapping[str, Any]) -> None:
    running.handle.forget_bucket(parameters["bucket"])


#: The local server of each driver that needs one, by driver name: a new such store adds its entry here.
SERVERS: dict[str, LocalServer] = {
    "s3": LocalServer("moto", at_endpoint(moto_server), _s3, "maxretries"),
    "gcs": LocalServer("fake-gcs-server", at_endpoint(fake_gcs_server), _gcs, "maxretries"),
    "azure": LocalServer("Azurite", at_endpoint(azurite), _azure, "max_retries", never=-1),
    "oss": LocalServer("OSS fake", _oss_server, _oss, "maxretries", forget=_oss_forget),
}

#: The drivers :class:`LocalStores` can serve, in the order tables show them (``s3aws`` is ``s3``).
DRIVERS = tuple(name for name in BUILTIN_DRIVERS if name != "s3aws")

#: The retry count parameter of each driver that retries (azure's ``0`` means its default, ``-1`` none).
RETRY_KEYS = {name: entry.retries for name, entry in SERVERS.items() if entry.retries}


class LocalStores:
    """Fresh stores for the built-in drivers; servers live until the context exits."""

    def __init__(self, workdir: str | Path | None = None) -> None:
        self._stack = contextlib.ExitStack()
        self._given = Path(workdir) if workdir is not None else None
        self._workdir: Path | None = None
        self._running: dict[str, Running] = {}
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
        self._running.clear()
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

    def _server(self, driver: str) -> Running:
        """The running server of ``driver``'s :data:`SERVERS` entry (started on first use)."""
        if driver not in self._running:
            entry = SERVERS.get(driver)
            if entry is None:
                raise InvalidStorageDriverError(driver, sorted(SERVERS), hint="no local server")
            self._running[driver] = self._stack.enter_context(entry.start(self.workdir / f"{driver}.log"))
        return self._running[driver]

    def endpoint(self, driver: str) -> str:
        """The endpoint URL of the server behind ``driver`` (started on first use)."""
        return self._server(driver).endpoint

    def oss_fake(self) -> Any:
        """The :class:`~distfs.tools.oss_fake.OSSFake` behind ``oss`` (started on first use), for tests."""
        return self._server("oss").handle

    def parameters(self, driver: str, retries: int | None = None) -> dict[str, Any]:
        """Parameters of ``driver`` on a new, empty store; ``retries``: how often its requests are
        retried (None: the driver's default; 0: never), for callers to whom a failure of a local
        server is an answer to observe, not a fault to ride out (``distfs probe --local``)."""
        entry = SERVERS.get(driver)
        if entry is not None:
            parameters = entry.fresh(self._server(driver), self._name(f"distfs-{driver}"))
            if retries is not None and entry.retries:
                parameters[entry.retries] = entry.never if retries == 0 else retries
            return parameters
        fresh = _local_parameters(driver)
        if fresh is None:
            raise InvalidStorageDriverError(driver, list(DRIVERS), hint="no local store")
        workdir = self.workdir / self._name(driver)
        workdir.mkdir()
        made: dict[str, Any] = fresh(str(workdir))
        return made

    def forget(self, driver: str, parameters: Mapping[str, Any]) -> None:
        """Drop the store of ``parameters`` (made by :meth:`parameters`) where its server would
        keep it in this process's memory (the OSS fake); elsewhere it stays until the server stops."""
        entry = SERVERS.get(driver)
        if entry is not None and entry.forget is not None and driver in self._running:
            entry.forget(self._running[driver], parameters)


def _local_parameters(driver: str) -> Any:
    """The ``local_parameters(workdir)`` of built-in ``driver``'s module, if it has one (and is installed)."""
    builtin = BUILTIN_DRIVERS.get(driver)
    try:
        module = importlib.import_module(builtin.module) if builtin else None
    except ImportError:  # its extra is missing: creating the driver says so
        return None
    return getattr(module, "local_parameters", None)
