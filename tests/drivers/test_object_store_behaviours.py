"""What every object store does beyond the conformance suite, one test per behaviour,
parametrized over the driver profiles.

The stores are the factory's drivers that need a server (:data:`profiles.CLOUD`: s3 on moto,
gcs on fake-gcs-server, azure on Azurite, oss on distfs's OSS fake). A store's quirks (its
smallest chunk, what a listing, a batch delete or a server-side copy looks like on the wire,
its own admin client) are in its :class:`profiles.DriverProfile`; a behaviour only some
stores have runs on the stores whose profile declares it. Requests are counted on the wire,
by a :class:`fault_proxy.FaultProxy` (no faults) in front of the store's server. Only what is
truly backend-specific stays in tests/drivers/test_{s3,gcs,azure,oss}.py.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import pytest
from cases import suspend_in_fresh_processes, two_instances_see_each_other
from profiles import CLOUD, PROFILES, Admin, DriverProfile
from stores import Setup

import distfs
from distfs.tools.local import LocalStores

MiB = 1 << 20


@pytest.fixture(params=CLOUD)
def profile(request: pytest.FixtureRequest) -> DriverProfile:
    return PROFILES[request.param]


@pytest.fixture
def wire(profile: DriverProfile, setup: Callable[..., Setup]) -> Setup:
    """A fresh store of the profile's driver behind a proxy that records every request."""
    made = setup(profile.name)
    made.proxy.trace = []
    made.proxy.heard = []
    return made


@pytest.fixture
def admin(profile: DriverProfile, wire: Setup, local_stores: LocalStores) -> Admin:
    """The test's own client of the wire's store."""
    assert profile.admin is not None
    return profile.admin(local_stores, wire.parameters)


def test_two_instances_see_each_other(profile: DriverProfile, wire: Setup) -> None:
    two_instances_see_each_other(profile.name, wire.parameters)


def test_resume_in_a_fresh_process(profile: DriverProfile, wire: Setup, admin: Admin) -> None:
    data = os.urandom(profile.resume_sizes[-1])
    parameters = {**wire.parameters, **profile.small_parts}
    suspend_in_fresh_processes(profile.name, parameters, data, profile.resume_sizes)
    driver = distfs.create(profile.name, parameters)
    assert driver.list("/") == []
    w = driver.writer("/p/data", append=True)
    assert w.size == len(data)
    w.commit()
    assert driver.get_content("/p/data") == data
    assert admin.keys() == ["p/data"]
    assert admin.uploads() == {}


@pytest.mark.parametrize("more", [0, 5 * MiB], ids=["cancel-at-once", "cancel-after-writing"])
def test_cancel_leaves_nothing(wire: Setup, admin: Admin, more: int) -> None:
    driver = wire.clean()
    w = driver.writer("/c/data")
    w.write(os.urandom(6 * MiB))
    w.close()
    assert admin.uploads() if admin.sees_uploads else admin.keys()  # something to leave behind
    w = driver.writer("/c/data", append=True)
    w.write(os.urandom(more))  # staged, uncommitted
    w.cancel()
    assert admin.uploads() == {}
    assert admin.keys() == []


def test_delete_aborts_uploads_below(wire: Setup, admin: Admin) -> None:
    driver = wire.clean()
    driver.put_content("/_uploads/1/startedat", b"t")
    w = driver.writer("/_uploads/1/data")
    w.write(os.urandom(6 * MiB))
    w.close()
    driver.delete("/_uploads/1")
    assert admin.uploads() == {}
    assert admin.keys() == []


def test_empty_object_and_offsets_past_the_end(wire: Setup) -> None:
    driver = wire.clean()
    driver.put_content("/e", b"")
    assert driver.get_content("/e") == b""
    for offset in (0, 1, 100):
        with driver.reader("/e", offset) as stream:
            assert stream.read() == b""
    driver.put_content("/f", b"abc")
    with driver.reader("/f", 3) as stream:
        assert stream.read() == b""
    with driver.reader("/f", 1) as stream:
        assert stream.read() == b"bc"


def test_markers_prefix_boundaries_and_duplicates(wire: Setup, admin: Admin) -> None:
    driver = wire.clean()
    admin.put("dir/")
    admin.put("dir/file", b"x")
    admin.put("both", b"x")
    admin.put("both/child", b"x")
    driver.put_content("/ab/x", b"x")
    assert driver.list("/") == ["/ab", "/both", "/dir"]
    assert driver.list("/dir") == ["/dir/file"]
    assert driver.stat("/dir").is_dir
    with pytest.raises(distfs.PathNotFoundError):
        driver.stat("/a")
    with pytest.raises(distfs.PathNotFoundError):
        driver.list("/a")
    assert driver.stat("/ab").is_dir
    seen: list[str] = []
    driver.walk("/", lambda info: seen.append(info.path))
    # The store holds an object "both" and objects below "both/": list and stat report the
    # directory; a walk from one flat listing reports the object and the directory.
    assert seen == ["/ab", "/ab/x", "/both", "/both", "/both/child", "/dir", "/dir/file"]


