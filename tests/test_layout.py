"""The package's layering: the runtime never imports the tools; test servers die with their parent."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "distfs"


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the distfs modules ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            module = (base + "." + node.module if node.module else base) if node.level else node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("distfs")}


def test_runtime_never_imports_tools() -> None:
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(
            n for n in _imported_modules(path) if n.startswith("distfs.tools")
        )
        for path in PACKAGE.rglob("*.py")
        if "tools" not in path.relative_to(PACKAGE).parts
    }
    assert {k: v for k, v in offenders.items() if v} == {}


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
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
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
