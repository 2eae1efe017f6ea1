"""distfs:// leaves nothing behind (issue 26): no "Unclosed client session" when an s3 filesystem is dropped."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from cases import NO_LEAKS

pytestmark = NO_LEAKS

SCRIPT = """
import gc, json, sys, warnings
warnings.simplefilter("always", ResourceWarning)
import fsspec
options = json.loads(sys.argv[1])
fs = fsspec.filesystem("distfs", skip_instance_cache=True, **options)
fs.pipe("/a", b"a")
assert fs.cat("/a") == b"a"
with fs.open("/a", "rb") as stream:
    stream.read()
del fs, stream
fsspec.AbstractFileSystem.clear_instance_cache()
gc.collect()
print("done")
"""


def test_dropping_an_s3_filesystem_leaves_no_unclosed_session(s3_parameters: dict[str, Any]) -> None:
    options = {"driver": "s3", **s3_parameters}
    ran = subprocess.run(
        [sys.executable, "-X", "dev", "-c", SCRIPT, json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "done"
    assert "Unclosed" not in ran.stderr
    assert "ResourceWarning" not in ran.stderr
