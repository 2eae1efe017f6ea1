"""The fast paths made for ``distfs bench`` keep the contract (docs/performance.md).

* ``inmemory`` hands out the stored bytes without copying them: a caller's later change of
  the bytearray it stored, a later append or a replacement never changes bytes already
  returned or stored;
* path validation is one regex per rule: it accepts and refuses exactly what the
  component-by-component rules do;
* a new s3 writer creates its multipart upload lazily: a small object committed
  unsuspended sends no multipart request and leaves no upload or state behind, a writer
  suspended before any part still resumes at its exact size, a new writer that never
  closed resumes at 0, and a new writer still discards a previous suspended upload.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import distfs
from distfs import paths
from distfs.tools.bench import s3_events


def test_inmemory_content_is_never_shared_with_later_changes() -> None:
    driver = distfs.create("inmemory")
    data = bytearray(b"hello")
    driver.put_content("/a/b", data)
    data[0:5] = b"HELLO"
    first = driver.get_content("/a/b")
    assert first == b"hello"
    assert type(first) is bytes
    writer = driver.writer("/a/b", append=True)
    writer.write(b" world")
    writer.commit()
    assert first == b"hello"
    assert driver.get_content("/a/b") == b"hello world"
    with driver.reader("/a/b", 6) as stream:
        assert stream.read() == b"world"
    driver.move("/a/b", "/a/c")
    assert driver.get_content("/a/c") == b"hello world"
    with pytest.raises(distfs.PathNotFoundError):
        driver.get_content("/a/b")


def _old_is_valid(path: str, portable: bool) -> bool:
    """The rules as they were written before the single-regex form."""
    if path == "/":
        return False
    pattern = r"(/[^/\x00-\x1f\x7f]+)+" if portable else r"(/[A-Za-z0-9._-]+)+"
    if re.fullmatch(pattern, path) is None:
        return False
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return all(part not in (".", "..", paths.HIDDEN) for part in path[1:].split("/"))


_PIECES = [*"/./.-_aZ9\n\x00\x1f\x7f é~\ud800", paths.HIDDEN, "..", "/.", "x" + paths.HIDDEN]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=10).map("".join), st.booleans())
def test_path_rules_match_the_component_rules(path: str, portable: bool) -> None:
    assert paths.is_valid(path, portable=portable) == _old_is_valid(path, portable)


def _s3_requests(driver: distfs.StorageDriver) -> list[str]:
    calls: list[str] = []
    s3_events(driver).register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def _uploads(driver: distfs.StorageDriver) -> list[Any]:
    """The multipart uploads open in the driver's bucket (through its own store)."""
    from distfs.engine.loop import run

    store = driver.inner.engine.store  # type: ignore[attr-defined]
    return run(store.list_uploads(""))


def test_s3_small_writer_creates_no_multipart_upload(store_parameters: Callable[[str], dict[str, Any]]) -> None:
    driver = distfs.create("s3", store_parameters("s3"))
    calls = _s3_requests(driver)
    writer = driver.writer("/small")
    writer.write(b"x" * 1024)
    writer.commit()
    # the journal (create-only: resumable at 0), the object, the journal removed
    assert calls == ["PutObject", "PutObject", "DeleteObjects"]
    assert driver.get_content("/small") == b"x" * 1024
    assert _uploads(driver) == []
    assert driver.list("/") == ["/small"]


def test_s3_lazy_writer_suspends_and_discards(store_parameters: Callable[[str], dict[str, Any]]) -> None:
    driver = distfs.create("s3", store_parameters("s3"))
    writer = driver.writer("/up")
    writer.write(b"abc")
    writer.close()  # suspended before any part: the upload and state are created now
    resumed = driver.writer("/up", append=True)
    assert resumed.size == 3
    resumed.write(b"def")
    resumed.close()
    never_closed = driver.writer("/other")
    never_closed.write(b"lost")  # never closed: a resume starts at 0
    other = driver.writer("/other", append=True)
    assert other.size == 0
    other.cancel()
    fresh = driver.writer("/up")  # discards the suspended upload
    fresh.write(b"new")
    fresh.commit()
    assert driver.get_content("/up") == b"new"
    assert _uploads(driver) == []
    driver.delete("/up")
    assert driver.list("/") == []
