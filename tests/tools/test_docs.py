"""The documentation site in ``docs/`` (``mkdocs.yml``).

- It builds with ``mkdocs build --strict``: a broken link or anchor, a page left out of
  the nav or a nav entry without a page fails.
- ``docs/parameters.md`` is generated whole from the drivers' parameter tables
  (``python -m distfs.tools.parameters_doc``): the file differing from what the tables give
  fails, and so does a driver accepting other keys than its section documents (the names
  come from the drivers themselves: each rejects an unknown key with an error listing the
  keys it knows).
- Every ``distfs`` subcommand is mentioned.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from profiles import PROFILES

import distfs
import distfs.backends
from distfs import factory
from distfs.errors import InvalidParameterError
from distfs.tools import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PARAMETERS_PAGE = DOCS / "parameters.md"
UNKNOWN_KEY = "no-such-parameter"
KNOWN_PREFIX = "unknown parameter; known: "
# A table row documenting one parameter: its first cell is the name in backticks.
ROW = re.compile(r"^\|\s*`([A-Za-z0-9_.]+)`\s*\|", re.MULTILINE)


def backend_modules() -> dict[str, ModuleType]:
    """The built-in drivers: one module of ``distfs.backends`` each, keyed by its driver name."""
    modules = {}
    for info in pkgutil.iter_modules(distfs.backends.__path__):
        module = importlib.import_module(f"distfs.backends.{info.name}")
        if hasattr(module, "NAME"):  # helpers shared by the backends (options) are no driver
            modules[str(module.NAME)] = module
    return modules


def accepted_parameters(name: str) -> set[str]:
    """The keys driver ``name`` accepts, as it reports them when it rejects an unknown key."""
    with pytest.raises(InvalidParameterError) as caught:
        distfs.create(name, {UNKNOWN_KEY: "x"})
    assert caught.value.driver == name
    assert caught.value.parameter == UNKNOWN_KEY
    assert caught.value.reason.startswith(KNOWN_PREFIX), caught.value.reason
    return {key for key in caught.value.reason.removeprefix(KNOWN_PREFIX).split(", ") if key}


def factory_parameters() -> set[str]:
    """The keys ``distfs.create`` takes out of the map for every driver before the driver sees it."""
    return set(re.findall(r"options\.pop\(\"(\w+)\"", inspect.getsource(factory.create)))


def sections(text: str) -> dict[str, str]:
    """The ``## `` sections of a Markdown page, keyed by their title."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def documented_rows(section: str) -> set[str]:
    """The names in the first column of a section's tables."""
    return set(ROW.findall(section))


def site_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in sorted(DOCS.glob("*.md")))


def test_site_builds_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml")]
    done = subprocess.run(
        [*command, "--site-dir", str(site)],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    built = {page.stem for page in site.glob("*.html")}
    missing = {page.stem for page in DOCS.glob("*.md")} - built
    assert not missing, f"pages not built: {sorted(missing)}"


def test_built_in_drivers_are_the_backend_modules() -> None:
    names = set(backend_modules())
    assert set(PROFILES) <= names  # every built-in driver has its backend module
    assert names <= set(factory.driver_names())


@pytest.mark.parametrize("name", sorted(backend_modules()))
def test_every_parameter_is_documented(name: str) -> None:
    accepted = accepted_parameters(name)
    page = sections(PARAMETERS_PAGE.read_text(encoding="utf-8"))
    assert name in page, f"docs/parameters.md has no '## {name}' section"
    documented = documented_rows(page[name])
    assert accepted == documented, (
        f"{name}: accepted but not in docs/parameters.md: {sorted(accepted - documented)}; "
        f"documented but not accepted: {sorted(documented - accepted)}"
    )
    # The driver's own page (drivers.md for inmemory and filesystem) names each key too; a store
    # with neither has the generated section as its reference (docs/contributing.md, Adding a store).
    own = DOCS / f"{name}.md"
    if not own.exists() and name not in ("inmemory", "filesystem"):
        return
    text = own.read_text(encoding="utf-8") if own.exists() else (DOCS / "drivers.md").read_text(encoding="utf-8")
    sub_keys = set(getattr(backend_modules()[name], "CREDENTIAL_KEYS", ()))
    missing = sorted(key for key in accepted | sub_keys if f"`{key}`" not in text)
    assert not missing, f"{name}: not on the driver's own page: {missing}"


def test_sub_keys_are_documented() -> None:
    """Keys of map parameters (azure ``credentials``) are listed in the driver's section."""
    page = sections(PARAMETERS_PAGE.read_text(encoding="utf-8"))
    for name, module in backend_modules().items():
        for key in getattr(module, "CREDENTIAL_KEYS", ()):
            assert f"`{key}`" in page[name], f"{name}: credentials sub-key {key!r} not documented"


def test_parameters_of_every_driver_are_documented() -> None:
    common = factory_parameters()
    assert common, "distfs.create no longer takes driver-independent parameters out of the map?"
    page = sections(PARAMETERS_PAGE.read_text(encoding="utf-8"))
    assert documented_rows(page["Every driver"]) == common
    for key in common:
        # Every driver really takes it: a bad value is rejected naming the key.
        with pytest.raises(InvalidParameterError) as caught:
            distfs.create("inmemory", {key: object()})
        assert caught.value.parameter == key


def subcommands() -> set[str]:
    parser = cli._parser()
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    assert len(actions) == 1
    return set(actions[0].choices)


def test_every_subcommand_is_documented() -> None:
    commands = subcommands()
    assert {"check", "health"} <= commands
    text = site_text()
    missing = sorted(command for command in commands if f"distfs {command}" not in text)
    assert not missing, f"distfs subcommands not in docs/: {missing}"


def test_nav_lists_every_page() -> None:
    """Also caught by the strict build; this names the page without running mkdocs."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", config, flags=re.MULTILINE))
    pages = {page.name for page in DOCS.glob("*.md")}
    assert pages <= listed, f"pages not in the mkdocs.yml nav: {sorted(pages - listed)}"


def test_parameters_page_is_generated_whole() -> None:
    """docs/parameters.md is exactly what the drivers' tables give: every driver's keys and its
    storage_options table, and the prose around them (nothing hand-written survives a regeneration)."""
    from distfs.tools import parameters_doc

    text = PARAMETERS_PAGE.read_text(encoding="utf-8")
    assert text == parameters_doc.render(), "regenerate: python -m distfs.tools.parameters_doc docs/parameters.md"
    for title, table in parameters_doc.key_tables():
        assert f"## {title}\n" in text
        assert table.markdown() in text
    for options in parameters_doc.tables():
        assert f"### `{options.driver}`" in text


def test_a_changed_table_changes_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page follows the table: a key's changed meaning is in the next render, and the old
    file then differs (what the test above catches)."""
    import dataclasses

    from distfs.backends import s3
    from distfs.tools import parameters_doc

    keys = tuple(
        dataclasses.replace(key, doc="a changed meaning") if key.name == "chunksize" else key for key in s3.KEYS.keys
    )
    monkeypatch.setattr(s3, "KEYS", dataclasses.replace(s3.KEYS, keys=keys))
    page = parameters_doc.render()
    assert "| `chunksize` | size, 5 MiB .. 5 GiB | 10 MiB | engine | a changed meaning |" in page
    assert page != PARAMETERS_PAGE.read_text(encoding="utf-8")
