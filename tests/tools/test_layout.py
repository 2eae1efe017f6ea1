"""The package's layering (pyproject.toml's import-linter contracts) holds and catches a crossing import; the
faces reach no internal by attribute either; test servers die with their parent."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "distfs"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` over the package under ``root``, with the contracts of ``root/pyproject.toml``."""
    command = [
        sys.executable,
        "-c",
        "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
    ]
    environment = {**os.environ, "PYTHONPATH": str(root)}
    arguments = ["--no-cache", "--no-logo"]
    return subprocess.run(
        [*command, *arguments], cwd=root, env=environment, capture_output=True, text=True, check=False
    )


def test_the_layering_holds() -> None:
    result = _lint_imports(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("engine/core.py", "from ..tools import cli", "Layers"),  # the runtime imports a tool
        ("fsspec/names.py", "from ..engine import loop", "Faces see the contract"),
        ("fsspec/names.py", "from ..backends import options", "Faces see the contract"),
        ("testing/__init__.py", "from ..aio import driver", "Faces see the contract"),
        ("tools/registry_open.py", "from . import registry_cli", "No import circles"),
    ],
)
def test_a_crossing_import_breaks_a_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(PACKAGE, tmp_path / "distfs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PACKAGE.parent / "pyproject.toml", tmp_path)
    with (tmp_path / "distfs" / module).open("a", encoding="utf-8") as file:
        file.write(f"\n{line}  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert contract in result.stdout.split("Broken contracts")[1]


#: The faces (docs/extension.md): they stand on the contract and its documented extension.
FACES = (
    "config.py",
    "protocol.py",
    "upath.py",
    "cloudfront.py",
    "fsspec",
    "testing",
    "registry",
    "middleware",
    "tools",
)
#: Attributes that reach past the contract: the engine and its store, and the driver a wrapper
#: wraps (a face walks wrappers with ``unwrap()``). A wrapper's own ``self.wrapped`` is its own.
INTERNALS = frozenset({"engine", "store", "inner", "wrapped", "_inner"})
#: The documented exceptions (pyproject.toml's ignore_imports): the raw sides of probe and bench
#: read the engine and its store; they too unwrap wrappers.
RAW_SIDES = frozenset({"tools/probe/distfs_target.py", "tools/probe/underneath.py", "tools/bench/raw.py"})


def _reaches(source: str, internals: frozenset[str] = INTERNALS) -> list[str]:
    """The ``x.<internal>`` attribute reads and ``getattr(x, "<internal>")`` calls of ``source``
    (``self.<internal>`` excepted), as ``line: code``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            name, owner = node.attr, node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                continue
            name, owner = str(node.args[1].value), node.args[0]
        else:
            continue
        if name in internals and not (isinstance(owner, ast.Name) and owner.id == "self"):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


#: The most lines a module of the package may have (issue 28: rooms that fit).
MAX_MODULE_LINES = 400


def test_no_module_passes_400_lines() -> None:
    """A module past :data:`MAX_MODULE_LINES` is split by what it holds, not squeezed."""
    long = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_the_faces_reach_no_internal_by_attribute() -> None:
    """Import contracts cannot see ``driver.inner.engine.store``: the faces use ``unwrap()`` and
    the documented extension instead."""
    faces = [PACKAGE / face for face in FACES]
    modules = [face for face in faces if face.is_file()] + [
        m for face in faces if face.is_dir() for m in face.rglob("*.py")
    ]
    assert len(modules) > 40
    wrappers = INTERNALS - {"engine", "store"}
    reaches = {
        str(name): _reaches(module.read_text(encoding="utf-8"), wrappers if str(name) in RAW_SIDES else INTERNALS)
        for module in modules
        for name in [module.relative_to(PACKAGE)]
    }
    assert {module: found for module, found in reaches.items() if found} == {}


def test_the_attribute_scan_sees_a_reach() -> None:
    assert _reaches("def f(driver):\n    return driver.inner.engine.store\n") == [
        "2: driver.inner.engine.store",
        "2: driver.inner.engine",
        "2: driver.inner",
    ]
    assert _reaches("x = getattr(d, 'wrapped', None)\n") == ["1: getattr(d, 'wrapped', None)"]
    assert _reaches("class W:\n    def f(self):\n        return self.wrapped.name\n") == []


def test_importing_every_driver_loads_no_tool() -> None:
    code = (
        "import sys, distfs, distfs.testing, distfs.protocol\n"
        "for name in ('inmemory', 'filesystem'): distfs.create(name, {'rootdirectory': '/tmp/distfs-layout'} "
        "if name == 'filesystem' else {})\n"
        "print(sorted(m for m in sys.modules if m.startswith('distfs.tools')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


#: What ``distfs registry gc`` on a filesystem store never needs (imported on first use elsewhere).
UNNEEDED = (
    "s3fs",
    "gcsfs",
    "adlfs",
    "botocore",
    "aiobotocore",
    "google",
    "azure",
    "oss2",
    "yaml",
    "opentelemetry",
    "tqdm",
    "urllib.request",
    "distfs.testing",
    "distfs.tools.bench",
    "distfs.tools.probe",
    "distfs.backends.s3",
    "fsspec",
)


def test_the_registry_command_imports_no_sdk_nor_tool_it_does_not_use(tmp_path: Path) -> None:
    import distfs
    from distfs.tools.registry_store import put_image

    put_image(distfs.create("filesystem", {"rootdirectory": str(tmp_path)}), "a/b", "latest", [b"layer"])
    code = (
        "import sys\n"
        "from distfs.tools.cli import main\n"
        f"code = main(['registry', 'gc', '--dry-run', '-p', 'rootdirectory={tmp_path}', 'filesystem'])\n"
        f"print(code, sorted(m for m in {UNNEEDED!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 []"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_servers_die_with_a_sigkilled_parent(tmp_path: Path) -> None:
    code = """
import os, pathlib, sys, time
from distfs.tools.servers import moto_server
with moto_server(pathlib.Path(sys.argv[1])):
    me = str(os.getpid())
    def parent(pid):
        try:  # a process may end between the listing of /proc and this read
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
        except OSError:
            return None
    kids = [p for p in os.listdir("/proc") if p.isdigit() and parent(p) == me]
    print(*kids, flush=True)
    time.sleep(600)
"""
    parent = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "moto.log")], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    children = [int(pid) for pid in parent.stdout.readline().split()]
    assert children, "the server did not start"
    assert all(_alive(pid) for pid in children)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)
