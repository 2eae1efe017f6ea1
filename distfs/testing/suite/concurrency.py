"""Concurrency: Go's TestConcurrentStreamReads and TestConcurrentFileStreams, and distfs's writers
racing on one path."""

from __future__ import annotations

import hashlib
import threading
import time

from ...errors import WriterConflictError
from ..context import Case, Context, check, check_equal
from .helpers import MiB, check_name, read_digest
from .registry import Registrar

__all__ = ["CASES"]

CASES: list[Case] = []
case = Registrar(CASES)


@case()
def test_concurrent_stream_reads(ctx: Context) -> None:
    """10 readers at random offsets read their suffix concurrently."""
    size = 128 * MiB if ctx.long else 10 * MiB
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(size)
    ctx.driver.put_content(path, data)
    offsets = [ctx.rng.randrange(size) for _ in range(10)]

    view = memoryview(data)

    def read(offset: int) -> None:
        expected = (size - offset, hashlib.sha256(view[offset:]).hexdigest())
        check_equal(read_digest(ctx, path, offset), expected, f"size and sha256 read from {offset}")

    ctx.run_all(read, offsets)


def _file_streams(ctx: Context, size: int) -> None:
    """Copy ``size`` random bytes from a local temp file into a writer and read them back."""
    path = ctx.cleanup(ctx.random_path(32))
    data = ctx.random_bytes(size)
    source = ctx.workdir / f"stream-{threading.get_ident()}-{ctx.rng.random()}"
    source.write_bytes(data)
    expected = (size, hashlib.sha256(data).hexdigest())
    del data  # eight threads at once: keep no copy while writing and reading back
    try:
        writer = ctx.driver.writer(path, append=False)
        with source.open("rb") as stream:
            while chunk := stream.read(MiB):
                writer.write(chunk)
        check_equal(writer.size, size, "writer.size")
        writer.commit()
        writer.close()
    finally:
        source.unlink()
    check_equal(read_digest(ctx, path), expected, f"size and sha256 of {path}")


@case()
def test_concurrent_file_streams(ctx: Context) -> None:
    """8 (long: 32) writers each stream 8 (long: 32) MiB from a file concurrently."""
    count = 32 if ctx.long else 8
    ctx.run_all(lambda _: _file_streams(ctx, count * MiB), range(count))


@case()
def test_concurrent_writers_one_path(ctx: Context) -> None:
    """Writers, put_content and move racing on one path leave exactly one writer's content."""
    path = ctx.cleanup(ctx.random_path(32))
    size = 1000
    contents = [bytes([65 + i]) * size for i in range(6)]
    sources = [ctx.cleanup(ctx.random_path(32)) for _ in contents]
    start = ctx.barrier(len(contents))
    outcomes: list[str] = []

    def stream(i: int) -> None:
        start.wait()
        try:
            writer = ctx.driver.writer(path)
        except WriterConflictError:
            outcomes.append("refused")  # the driver allows one open writer per path
            return
        for piece in range(0, size, 100):
            writer.write(contents[i][piece : piece + 100])
            time.sleep(0)
        writer.commit()
        writer.close()
        outcomes.append("committed")

    def put(i: int) -> None:
        start.wait()
        ctx.driver.put_content(path, contents[i])
        outcomes.append("put")

    def move(i: int) -> None:
        ctx.driver.put_content(sources[i], contents[i])
        start.wait()
        ctx.driver.move(sources[i], path)
        outcomes.append("moved")

    jobs = [stream, stream, stream, put, move, move]

    def job(i: int) -> None:
        jobs[i](i)

    for _ in range(3):
        ctx.run_all(job, range(len(jobs)))
        content = ctx.driver.get_content(path)
        check(content in contents, f"published {len(content)} bytes that no single writer wrote")
        check_equal(ctx.driver.stat(path).size, size, "size of the published object")
    check("committed" in outcomes, "no writer committed")
    # The path is free again: every writer finished.
    writer = ctx.driver.writer(path)
    writer.cancel()


@case()
def test_second_writer_of_a_path(ctx: Context) -> None:
    """A second writer(path) while one is open: refused (WriterConflictError) or independent.

    Either way the first writer's bytes are not disturbed, and what is published is one
    writer's content whole.
    """
    path = ctx.cleanup(ctx.random_path(32))
    first = ctx.driver.writer(path)
    first.write(b"a" * 100)
    try:
        second = ctx.driver.writer(path)
    except WriterConflictError as error:
        check_name(ctx, error)
        check(path in str(error), f"error {error} does not name {path}")
        first.write(b"a" * 100)
        first.commit()
        first.close()
        check_equal(ctx.driver.get_content(path), b"a" * 200, "the first writer's content")
        return
    second.write(b"b" * 50)
    first.write(b"a" * 100)
    second.commit()
    second.close()
    check_equal(ctx.driver.get_content(path), b"b" * 50, "the second writer's content")
    first.commit()
    first.close()
    check_equal(ctx.driver.get_content(path), b"a" * 200, "the last committed writer's content")