def test_walk_lists_a_thousand_keys_per_request(profile: DriverProfile, wire: Setup, admin: Admin) -> None:
    count = 1200
    for index in range(count):
        admin.put(f"blobs/sha256/{index % 7:02x}/{index:05d}/data", b"x")
    driver = wire.faulty()
    assert wire.proxy.trace is not None
    wire.proxy.trace.clear()
    files: list[str] = []
    driver.walk("/blobs", lambda info: None if info.is_dir else files.append(info.path))
    assert len(files) == count
    assert profile.requests(wire.proxy.trace, profile.listing) <= -(-count // 1000) + 1
    if profile.walk_heads is not None:
        assert profile.requests(wire.proxy.trace, ("HEAD", "/")) <= profile.walk_heads


@pytest.mark.parametrize("profile", [name for name in CLOUD if PROFILES[name].seeks], indirect=True)
def test_walk_skips_ahead_of_skipped_directories(profile: DriverProfile, wire: Setup, admin: Admin) -> None:
    for index in range(1100):
        admin.put(f"a/skipped/{index:04d}")
    admin.put("a/z")
    driver = wire.faulty()
    assert wire.proxy.trace is not None
    wire.proxy.trace.clear()
    seen: list[str] = []

    def fn(info: distfs.FileInfo) -> None:
        seen.append(info.path)
        if info.path == "/a/skipped":
            raise distfs.SkipDir

    driver.walk("/", fn)
    assert seen == ["/a", "/a/skipped", "/a/z"]
    assert profile.requests(wire.proxy.trace, profile.listing) == 2  # the first page, then straight past /a/skipped


@pytest.mark.parametrize("profile", [name for name in CLOUD if PROFILES[name].batch_delete[0]], indirect=True)
def test_delete_batches_of_a_thousand(profile: DriverProfile, wire: Setup, admin: Admin) -> None:
    for index in range(1005):
        admin.put(f"many/{index:04d}")
    admin.put("many-kept")
    driver = wire.faulty()
    assert wire.proxy.trace is not None
    wire.proxy.trace.clear()
    driver.delete("/many")
    assert profile.requests(wire.proxy.trace, profile.batch_delete) == 2
    assert admin.keys() == ["many-kept"]


def _copying(name: str) -> bool:
    return bool(PROFILES[name].copy_source)


@pytest.mark.parametrize("profile", [name for name in CLOUD if _copying(name)], indirect=True)
def test_hundred_chunk_upload_is_linear(profile: DriverProfile, wire: Setup, admin: Admin) -> None:
    """100 PATCH-like sessions of 1 MiB: traffic stays linear, parts stay equal."""
    driver = wire.faulty()
    assert wire.proxy.trace is not None
    assert wire.proxy.heard is not None
    chunk = os.urandom(MiB)
    digest = hashlib.sha256()
    wire.proxy.trace.clear()
    wire.proxy.bytes_up = 0
    w = driver.writer("/uploads/u1/data")
    w.close()
    for index in range(100):
        w = driver.writer("/uploads/u1/data", append=True)
        assert w.size == index * MiB
        piece = chunk[index:] + chunk[:index]
        w.write(piece)
        digest.update(piece)
        w.close()
    assert admin.uploads() == {"uploads/u1/data": [5 * MiB] * 20}  # every part exactly chunksize
    w = driver.writer("/uploads/u1/data", append=True)
    assert w.size == 100 * MiB
    w.commit()
    w.close()
    total = 100 * MiB
    assert wire.proxy.bytes_up <= 1.2 * total + 100 * 5 * MiB, wire.proxy.bytes_up
    assert profile.requests(wire.proxy.trace, ("POST", "uploadId=")) == 1  # one CompleteMultipartUpload
    assert profile.copies(wire.proxy.heard, part=False) == profile.copies(wire.proxy.heard, part=True) == 0
    print(f"\n100 x 1 MiB resumable {profile.name} upload: {wire.proxy.bytes_up / MiB:.1f} MiB sent for 100 MiB")
    with driver.reader("/uploads/u1/data") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == digest.hexdigest()
    assert admin.uploads() == {}
    assert admin.keys() == ["uploads/u1/data"]  # no journal or helper object left


@pytest.mark.parametrize("profile", [name for name in CLOUD if _copying(name)], indirect=True)
def test_append_to_committed_object_copies_server_side(profile: DriverProfile, wire: Setup) -> None:
    driver = wire.faulty()
    assert wire.proxy.heard is not None
    first = os.urandom(11 * MiB)
    driver.put_content("/k", first)
    wire.proxy.heard.clear()
    wire.proxy.bytes_up = 0
    w = driver.writer("/k", append=True)
    assert w.size == 11 * MiB
    assert profile.copies(wire.proxy.heard, part=True) == 2
    assert wire.proxy.bytes_up <= MiB + 4096  # only the 1 MiB tail (and the journal's header) is stored again
    w.write(b"tail")
    w.commit()
    assert driver.get_content("/k") == first + b"tail"


_CHUNKED = [name for name in CLOUD if "chunksize" in PROFILES[name].small_parts]


def _die_after_the_last_close(profile: DriverProfile, wire: Setup, admin: Admin, over: bool) -> None:
    """Write and close ``/d`` (less or more than a chunk), then a writer that uploads parts and
    dies without close(); the resumed writer starts at the last close and commits."""
    chunk = profile.small_parts["chunksize"]
    driver = distfs.create(profile.name, {**wire.parameters, **profile.small_parts})
    first = os.urandom(chunk + 100 if over else chunk * 3 // 5)
    w = driver.writer("/d")
    w.write(first)
    w.close()
    w = driver.writer("/d", append=True)
    w.write(os.urandom(2 * chunk if over else chunk * 6 // 5))  # uploads parts, then dies without close()
    if admin.sees_uploads and not over:
        assert admin.uploads()["d"] == [chunk]
    w = driver.writer("/d", append=True)
    assert w.size == len(first)
    rest = os.urandom(3 * chunk + 7 if over else chunk * 4 // 5)
    w.write(rest)
    w.commit()
    assert driver.get_content("/d") == first + rest


@pytest.mark.parametrize("profile", _CHUNKED, indirect=True)
@pytest.mark.parametrize("over", [False, True], ids=["first-under-a-chunk", "first-over-a-chunk"])
def test_resume_ignores_parts_after_the_last_close(
    profile: DriverProfile, wire: Setup, admin: Admin, over: bool
) -> None:
    """A writer that died after uploading parts but before close() resumes at its last close."""
    _die_after_the_last_close(profile, wire, admin, over)
    if over:
        assert admin.uploads() == {}
        assert admin.keys() == ["d"]


@pytest.mark.parametrize("profile", _CHUNKED, indirect=True)
def test_a_dead_writers_parts_do_not_outlive_the_resumed_commit(
    profile: DriverProfile, wire: Setup, admin: Admin
) -> None:
    _die_after_the_last_close(profile, wire, admin, over=False)
    assert admin.uploads() == {}
    assert admin.keys() == ["d"]


@pytest.mark.parametrize("profile", _CHUNKED, indirect=True)
@pytest.mark.parametrize("end", ["cancel", "new-writer", "delete"])
def test_a_dead_writers_parts_do_not_outlive_cancel_a_new_writer_or_delete(
    profile: DriverProfile, wire: Setup, admin: Admin, end: str
) -> None:
    """The dead writer's upload (its last close() stored no part) is the journal's: whoever ends
    the path's upload ends it too."""
    chunk = profile.small_parts["chunksize"]
    driver = distfs.create(profile.name, {**wire.parameters, **profile.small_parts})
    w = driver.writer("/d")
    w.write(os.urandom(chunk // 2))
    w.close()
    w = driver.writer("/d", append=True)
    w.write(os.urandom(chunk))  # uploads a part, then dies without close()
    if end == "cancel":
        driver.writer("/d", append=True).cancel()
        assert admin.keys() == []
    elif end == "new-writer":
        w = driver.writer("/d")
        w.write(b"new")
        w.commit()
        assert driver.get_content("/d") == b"new"
        assert admin.keys() == ["d"]
    else:
        with pytest.raises(distfs.errors.PathNotFoundError):  # uploads alone are no object (they go too)
            driver.delete("/d")
        assert admin.keys() == []
    assert admin.uploads() == {}


@pytest.mark.parametrize("profile", _CHUNKED, indirect=True)
def test_deleting_files_removes_their_uploads_with_two_requests_at_once(
    profile: DriverProfile, wire: Setup, admin: Admin
) -> None:
    """``delete_many(files_only=True)`` (fsspec's ``rm``) of a file: the batch delete and one
    listing (of the store's multipart uploads on s3 and oss, whose journal, a path's whole
    hidden upload state there, is deleted in the batch unlisted; of the hidden upload state
    elsewhere), and the file's suspended upload goes too."""
    chunk = profile.small_parts["chunksize"]
    driver = wire.faulty(**profile.small_parts)
    w = driver.writer("/d")
    w.write(os.urandom(chunk + 1))  # a part in the store's upload and a journal
    w.close()
    driver.put_content("/f", b"f")
    assert wire.proxy.trace is not None
    wire.proxy.trace.clear()
    driver.delete_many(["/f"], files_only=True)
    assert len(wire.proxy.trace) == 2, wire.proxy.trace  # s3 and oss sent 3 (a listing of the journal too)
    driver.delete_many(["/d"], files_only=True)
    assert admin.uploads() == {}
    assert admin.keys() == []
