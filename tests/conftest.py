"""Shared fixtures: fresh drivers on private stores, and the local servers they need."""

from __future__ import annotations

import os

# gcsfs's default class probes a gRPC control API (60 s timeouts against an emulator)
# unless this is set before gcsfs is first imported.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import contextlib
import itertools
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from profiles import LOCAL
from stores import Setup
from zips import build_zip

import distfs
from distfs.tools.local import LocalStores
from distfs.tools.servers import (
    ACCESS_KEY,
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    SECRET_KEY,
    SFTPEndpoint,
)
from distfs.tools.servers import sftp_server as run_sftp_server

#: The drivers that need no server: the ``driver`` fixture runs each.
DRIVER_NAMES = list(LOCAL)


# -- peak memory ----------------------------------------------------------------------

#: The suite's memory goal (issue 28; 2048 in issue 17): the pytest process and each of its
#: xdist workers stay below this peak RSS (``DISTFS_PEAK_RSS_LIMIT_MIB`` enforces a limit).
PEAK_RSS_GOAL_MIB = 1024
_peak = {"mib": 0.0, "test": "(collection)"}


def _return_freed_buffers() -> None:
    """Have glibc's malloc map every buffer of 1 MiB or more on its own, so that freeing it gives the
    memory back, and keep two arenas. By default that threshold rises with the largest buffer
    freed (up to 32 MiB); then the suite's MiB-sized chunks, written and read on many threads,
    are carved from per-thread arenas (up to 16 on 2 cores), which keep the memory once it is
    freed: one conformance run of the toy driver (tests/drivers/test_writing_a_driver.py) left a process
    460 MiB larger, for good (180 MiB with the threshold fixed, then back to 30); two arenas
    take another 40 MiB off the async suite's classes. Other C libraries: nothing done."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None)
            libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD, glibc's malloc.h
            libc.mallopt(-8, 2)  # M_ARENA_MAX


_return_freed_buffers()


def _max_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    value = resource.getrusage(who).ru_maxrss
    return value / (1 << 20) if sys.platform == "darwin" else value / 1024


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember the test during which the process's peak RSS last grew."""
    if report.when == "teardown":
        peak = _max_rss_mib()
        if peak > _peak["mib"]:
            _peak.update(mib=peak, test=report.nodeid)


_workers: dict[str, tuple[float, str]] = {}
"""Under pytest-xdist, the controller's record of each worker's peak RSS and its test."""


def _largest_peak() -> tuple[float, str, str]:
    """The largest peak RSS of this process and of the xdist workers: MiB, test, who."""
    peaks = [(_max_rss_mib(), _peak["test"], "pytest")]
    peaks += [(mib, test, f"worker {name}") for name, (mib, test) in _workers.items()]
    return max(peaks)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: keep the peak RSS a worker reported when it finished."""
    output = getattr(node, "workeroutput", {})
    if "peak_rss_mib" in output:
        _workers[str(getattr(getattr(node, "gateway", None), "id", node))] = (
            output["peak_rss_mib"],
            output["peak_rss_test"],
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when ``DISTFS_PEAK_RSS_LIMIT_MIB`` is set and the largest peak RSS (this
    process's, or an xdist worker's) went above it; a worker reports its peak to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["peak_rss_mib"], output["peak_rss_test"] = _max_rss_mib(), _peak["test"]
        return
    limit = os.environ.get("DISTFS_PEAK_RSS_LIMIT_MIB")
    if limit and _largest_peak()[0] > float(limit) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Report the suite's peak memory (CI shows it at the end of every run)."""
    peak, test, who = _largest_peak()
    children = _max_rss_mib(resource.RUSAGE_CHILDREN)
    terminalreporter.write_line(
        f"peak RSS: {who} {peak:.0f} MiB (last grew in {test}); "
        f"largest finished child process {children:.0f} MiB; goal: at most {PEAK_RSS_GOAL_MIB} MiB"
    )


# -- scheduling -----------------------------------------------------------------------

