"""Named regressions from the model-based, hostile-input and secrets tests.

The model-based tests (tests/contract/test_model.py) found no divergence between any driver and
the model; the collisions they exercise most are pinned here as plain tests on every
driver, so a regression shows up by name and without hypothesis. The bugs the hostile
input and secrets tests did find are pinned below them:

* ``filesystem`` with a NUL character in ``rootdirectory`` let a bare ``ValueError``
  ("embedded null byte") escape ``distfs.create`` instead of ``InvalidParameterError``;
* ``azure`` with an ``accountname`` or ``container`` such as ``[`` let the SDK's bare
  ``ValueError`` ("Invalid IPv6 URL") escape ``distfs.create``;
* ``s3`` with a ``sessiontoken``: botocore's own DEBUG records (``botocore.auth``'s
  canonical request, ``botocore.endpoint``'s request headers) carried the token in clear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from profiles import PROFILES

import distfs
from distfs import DriverError, FileInfo, InvalidParameterError, PathNotFoundError, StorageDriver
from distfs.engine.loop import run

ALL_DRIVERS = list(PROFILES)


@pytest.fixture(params=ALL_DRIVERS)
def store(request: pytest.FixtureRequest, store_parameters: Callable[[str], dict[str, Any]]) -> StorageDriver:
    name: str = request.param
    return distfs.create(name, store_parameters(name))


def walked(driver: StorageDriver, top: str = "/", hint: str = "") -> list[tuple[str, bool]]:
    seen: list[FileInfo] = []
    driver.walk(top, seen.append, start_after_hint=hint)
    return [(info.path, info.is_dir) for info in seen]


def test_prefix_siblings_stay_apart(store: StorageDriver) -> None:
    """/a, /ab and /a-b: delete, list and walk respect the component boundary."""
    for path in ("/a/x", "/ab", "/a-b/y"):
        store.put_content(path, path.encode())
    assert store.list("/") == ["/a", "/a-b", "/ab"]
    assert walked(store) == [("/a-b", True), ("/a-b/y", False), ("/a", True), ("/a/x", False), ("/ab", False)]
    # Key order: "/a-b/" < "/a-b/y" < "/a/" < "/a/x" < "/ab"; the hinted entry itself is skipped.
    assert walked(store, hint="/a") == [("/a-b", True), ("/a-b/y", False), ("/a/x", False), ("/ab", False)]
    assert walked(store, hint="/a-b/y") == [("/a", True), ("/a/x", False), ("/ab", False)]
    store.delete("/a")
    assert store.get_content("/ab") == b"/ab"
    assert store.get_content("/a-b/y") == b"/a-b/y"
    with pytest.raises(PathNotFoundError):
        store.stat("/a/x")


def test_directory_move_takes_the_whole_tree(store: StorageDriver) -> None:
    """Moving a directory moves everything below it and nothing beside it."""
    for path in ("/a/b/x", "/a/y", "/ab/z"):
        store.put_content(path, path.encode())
    store.move("/a", "/b/a")
    assert store.get_content("/b/a/b/x") == b"/a/b/x"
    assert store.get_content("/b/a/y") == b"/a/y"
    assert store.get_content("/ab/z") == b"/ab/z"
    with pytest.raises(PathNotFoundError):
        store.get_content("/a/y")


def test_suspended_upload_outlives_a_put_and_a_move(store: StorageDriver) -> None:
    """A suspended upload resumes from its own bytes, whatever happened at its path since."""
    writer = store.writer("/a")
    writer.write(b"suspended")
    writer.close()
    store.put_content("/a", b"committed")
    store.move("/a", "/b")
    resumed = store.writer("/a", append=True)
    assert resumed.size == len(b"suspended")
    resumed.write(b"!")
    resumed.commit()
    resumed.close()
    assert store.get_content("/a") == b"suspended!"
    assert store.get_content("/b") == b"committed"


def test_delete_removes_suspended_uploads_below(store: StorageDriver) -> None:
    """delete(p) drops suspended uploads at and below p, even when nothing is committed there."""
    for path in ("/d/a", "/d"):
        writer = store.writer(path)
        writer.write(b"x")
        writer.close()
    with pytest.raises(PathNotFoundError):
        store.delete("/d")
    for path in ("/d/a", "/d"):
        with pytest.raises(PathNotFoundError):
            store.writer(path, append=True)


def test_append_continues_the_committed_object_after_cancel(store: StorageDriver) -> None:
    """cancel discards the upload only: a new append writer continues the committed content."""
    store.put_content("/c", b"base")
    writer = store.writer("/c", append=True)
    writer.write(b"-dropped")
    writer.cancel()
    again = store.writer("/c", append=True)
    assert again.size == 4
    again.write(b"-kept")
    again.commit()
    again.close()
    assert store.get_content("/c") == b"base-kept"


# -- bugs found by tests/contract/test_hostile.py and tests/contract/test_secrets.py ---------------------


def test_filesystem_rootdirectory_with_nul_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create("filesystem", {"rootdirectory": "/tmp/a\x00b"})
    assert (caught.value.driver, caught.value.parameter) == ("filesystem", "rootdirectory")


@pytest.mark.parametrize("parameter", ["accountname", "container"])
def test_azure_names_that_break_urls_are_invalid_parameters(
    parameter: str, store_parameters: Callable[[str], dict[str, Any]]
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create("azure", {**store_parameters("azure"), parameter: "["})
    assert (caught.value.driver, caught.value.parameter) == ("azure", parameter)


def test_s3_session_token_stays_out_of_botocore_debug_logs(store_parameters: Callable[[str], dict[str, Any]]) -> None:
    token = "regression-session-token-Qq1Ww2"
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        driver = distfs.create("s3", {**store_parameters("s3"), "sessiontoken": token})
        driver.put_content("/a", b"x")
        assert driver.get_content("/a") == b"x"
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert any("botocore" in m or "x-amz" in m.lower() for m in messages)  # botocore did log the requests
    assert not [m for m in messages if token in m]


def test_walk_of_a_file_is_path_not_found(store: StorageDriver) -> None:
    """A file is not a directory to walk: every driver answers as ``list`` does."""
    store.put_content("/w/f", b"x")
    visited: list[str] = []
    with pytest.raises(PathNotFoundError):
        store.walk("/w/f", lambda info: visited.append(info.path))
    assert visited == []


# -- the writer and drivers under abuse (issue 27) -------------------------------------


def damage_journal(driver: StorageDriver, path: str, data: bytes) -> None:
    """Replace the hidden record of ``path``'s suspended upload with ``data``.

    Every driver is an engine driver: the journal (``state``).
    """
    engine = driver.inner.engine  # type: ignore[attr-defined]
    run(engine.store.put(engine.key(engine.upload_dir(path) + "/state"), data))


#: A torn journal, and one of an older format (object stores: no tail; others: not a number).
DAMAGED = {"torn": b'{"upload": "x", "parts": [[', "older": b'{"upload":"","scratch":"","parts":[]}\n'}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_damaged_journal_is_replaced_by_a_new_writer(store: StorageDriver, damage: str) -> None:
    """A fresh writer replaces a damaged or older-format journal; an append names the path."""
    store.put_content("/j/a", b"committed")
    writer = store.writer("/j/a", append=True)
    writer.write(b"+suspended")
    writer.close()
    damage_journal(store, "/j/a", DAMAGED[damage])
    with pytest.raises(DriverError, match="/j/a") as caught:
        store.writer("/j/a", append=True)
    assert caught.value.driver_name == store.name
    fresh = store.writer("/j/a")
    assert fresh.size == 0
    fresh.write(b"fresh")
    fresh.close()
    resumed = store.writer("/j/a", append=True)
    assert resumed.size == 5
    resumed.write(b"!")
    resumed.commit()
    assert store.get_content("/j/a") == b"fresh!"
    appended = store.writer("/j/a", append=True)  # the replaced journal left nothing behind
    assert appended.size == 6
    appended.cancel()


#: Deep enough for a recursion per level to fail (Python's limit is 1000 frames). The
#: local servers take its keys (2,400 bytes, 4,900 for the journal); the real S3, GCS,
#: Azure and OSS limit keys to 1,024 bytes, so there a path this deep is refused by the service.
DEEP = 1200


def test_deep_paths_put_walk_write_and_delete(store: StorageDriver) -> None:
    """Put, get, list, walk, write, move and delete at any depth (no recursion per level)."""
    depth = DEEP
    deep = "/d" * depth
    store.put_content(deep + "/f", b"x")
    assert store.get_content(deep + "/f") == b"x"
    assert store.list(deep) == [deep + "/f"]
    seen: list[FileInfo] = []
    store.walk("/", seen.append)
    assert [info.path for info in seen] == ["/d" * n for n in range(1, depth + 1)] + [deep + "/f"]
    writer = store.writer(deep + "/w")
    writer.write(b"y")
    writer.close()
    writer = store.writer(deep + "/w", append=True)
    writer.write(b"z")
    writer.commit()
    assert store.get_content(deep + "/w") == b"yz"
    store.move("/d", "/e")
    assert store.get_content("/e" + deep[2:] + "/w") == b"yz"
    store.delete("/e")
    assert store.list("/") == []
