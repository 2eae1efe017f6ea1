"""pandas reads through ``distfs://`` against the same local file (``distfs bench --dataframes``).

A frame of ``rows`` rows (an integer, a float and a string column) is written once as
parquet and as CSV below a ``filesystem`` driver's root. Then ``pd.read_parquet`` and
``pd.read_csv`` read it through ``distfs:///...`` and from its local path, alternating
which goes first for ``rounds`` rounds; each keeps its best time. A third side reads the
same local file from an open handle (``open(path, "rb")``): that is all pandas gets from
any fsspec URL (``file://`` included), while from a local path pandas 3 may parse a large
CSV in parallel over a memory map, which no file object can match. Target: distfs within
:data:`TARGET` times the local read. ``distfs://`` hands pandas the ``filesystem``
driver's reader, which is the local file itself (opened confined below the root).
"""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = ["TARGET", "ReadRow", "print_reads", "run_reads"]

TARGET = 1.15


@dataclass(frozen=True)
class ReadRow:
    """Best seconds of one reader through distfs:// and from the local path."""

    reader: str
    ours: float
    local: float
    opened: float

    @property
    def ratio(self) -> float:
        return self.ours / self.local

    @property
    def ratio_opened(self) -> float:
        """distfs against pandas reading the same local file from an open handle."""
        return self.ours / self.opened

    @property
    def passed(self) -> bool:
        return self.ratio <= TARGET


def run_reads(root: Path, *, rows: int = 2_000_000, rounds: int = 11) -> list[ReadRow]:
    """Write the frame below ``root`` (a filesystem driver's root) and time the reads."""
    import numpy as np

    pd: Any = importlib.import_module("pandas")  # no type stubs installed

    generator = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": generator.integers(0, 1000, rows),
            "b": generator.random(rows),
            "c": generator.integers(0, 10**9, rows).astype(str),
        }
    )
    frame.to_parquet(root / "frame.parquet")
    frame.to_csv(root / "frame.csv", index=False)
    options = {"driver": "filesystem", "rootdirectory": str(root)}
    readers: dict[str, Callable[..., Any]] = {"parquet": pd.read_parquet, "csv": pd.read_csv}
    result = []
    for name, read in readers.items():
        sides: dict[str, Callable[[], object]] = {
            "ours": functools.partial(read, f"distfs:///frame.{name}", storage_options=options),
            "local": functools.partial(read, str(root / f"frame.{name}")),
            "opened": functools.partial(_from_handle, read, root / f"frame.{name}"),
        }
        best = {side: float("inf") for side in sides}
        for index in range(rounds):
            for side in sides if index % 2 == 0 else reversed(sides):
                began = time.perf_counter()
                sides[side]()
                best[side] = min(best[side], time.perf_counter() - began)
        result.append(ReadRow(f"read_{name}", best["ours"], best["local"], best["opened"]))
    return result


def _from_handle(read: Callable[..., Any], path: Path) -> object:
    with open(path, "rb") as stream:
        return read(stream)


def print_reads(rows: list[ReadRow], out: TextIO, *, count: int) -> None:
    """The table of :func:`run_reads`'s figures."""
    print(
        f"pandas reads of {count} rows on filesystem: distfs:// against the local path (and an open handle)", file=out
    )
    header = (
        f"{'reader':<13} {'distfs s':>9} {'local s':>9} {'ratio':>6}  target <= {TARGET}  {'handle s':>9} {'ratio':>6}"
    )
    print(header, file=out)
    for row in rows:
        verdict = "PASS" if row.passed else "MISS"
        line = f"{row.reader:<13} {row.ours:>9.3f} {row.local:>9.3f} {row.ratio:>6.2f}  {verdict:<13}"
        print(f"{line} {row.opened:>9.3f} {row.ratio_opened:>6.2f}", file=out)
