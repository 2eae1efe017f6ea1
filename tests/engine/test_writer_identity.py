"""The journaled writer decides by identity, never by size (issue 27), on every object store.

* an upload whose store state vanished (aborted multipart upload, deleted part objects or
  blocks) is never reported committed because an older object of the same size sits at
  the path: neither the append that resumes it nor a commit that meets it gone succeeds;
  an upload that did complete (its journal left behind by a process killed just after)
  is still recognised by the origin the store stamped on the object, and continued;
* gcs: a part object rewritten after the journal named it is refused (the journal
  records each part's generation);
* a writer resumed with another ``chunksize`` than the one that journaled the upload
  publishes exactly the bytes written.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from profiles import CLOUD

import distfs
from distfs import DriverError, StorageDriver
from distfs.engine.core import Engine
from distfs.engine.loop import run

KiB = 1 << 10
MiB = 1 << 20
OBJECT_STORES = list(CLOUD)
#: The smallest part each store takes (azure's blocks are 4 MiB, not configurable).
CHUNK = {"s3": 5 * MiB, "gcs": 256 * KiB, "azure": 4 * MiB, "oss": 5 * MiB}
PATH = "/repo/blob/data"


def make(name: str, store_parameters: Callable[[str], dict[str, Any]], **extra: Any) -> StorageDriver:
    # No retries: moto answers 500 to the completion of a lost upload, retried with botocore's
    # backoff for 14 s before the same error.
    parameters = store_parameters(name, retries=0)
    if name != "azure":
        parameters["chunksize"] = CHUNK[name]
    return distfs.create(name, {**parameters, **extra})


def engine_of(driver: StorageDriver) -> Engine:
    engine = driver.inner.engine  # type: ignore[attr-defined]
    assert isinstance(engine, Engine)
    return engine


def state_key(driver: StorageDriver, path: str) -> str:
    engine = engine_of(driver)
    return engine.key(engine.upload_dir(path) + "/state")


def lose_upload(driver: StorageDriver, path: str) -> None:
    """Make the store state of ``path``'s upload vanish, its journal kept: the store's own
    multipart uploads aborted, every hidden object of the upload but the journal deleted."""
    engine = engine_of(driver)
    store = engine.store
    for upload in run(store.list_uploads(engine.key(path))):
        run(store.abort_upload(upload))
    prefix = engine.key(engine.upload_dir(path)) + "/"
    keys = [o.key for o in run(store.list_page(prefix, delimiter=False, start_after="", token=None)).objects]
    doomed = [key for key in keys if key != state_key(driver, path)]
    assert doomed or store.name in ("s3", "oss")  # gcs and azure keep their parts there
    assert run(store.delete_many(doomed)) == []


def content(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize("name", OBJECT_STORES)
def test_a_lost_upload_is_never_committed_over_an_old_object_of_its_size(
    name: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    driver = make(name, store_parameters)
    size = CHUNK[name]  # one part, no tail: the commit only completes the upload
    old, new = content(size, 1), content(size, 2)
    driver.put_content(PATH, old)
    writer = driver.writer(PATH)
    writer.write(new)
    writer.close()
    resumed = driver.writer(PATH, append=True)
    assert resumed.size == size
    lose_upload(driver, PATH)
    with pytest.raises(DriverError, match=PATH) as caught:
        resumed.commit()
    assert caught.value.driver_name == name
    assert driver.get_content(PATH) == old


@pytest.mark.parametrize("name", OBJECT_STORES)
def test_an_append_refuses_a_lost_upload_over_an_old_object_of_its_size(
    name: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    driver = make(name, store_parameters)
    size = CHUNK[name] + 1000
    old, new = content(size, 1), content(size, 2)
    driver.put_content(PATH, old)
    writer = driver.writer(PATH)
    writer.write(new)
    writer.close()
    lose_upload(driver, PATH)
    for _ in range(2):  # the journal stays: every append refuses it
        with pytest.raises(DriverError, match=PATH):
            driver.writer(PATH, append=True)
    fresh = driver.writer(PATH)  # a new writer replaces it
    fresh.write(b"fresh")
    fresh.commit()
    assert driver.get_content(PATH) == b"fresh"


@pytest.mark.parametrize("name", OBJECT_STORES)
def test_an_upload_completed_before_its_journal_was_dropped_is_continued(
    name: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    """A process killed between the publish and the journal's deletion: the next append
    recognises the object as the upload's own (its origin) and continues it."""
    driver = make(name, store_parameters)
    store, key = engine_of(driver).store, state_key(driver, PATH)
    size = CHUNK[name] + 1000
    data = content(size, 3)
    writer = driver.writer(PATH)
    writer.write(data)
    writer.close()
    journal, _ = run(store.get_range(key, 0, 1 << 62, None))
    resumed = driver.writer(PATH, append=True)
    resumed.write(b"+after the close")  # not journaled: the object is more than the journal says
    resumed.commit()
    run(store.put(key, journal))  # the journal a killed process would have left behind
    appended = driver.writer(PATH, append=True)
    assert appended.size == size + len(b"+after the close")
    appended.write(b"+more")
    appended.commit()
    assert driver.get_content(PATH) == data + b"+after the close+more"


