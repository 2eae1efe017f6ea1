"""The probe catalogue: small, deterministic behavioural checks with one-line descriptions.

A probe is a function of a :class:`~distfs.tools.probe.targets.Target` returning its *observed
value*: a short string that never holds ports, bucket names, times or random names
(``FileNotFoundError``, ``[]``, ``overwrites``, ``datetime UTC``...). Probes start on an
empty scratch area (the runner clears the target before each one) and write below ``t/``.

``contract`` is the value the StorageDriver contract guarantees for every distfs driver (``None`` where
backends may legitimately differ); the test suite checks every distfs target against it.
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .targets import Target, Unsupported

__all__ = ["GROUPS", "PROBES", "Probe", "Unsupported", "error_name"]


@dataclass(frozen=True)
class Probe:
    """One named check: ``run(target)`` returns the observed value."""

    name: str
    group: str
    description: str
    run: Callable[[Target], str]
    contract: str | None = None


PROBES: list[Probe] = []

GROUPS = ("listing", "directories", "stat", "move", "delete", "append", "reads", "consistency", "writes", "names")
"""Probe groups, in the order reports show them."""


ProbeFn = Callable[[Target], str]


def probe(group: str, description: str, contract: str | None = None) -> Callable[[ProbeFn], ProbeFn]:
    """Register the decorated function as a probe named after it."""

    def register(fn: ProbeFn) -> ProbeFn:
        if group not in GROUPS:
            raise ValueError(f"probe {fn.__name__}: unknown group {group!r}")
        PROBES.append(Probe(fn.__name__, group, description, fn, contract))
        return fn

    return register


def error_name(exc: BaseException) -> str:
    """How an exception shows in an observed value: its class name."""
    if isinstance(exc, Unsupported):
        return "not supported"
    return type(exc).__name__


def outcome(call: Callable[[], object]) -> str:
    """``ok`` if ``call`` returns, else the exception's name."""
    try:
        call()
    except Exception as exc:
        return error_name(exc)
    return "ok"


def names(items: list[str], base: str = "t/") -> str:
    """A listing shown relative to ``base``: ``[a, d/]``."""
    return "[" + ", ".join(item[len(base) :] if item.startswith(base) else item for item in items) + "]"


def listed(target: Target, path: str) -> str:
    try:
        return names(target.list(path))
    except Exception as exc:
        return error_name(exc)


def size_text(size: int | None) -> str:
    return "None" if size is None else ("0" if size == 0 else ">0")


def stat_text(target: Target, path: str) -> str:
    try:
        info = target.stat(path)
    except Exception as exc:
        return error_name(exc)
    return f"{info.kind}, size {size_text(info.size)}"


