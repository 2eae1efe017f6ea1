"""A real zip file for the read-only cases (fsspec's ``zip`` filesystem as a driver).

:data:`ZIP_CONTENTS` is what the fixture zip holds, member name (relative, ``/``-separated,
every name a valid distfs path once ``/`` is put in front) to bytes: nested directories,
an empty file, a 5 MiB member of incompressible bytes, and small files at every depth.
:func:`build_zip` writes it (or any other contents) with the standard library's
``zipfile``; the session fixture ``zip_file`` (tests/conftest.py) is its default build.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["LARGE_SIZE", "ZIP_CONTENTS", "ZIP_DATE_TIME", "build_zip", "zip_directories"]

#: The large member's size: more than one 5 MiB chunk, not a multiple of anything round.
LARGE_SIZE = (5 << 20) + 17

#: Every member's timestamp (zip stores local time in 2-second steps: 5 s is kept as 4 s).
ZIP_DATE_TIME = (2024, 1, 2, 3, 4, 5)

ZIP_CONTENTS: Mapping[str, bytes] = {
    "top.txt": b"0123456789",
    "a/empty": b"",
    "a/b/sibling.bin": bytes(range(256)),
    "a/b/c/deep.txt": b"deep down",
    "docker/registry/v2/repositories/library/app/_layers/sha256/ab12/link": b"sha256:ab12",
    "large/blob": random.Random(25).randbytes(LARGE_SIZE),
}


def zip_directories(names: Iterable[str]) -> set[str]:
    """The directories the member ``names`` imply (``a/b/c/x`` implies ``a``, ``a/b``, ``a/b/c``)."""
    parts = (name.split("/")[:-1] for name in names)
    return {"/".join(dirs[:depth]) for dirs in parts for depth in range(1, len(dirs) + 1)}


def build_zip(
    path: Path,
    contents: Mapping[str, bytes] = ZIP_CONTENTS,
    *,
    directory_entries: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write ``contents`` to the zip file ``path`` and return ``path``.

    ``directory_entries``: also write an entry ``dir/`` for every implied directory, as
    ``zip -r`` does (by default there are none, as ``zipfile.writestr`` makes them).
    """
    with zipfile.ZipFile(path, "w", compression) as archive:
        if directory_entries:
            for directory in sorted(zip_directories(contents) - {name.rstrip("/") for name in contents}):
                archive.writestr(zipfile.ZipInfo(directory + "/", ZIP_DATE_TIME), b"")
        for name, data in contents.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE_TIME), data, compress_type=compression)
    return path
