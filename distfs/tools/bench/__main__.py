"""``python -m distfs.tools.bench ARGS``: ``distfs bench ARGS``.

The ``distfs`` command is run by name (:mod:`runpy`), not imported: the command imports
this package, and this package imports nothing of the command's.
"""

from __future__ import annotations

import runpy
import sys

if __name__ == "__main__":
    sys.argv[1:1] = ["bench"]
    runpy.run_module("distfs.tools.cli", run_name="__main__", alter_sys=True)
