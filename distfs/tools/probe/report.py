"""Running probes, and what comes out: records, JSON, the Markdown matrix, capabilities.

:func:`run_probes` runs every probe against every target (one :class:`Record` per probe x
target, in catalogue order then target order). :func:`to_json` and :func:`to_markdown`
render records deterministically (sorted, no timing, no store names), so a committed
``docs/semantics.md`` can be compared with a fresh run. :func:`derive_capabilities` turns a
backend's observations into the :class:`~distfs.capabilities.Capabilities` it should declare.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ...capabilities import BACKSLASH, NOT_XML, Capabilities
from .catalogue import GROUPS, PROBES, Probe, error_name
from .targets import Target

__all__ = ["Record", "contradictions", "derive_capabilities", "run_probes", "to_json", "to_markdown"]

COMMAND = "distfs probe --local --markdown docs/semantics.md"
"""The command that regenerates ``docs/semantics.md``."""


@dataclass(frozen=True)
class Record:
    """What one probe observed on one target."""

    probe: str
    backend: str
    kind: str
    value: str


def run_one(probe: Probe, target: Target) -> Record:
    """Run ``probe`` on a cleared ``target`` (an unexpected failure is ``error: <type>``)."""
    target.clear()
    try:
        value = probe.run(target)
    except Exception as exc:
        value = f"error: {error_name(exc)}"
    finally:
        target.clear()
    return Record(probe.name, target.backend, target.kind, value)


def run_probes(
    targets: Sequence[Target],
    probes: Sequence[Probe] = PROBES,
    on_start: Callable[[Probe, Target], None] | None = None,
    on_result: Callable[[Record], None] | None = None,
) -> list[Record]:
    """Every probe on every target, target by target."""
    records = []
    with _quiet():
        for target in targets:
            for probe in probes:
                if on_start is not None:
                    on_start(probe, target)
                record = run_one(probe, target)
                records.append(record)
                if on_result is not None:
                    on_result(record)
    return records


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the warnings and error logs that probed libraries emit for expected failures."""
    loggers = [logging.getLogger(name) for name in ("gcsfs", "s3fs", "adlfs", "ossfs", "fsspec", "azure")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _values(records: Iterable[Record]) -> dict[tuple[str, str, str], str]:
    return {(r.probe, r.backend, r.kind): r.value for r in records}


def derive_capabilities(records: Iterable[Record], backend: str) -> Capabilities:
    """The capabilities ``backend``'s observations show (see :mod:`distfs.capabilities`).

    ``append`` comes from the raw filesystem (does the store append in place?), and so do
    ``refused_characters`` (can the store hold ``a\\b`` apart from ``a/b``, and list and
    delete a name holding U+FFFE?), the rest from the distfs driver's own probes. Without
    the needed observation a field is ``"unknown"``, False or empty.
    """
    values = _values(records)

    def seen(probe: str, kind: str = "distfs") -> str | None:
        return values.get((probe, backend, kind))

    raw_append = seen("append_existing", "raw")
    append: Literal["native", "emulated", "unknown"] = (
        "unknown" if raw_append is None else ("native" if raw_append == "appended in place" else "emulated")
    )
    fresh = [
        seen(p)
        for p in (
            "stale_list_after_add",
            "stale_list_after_delete",
            "stale_stat_after_add",
            "stale_stat_after_delete",
            "own_write_listed",
            "own_overwrite_read",
        )
    ]
    consistency: Literal["strong", "stale", "unknown"] = (
        "unknown" if None in fresh else ("strong" if all(v == "fresh" for v in fresh) else "stale")
    )
    # What a name cannot hold on the store: the raw store's behaviour (the distfs driver's
    # refusal where there is no raw counterpart).
    backslash, noncharacter = seen("backslash_name", "raw"), seen("noncharacter_name", "raw")
    if backslash is None and noncharacter is None:
        backslash = "one object: overwritten" if seen("backslash_name") == "InvalidPathError" else None
        noncharacter = None if seen("noncharacter_name") == "write: InvalidPathError" else "works"
    refused = (BACKSLASH if backslash == "one object: overwritten" else "") + (
        NOT_XML if noncharacter not in (None, "works") else ""
    )
    return Capabilities(
        append=append,
        atomic_move=seen("move_is_rename") == "rename (mtime kept)",
        server_side_copy=seen("move_data_path") == "no data through client",
        presign_get=seen("presign_get") == "200",
        presign_head=seen("presign_head") == "200",
        empty_directories=seen("directory_empty_after_delete") == "[]",
        listing_consistency=consistency,
        refused_characters=refused,
    )


#: The probe (and its kind) each capability is derived from, where one probe decides it.
_SOURCES = {
    "append": ("append_existing", "raw"),
    "atomic_move": ("move_is_rename", "distfs"),
    "server_side_copy": ("move_data_path", "distfs"),
    "presign_get": ("presign_get", "distfs"),
    "presign_head": ("presign_head", "distfs"),
    "empty_directories": ("directory_empty_after_delete", "distfs"),
}


#: Capabilities each store declares and the conformance suite's capability cases check
#: (pinned reads, atomic puts, resume after a crash, read-only): no probe derives them.
DECLARED_ONLY = ("pinned_reads", "atomic_put", "crash_resume", "read_only")


def contradictions(records: Iterable[Record], backend: str, declared: Capabilities) -> list[str]:
    """The capabilities ``backend`` declares that its probes contradict, one sentence each.

    Only fields whose probe ran are compared, and a declared ``"unknown"`` claims nothing.
    """
    records = list(records)
    ran = {(r.probe, r.kind) for r in records if r.backend == backend}
    derived = asdict(derive_capabilities(records, backend))
    found = []
    for name, source in _SOURCES.items():
        claimed = getattr(declared, name)
        if source in ran and claimed != "unknown" and claimed != derived[name]:
            found.append(
                f"{backend} declares {name}={_capability_cell(name, claimed)}, "
                f"the probe `{source[0]}` observes {_capability_cell(name, derived[name])}"
            )
    return found


def _capability_cell(field: str, value: object) -> str:
    """A capability as the table shows it: booleans lower-case, characters as code points."""
    if isinstance(value, bool):
        return str(value).lower()
    if field == "refused_characters":
        return " ".join("`\\`" if c == "\\" else f"U+{ord(c):04X}" for c in str(value)) or "none"
    return str(value)


def _backends(records: Sequence[Record]) -> list[str]:
    seen: list[str] = []
    for record in records:
        if record.backend not in seen:
            seen.append(record.backend)
    return seen


def _kinds(records: Sequence[Record]) -> list[str]:
    return [kind for kind in ("raw", "distfs") if any(r.kind == kind for r in records)]


def to_json(records: Sequence[Record], probes: Sequence[Probe] = PROBES) -> str:
    """Probes, records (one per probe x target) and derived capabilities, as JSON."""
    used = {r.probe for r in records}
    report: dict[str, Any] = {
        "probes": [
            {"name": p.name, "group": p.group, "description": p.description, "contract": p.contract}
            for p in probes
            if p.name in used
        ],
        "records": [asdict(r) for r in records],
        "capabilities": {b: asdict(derive_capabilities(records, b)) for b in _backends(records)},
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _probe_limit(value: str) -> bool:
    """Whether an observed value is the probe's own limit (``not supported``), not the driver's."""
    return "not supported" in value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


#: Where a distfs cell's bold comes from, and what ``not supported`` means (both headers).
_LEGEND = [
    "Cells are observed values; **bold** distfs cells differ from the value the `StorageDriver`",
    "contract guarantees (each probe's `contract` in `distfs/tools/probe/checks_*.py`). A cell",
    "reading `not supported` is a call the probe cannot express on that target: a limit of",
    "the probe, not a breach of the contract, and never bold.",
]


def to_markdown(
    records: Sequence[Record],
    probes: Sequence[Probe] = PROBES,
    *,
    local: bool = False,
    declared: Mapping[str, Capabilities] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The semantics matrix: one table per probe group, a raw/distfs column pair per backend.

    ``local``: the header of ``docs/semantics.md`` (the built-in drivers on the local
    servers); otherwise a neutral header for any driver and store. ``declared``: each
    backend's ``driver.capabilities``; a section lists those the probes contradict.
    ``notes``: sentences shown below the header (e.g. why a raw column is left out).
    """
    backends, kinds = _backends(records), _kinds(records)
    values = _values(records)
    used = [p for p in probes if any(r.probe == p.name for r in records)]
    if local:
        lines = [
            "# Backend semantics: raw fsspec vs distfs",
            "",
            "<!-- Generated: do not edit. CI fails when this table differs from a fresh run. -->",
            "",
            f"Generated by `{COMMAND}`: every probe of `distfs.tools.probe` ran against the raw fsspec",
            "filesystem (fsspec's defaults: listings cache on, default `ls` detail, plain `mv`/`rm`)",
            "and against the distfs driver of each backend (retrying a request once; so do the raw s3",
            "and azure filesystems, which take the driver's retry policy), on the local servers of",
            "`distfs.tools.local.LocalStores` (memory, a local directory, moto, fake-gcs-server,",
            "Azurite, distfs's OSS fake); emulators differ from the real services in places.",
            *_LEGEND,
            "",
        ]
    else:
        lines = [
            "# Probe results",
            "",
            "Generated by `distfs probe`: the probes of `distfs.tools.probe` ran against the targets",
            "below (`raw`: the fsspec filesystem with fsspec's defaults; `distfs`: the driver).",
            *_LEGEND,
            "",
        ]
    if notes:
        lines += [*(f"- {note}" for note in notes), ""]
    header = "| probe | " + " | ".join(f"{b} {k}" for b in backends for k in kinds) + " |"
    rule = "| --- | " + " | ".join("---" for _ in backends for _ in kinds) + " |"
    for group in GROUPS:
        members = [p for p in used if p.group == group]
        if not members:
            continue
        lines += [f"## {group}", "", header, rule]
        for p in members:
            cells = []
            for b in backends:
                for k in kinds:
                    value = values.get((p.name, b, k), "-")
                    bad = (
                        k == "distfs"
                        and p.contract is not None
                        and value not in (p.contract, "-")
                        and not _probe_limit(value)
                    )
                    cells.append(f"**{_cell(value)}**" if bad else _cell(value))
            lines.append(f"| `{p.name}`: {_cell(p.description)} | " + " | ".join(cells) + " |")
        lines.append("")
    fields = [f for f in Capabilities.__dataclass_fields__ if f not in DECLARED_ONLY]
    compared = (
        "every driver declares the same at runtime as `driver.capabilities` (checked by `tests/tools/test_probe.py`)."
        if local
        else "a declared `driver.capabilities` the probes contradict is listed below them."
    )
    lines += [
        "## Capabilities",
        "",
        "Derived from the probes above (`distfs.tools.probe.report.derive_capabilities`);",
        compared,
        "",
        "| backend | " + " | ".join(fields) + " |",
        "| --- | " + " | ".join("---" for _ in fields) + " |",
    ]
    for b in backends:
        derived = asdict(derive_capabilities(records, b))
        cells = [_capability_cell(f, derived[f]) for f in fields]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    lines.append("")
    wrong = [line for b, caps in (declared or {}).items() for line in contradictions(records, b, caps)]
    if wrong:
        lines += ["## Declared capabilities the probes contradict", "", *(f"- **{w}**" for w in wrong), ""]
    return "\n".join(lines)
