"""docs/contributing.md stays true: its toy store, built as the page says, passes the conformance
suite, and every file its tables name exists."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from distfs import factory

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "contributing.md"


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
    # the stores the page gives as examples of the layout: "(`distfs/backends/s3/`, `gcs/`, ...)"
    sentence = text.split("A built-in store `<name>` is", 1)[1].split(")", 1)[0]
    stores = re.findall(r"`(?:distfs/backends/)?(\w+)/`", sentence)
    assert {"s3", "gcs", "azure", "oss"} <= set(stores) <= set(factory.BUILTIN_DRIVERS)
    missing = sorted(
        path.replace("<name>", name)
        for path in named
        for name in (stores if "<name>" in path else [""])
        if not (ROOT / path.replace("<name>", name)).exists()
    )
    assert missing == []
