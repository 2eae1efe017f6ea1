"""Probes of what things hold: append, reads, consistency, writes and names."""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.parse
import urllib.request

from .checks import error_name, names, outcome, probe, stat_text
from .targets import Target

__all__: list[str] = []  # the probes register themselves in checks.PROBES


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
