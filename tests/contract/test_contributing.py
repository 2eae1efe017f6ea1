"""docs/contributing.md stays true: its toy store, built as the page says, passes the conformance
suite, and every file its tables name exists."""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import distfs
from distfs import factory
from distfs.errors import InvalidParameterError, InvalidStorageDriverError

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "contributing.md"
PARAMETERS = ROOT / "docs" / "parameters.md"


def _section(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_toy_store_of_the_walkthrough_passes_the_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _section("Adding a store")
    # step 1: the example store, in a package of one's own
    example = re.search(r"\[`(docs/examples/\w+\.py)`\]", section)
    assert example is not None, "the page names no example store"
    package = tmp_path / "toystore"
    package.mkdir()
    shutil.copy(ROOT / example.group(1), package / "__init__.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(factory, "_registered", dict(factory._registered))  # the registration ends with the test
    # steps 2 and 3: the page's own code registers the store and runs the suite (its assert)
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1
    try:
        namespace: dict[str, object] = {}
        exec(compile(blocks[0], str(PAGE), "exec"), namespace)
    finally:
        sys.modules.pop("toystore", None)
    results = namespace["results"]
    assert isinstance(results, list)
    passed = [result for result in results if result.outcome == "passed"]
    assert len(passed) >= 60  # the suite ran, not a handful of cases


def test_every_file_the_page_names_exists() -> None:
    text = PAGE.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:distfs|docs)/[\w/<>.-]+\.(?:py|md))`", text))
    assert len(named) >= 10
    # a path with <name> holds for some built-in driver (distfs/backends/inmemory.py, docs/s3.md)
    missing = sorted(
        path
        for path in named
        if not any((ROOT / path.replace("<name>", name)).exists() for name in factory.BUILTIN_DRIVERS)
    )
    assert missing == []


def test_a_built_in_store_is_the_files_the_page_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk-through's built-in store: its module (step 1), its Builtin line (step 2) and the
    generated page (step 5) are all it takes to be created by name, documented and tested."""
    from distfs.tools import parameters_doc
    from distfs.tools.local import LocalStores

    section = _section("Adding a store")
    assert re.search(r"touches five files", section)
    steps = re.findall(r"^\| (\d) \| `([^`]+)` \|", section, flags=re.MULTILINE)
    assert [number for number, _ in steps] == ["1", "2", "3", "4", "5"]
    assert [path for _, path in steps] == [
        "distfs/backends/<name>.py",
        "distfs/factory.py",
        "pyproject.toml",
        "tests/profiles.py",
        "docs/parameters.md",
    ]
    # step 1: the module (the example store is one), importable as a module of its own
    package = tmp_path / "toybuiltin"
    package.mkdir()
    shutil.copy(ROOT / "docs" / "examples" / "dict_store.py", package / "__init__.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    # step 2: one Builtin line (an extra with no modules to require: step 3 adds nothing here)
    monkeypatch.setitem(factory.BUILTIN_DRIVERS, "toydict", factory.Builtin("toydict", "toybuiltin"))
    try:
        driver = distfs.create("toydict", {"bucket": "b1", "rootdirectory": "r"})
        driver.put_content("/a/b", b"x")
        assert distfs.create("toydict", {"bucket": "b1"}).get_content("/r/a/b") == b"x"
        with pytest.raises(InvalidParameterError) as caught:
            distfs.create("toydict", {"bucket": "b1", "region": "x"})
        assert (caught.value.driver, caught.value.parameter) == ("toydict", "region")
        assert caught.value.reason == "unknown parameter; known: bucket, rootdirectory"
        # step 5: its section of docs/parameters.md comes from its KEYS, and is its reference
        page = parameters_doc.render()
        assert "\n## toydict\n\nA toy store:" in page
        assert "| `bucket` | string | required |  | the dict of this process holding the objects |" in page
        assert page != PARAMETERS.read_text(encoding="utf-8")  # the committed page lacks it: regenerate
        # the tests reach a fresh store of it without a server (its local_parameters)
        with LocalStores(tmp_path / "stores") as stores:
            fresh = stores.parameters("toydict")
        assert distfs.create("toydict", fresh).list("/") == []
    finally:
        sys.modules.pop("toybuiltin", None)


def test_a_store_with_a_local_server_is_one_entry_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk-through's store with a server: one :data:`SERVERS` entry (its start function
    beside it) is all :class:`LocalStores` needs to start the server on first use, make fresh
    stores on it, and stop it on exit; no other file changes."""
    from distfs.tools import local
    from distfs.tools.oss_fake import OSSFake, serve

    section = _section("Adding a store")
    assert "one more file (six)" in section
    assert "`SERVERS` of `distfs/tools/local.py`" in section
    started: list[str] = []

    @contextlib.contextmanager
    def start(log: Path) -> Iterator[local.Running]:
        """The toy store's emulator: an OSS fake of its own, in a thread of this process."""
        fake = OSSFake("toy-id", "toy-secret")
        server, _ = serve(fake)
        started.append(f"http://127.0.0.1:{server.server_address[1]}")
        try:
            yield local.Running(started[-1], fake)
        finally:
            server.shutdown()
            server.server_close()

    def fresh(running: local.Running, bucket: str) -> dict[str, Any]:
        running.handle.create_bucket(bucket)
        return {
            **{"accesskeyid": "toy-id", "accesskeysecret": "toy-secret", "region": "oss-cn-hangzhou"},
            **{"bucket": bucket, "endpoint": running.endpoint, "secure": False},
        }

    # the store: the oss module under a name of its own (steps 1 and 2), and its one entry
    monkeypatch.setitem(factory.BUILTIN_DRIVERS, "toyoss", factory.Builtin("toyoss", "distfs.backends.oss"))

    def forget(running: local.Running, parameters: Mapping[str, Any]) -> None:
        running.handle.forget_bucket(parameters["bucket"])

    entry = local.LocalServer("toy OSS fake", start, fresh, "maxretries", forget=forget)
    monkeypatch.setitem(local.SERVERS, "toyoss", entry)
    with local.LocalStores(tmp_path / "stores") as stores:
        assert started == []  # nothing starts before a store is asked for
        first, second = stores.parameters("toyoss"), stores.parameters("toyoss", retries=0)
        assert started == [stores.endpoint("toyoss")]  # one server for every store of it
        assert first["bucket"] != second["bucket"]
        assert second["maxretries"] == 0
        assert "maxretries" not in first  # the driver's default
        one = distfs.create("toyoss", first)
        one.put_content("/a/b", b"x")
        assert distfs.create("toyoss", first).get_content("/a/b") == b"x"  # through the toy server
        assert distfs.create("toyoss", second).list("/") == []  # a fresh store
        stores.forget("toyoss", first)  # dropped from the server's memory
        with pytest.raises(InvalidStorageDriverError) as unknown:  # a driver with neither entry nor local_parameters
            stores.parameters("toynone")
        assert unknown.value.name == "toynone"
        with pytest.raises(distfs.StorageDriverError):
            distfs.create("toyoss", first).get_content("/a/b")
    with pytest.raises(OSError):  # stopped on exit: the port is closed
        urllib.request.urlopen(started[0] + "/", timeout=5).close()
