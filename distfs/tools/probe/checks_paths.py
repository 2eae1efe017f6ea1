"""Probes of where things are: listing, directories, stat, move and delete."""

from __future__ import annotations

import time
import tracemalloc

from .checks import error_name, listed, names, outcome, probe, stat_text, time_type
from .targets import Target

__all__: list[str] = []  # the probes register themselves in checks.PROBES


# -- listing ------------------------------------------------------------------------------


@probe("listing", "list a path that does not exist", contract="PathNotFoundError")
def list_missing(t: Target) -> str:
    t.seed("t/f", b"x")
    return listed(t, "t/missing")


@probe("listing", "list a path that is a file, not a directory", contract="PathNotFoundError")
def list_file(t: Target) -> str:
    t.seed("t/f", b"x")
    return listed(t, "t/f")


@probe("listing", "list the root of an empty store", contract="[]")
def list_empty_root(t: Target) -> str:
    return listed(t, "")


@probe("listing", "list `d/` (trailing slash) compared with `d`", contract="InvalidPathError")
def list_trailing_slash(t: Target) -> str:
    t.seed("t/d/f", b"x")
    plain = listed(t, "t/d")
    slashed = listed(t, "t/d/")
    return "same" if plain == slashed else slashed


@probe("listing", "entries of a plain listing call are names (str) or detail dicts", contract="str")
def list_entry_type(t: Target) -> str:
    t.seed("t/f", b"x")
    return t.list_entry_type("t")


@probe("listing", "form of the names a listing returns (store root shown as ROOT)", contract="[/t/f]")
def list_name_format(t: Target) -> str:
    t.seed("t/f", b"x")
    return "[" + ", ".join(t.list_form("t")) + "]"


# -- directories --------------------------------------------------------------------------


@probe("directories", "list a directory holding a `d/` marker object and a file", contract="[d/f]")
def directory_marker_listed(t: Target) -> str:
    t.seed("t/d/f", b"x")
    t.mark_directory("t/d")
    return listed(t, "t/d")


@probe("directories", "list the parent of a directory that is only a `d/` marker")
def directory_marker_only(t: Target) -> str:
    t.seed("t/f", b"x")
    t.mark_directory("t/e")
    return names([n for n in t.list("t") if n != "t/f"])


@probe("directories", "stat `a` when only `ab/f` exists (prefix is not a directory)", contract="PathNotFoundError")
def directory_prefix_boundary(t: Target) -> str:
    t.seed("t/ab/f", b"x")
    return stat_text(t, "t/a")


@probe("directories", "list a directory after its last file was deleted")
def directory_empty_after_delete(t: Target) -> str:
    t.seed("t/d/f", b"x")
    t.seed("t/g", b"x")
    t.delete("t/d/f")
    return listed(t, "t/d")


@probe("directories", "write below an object (`x`, then `x/y`)")
def directory_below_file(t: Target) -> str:
    t.seed("t/x", b"x")
    return outcome(lambda: t.put("t/x/y", b"y"))


@probe("directories", "write to a path whose parent directories do not exist", contract="ok")
def directory_parents_created(t: Target) -> str:
    t.seed("t/f", b"x")
    return outcome(lambda: t.put("t/p/q/f", b"x"))


# -- stat ---------------------------------------------------------------------------------


@probe("stat", "stat a directory: kind and size", contract="directory, size 0")
def stat_directory(t: Target) -> str:
    t.seed("t/d/f", b"xyz")
    return stat_text(t, "t/d")


@probe("stat", "stat the store root: kind and size", contract="directory, size 0")
def stat_root(t: Target) -> str:
    t.seed("t/f", b"xyz")
    return stat_text(t, "")


@probe("stat", "stat a missing path", contract="PathNotFoundError")
def stat_missing(t: Target) -> str:
    t.seed("t/f", b"x")
    return stat_text(t, "t/missing")


@probe("stat", "stat `d/` (trailing slash) of a directory", contract="InvalidPathError")
def stat_trailing_slash(t: Target) -> str:
    t.seed("t/d/f", b"x")
    return stat_text(t, "t/d/")


@probe("stat", "type (and timezone) of a file's modification time", contract="datetime UTC")
def mtime_file(t: Target) -> str:
    t.seed("t/f", b"x")
    try:
        return time_type(t.mtime("t/f"))
    except Exception as exc:
        return error_name(exc)


