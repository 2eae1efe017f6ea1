"""Every ```python block of README.md and docs/*.md runs as written against the local servers.

Each block runs in a fresh interpreter (cwd: an empty temporary directory, a timeout), with
the endpoint and credentials given the way a user gives them: the environment
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``
for s3 on moto), and the buckets the block names created first. A block with a top-level
``await`` runs as ``python -m asyncio`` would run it.

An HTML comment on the line just above a fence says how a block is taken:

- ``<!-- snippet: not run: REASON -->``: it cannot run here (a live cloud, a registry host);
- ``<!-- snippet: fragment -->``: it is not meant to run alone;
- ``<!-- snippet: continues -->``: it runs after all the page's earlier runnable blocks (it
  uses names they define and objects they wrote).

The counts of "not run" and "fragment" markers are pinned below, so that nothing is skipped
silently. docs/examples/ is tested by tests/tools/test_docs.py; the HTTP example of
docs/async.md also runs in tests/engine/test_aio_docs.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from distfs.tools.servers import ACCESS_KEY, SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- snippet: (.+?) -->$")
FENCE = "```python"
TIMEOUT = 120
REGION = "us-east-1"

#: Pages whose blocks this module does not run yet (each block shows as an xfail).
NOT_YET_COVERED: set[str] = set()
#: The markers the covered pages carry (a change here is a reviewed decision).
EXPECTED_NOT_RUN = 10  # live clouds (azure 2, gcs, oss), an SFTP host, registry hosts (2),
# benchmark scripts (2), the contributing walkthrough (run by tests/contract/test_contributing.py)
EXPECTED_FRAGMENTS = 10  # docs/async.md: a reader and writer, two walks of a driver made above;
# docs/s3.md: storage_options with your SSE-C ``key``; conformance.md: run(driver); a test
# fixture (backends-measured.md); suites of "mydriver"/"myproto" (writing-a-driver.md 3,
# adapting-a-backend.md)
#: The AWS named profiles the pages use: the user's ~/.aws files define them.
PROFILES = ("data",)
#: A filesystem store at an absolute path would write outside the test's directory.
ABSOLUTE_ROOT = re.compile(r'"filesystem".{0,40}"rootdirectory":\s*"/')

#: Runs a block: compiled with top-level ``await`` allowed, a coroutine is run by asyncio.
RUNNER = """
import ast, asyncio, sys, types
source = open(sys.argv[1], encoding="utf-8").read()
code = compile(source, sys.argv[2], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = {"__name__": "__main__"}
result = eval(code, namespace)
if isinstance(result, types.CoroutineType):
    asyncio.run(result)
"""


@dataclass(frozen=True)
class Block:
    """One ```python block: where it is, its source and the marker above it (or "")."""

    page: str
    line: int
    source: str
    marker: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    name = page.relative_to(ROOT).as_posix()
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    while index < len(lines):
        if lines[index].strip() == FENCE:
            end = lines.index("```", index + 1)
            above = MARKER.match(lines[index - 1].strip()) if index else None
            source = "\n".join(lines[index + 1 : end]) + "\n"
            found.append(Block(name, index + 1, source, above.group(1) if above else ""))
            index = end
        index += 1
    return found


ALL = [block for page in PAGES for block in blocks_of(page)]


def runnable(block: Block) -> bool:
    return block.marker in ("", "continues")


def program(block: Block) -> str:
    """The source to run: the block, after the page's earlier runnable blocks if it continues."""
    if block.marker != "continues":
        return block.source
    earlier = [b for b in ALL if b.page == block.page and b.line < block.line and runnable(b)]
    return "".join(b.source for b in earlier) + block.source


def buckets_named(source: str) -> set[str]:
    """The buckets a block names: ``"bucket": "x"``, ``bucket="x"``, ``s3://x/``."""
    return set(re.findall(r"""["']?bucket["']?\s*[:=]\s*["']([a-z0-9.-]+)["']""", source)) | set(
        re.findall(r"s3://([a-z0-9.-]+)", source)
    )


def cases() -> list[Any]:
    params = []
    for block in ALL:
        marks = []
        if block.page in NOT_YET_COVERED:
            marks.append(pytest.mark.xfail(reason=f"{block.page}: not yet covered", run=False))
        elif not runnable(block):
            marks.append(pytest.mark.skip(reason=f"snippet: {block.marker}"))
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


def test_markers_are_the_expected_ones() -> None:
    covered = [b for b in ALL if b.page not in NOT_YET_COVERED]
    assert {b.marker for b in covered} <= {"", "continues", "fragment"} | {
        b.marker for b in covered if b.marker.startswith("not run: ")
    }
    assert sum(b.marker.startswith("not run: ") for b in covered) == EXPECTED_NOT_RUN
    assert sum(b.marker == "fragment" for b in covered) == EXPECTED_FRAGMENTS
    pages = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert pages >= NOT_YET_COVERED, sorted(NOT_YET_COVERED - pages)


def create_buckets(admin: Any, names: set[str]) -> None:
    for name in names:
        with contextlib.suppress(admin.exceptions.BucketAlreadyOwnedByYou):
            admin.create_bucket(Bucket=name)


@pytest.mark.parametrize("block", cases())
def test_snippet_runs(block: Block, tmp_path: Path, s3_endpoint: str, s3_admin: Any) -> None:
    source = program(block)
    assert not ABSOLUTE_ROOT.search(source), f"{block.id}: a filesystem store outside the cwd"
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text("".join(f"[profile {p}]\nregion = {REGION}\n" for p in PROFILES))
    (aws / "credentials").write_text(
        "".join(f"[{p}]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n" for p in PROFILES)
    )
    create_buckets(s3_admin, buckets_named(source))
    (tmp_path / "snippet.py").write_text(source, encoding="utf-8")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "AZURE_", "GOOGLE_", "DISTFS_"))
    }
    env.update(
        AWS_ENDPOINT_URL=s3_endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        HOME=str(tmp_path),
        PYTHONPATH=str(ROOT),  # this checkout's distfs
    )
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path / "snippet.py"), block.id],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{block.id} failed as written:\n{done.stdout}\n{done.stderr}"