#: The files that take longest (20 s to 2 min each on 2 cores), longest first. scripts/test
#: gives two workers whole files (``--dist loadfile``) in collection order: these go first,
#: so that the short files fill in at the end and both workers finish together.
SLOW_FILES = (
    "test_crash.py",
    "test_model.py",
    "test_object_store_behaviours.py",
    "test_faults.py",
    "test_bench.py",
    "test_hostile.py",
    "test_probe.py",
    "test_aio.py",
    "test_registry_dask.py",
    "test_writing_a_driver.py",
    "test_load.py",
    "test_quality.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run :data:`SLOW_FILES` first, each file's tests in their order."""
    rank = {name: index for index, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture
def make_driver(tmp_path: Path) -> Callable[[str], distfs.StorageDriver]:
    """Build a driver by name on a private, empty store (filesystem: under tmp_path)."""

    def make(name: str) -> distfs.StorageDriver:
        if name == "filesystem":
            return distfs.create("filesystem", {"rootdirectory": str(tmp_path / "root")})
        return distfs.create(name)

    return make


@pytest.fixture(params=DRIVER_NAMES)
def driver(request: pytest.FixtureRequest, make_driver: Callable[[str], distfs.StorageDriver]) -> distfs.StorageDriver:
    """Each built-in driver in turn."""
    name: str = request.param
    return make_driver(name)


# -- S3 on moto -----------------------------------------------------------------------

_buckets = itertools.count()


@pytest.fixture(scope="session")
def local_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStores]:
    """Every built-in driver's local server (started on first use) for the whole session."""
    with LocalStores(tmp_path_factory.mktemp("servers")) as stores:
        yield stores


@pytest.fixture
def store_parameters(local_stores: LocalStores) -> Iterator[Callable[..., dict[str, Any]]]:
    """``store_parameters(name, retries=None)``: parameters of driver ``name`` on a new, empty
    local store (:meth:`LocalStores.parameters`), forgotten when the test ends (:meth:`LocalStores.forget`)."""
    made: list[tuple[str, dict[str, Any]]] = []

    def parameters(name: str, retries: int | None = None) -> dict[str, Any]:
        made.append((name, local_stores.parameters(name, retries)))
        return made[-1][1]

    yield parameters
    for name, parameters_of_a_store in made:
        local_stores.forget(name, parameters_of_a_store)


@pytest.fixture(scope="session")
def s3_endpoint(local_stores: LocalStores) -> str:
    """A moto S3 server for the whole session."""
    return local_stores.endpoint("s3")


@pytest.fixture(scope="session")
def s3_admin(s3_endpoint: str) -> Any:
    """A plain botocore client for test set-up and inspection (not the code under test)."""
    import botocore.session

    return botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def new_bucket(admin: Any) -> str:
    name = f"distfs-test-{next(_buckets)}-{int(time.time() * 1000) % 10**8}"
    admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_bucket(s3_admin: Any) -> str:
    """A fresh, empty bucket."""
    return new_bucket(s3_admin)


def write_then_fail(opened: Any, data: Any) -> None:
    """Write ``data`` in a ``with opened`` block that raises (a producer that failed)."""
    with opened as stream:
        stream.write(data)
        raise RuntimeError("the producer failed")


def s3_parameters_for(endpoint: str, bucket: str) -> dict[str, Any]:
    """Parameters of an s3 driver on ``bucket`` (5 MiB chunks)."""
    return {
        "accesskey": ACCESS_KEY,
        "secretkey": SECRET_KEY,
        "region": "us-east-1",
        "regionendpoint": endpoint,
        "bucket": bucket,
        "chunksize": 5 << 20,
    }


@pytest.fixture
def s3_parameters(s3_endpoint: str, s3_bucket: str) -> dict[str, Any]:
    """Parameters of an s3 driver on the fresh bucket."""
    return s3_parameters_for(s3_endpoint, s3_bucket)


# -- Azure Blob Storage on Azurite, GCS on fake-gcs-server ----------------------------


@pytest.fixture(scope="session")
def azurite_endpoint(local_stores: LocalStores) -> str:
    """Azurite's blob endpoint (``http://127.0.0.1:PORT/devstoreaccount1``) for the session."""
    return local_stores.endpoint("azure")


def azurite_connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )


@pytest.fixture(scope="session")
def gcs_endpoint(local_stores: LocalStores) -> str:
    """fake-gcs-server's endpoint (``http://127.0.0.1:PORT``) for the session."""
    return local_stores.endpoint("gcs")


def unique_name(prefix: str) -> str:
    """A bucket or container name no other test uses."""
    return f"{prefix}-{next(_buckets)}-{os.getpid()}-{int(time.time() * 1000) % 10**8}"


# -- SFTP on asyncssh's server --------------------------------------------------------


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPEndpoint]:
    """A local SFTP server (asyncssh's, chrooted to a temporary directory, no shell) for the
    session, one per xdist worker: ``host``, ``port``, ``username``, ``password``, ``root`` (the
    served directory on this machine: the client's ``/``) and ``storage_options`` for sshfs
    (``fsspec.filesystem("sftp", **sftp_server.storage_options)``); ``key_storage_options``
    log in with the generated ``client_key`` instead of the password. Tests share the server:
    work under a directory of your own. Never skipped: a server that cannot start is an error.
    """
    with run_sftp_server(tmp_path_factory.mktemp("sftp") / "sftp.log") as endpoint:
        yield endpoint


# -- a zip file (fsspec's read-only zip filesystem) --------------------------------------


@pytest.fixture(scope="session")
def zip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real zip holding ``zips.ZIP_CONTENTS`` (nested directories, an empty file, a 5 MiB
    member; no directory entries): ``fsspec.filesystem("zip", fo=zip_file)``. Read it only."""
    return build_zip(tmp_path_factory.mktemp("zip") / "fixture.zip")


# -- a store behind a fault proxy --------------------------------------------------------


@pytest.fixture
def setup(local_stores: LocalStores) -> Iterator[Callable[..., Setup]]:
    made: list[Setup] = []

    def make(name: str, **proxy: Any) -> Setup:
        made.append(Setup(local_stores, name, **proxy))
        return made[-1]

    yield make
    for one in made:
        one.proxy.close()
        local_stores.forget(one.name, one.parameters)