def test_gcs_refuses_a_part_rewritten_after_the_journal_named_it(
    store_parameters: Callable[[str], dict[str, Any]],
) -> None:
    driver = make("gcs", store_parameters)
    engine = engine_of(driver)
    chunk = CHUNK["gcs"]
    data = content(2 * chunk + 10, 4)
    writer = driver.writer(PATH)
    writer.write(data)
    writer.close()
    prefix = engine.key(engine.upload_dir(PATH)) + "/"
    listing = run(engine.store.list_page(prefix, delimiter=False, start_after="", token=None)).objects
    first = next(o.key for o in listing if o.key.endswith("/part-00001"))
    run(engine.store.put(first, content(chunk, 5)))  # same name, same size, other bytes
    with pytest.raises(DriverError, match=PATH):
        driver.writer(PATH, append=True)


def test_gcs_never_composes_a_part_rewritten_after_the_resume(
    store_parameters: Callable[[str], dict[str, Any]],
) -> None:
    driver = make("gcs", store_parameters)
    engine = engine_of(driver)
    chunk = CHUNK["gcs"]
    data = content(2 * chunk + 10, 6)
    writer = driver.writer(PATH)
    writer.write(data)
    writer.close()
    resumed = driver.writer(PATH, append=True)
    prefix = engine.key(engine.upload_dir(PATH)) + "/"
    listing = run(engine.store.list_page(prefix, delimiter=False, start_after="", token=None)).objects
    first = next(o.key for o in listing if o.key.endswith("/part-00001"))
    run(engine.store.put(first, content(chunk, 7)))
    with pytest.raises(DriverError, match=PATH):
        resumed.commit()
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat(PATH)


#: (driver, chunk that journals, chunk that resumes, bytes before the close, bytes after)
RECHUNKED = [
    ("s3", 10 * MiB, 5 * MiB, 8 * MiB, 3 * MiB),  # the tail outgrew the new chunk
    ("s3", 5 * MiB, 10 * MiB, 9 * MiB, 7 * MiB),
    ("oss", 10 * MiB, 5 * MiB, 8 * MiB, 3 * MiB),
    ("gcs", 1 * MiB, 256 * KiB, 1 * MiB + 700 * KiB, 300 * KiB + 3),
    ("gcs", 256 * KiB, 1 * MiB, 700 * KiB, 900 * KiB),
]


@pytest.mark.parametrize(("name", "before", "after", "first", "second"), RECHUNKED)
def test_a_resume_with_another_chunksize_publishes_exactly_the_bytes_written(
    name: str, before: int, after: int, first: int, second: int, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    parameters = store_parameters(name)
    data = content(first + second, 8)
    writer = distfs.create(name, {**parameters, "chunksize": before}).writer(PATH)
    writer.write(data[:first])
    writer.close()
    driver = distfs.create(name, {**parameters, "chunksize": after})
    resumed = driver.writer(PATH, append=True)
    assert resumed.size == first
    resumed.write(data[first:])  # one write larger than the old tail is past the new chunk
    assert resumed.size == first + second
    resumed.close()
    store = engine_of(driver).store
    journal, _ = run(store.get_range(state_key(driver, PATH), 0, 1 << 62, None))
    sizes = [size for _, size in json.loads(journal.partition(b"\n")[0])["parts"]]
    assert sizes
    assert all(size >= max(store.limits.min_part, 1) for size in sizes)  # no empty or short parts
    again = driver.writer(PATH, append=True)
    assert again.size == first + second
    again.commit()
    assert driver.get_content(PATH) == data


@pytest.mark.parametrize("name", OBJECT_STORES)
def test_an_append_to_a_committed_object_resumes_from_its_copied_parts(
    name: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    """The parts an append copies from the committed object are journaled with their
    identity (gcs: the generation the copy wrote) and found again by the resume."""
    driver = make(name, store_parameters)
    data = content(CHUNK[name] + 10, 9)
    driver.put_content(PATH, data)
    writer = driver.writer(PATH, append=True)
    writer.write(b"+1")
    writer.close()
    resumed = driver.writer(PATH, append=True)
    assert resumed.size == len(data) + 2
    resumed.write(b"+2")
    resumed.commit()
    assert driver.get_content(PATH) == data + b"+1+2"
