"""register / create / driver_names, and third-party drivers found by entry point."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import distfs
from distfs import factory
from distfs.base import Base


@pytest.fixture
def clean_registry() -> Iterator[None]:
    saved = dict(factory._registered)
    yield
    factory._registered.clear()
    factory._registered.update(saved)


def test_builtin_names() -> None:
    names = distfs.driver_names()
    assert {"inmemory", "filesystem"} <= set(names)
    assert names == sorted(names)


def test_unknown_driver_lists_the_available_ones() -> None:
    with pytest.raises(distfs.InvalidStorageDriverError) as info:
        distfs.create("nosuchdriver", {})
    assert info.value.name == "nosuchdriver"
    message = str(info.value)
    assert message.startswith("StorageDriver not registered: nosuchdriver")
    for name in factory.driver_names():
        assert name in message


def test_swift_is_explained() -> None:
    with pytest.raises(distfs.InvalidStorageDriverError) as info:
        distfs.create("swift", {"authurl": "x"})
    message = str(info.value)
    assert "no longer supported" in message
    assert "'s3'" in message
    assert "regionendpoint" in message


@pytest.mark.usefixtures("clean_registry")
def test_register_and_create() -> None:
    seen: list[Mapping[str, Any]] = []

    def make(parameters: Mapping[str, Any]) -> distfs.StorageDriver:
        seen.append(parameters)
        return distfs.create("inmemory").inner  # type: ignore[attr-defined,no-any-return]

    distfs.register("mine", make)
    assert "mine" in distfs.driver_names()
    driver = distfs.create("mine", {"k": "v"})
    assert seen == [{"k": "v"}]
    assert isinstance(driver, Base)  # every created driver gets validation
    with pytest.raises(distfs.InvalidPathError):
        driver.get_content("/a/../b")


@pytest.mark.usefixtures("clean_registry")
def test_register_rejects_duplicates_and_non_callables() -> None:
    distfs.register("once", lambda parameters: distfs.create("inmemory"))
    with pytest.raises(ValueError, match="already registered"):
        distfs.register("once", lambda parameters: distfs.create("inmemory"))
    with pytest.raises(ValueError, match="already registered"):
        distfs.register("filesystem", lambda parameters: distfs.create("inmemory"))
    with pytest.raises(TypeError, match="callable"):
        distfs.register("broken", "not a factory")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        distfs.register("", lambda parameters: distfs.create("inmemory"))


@pytest.mark.usefixtures("clean_registry")
def test_factory_must_return_a_driver() -> None:
    distfs.register("liar", lambda parameters: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="not a StorageDriver"):
        distfs.create("liar")


PLUGIN = '''
import distfs

def factory(parameters):
    """A third-party driver: inmemory under another name, checking its one parameter."""
    if parameters.get("greeting") != "hello":
        raise distfs.InvalidParameterError("toy", "greeting", "must be hello")
    driver = distfs.create("inmemory")
    inner = driver.inner

    class Toy(type(inner)):
        @property
        def name(self):
            return "toy"

    return Toy(inner.engine)
'''


def _wheel(directory: Path) -> Path:
    """A minimal wheel of a plugin distribution declaring a ``distfs.drivers`` entry point."""
    name, version = "distfs_toy_plugin", "1.0"
    dist_info = f"{name}-{version}.dist-info"
    files = {
        "distfs_toy_plugin.py": PLUGIN,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: distfs-toy-plugin\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": "[distfs.drivers]\ntoy = distfs_toy_plugin:factory\n",
    }
    records = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        records.append(f"{path},sha256={digest},{len(text.encode())}")
    records.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(records) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_entry_point_plugin_is_found_by_name(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(_wheel(tmp_path)),
        ],
        check=True,
    )
    script = """
import distfs
assert "toy" in distfs.driver_names(), distfs.driver_names()
driver = distfs.create("toy", {"greeting": "hello"})
driver.put_content("/a/b", b"plugged in")
assert driver.get_content("/a/b") == b"plugged in"
try:
    driver.get_content("/missing")
except distfs.PathNotFoundError as exc:
    assert str(exc) == "toy: Path not found: /missing", str(exc)
try:
    distfs.create("toy", {"greeting": "bye"})
except distfs.InvalidParameterError as exc:
    assert exc.parameter == "greeting"
else:
    raise AssertionError("bad parameter accepted")
try:
    distfs.register("toy", lambda parameters: None)
except ValueError:
    pass
else:
    raise AssertionError("entry-point name registered twice")
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- one table of built-in drivers; a missing extra -------------------------------------

_HIDE = "import sys\nfor name in {names!r}: sys.modules[name] = None\n"


@pytest.mark.parametrize(
    ("driver", "hidden", "extra"),
    [
        ("s3", ["aiobotocore"], "s3"),
        ("gcs", ["google.auth", "google"], "gcs"),
        ("azure", ["azure.storage.blob"], "azure"),
        ("oss", ["oss2"], "oss"),
        ("oss", ["ossfs"], "oss"),
    ],
)
def test_a_missing_extra_names_the_pip_command(driver: str, hidden: list[str], extra: str) -> None:
    code = _HIDE.format(names=hidden) + (
        "import distfs\n"
        "try:\n"
        f"    distfs.create({driver!r}, {{}})\n"
        "except distfs.DriverNotInstalledError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().startswith("DriverNotInstalledError StorageDriver")
    assert f"pip install 'distfs[{extra}]'" in result.stdout


def test_distfs_check_without_the_extra_exits_2_with_one_line() -> None:
    code = (
        _HIDE.format(names=["aiobotocore"])
        + "from distfs.tools.cli import main\nraise SystemExit(main(['check', 's3']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "pip install 'distfs[s3]'" in lines[0]
    assert "Traceback" not in result.stderr


def test_every_builtin_driver_is_in_the_one_table() -> None:
    from distfs.factory import BUILTIN_DRIVERS
    from distfs.tools.local import DRIVERS
    from distfs.tools.probe.targets import RAW_BUILDERS

    assert set(BUILTIN_DRIVERS) <= set(distfs.driver_names())
    assert set(DRIVERS) | {"s3aws"} == set(BUILTIN_DRIVERS) == set(RAW_BUILDERS)
