"""The guarantees of DESIGN section 3 that the object-store engine writes once, tested on every driver.

Each test names the defect it guards against (issue 14): a reader of a replaced object
mixing two versions or coming back short, a failed ``write`` dropping bytes accepted before
it, a health check passing on a missing bucket or refused credentials, and the round trips
a small writer and a one-file delete cost. The crash (SIGKILL) harness is
``tests/engine/test_crash.py``, the fault-injection suite ``tests/engine/test_faults.py``, the model state
machine ``tests/contract/test_model.py``: all three run on every driver as well.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from profiles import PROFILES
from stores import CHUNK, CLOUD, Setup

import distfs
from distfs.tools import cli
from distfs.tools.local import DRIVERS, LocalStores

MiB = 1 << 20
#: Larger than any driver's read block (16 MiB at most): a reader needs several requests.
BIG = 17 * MiB + 4321


def content(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def driver_on(local_stores: LocalStores, name: str, **extra: Any) -> distfs.StorageDriver:
    return distfs.create(name, {**local_stores.parameters(name), **CHUNK.get(name, {}), **extra})


# -- readers: one version, never a mix, never short ----------------------------------------


@pytest.mark.parametrize("replacement", ["same size", "shorter", "longer", "deleted"])
@pytest.mark.parametrize("name", DRIVERS)
def test_a_reader_of_a_replaced_object_never_mixes(name: str, replacement: str, local_stores: LocalStores) -> None:
    driver = driver_on(local_stores, name)
    old = content(1, BIG)
    driver.put_content("/r/blob", old)
    new = {"same size": content(2, BIG), "shorter": content(3, BIG // 2), "longer": content(4, BIG + MiB)}
    changed: distfs.ObjectChangedError | None = None
    with driver.reader("/r/blob", 100) as stream:
        head = stream.read(1000)
        if replacement == "deleted":
            driver.delete("/r/blob")
        else:
            driver.put_content("/r/blob", new[replacement])
        try:
            rest = stream.read()
        except distfs.ObjectChangedError as exc:
            changed = exc
    if changed is None:  # no error: then every byte is the old version's, to its end
        assert head + rest == old[100:]
    else:
        assert changed.driver_name == name
        assert changed.path == "/r/blob"
        assert str(changed) == f"{name}: /r/blob changed while it was read"


@pytest.mark.parametrize("name", DRIVERS)
def test_the_reader_stream_api(name: str, local_stores: LocalStores) -> None:
    """read, readinto, readline, seek (all three whences) and tell, as io.BufferedReader."""
    driver = driver_on(local_stores, name)
    data = b"".join(b"line %d\n" % i for i in range(200_000))  # ~1.4 MiB
    driver.put_content("/s", data)
    reference = io.BytesIO(data)
    with driver.reader("/s", 10) as stream:
        reference.seek(10)
        assert stream.tell() == 10
        assert stream.read(5) == reference.read(5)
        assert stream.readline() == reference.readline()
        buffer = bytearray(4096)
        assert stream.readinto(buffer) == reference.readinto(buffer)
        for offset, whence in [(-100, io.SEEK_END), (12345, io.SEEK_SET), (-7, io.SEEK_CUR), (1 << 20, io.SEEK_CUR)]:
            assert stream.seek(offset, whence) == reference.seek(offset, whence)
            assert stream.tell() == reference.tell()
            assert stream.read(33) == reference.read(33)
        stream.seek(0)
        assert stream.read() == data
        assert stream.read() == b""
    for offset in (len(data), len(data) + 1, 2**63, 2**70):
        with driver.reader("/s", offset) as stream:
            assert stream.read() == b""


# -- writers: every accepted byte survives ----------------------------------------------------


@pytest.mark.parametrize("name", CLOUD)
def test_a_failed_write_loses_nothing_accepted(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name, kinds=("500",))
    driver = env.faulty(**PROFILES[name].no_retries)
    chunk = int(env.parameters.get("chunksize", 4 * MiB))
    first = content(5, chunk + chunk // 2)  # one part uploaded, half a part buffered
    writer = driver.writer("/w/data")
    assert writer.write(first) == len(first)
    env.proxy.rate = 1.0  # every request fails from here
    with pytest.raises(distfs.DriverError) as caught:
        writer.write(content(6, chunk))  # needs a part upload: fails
    assert caught.value.driver_name == name
    assert writer.size == len(first)  # nothing of the failed write was accepted
    env.proxy.rate = 0.0
    writer.close()
    resumed = env.clean().writer("/w/data", append=True)
    assert resumed.size == len(first)
    last = content(7, chunk)
    resumed.write(last)
    resumed.commit()
    assert env.clean().get_content("/w/data") == first + last


@pytest.mark.parametrize("name", CLOUD)
def test_a_failed_close_keeps_the_last_closed_state(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name, kinds=("500",))
    driver = env.faulty(**PROFILES[name].no_retries)
    chunk = int(env.parameters.get("chunksize", 4 * MiB))
    first = content(8, 2 * chunk + 17)
    writer = driver.writer("/w/close")
    writer.write(first)
    writer.close()
    writer = driver.writer("/w/close", append=True)
    writer.write(content(9, 100))
    env.proxy.rate = 1.0
    with pytest.raises(distfs.DriverError):
        writer.close()
    env.proxy.rate = 0.0
    resumed = env.clean().writer("/w/close", append=True)
    assert resumed.size == len(first)
    resumed.commit()
    assert env.clean().get_content("/w/close") == first


# -- errors: a missing bucket, refused credentials ------------------------------------------


def health(name: str, parameters: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    arguments = ["health", name]
    for key, value in parameters.items():
        arguments += ["-p", f"{key}={value}"]
    code = cli.main(arguments)
    return code, capsys.readouterr().out.strip()


@pytest.mark.parametrize("name", CLOUD)
def test_health_fails_on_a_missing_bucket(name: str, local_stores: LocalStores, capsys: Any) -> None:
    parameters = {**local_stores.parameters(name), PROFILES[name].store_key: "no-such-store-here"}
    assert health(name, local_stores.parameters(name), capsys) == (0, f"healthy: {name}")
    code, out = health(name, parameters, capsys)
    assert code == 1
    assert out.startswith("unhealthy: ")
    assert "no-such-store-here" in out
    assert "does not exist" in out
    driver = distfs.create(name, parameters)
    calls = [lambda: driver.stat("/"), lambda: driver.list("/"), lambda: driver.stat("/a")]
    if name != "gcs":  # fake-gcs-server answers an object read in a missing bucket as a missing object
        calls.append(lambda: driver.get_content("/a"))
    for call in calls:
        with pytest.raises(distfs.StoreNotFoundError) as caught:
            call()
        assert caught.value.store == "no-such-store-here"
        assert caught.value.driver_name == name


@pytest.mark.parametrize("name", sorted(n for n in CLOUD if PROFILES[n].wrong_credentials))
def test_refused_credentials_are_access_denied(name: str, local_stores: LocalStores, capsys: Any) -> None:
    parameters = {**local_stores.parameters(name), **PROFILES[name].wrong_credentials}
    code, out = health(name, parameters, capsys)
    assert code == 1
    assert out.startswith("unhealthy: ")
    driver = distfs.create(name, parameters)
    for call in (lambda: driver.stat("/"), lambda: driver.stat("/a"), lambda: driver.put_content("/a", b"x")):
        with pytest.raises(distfs.AccessDeniedError) as caught:
            call()
        assert isinstance(caught.value, PermissionError)
        assert "access denied (" in str(caught.value)
        for secret in PROFILES[name].wrong_credentials.values():
            assert secret not in str(caught.value)


# -- round trips -----------------------------------------------------------------------------

LATENCY = 0.4


@pytest.mark.parametrize("name", CLOUD)
def test_round_trips_of_a_small_writer_and_a_one_file_delete(name: str, setup: Callable[..., Setup]) -> None:
    """A 1 KiB writer + commit: at most 3 requests; deleting one file: at most 2 sequential round trips."""
    env = setup(name, rate=1.0, kinds=("latency",), latency=LATENCY)
    driver = env.faulty()
    driver.stat("/")  # warm up the connection
    before = env.proxy.requests
    writer = driver.writer("/rt/small")
    writer.write(b"x" * 1024)
    writer.commit()
    writer.close()
    requests = env.proxy.requests - before
    assert requests <= 3, requests
    started = time.monotonic()
    driver.delete("/rt/small")
    elapsed = time.monotonic() - started
    print(f"\n{name}: small writer {requests} requests; one-file delete {elapsed / LATENCY:.2f} round trips")
    assert elapsed < 2.9 * LATENCY, f"{elapsed:.2f} s: more than 2 sequential round trips"
    assert env.clean().list("/") == []


# -- delete_many: deleting many paths in a few requests ----------------------------------------


@pytest.mark.parametrize("name", DRIVERS)
def test_delete_many_is_delete_of_each(name: str, local_stores: LocalStores) -> None:
    driver = driver_on(local_stores, name)
    for path in ("/d/a", "/d/a-b", "/d/ab/x", "/d/b/y/z", "/d/c", "/e/f"):
        driver.put_content(path, path.encode())
    writer = driver.writer("/d/b/upload")
    writer.write(b"suspended")
    writer.close()
    with pytest.raises(distfs.PathNotFoundError) as caught:
        driver.delete_many(["/d/a", "/d/b", "/d/missing", "/e/f"])
    assert caught.value.path == "/d/missing"  # reported after every other path was deleted
    assert driver.list("/d") == ["/d/a-b", "/d/ab", "/d/c"]
    # a directory emptied by the deletes outlives them only where directories are real
    assert driver.list("/") == (["/d", "/e"] if driver.capabilities.empty_directories else ["/d"])
    with pytest.raises(distfs.PathNotFoundError):
        driver.writer("/d/b/upload", append=True)  # its suspended upload went too
    driver.delete_many(["/d/c"])
    driver.delete_many([])
    assert driver.list("/d") == ["/d/a-b", "/d/ab"]


@pytest.mark.parametrize("name", DRIVERS)
def test_delete_many_files_only_touches_nothing_below(name: str, local_stores: LocalStores) -> None:
    driver = driver_on(local_stores, name)
    for path in ("/d/a", "/d/a-b", "/d/b/y", "/d/c"):
        driver.put_content(path, path.encode())
    for path in ("/d/c", "/d/b/w"):  # suspended uploads: of a file named, and below a directory named
        writer = driver.writer(path)
        writer.write(b"suspended")
        writer.close()
    driver.delete_many(["/d/a", "/d/b", "/d/c", "/d/missing"], files_only=True)
    assert driver.list("/d") == ["/d/a-b", "/d/b"]
    assert driver.get_content("/d/b/y") == b"/d/b/y"
    with pytest.raises(distfs.PathNotFoundError):
        driver.writer("/d/c", append=True)  # the suspended upload of a file named went with it
    resumed = driver.writer("/d/b/w", append=True)  # below a directory named: untouched
    assert resumed.size == len(b"suspended")
    resumed.cancel()


# -- memory: a chunk or a read block at a time, whatever the object size ------------------------

_MEMORY_CHILD = """
import json, os, sys, tracemalloc
import distfs
request = json.loads(sys.stdin.read())
driver = distfs.create(request["name"], request["parameters"])
engine = driver.inner.engine
chunk, block = engine.chunk, engine.read_block
piece = os.urandom(1 << 20)
driver.put_content("/memory/warm", b"x")  # every module loaded, the connections open
driver.get_content("/memory/warm")
tracemalloc.start()
writer = driver.writer("/memory/object")
for _ in range(4 * max(chunk, block) >> 20):
    writer.write(piece)
writer.commit()
write_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.reset_peak()
with driver.reader("/memory/object") as stream:
    while stream.read(1 << 20):
        pass
read_peak = tracemalloc.get_traced_memory()[1]
driver.delete("/memory")
print(json.dumps({"chunk": chunk, "block": block, "write": write_peak, "read": read_peak}))
"""


@pytest.mark.parametrize("name", CLOUD)
def test_streams_hold_a_chunk_or_a_read_block_at_a_time(name: str, local_stores: LocalStores) -> None:
    """Python allocations of a writer and a reader of 4 chunks, in a child (no server beside it):
    about one chunk (a read block) held by distfs and what the SDK holds while it sends (receives)."""
    request = json.dumps({"name": name, "parameters": local_stores.parameters(name)})
    child = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD], input=request, capture_output=True, text=True, timeout=600, check=False
    )
    assert child.returncode == 0, child.stderr[-2000:]
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    mib = 1 << 20
    print(f"\n{name}: write peak {figures['write'] / mib:.1f} MiB, read peak {figures['read'] / mib:.1f} MiB")
    assert figures["write"] <= 3 * figures["chunk"] + 4 * mib
    assert figures["read"] <= 3 * figures["block"] + 4 * mib
