"""The bench's output: the aligned text table, and the results section of docs/performance.md."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .plan import Report, Row, ratio_text

__all__ = ["BEGIN", "END", "markdown", "print_report", "table_lines", "write_markdown"]

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else "PASS" if passed else "MISS"


def _figure(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _raw(row: Row) -> str:
    return "n/a" if row.raw is None else _figure(row.raw)


def _target(row: Row) -> str:
    if row.limit is None:
        return "-"
    return f"{'>=' if row.unit == 'MiB/s' else '<='} {row.limit:.2f}"


def table_lines(report: Report) -> list[str]:
    """The results as aligned text: workloads, then checks, then errors."""
    header = ("workload", "driver", "unit", "distfs", "raw", "ratio", "target", "result")
    rows = [header] + [
        (
            r.workload,
            r.driver,
            r.unit,
            _figure(r.distfs),
            _raw(r),
            ratio_text(r),
            _target(r),
            _verdict(r.passed),
        )
        for r in report.rows
    ]
    lines = _aligned(rows, right=(3, 4, 5))
    if report.checks:
        checks = [("check", "driver", "value", "target", "result", "note")] + [
            (
                c.name,
                c.driver,
                f"{_figure(c.value)} {c.unit}",
                f"{'<=' if c.at_most else '>='} {_figure(c.limit)}",
                _verdict(c.passed),
                c.note,
            )
            for c in report.checks
        ]
        lines += ["", *_aligned(checks, right=(2,))]
    for where, error in report.errors.items():
        lines.append(f"ERROR {where}: {error}")
    for driver, note in report.notes.items():
        lines.append(f"NOTE {driver}: {note}")
    return lines


def _aligned(rows: Sequence[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def print_report(report: Report, out: TextIO) -> None:
    for line in table_lines(report):
        print(line, file=out)
    missed = report.missed
    print(
        f"\nbench: {report.plan.mode} mode, {report.seconds:.1f}s, {len(report.rows)} workloads, "
        f"{len(report.checks)} checks, {len(missed)} targets missed, {len(report.errors)} errors",
        file=out,
    )


def markdown(report: Report, plot_file: str | None = None) -> str:
    """The results section of ``docs/performance.md``."""
    m = report.machine
    lines = [
        BEGIN,
        "",
        f"Measured in {report.plan.mode} mode in {report.seconds:.0f} s on {m.get('cpu', '?')}, "
        f"{m.get('cores', '?')} cores, {m.get('memory', '?')} RAM, {m.get('system', '?')}, "
        f"Python {m.get('python', '?')}, fsspec {m.get('fsspec', '?')} "
        f"(load average at the start: {m.get('load average', '?')}).",
        "",
        "| workload | driver | unit | distfs | raw fsspec | distfs / raw | target | result |",
        "|---|---|---|--:|--:|--:|---|---|",
    ]
    for r in report.rows:
        lines.append(
            f"| {r.workload} | {r.driver} | {r.unit} | {_figure(r.distfs)} | {_raw(r)} | {ratio_text(r)} "
            f"| {_target(r)} | {_verdict(r.passed)} |"
        )
    if report.checks:
        lines += ["", "| check | driver | value | target | result | note |", "|---|---|--:|---|---|---|"]
        for c in report.checks:
            lines.append(
                f"| {c.name} | {c.driver} | {_figure(c.value)} {c.unit} | {'<=' if c.at_most else '>='} "
                f"{_figure(c.limit)} | {_verdict(c.passed)} | {c.note} |"
            )
    if report.errors:
        lines += [""] + [f"* error in {where}: {error}" for where, error in report.errors.items()]
    if report.notes:
        lines += [""] + [f"* {driver}: {note}" for driver, note in report.notes.items()]
    if plot_file:
        lines += ["", f"![distfs / raw fsspec per workload and driver]({os.path.basename(plot_file)})"]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_markdown(report: Report, file: str, plot_file: str | None = None) -> None:
    """Write the results section to ``file``, replacing the marked section if ``file`` has one."""
    section = markdown(report, plot_file)
    target = Path(file)
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        section = head + section.rstrip("\n") + tail
    target.write_text(section, encoding="utf-8")
