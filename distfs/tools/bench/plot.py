"""The plot of ``distfs bench --plot``: distfs / raw fsspec per workload and driver (matplotlib)."""

from __future__ import annotations

from typing import Any

from .plan import Report

__all__ = ["plot"]


def plot(report: Report, file: str) -> None:
    """Write a PNG of the ratio ``distfs / raw`` of every timed workload, one bar per driver.

    Throughput rows are drawn as ``raw / distfs`` so that, everywhere, lower is better and
    1.0 means "as fast as raw fsspec". Needs matplotlib (the ``bench`` extra).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(r.workload for r in report.rows))
    drivers = list(dict.fromkeys(r.driver for r in report.rows))
    values: dict[tuple[str, str], float] = {}
    for r in report.rows:
        if r.ratio is None:  # no raw counterpart: no bar
            continue
        values[(r.workload, r.driver)] = 1 / r.ratio if r.unit == "MiB/s" else r.ratio
    figure: Any
    figure, axes = plt.subplots(figsize=(max(8.0, 0.9 * len(workloads) + 2), 5.5))
    width = 0.8 / max(len(drivers), 1)
    for index, driver in enumerate(drivers):
        xs = [w + index * width - 0.4 + width / 2 for w in range(len(workloads))]
        ys = [values.get((workload, driver), 0.0) for workload in workloads]
        axes.bar(xs, ys, width, label=driver)
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.set_xticks(range(len(workloads)))
    axes.set_xticklabels(workloads, rotation=45, ha="right", fontsize=8)
    axes.set_ylabel("distfs time / raw fsspec time (lower is better)")
    axes.set_yscale("log")
    axes.set_title(f"distfs vs raw fsspec ({report.plan.mode} mode)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(file, format="png", dpi=110)
    plt.close(figure)