@probe("stat", "type of a directory's modification time", contract="datetime UTC")
def mtime_directory(t: Target) -> str:
    t.seed("t/d/f", b"x")
    try:
        return time_type(t.mtime("t/d"))
    except Exception as exc:
        return error_name(exc)


@probe("stat", "read a directory as if it were a file", contract="PathNotFoundError")
def get_directory(t: Target) -> str:
    t.seed("t/d/f", b"x")
    try:
        return f"{len(t.get('t/d'))} bytes"
    except Exception as exc:
        return error_name(exc)


# -- move ---------------------------------------------------------------------------------


@probe("move", "move onto an existing object", contract="overwrites")
def move_overwrite(t: Target) -> str:
    t.seed("t/s", b"new")
    t.seed("t/d", b"old")
    failed = outcome(lambda: t.move("t/s", "t/d"))
    if failed != "ok":
        return failed
    data = t.get("t/d")
    left = t.files("t")
    if data == b"new" and left == ["t/d"]:
        return "overwrites"
    return f"content {data.decode()}, left {names(left)}"


@probe("move", "move a missing source onto an existing object", contract="PathNotFoundError; destination untouched")
def move_missing_source(t: Target) -> str:
    t.seed("t/d", b"keep")
    result = outcome(lambda: t.move("t/missing", "t/d"))
    kept = "destination untouched" if t.files("t") == ["t/d"] and t.get("t/d") == b"keep" else "destination changed"
    return f"{'silent no-op' if result == 'ok' else result}; {kept}"


@probe("move", "move a directory (`d/f`, `d/e/g`) to a new name", contract="moved")
def move_directory(t: Target) -> str:
    t.seed("t/d/f", b"f")
    t.seed("t/d/e/g", b"g")
    result = outcome(lambda: t.move("t/d", "t/n"))
    after = t.files("t")
    if after == ["t/n/e/g", "t/n/f"]:
        state = "moved"
    elif after == ["t/d/e/g", "t/d/f"]:
        state = "source kept" if result != "ok" else "silent no-op"
    else:
        state = f"left {names(after)}"
    return state if result == "ok" else f"{result}; {state}"


@probe("move", "move to a path whose parent directories do not exist", contract="ok")
def move_creates_parents(t: Target) -> str:
    t.seed("t/s", b"x")
    return outcome(lambda: t.move("t/s", "t/p/q/s"))


@probe("move", "a moved object keeps its modification time (a rename) or gets a new one (a copy)")
def move_is_rename(t: Target) -> str:
    t.seed("t/s", b"x")
    before = t.mtime("t/s")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # until the store's clock has moved past ``before``
        t.seed("t/tick", b"x")
        if t.mtime("t/tick") != before:
            break
        time.sleep(0.05)
    failed = outcome(lambda: t.move("t/s", "t/d"))
    if failed != "ok":
        return failed
    return "rename (mtime kept)" if t.mtime("t/d") == before else "copy (new mtime)"


@probe("move", "moving a 4 MiB object streams its bytes through this process or not")
def move_data_path(t: Target) -> str:
    size = 4 << 20
    t.seed("t/s", b"m" * size)
    tracemalloc.start()
    try:
        failed = outcome(lambda: t.move("t/s", "t/d"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if failed != "ok":
        return failed
    return "through client" if peak >= size // 2 else "no data through client"


# -- delete -------------------------------------------------------------------------------


@probe("delete", "delete `d` next to `d-x`, `dx/f` and `d.txt`", contract="boundary kept")
def delete_prefix_boundary(t: Target) -> str:
    for path in ("t/d/f", "t/d/e/g", "t/d-x", "t/dx/f", "t/d.txt"):
        t.seed(path, b"x")
    failed = outcome(lambda: t.delete("t/d"))
    left = t.files("t")
    state = "boundary kept" if left == ["t/d-x", "t/d.txt", "t/dx/f"] else f"left {names(left)}"
    return state if failed == "ok" else f"{failed}; {state}"


@probe("delete", "delete a path that does not exist", contract="PathNotFoundError")
def delete_missing(t: Target) -> str:
    t.seed("t/f", b"x")
    result = outcome(lambda: t.delete("t/missing"))
    return "silent no-op" if result == "ok" else result


@probe("delete", "delete one file of a directory; its sibling stays listed", contract="[g]")
def delete_file_in_directory(t: Target) -> str:
    t.seed("t/d/f", b"x")
    t.seed("t/d/g", b"x")
    t.list("t/d")
    t.delete("t/d/f")
    return names(t.list("t/d"), "t/d/")
