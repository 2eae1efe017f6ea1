"""gc's sweep: the identity recheck of the candidate blobs and the batched deletes.

Both run as tasks of a :class:`~.runner.Runner` (a thread pool, or dask workers); each
deletion is logged and recorded here, once done, with SIGINT held back meanwhile.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime

from ..driver import FileInfo, StorageDriver
from ..errors import PathNotFoundError
from .events import record
from .gc_report import GcItem, GcReport
from .listing import list_blobs, stat_files
from .progress import Progress
from .runner import Runner

__all__ = ["BATCH", "STAT_BATCH", "delete_batch", "delete_items", "recheck_identity"]


BATCH = 1000
"""Paths per :meth:`~distfs.StorageDriver.delete_many` call of the sweep (at most; at least
a quarter of it unless fewer are left)."""


STAT_BATCH = 256
"""Blobs per task of the identity recheck where it stats each candidate (a filesystem)."""


def recheck_identity(runner: Runner, candidates: dict[str, FileInfo], report: GcReport, progress: Progress) -> None:
    """Drop from ``candidates`` the blobs a second listing finds replaced or gone since the
    first: where directories are real (a filesystem: one listing per blob directory) a
    ``stat`` of each candidate's data instead, in batches."""
    progress.phase("relist blobs", 0, "files")
    if runner.driver.capabilities.empty_directories:
        paths = sorted(info.path for info in candidates.values())
        batches = [tuple(paths[i : i + STAT_BATCH]) for i in range(0, len(paths), STAT_BATCH)]
        now: dict[str, FileInfo] = {}
        for _, infos in runner.map(stat_files, batches, lambda batch, _: progress.advance(len(batch)), reads=True):
            if isinstance(infos, BaseException):
                raise infos
            now.update((info.path, info) for info in infos)
    else:
        now = {info.path: info for info in list_blobs(runner, lambda _: progress.advance())}
    for digest, before in list(candidates.items()):
        after = now.get(before.path)
        if after is None or _identity(after) != _identity(before):
            del candidates[digest]
            if after is not None:
                report.changed.append(digest)


def _identity(info: FileInfo) -> tuple[str, datetime, int]:
    return info.version, info.mod_time, info.size


def delete_items(runner: Runner, kind: str, items: list[GcItem], *, progress: Progress, report: GcReport) -> None:
    """Delete ``items`` in batches (tasks of ``runner``); log and record each here once done."""
    progress.phase(f"delete {kind}s", len(items), f"{kind}s")
    if not items:
        return
    items = sorted(items, key=lambda item: item.path)
    # Spread over the workers, but in batches of a few hundred at least: each costs a few
    # listings on an object store (see StorageDriver.delete_many).
    size = min(BATCH, max(-(-len(items) // runner.workers), BATCH // 4))
    batches = [tuple(items[i : i + size]) for i in range(0, len(items), size)]

    def done(batch: tuple[GcItem, ...], errors: list[str]) -> None:
        with _interrupts_held():  # every deletion logged is recorded, and the other way round
            for item, error in zip(batch, errors, strict=True):
                if error:
                    report.errors.append(f"{item.path}: {error}")
                    continue
                record("delete", item.kind, item.digest, item.size, reason=item.reason, path=item.path)
                report.deleted.append(item)
        progress.advance(len(batch))

    for batch, result in runner.map(delete_batch, batches, done):
        if isinstance(result, BaseException):
            report.errors.extend(f"{item.path}: {result}" for item in batch)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT back until the block ends (in the main thread; elsewhere none arrives)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            signal.raise_signal(signal.SIGINT)


def delete_batch(driver: StorageDriver, batch: tuple[GcItem, ...]) -> list[str]:
    """Delete the paths of ``batch`` with one :meth:`~distfs.StorageDriver.delete_many` (a
    task of the sweep); per item ``""`` once deleted, or why not (then tried one at a time)."""
    try:
        driver.delete_many([path for item in batch for path in item.paths])
    except PathNotFoundError:
        pass  # gone already (deleted by another collection): the rest is deleted
    except Exception:  # find out which: one at a time
        errors = []
        for item in batch:
            try:
                _delete_each(driver, item.paths)
            except Exception as exc:
                errors.append(str(exc) or type(exc).__name__)
            else:
                errors.append("")
        return errors
    return [""] * len(batch)


def _delete_each(driver: StorageDriver, paths: Iterable[str]) -> None:
    """Delete ``paths`` one by one (those already gone are no error)."""
    for path in paths:
        with contextlib.suppress(PathNotFoundError):
            driver.delete(path)
