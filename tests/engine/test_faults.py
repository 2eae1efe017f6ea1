"""The cloud drivers under injected faults (issue 10, item 2).

Every test puts :class:`fault_proxy.FaultProxy` between a driver and its local server
(moto, fake-gcs-server, Azurite, the OSS fake) and checks that:

* a 100 MiB chunked upload (several close/resume cycles, then a commit) completes at a
  20 % fault rate, every fault kind mixed in, and reads back byte-exact through the same
  faulty proxy;
* once retries are exhausted every public operation raises a typed distfs error naming
  the driver, and a clean connection sees the old state (nothing partial);
* an upload suspended by exhausted retries resumes through a clean connection at the size
  of its last successful ``close()`` and commits the exact content;
* the hard cases, forced on chosen requests: the answer of the request that publishes an
  upload is lost (applied upstream, reset or truncated on the way back) and the retry
  succeeds; reads reset or truncated mid-body resume where they stopped; the retry
  parameter decides whether one fault is survived (``0``: the error surfaces).

The whole file takes about 2 minutes on 2 cores (the four 100 MiB cases about 1 minute).

``DISTFS_FAULTS_SEED`` picks another seed of the proxy's RNG (the default is fixed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import pytest
from fault_proxy import KINDS
from profiles import PROFILES
from stores import CLOUD, SEED, Setup, pieces, read_all

import distfs

MiB = 1 << 20
#: Faults that fail a request before it reaches the server (nothing is applied).
FAILING = ("500", "503", "throttle", "reset")


@pytest.mark.parametrize("name", CLOUD)
def test_100_mib_chunked_upload_under_20_percent_faults(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name, rate=0.2)
    driver = env.faulty()
    total, cycles = 100 * MiB, 4
    digest = hashlib.sha256()
    started = time.monotonic()
    writer = driver.writer("/blobs/big")
    for cycle in range(cycles):
        for piece in pieces(total // cycles, SEED + cycle):
            assert writer.write(piece) == len(piece)
            digest.update(piece)
        if cycle < cycles - 1:
            writer.close()
            writer = driver.writer("/blobs/big", append=True)
            assert writer.size == (cycle + 1) * total // cycles
    writer.commit()
    writer.close()
    uploaded = time.monotonic()

    assert driver.stat("/blobs/big").size == total
    assert read_all(driver, "/blobs/big") == (total, digest.hexdigest())
    assert read_all(env.clean(), "/blobs/big") == (total, digest.hexdigest())
    assert driver.list("/blobs") == ["/blobs/big"]
    read = time.monotonic()

    # The transfer may end before the deck of fault kinds went round: small calls finish it.
    calls = 0
    while set(KINDS) - {k for k, n in env.proxy.counts.items() if n} and calls < 400:
        driver.put_content(f"/small/{calls % 5}", b"x" * (calls + 1))
        assert driver.get_content(f"/small/{calls % 5}") == b"x" * (calls + 1)
        calls += 1
    counts = dict(env.proxy.counts)
    print(
        f"\n{name}: upload {uploaded - started:.1f} s, read back {read - uploaded:.1f} s,"
        f" {env.proxy.requests} requests, {env.proxy.bytes_up / MiB:.0f} MiB up,"
        f" {env.proxy.bytes_down / MiB:.0f} MiB down, faults {counts} (+{calls} small calls)"
    )
    assert {k for k, n in counts.items() if n} == set(KINDS)
    assert env.proxy.bytes_up >= total  # the data really went through the proxy
    assert env.proxy.bytes_down >= total


def operations(driver: distfs.StorageDriver) -> dict[str, Callable[[], object]]:
    """Every public operation of the driver, on paths that exist (``/old``) or not."""

    def write() -> None:
        writer = driver.writer("/new")
        writer.write(b"n" * (6 * MiB))
        writer.commit()

    def append() -> None:
        driver.writer("/old", append=True).write(b"more")

    def read() -> None:
        with driver.reader("/old") as stream:
            stream.read()

    return {
        "get_content": lambda: driver.get_content("/old"),
        "put_content": lambda: driver.put_content("/old", b"replaced"),
        "put_content_new": lambda: driver.put_content("/dir/new", b"new"),
        "reader": read,
        "writer": write,
        "writer_append": append,
        "stat": lambda: driver.stat("/old"),
        "list": lambda: driver.list("/"),
        "move": lambda: driver.move("/old", "/moved"),
        "delete": lambda: driver.delete("/old"),
        "walk": lambda: driver.walk("/", lambda info: None),
    }


@pytest.mark.parametrize("name", CLOUD)
def test_exhausted_retries_raise_typed_errors_and_change_nothing(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name, kinds=FAILING)
    clean = env.clean()
    clean.put_content("/old", b"old content")
    driver = env.faulty(**{PROFILES[name].retries: 1}, **PROFILES[name].quick_retries)
    env.proxy.rate = 1.0
    for operation, call in operations(driver).items():
        before = env.proxy.requests
        with pytest.raises(distfs.StorageDriverError) as caught:
            call()
        error = caught.value
        assert not isinstance(error, distfs.PathNotFoundError), operation
        assert error.driver_name == name, operation
        assert str(error).startswith(f"{name}: "), operation
        assert env.proxy.requests > before, operation  # it reached the proxy (and was retried there)
    assert env.proxy.faults() == env.proxy.requests
    # Nothing changed, nothing partial: the old object as it was, nothing new.
    assert clean.get_content("/old") == b"old content"
    assert clean.list("/") == ["/old"]
    for missing in ("/new", "/moved", "/dir/new"):
        with pytest.raises(distfs.PathNotFoundError):
            clean.stat(missing)


@pytest.mark.parametrize("name", CLOUD)
def test_upload_suspended_by_exhausted_retries_resumes(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name, kinds=FAILING)
    driver = env.faulty(**{PROFILES[name].retries: 1}, **PROFILES[name].quick_retries)
    chunk = int(env.parameters.get("chunksize", 4 * MiB))
    content = bytearray()
    writer = driver.writer("/up")
    for piece in pieces(2 * chunk + 12_345, SEED):
        writer.write(piece)
        content += piece
    writer.close()
    closed = len(content)

    # More data, then the network fails for good: every further step is a typed error.
    writer = driver.writer("/up", append=True)
    assert writer.size == closed
    env.proxy.rate = 1.0

    def write_more_then_close() -> None:
        for piece in pieces(3 * chunk, SEED + 1):
            writer.write(piece)
        writer.close()

    with pytest.raises(distfs.StorageDriverError):
        write_more_then_close()
    with pytest.raises(distfs.StorageDriverError):
        writer.commit()
    with pytest.raises(distfs.StorageDriverError):
        driver.writer("/up", append=True)

    clean = env.clean()
    with pytest.raises(distfs.PathNotFoundError):
        clean.stat("/up")
    resumed = clean.writer("/up", append=True)
    assert resumed.size == closed
    for piece in pieces(chunk + 7, SEED + 2):
        resumed.write(piece)
        content += piece
    resumed.commit()
    assert clean.get_content("/up") == bytes(content)
    assert clean.list("/") == ["/up"]


#: The request that publishes a writer's upload: its answer lost, the retry must still succeed.


@pytest.mark.parametrize("name", CLOUD)
def test_lost_answer_of_the_publishing_step_is_retried_safely(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name)
    driver = env.faulty()
    chunk = int(env.parameters.get("chunksize", 4 * MiB))
    content = bytearray()
    writer = driver.writer("/final")
    for piece in pieces(2 * chunk + 999, SEED):
        writer.write(piece)
        content += piece
    method, marker = PROFILES[name].publish
    env.proxy.force(method, marker, "reset-after")  # applied upstream, answer lost
    env.proxy.force(method, marker, "truncated")  # and once more, half an answer
    writer.commit()
    assert env.proxy.forced_left() == 0
    assert env.clean().get_content("/final") == bytes(content)
    assert env.clean().list("/") == ["/final"]


@pytest.mark.parametrize("name", CLOUD)
def test_truncated_and_reset_reads_resume_where_they_stopped(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name)
    data = b"".join(pieces(3 * MiB + 17, SEED))
    env.clean().put_content("/trunc", data)
    driver = env.faulty()
    env.proxy.force("GET", "trunc", "truncated", times=3)
    env.proxy.force("GET", "trunc", "reset-after", times=2)
    with driver.reader("/trunc", 1000) as stream:
        assert stream.read() == data[1000:]
    assert env.proxy.forced_left() == 0
    env.proxy.force("GET", "trunc", "truncated", times=2)
    assert driver.get_content("/trunc") == data


#: The retry parameter's "no retries" value (azure: Go's negative ``max_retries``).


@pytest.mark.parametrize("name", CLOUD)
# Not "reset": an HTTP client takes a reset on a kept-alive connection for a stale connection
# and sends the request again by itself, whatever the retry settings.
@pytest.mark.parametrize("kind", ["500", "throttle"])
def test_the_retry_parameter_decides_whether_one_fault_is_survived(
    name: str, kind: str, setup: Callable[..., Setup]
) -> None:
    env = setup(name)
    env.clean().put_content("/one", b"one fault")
    patient, impatient = env.faulty(), env.faulty(**PROFILES[name].no_retries)
    env.proxy.force("GET", "one", kind)
    assert patient.get_content("/one") == b"one fault"
    assert env.proxy.forced_left() == 0
    env.proxy.force("GET", "one", kind)
    with pytest.raises(distfs.DriverError) as caught:
        impatient.get_content("/one")
    assert caught.value.driver_name == name
    assert env.proxy.forced_left() == 0


@pytest.mark.parametrize("name", CLOUD)
def test_a_read_broken_without_retries_is_a_typed_error(name: str, setup: Callable[..., Setup]) -> None:
    env = setup(name)
    data = b"".join(pieces(3 * MiB, SEED))
    env.clean().put_content("/broken", data)
    driver = env.faulty(**PROFILES[name].no_retries)
    env.proxy.force("GET", "broken", "truncated", times=10)

    def read() -> bytes:
        with driver.reader("/broken") as stream:  # some SDKs fetch the first block on open
            return stream.read()

    with pytest.raises(distfs.DriverError) as caught:
        read()
    assert caught.value.driver_name == name
    assert str(caught.value).startswith(f"{name}: ")
