"""``filesystem`` and ``inmemory``: ``storage_options``, fsspec's keywords of ``file`` and ``memory``.

Neither driver lets a keyword change what it does (the tables say why); these tests show
that every keyword is classified, that refused keys are named, and that accepted ones are
accepted and have no effect on the driver's guarantees.
"""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import FSSPEC_KEYWORDS
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

import distfs
from distfs.backends import filesystem, inmemory
from distfs.backends.options import OptionTable

TABLES: dict[str, tuple[OptionTable, type]] = {
    "filesystem": (filesystem.OPTIONS, LocalFileSystem),
    "inmemory": (inmemory.OPTIONS, MemoryFileSystem),
}


def parameters(name: str, tmp_path: Path, **storage_options: Any) -> dict[str, Any]:
    base = {"rootdirectory": str(tmp_path / "store")} if name == "filesystem" else {}
    return {**base, "storage_options": storage_options}


@pytest.mark.parametrize("name", TABLES)
def test_every_keyword_is_in_the_table(name: str) -> None:
    table, cls = TABLES[name]
    own = set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}
    assert {option.key for option in table.options} == own | FSSPEC_KEYWORDS
    assert all(option.why for option in table.options)
    assert fsspec.get_filesystem_class(table.protocol) is cls


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("no_such_option", "unknown fsspec option; accepted: "),
        ("use_listings_cache", "not accepted: "),
        ("asynchronous", "is synchronous"),
    ],
)
def test_refused_keys_are_named(name: str, key: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create(name, parameters(name, tmp_path, **{key: "a-value-never-quoted"}))
    assert (info.value.driver, info.value.parameter) == (name, f"storage_options.{key}")
    assert words in str(info.value)
    assert "a-value-never-quoted" not in str(info.value)


@pytest.mark.parametrize("name", TABLES)
def test_storage_options_must_be_a_mapping(name: str, tmp_path: Path) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create(name, {**parameters(name, tmp_path), "storage_options": ["auto_mkdir"]})
    assert info.value.parameter == "storage_options"


def test_inmemory_global_store_is_the_engines() -> None:
    with pytest.raises(distfs.InvalidParameterError, match="private store") as info:
        distfs.create("inmemory", {"storage_options": {"global_store": True}})
    assert info.value.parameter == "storage_options.global_store"


def test_inmemory_accepted_keys_keep_stores_private() -> None:
    first = distfs.create("inmemory", {"storage_options": {"skip_instance_cache": False}})
    second = distfs.create("inmemory", {"storage_options": {}})
    first.put_content("/a", b"1")
    with pytest.raises(distfs.PathNotFoundError):
        second.get_content("/a")
    assert fsspec.filesystem("memory").store.get("/a") is None  # never the global store


def test_filesystem_auto_mkdir_is_ignored_parents_are_always_made(tmp_path: Path) -> None:
    for value in (False, True):
        driver = distfs.create("filesystem", parameters("filesystem", tmp_path, auto_mkdir=value))
        driver.put_content(f"/{value}/deep/er/file", b"x")
        driver.move(f"/{value}/deep/er/file", f"/{value}/other/place/file")
        assert (tmp_path / "store" / str(value) / "other" / "place" / "file").read_bytes() == b"x"
    option = filesystem.OPTIONS.get("auto_mkdir")
    assert option is not None
    assert option.use == "ignored"


def test_distfs_protocol_with_storage_options_pickles(tmp_path: Path) -> None:
    options = parameters("filesystem", tmp_path, auto_mkdir=True)
    fs = fsspec.filesystem("distfs", driver="filesystem", skip_instance_cache=True, **options)
    fs.pipe("/shared.txt", b"through pickle")
    blob = pickle.dumps(fs)
    script = "import pickle, sys; fs = pickle.loads(sys.stdin.buffer.read()); print(fs.cat('/shared.txt').decode())"
    result = subprocess.run([sys.executable, "-c", script], input=blob, capture_output=True, check=True, timeout=120)
    assert result.stdout.decode().strip() == "through pickle"