def time_type(value: object) -> str:
    """``datetime UTC``, ``datetime naive``, ``datetime UTC+02:00``, ``int``, ``float``, ``str``..."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            return "datetime naive"
        if offset == timedelta(0):
            return "datetime UTC"
        return f"datetime UTC{'+' if offset > timedelta(0) else '-'}{abs(offset)}"
    return type(value).__name__


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


# -- append -------------------------------------------------------------------------------


def _append(t: Target, path: str, data: bytes, old: bytes) -> str:
    seen: list[bytes] = []

    def peek() -> None:
        try:
            seen.append(t.second().get(path))
        except Exception:
            seen.append(b"")

    try:
        t.append(path, data, peek)
    except Exception as exc:
        return f"refused: {error_name(exc)}"
    final = t.get(path)
    if final == old + data:
        return "appended in place" if seen and seen[0] == old + data else "appended on close"
    if final == data and old:
        return "data lost"
    return f"content {final!r}"


@probe(
    "append", "append to an existing object (in place, on close, data lost or refused)", contract="appended on close"
)
def append_existing(t: Target) -> str:
    t.seed("t/a", b"abc")
    return _append(t, "t/a", b"def", b"abc")


@probe("append", "append to a zero-byte object", contract="appended on close")
def append_zero_byte(t: Target) -> str:
    t.seed("t/z", b"")
    return _append(t, "t/z", b"x", b"")


@probe("append", "append to a path that does not exist", contract="refused: PathNotFoundError")
def append_missing(t: Target) -> str:
    t.seed("t/f", b"x")
    return _append(t, "t/new", b"x", b"")


# -- reads --------------------------------------------------------------------------------


def _read(t: Target, start: int, end: int | None) -> str:
    t.seed("t/w", b"world!")
    try:
        data = t.read("t/w", start, end)
    except Exception as exc:
        return error_name(exc)
    return repr(data.decode()) if data else "empty"


@probe("reads", "ranged read of bytes 1-4 (exclusive end) of `world!`", contract="'orl'")
def read_range_end(t: Target) -> str:
    return _read(t, 1, 4)


@probe("reads", "ranged read whose end lies past the end of the object", contract="'rld!'")
def read_range_past_end(t: Target) -> str:
    return _read(t, 2, 100)


@probe("reads", "ranged read that starts past the end of the object", contract="empty")
def read_past_eof(t: Target) -> str:
    return _read(t, 10, 20)


@probe("reads", "read from an offset equal to the size", contract="empty")
def read_at_eof(t: Target) -> str:
    return _read(t, 6, None)


@probe("reads", "read with a negative start offset", contract="InvalidOffsetError")
def read_negative_offset(t: Target) -> str:
    return _read(t, -3, None)


@probe("reads", "overwrite while a reader is half-way: what the reader sees", contract="old")
def overwrite_seen_by_reader(t: Target) -> str:
    size = 1 << 20
    old, new = b"A" * size, b"B" * size
    t.seed("t/o", old)
    try:
        with t.open_reader("t/o") as stream:
            head = stream.read(10)
            t.put("t/o", new)
            rest = b""
            while len(head) + len(rest) < size:
                chunk = stream.read(size)
                if not chunk:
                    break
                rest += chunk
    except Exception as exc:
        return f"error: {error_name(exc)}"
    data = head + rest
    if data == old:
        return "old"
    if data == new:
        return "new"
    return "mixed" if len(data) == size else f"truncated ({'mixed' if b'B' in data else 'old'})"


# -- consistency --------------------------------------------------------------------------


@probe("consistency", "another instance adds a file; list again", contract="fresh")
def stale_list_after_add(t: Target) -> str:
    t.seed("t/a", b"x")
    t.list("t")
    t.second().put("t/b", b"x")
    return "fresh" if "t/b" in t.list("t") else "stale"


@probe("consistency", "another instance deletes a file; list again", contract="fresh")
def stale_list_after_delete(t: Target) -> str:
    t.seed("t/a", b"x")
    t.seed("t/b", b"x")
    t.list("t")
    t.second().delete("t/b")
    return "stale" if "t/b" in t.list("t") else "fresh"


@probe("consistency", "another instance adds a file; stat it", contract="fresh")
def stale_stat_after_add(t: Target) -> str:
    t.seed("t/a", b"x")
    t.list("t")
    t.second().put("t/c", b"x")
    result = stat_text(t, "t/c")
    return "fresh" if result.startswith("file") else f"stale: {result}"


@probe("consistency", "another instance deletes a file; stat it", contract="fresh")
def stale_stat_after_delete(t: Target) -> str:
    t.seed("t/a", b"x")
    t.seed("t/b", b"x")
    t.list("t")
    t.second().delete("t/b")
    result = stat_text(t, "t/b")
    return "stale: still a file" if result.startswith("file") else "fresh"


@probe("consistency", "own write, then list (read-your-writes)", contract="fresh")
def own_write_listed(t: Target) -> str:
    t.seed("t/a", b"x")
    t.list("t")
    t.put("t/b", b"x")
    return "fresh" if "t/b" in t.list("t") else "stale"


@probe("consistency", "own overwrite, then read (read-your-writes)", contract="fresh")
def own_overwrite_read(t: Target) -> str:
    t.seed("t/a", b"1")
    t.get("t/a")
    t.put("t/a", b"2")
    return "fresh" if t.get("t/a") == b"2" else "stale"


# -- writes -------------------------------------------------------------------------------


def _exclusive(t: Target, data: bytes) -> str:
    t.seed("t/x", b"old")
    result = outcome(lambda: t.create_exclusive("t/x", data))
    if result == "not supported":
        return result
    content = t.get("t/x")
    state = "kept" if content == b"old" else ("truncated" if not content else "overwritten")
    return f"{'no error' if result == 'ok' else result}; {state}"


@probe("writes", "exclusive create (`xb`) of an existing object", contract="not supported")
def exclusive_create_existing(t: Target) -> str:
    return _exclusive(t, b"new")


@probe("writes", "exclusive create of an existing object, writing nothing", contract="not supported")
def exclusive_create_empty(t: Target) -> str:
    return _exclusive(t, b"")


@probe("writes", "a zero-byte object reads back empty with size 0", contract="file, size 0")
def zero_byte_object(t: Target) -> str:
    t.seed("t/f", b"x")
    t.put("t/z", b"")
    if t.get("t/z") != b"":
        return "not empty"
    return stat_text(t, "t/z")


def _status(url: str | None, method: str) -> str:
    if url is None:
        return "not supported"
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        return "not requested (not a local URL)"
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except urllib.error.URLError as exc:
        return f"URLError: {type(exc.reason).__name__}"


def _presign(t: Target, method: str) -> str:
    t.seed("t/p", b"presigned")
    try:
        url = t.presign("t/p", method)
    except Exception as exc:
        return error_name(exc)
    return _status(url, method)


@probe("writes", "presigned GET URL: HTTP status of a GET on it")
def presign_get(t: Target) -> str:
    return _presign(t, "GET")


@probe("writes", "presigned HEAD URL: HTTP status of a HEAD on it")
def presign_head(t: Target) -> str:
    return _presign(t, "HEAD")


# -- names --------------------------------------------------------------------------------


@probe("names", "`Case` and `case` are two objects", contract="case-sensitive")
def case_sensitivity(t: Target) -> str:
    t.seed("t/Case", b"upper")
    t.seed("t/case", b"lower")
    return "case-sensitive" if t.get("t/Case") == b"upper" and len(t.files("t")) == 2 else "case-insensitive"


def _long_key(length: int) -> str:
    """A scratch path of exactly ``length`` bytes made of 200-byte components."""
    parts, left = ["t"], length - 1
    while left > 0:
        part = min(200, left - 1)
        parts.append("k" * max(part, 1))
        left -= len(parts[-1]) + 1
    return "/".join(parts)


def _works(t: Target, path: str) -> bool:
    try:
        t.seed(path, b"x")
        return t.get(path) == b"x"
    except Exception:
        return False


@probe("names", "longest name component and key (bytes below the root) that work")
def max_key_length(t: Target) -> str:
    component = "256+" if _works(t, "t/" + "c" * 256) else ("255" if _works(t, "t/" + "c" * 255) else "<255")
    key = "1025+" if _works(t, _long_key(1025)) else ("1024" if _works(t, _long_key(1024)) else "<1024")
    return f"component {component}, key {key}"


@probe("names", "a non-ASCII name (`été-文.txt`) round-trips through put and list", contract="InvalidPathError")
def non_ascii_name(t: Target) -> str:
    name = "t/\u00e9t\u00e9-\u6587.txt"
    try:
        t.seed(name, b"x")
        listing = t.list("t")
    except Exception as exc:
        return error_name(exc)
    return "round-trips" if listing == [name] else f"listed as {names(listing)}"


@probe("names", "portable names: `a\\b` and `a/b` are two objects")
def backslash_name(t: Target) -> str:
    with t.portable_names():
        try:
            t.seed("t/a\\b", b"back")
            t.seed("t/a/b", b"slash")
            return "two objects" if t.get("t/a\\b") == b"back" else "one object: overwritten"
        except Exception as exc:
            return error_name(exc)


@probe("names", "portable names: a name holding U+FFFE is written, listed and deleted")
def noncharacter_name(t: Target) -> str:
    name = "t/a\ufffe"
    stage = "write"
    with t.portable_names():
        try:
            t.seed(name, b"x")
            stage = "list"
            listed = t.list("t")
            stage = "delete"
            t.delete(name)
        except Exception as exc:
            return f"{stage}: {error_name(exc)}"
        finally:
            with contextlib.suppress(Exception):
                t.remove_object(name)  # the clean-up a failed listing or delete needs
    return "works" if listed == [name] else "listed under another name"
