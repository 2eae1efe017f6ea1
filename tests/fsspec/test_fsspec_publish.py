"""One publish rule for every distfs:// file object (issue 26), driven as data users drive it.

Bytes become visible only when the file is closed without an exception: a ``with`` block
that raises (fsspec.open, text mode, compression), a pandas export that raises, a file
never closed, a transaction whose file failed: nothing published, the old object intact.
"""

from __future__ import annotations

import asyncio
import bz2
import gc
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import fsspec
import pandas as pd
import pytest
from cases import NO_LEAKS

from distfs import PartialCommitError
from distfs.fsspec import DistFileSystem

pytestmark = NO_LEAKS

OLD = b"the old object"


@pytest.fixture(params=["filesystem", "s3"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "filesystem":
        return {"driver": "filesystem", "rootdirectory": str(tmp_path / "store")}
    return {"driver": "s3", **request.getfixturevalue("s3_parameters")}


@pytest.fixture
def fs(options: dict[str, Any]) -> DistFileSystem:
    filesystem = fsspec.filesystem("distfs", **options)
    assert isinstance(filesystem, DistFileSystem)
    filesystem.pipe("/d/old.bin", OLD)
    return filesystem


class Unprintable:
    def __str__(self) -> str:
        raise ValueError("no text for this value")


@pytest.mark.parametrize("mode", ["wb", "wt"])
def test_a_raising_fsspec_open_block_publishes_nothing(fs: DistFileSystem, options: dict[str, Any], mode: str) -> None:
    def produce() -> None:
        with fsspec.open("distfs:///d/old.bin", mode, **options) as stream:
            stream.write(b"partial" if mode == "wb" else "partial")
            raise RuntimeError("the producer failed")

    with pytest.raises(RuntimeError):
        produce()
    assert fs.cat("/d/old.bin") == OLD


def test_a_failing_text_write_publishes_nothing(fs: DistFileSystem, options: dict[str, Any]) -> None:
    def produce() -> None:
        with fsspec.open("distfs:///d/old.bin", "wt", encoding="ascii", **options) as text:
            text.write("fine so far\n")
            text.write("d\u00e9j\u00e0 vu")

    with pytest.raises(UnicodeEncodeError):
        produce()
    assert fs.cat("/d/old.bin") == OLD


def test_a_raising_pandas_export_publishes_nothing(fs: DistFileSystem, options: dict[str, Any]) -> None:
    frame = pd.DataFrame({"x": [*range(50_000), Unprintable()]})
    with pytest.raises(ValueError, match="no text"):
        frame.to_csv("distfs:///d/old.bin", storage_options=options)
    assert fs.cat("/d/old.bin") == OLD
    with pytest.raises(Exception, match=r"(?i)codec|compression"):
        pd.DataFrame({"x": range(10)}).to_parquet(
            "distfs:///d/old.bin", storage_options=options, compression="no-such-codec"
        )
    assert fs.cat("/d/old.bin") == OLD


def test_a_file_never_closed_publishes_nothing(fs: DistFileSystem) -> None:
    for mode, compression in (("wb", None), ("wt", None), ("wb", "gzip"), ("wt", "bz2")):
        stream = fs.open("/d/old.bin", mode, compression=compression)
        stream.write(b"dropped" if "b" in mode else "dropped")
        del stream
        gc.collect()
        assert fs.cat("/d/old.bin") == OLD, (mode, compression)


def test_compression_publishes_on_close_and_nothing_on_failure(fs: DistFileSystem) -> None:
    with fs.open("/d/a.gz", "wb", compression="gzip") as stream:
        stream.write(b"zipped")
    assert gzip.decompress(fs.cat("/d/a.gz")) == b"zipped"
    with fs.open("/d/a.txt.bz2", "wt", compression="infer") as text:
        text.write("text in bz2")
    assert bz2.decompress(fs.cat("/d/a.txt.bz2")) == b"text in bz2"
    with fs.open("/d/a.txt.bz2", "rt", compression="bz2") as back:
        assert back.read() == "text in bz2"

    def produce() -> None:
        with fs.open("/d/old.bin", "wt", compression="gzip") as text:
            text.write("half")
            raise RuntimeError("the producer failed")

    with pytest.raises(RuntimeError):
        produce()
    assert fs.cat("/d/old.bin") == OLD


def test_close_in_a_handler_discards_unless_the_exception_predates_the_file(fs: DistFileSystem) -> None:
    stream = fs.open("/d/old.bin", "wb")
    try:
        stream.write(b"partial")
        raise RuntimeError("failed after open")
    except RuntimeError:
        stream.close()  # while handling a failure of this file's producer: nothing published
    assert fs.cat("/d/old.bin") == OLD
    try:
        raise KeyError("handled before the file was opened")
    except KeyError:
        with fs.open("/d/report.txt", "wb") as report:  # an error report written in a handler
            report.write(b"report")
    assert fs.cat("/d/report.txt") == b"report"


def test_transaction_publishes_complete_files_only(fs: DistFileSystem) -> None:
    fs.pipe("/d/kept.bin", OLD)
    with fs.transaction:
        with fs.open("/d/new.bin", "wb") as stream:
            stream.write(b"new")
        fs.pipe_file("/d/piped.bin", b"piped")
        try:
            with fs.open("/d/old.bin", "wb") as failed:
                failed.write(b"partial")
                raise RuntimeError("this file's block failed")
        except RuntimeError:
            pass
        never_closed = fs.open("/d/kept.bin", "wb")
        never_closed.write(b"never closed")
        assert not fs.exists("/d/new.bin")  # nothing visible before the end
    assert fs.cat("/d/new.bin") == b"new"
    assert fs.cat("/d/piped.bin") == b"piped"
    assert fs.cat("/d/old.bin") == OLD
    assert fs.cat("/d/kept.bin") == OLD


def test_a_raising_transaction_publishes_nothing(fs: DistFileSystem) -> None:
    def produce() -> None:
        with fs.transaction:
            with fs.open("/d/old.bin", "wb") as stream:
                stream.write(b"new")
            raise RuntimeError("the block failed")

    with pytest.raises(RuntimeError):
        produce()
    assert fs.cat("/d/old.bin") == OLD
    assert not fs._intrans


class HalfFailing(NamedTuple):
    """A distfs:// filesystem; ``block()`` makes the publish of ``/blocked/second`` fail;
    ``stored()`` is every name in the store (upload journals too), the blocker left out."""

    fs: DistFileSystem
    block: Callable[[], None]
    stored: Callable[[], set[str]]


@pytest.fixture(params=["filesystem", "s3"])
def half_failing(request: pytest.FixtureRequest, tmp_path: Path) -> HalfFailing:
    """filesystem: a file where the directory of ``/blocked/second`` is needed. s3 (moto,
    through the fault proxy, no retries): 500 to every write of the object ``blocked/second``
    from then on (its upload journal's requests still go through)."""
    if request.param == "filesystem":
        root = tmp_path / "store"
        fs = fsspec.filesystem("distfs", driver="filesystem", rootdirectory=str(root))

        def block() -> None:
            (root / "blocked").write_bytes(b"a file where a directory is needed")

        def stored() -> set[str]:
            return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"blocked"}

    else:
        store = request.getfixturevalue("setup")("s3")
        bucket = store.parameters["bucket"]
        options = {**store.parameters, "regionendpoint": store.proxy.endpoint, "maxretries": 0}
        fs = fsspec.filesystem("distfs", driver="s3", skip_instance_cache=True, **options)
        admin = request.getfixturevalue("s3_admin")

        def block() -> None:
            for method in ("PUT", "POST"):  # a put, or the completion of a multipart upload
                store.proxy.force(method, f"/{bucket}/blocked/second", "500", times=100)

        def stored() -> set[str]:
            listing = admin.list_objects_v2(Bucket=bucket)
            return {item["Key"] for item in listing.get("Contents", [])}

    assert isinstance(fs, DistFileSystem)
    return HalfFailing(fs, block, stored)


def half_fail(half_failing: HalfFailing) -> PartialCommitError:
    """A transaction of /first, /blocked/second, /third whose second publish fails."""
    fs = half_failing.fs

    def produce() -> None:
        with fs.transaction:
            fs.pipe_file("/first", b"1")
            fs.pipe_file("/blocked/second", b"2")
            fs.pipe_file("/third", b"3")
            half_failing.block()

    with pytest.raises(PartialCommitError) as failure:
        produce()
    return failure.value


def test_a_half_failed_commit_names_what_was_and_was_not_published(half_failing: HalfFailing) -> None:
    fs = half_failing.fs
    error = half_fail(half_failing)
    assert (error.published, error.unpublished) == (["/first"], ["/blocked/second", "/third"])
    assert isinstance(error, OSError)
    assert error.errno is not None
    assert "published /first; not published /blocked/second, /third" in str(error)
    assert fs.cat("/first") == b"1"
    assert not fs.exists("/blocked/second")
    assert not fs.exists("/third")
    assert "third" not in " ".join(half_failing.stored())  # its upload was cancelled


def test_a_half_failed_commit_leaves_no_upload_behind(half_failing: HalfFailing) -> None:
    """A failed ``FileWriter.commit`` closes the writer with its upload suspended (the driver
    contract keeps it resumable); the file object, which nobody can resume, drops it."""
    half_fail(half_failing)
    assert half_failing.stored() == {"first"}


def test_open_async_reads_and_writes_with_the_publish_rule(fs: DistFileSystem) -> None:
    async def scenario() -> None:
        async with await fs.open_async("/d/new.bin", "wb") as stream:
            await stream.write(b"written ")
            await stream.write(b"async")
        reading = await fs.open_async("/d/new.bin", "rb")
        assert reading.size == 13
        assert await reading.read(7) == b"written"
        assert await reading.read() == b" async"
        await reading.close()

        async def failing() -> None:
            async with await fs.open_async("/d/old.bin", "wb") as stream:
                await stream.write(b"partial")
                raise RuntimeError("the producer failed")

        with pytest.raises(RuntimeError):
            await failing()

        async def slow() -> None:
            async with await fs.open_async("/d/old.bin", "wb") as stream:
                await stream.write(b"partial")
                await asyncio.sleep(30)

        task = asyncio.create_task(slow())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert fs.cat("/d/new.bin") == b"written async"
    assert fs.cat("/d/old.bin") == OLD


def test_a_file_whose_publish_fails_leaves_no_upload_behind(half_failing: HalfFailing) -> None:
    """Outside a transaction too: a file larger than its block goes through a writer, whose
    failed commit suspends the upload; the file object drops it, and raises."""
    fs = half_failing.fs
    half_failing.block()
    with pytest.raises(OSError), fs.open("/blocked/second", "wb", block_size=5 << 20) as stream:
        stream.write(b"x" * ((5 << 20) + 1))
    assert half_failing.stored() == set()
