"""An audit hook proves the ``filesystem`` driver touches nothing outside its root.

tests/drivers/test_filesystem_escape.py compares snapshots of an outside directory around each
call. This test watches the calls themselves: in a subprocess (audit hooks cannot be
removed), with symbolic links planted inside the root that lead out (to a directory, to a
file, relative and absolute, inside a directory that gets deleted), it installs
``sys.addaudithook`` recording the path of every ``open``, ``os.*`` and ``shutil.*``
event, runs every public method on paths through the links and around them (including
writers, resumes, moves and deletes), and the parent asserts that no recorded path
resolves outside ``rootdirectory`` -- resolved with ``os.path.realpath`` both when the
event happens (links still in place; for removals and renames only the parent is
resolved, as they act on the name itself) and after the fact -- and
that the outside tree is byte-for-byte unchanged.

Python raises no audit event for ``os.stat``/``os.lstat``/``os.readlink``, so metadata
reads are not seen, nor for ``openat2`` (called through ctypes); and the ``open`` event
carries no ``dir_fd``, so opens relative to a descriptor are only counted (the
descriptors themselves come from resolutions beneath the root, which
tests/drivers/test_filesystem_race.py attacks). Every listing (by descriptor, resolved through
``/proc/self/fd``), creation, rename, removal, link and mode change is checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import distfs

#: distfs's own modules, which it imports on first use (never data below a root).
PACKAGE = os.path.dirname(os.path.realpath(distfs.__file__)) + os.sep

SCRIPT = textwrap.dedent(
    r"""
    import json, os, sys
    import distfs
    from distfs import StorageDriverError

    root, out_file = sys.argv[1], sys.argv[2]
    driver = distfs.create("filesystem", {"rootdirectory": root})

    EVENTS = ("open", "os.", "shutil.")
    NOFOLLOW = ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.symlink", "os.link", "shutil.rmtree")
    recorded = []
    counts = {}

    last_fd_dir = [None]

    def where(value, dir_fd=None, event=""):
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        if isinstance(value, int) and event in ("os.scandir", "os.listdir"):
            # shutil.rmtree walks by descriptor: remember the directory it lists
            last_fd_dir[0] = value = os.readlink(f"/proc/self/fd/{value}")
        if not isinstance(value, str):
            return None
        if dir_fd is not None and not os.path.isabs(value):
            value = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), value)
        elif event == "open" and not os.path.isabs(value):
            # The open event does not carry dir_fd: relative opens are made relative to a
            # descriptor opened beneath the root (distfs.beneath, rmtree), whose
            # directories the listing events below resolve through /proc; counted only.
            counts["open relative to a descriptor"] = counts.get("open relative to a descriptor", 0) + 1
            return None
        return os.path.abspath(value)

    def hook(event, args):
        if not event.startswith(EVENTS) or not active[0]:
            return
        counts[event] = counts.get(event, 0) + 1
        dir_fd = None
        if event in ("os.remove", "os.rmdir", "os.mkdir", "os.listdir", "os.scandir", "shutil.rmtree"):
            dir_fd = args[-1] if isinstance(args[-1], int) else None
        candidates = list(args[:2]) if event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile",
                                                  "shutil.copymode", "shutil.copystat", "shutil.move") else args[:1]
        for index, value in enumerate(candidates):
            if event in ("os.rename", "os.link") and isinstance(args[2 + index], int):
                dir_fd = args[2 + index]  # src_dir_fd, dst_dir_fd
            path = where(value, dir_fd, event)
            if path is None:
                continue
            if path.startswith("UNRESOLVED"):
                recorded.append((event, path, path))
            elif event in NOFOLLOW:
                # these act on the final name itself (a link is removed or renamed, not followed)
                parent = os.path.realpath(os.path.dirname(path))
                recorded.append((event, path, os.path.join(parent, os.path.basename(path))))
            else:
                recorded.append((event, path, os.path.realpath(path)))

    active = [False]
    sys.addaudithook(hook)

    def attempt(fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            if hasattr(result, "read"):
                with result:
                    result.read()
            return "ok"
        except StorageDriverError as error:
            return type(error).__name__

    def run_all():
        results = {}
        through = ["/outdir", "/outdir/secret.txt", "/outdir/new", "/outfile", "/rel/secret.txt", "/rel",
                   "/real/in/outfile2", "/real/in/outfile2/x", "/doomed/out", "/doomed/out/secret.txt"]
        around = ["/real/a", "/inlink/a", "/plain", "/doomed/keep", "/fresh/new"]
        for path in through + around:
            results[f"get {path}"] = attempt(driver.get_content, path)
            results[f"reader {path}"] = attempt(driver.reader, path, 2)
            results[f"stat {path}"] = attempt(driver.stat, path)
            results[f"list {path}"] = attempt(driver.list, path)
            results[f"walk {path}"] = attempt(driver.walk, path, lambda info: None)
            results[f"redirect {path}"] = attempt(driver.redirect_url, path)
        for path in through + around:
            results[f"put {path}"] = attempt(driver.put_content, path, b"EVIL through " + path.encode())
            def write(path=path, append=False):
                writer = driver.writer(path, append=append)
                writer.write(b"EVIL stream")
                writer.close()
                writer = driver.writer(path, append=True)
                writer.write(b" more")
                writer.commit()
                writer.close()
            results[f"writer {path}"] = attempt(write)
            results[f"append {path}"] = attempt(write, path, True)
        results["list /"] = attempt(driver.list, "/")
        results["walk /"] = attempt(driver.walk, "/", lambda info: None)
        for source, dest in [("/plain", "/outdir/stolen"), ("/outfile", "/taken"), ("/rel/secret.txt", "/taken2"),
                             ("/real/a", "/rel/x"), ("/real", "/moved"), ("/moved", "/real")]:
            results[f"move {source} {dest}"] = attempt(driver.move, source, dest)
        for path in ["/outdir/secret.txt", "/outfile", "/rel", "/outdir", "/doomed", "/real/in", "/fresh"]:
            results[f"delete {path}"] = attempt(driver.delete, path)
        return results

    active[0] = True
    results = run_all()
    active[0] = False
    with open(out_file, "w") as stream:
        json.dump({"recorded": recorded, "counts": counts, "results": results}, stream)
    """
)


def snapshot(top: Path) -> dict[str, tuple[str, bytes]]:
    found: dict[str, tuple[str, bytes]] = {}
    for directory, names, files in os.walk(top, followlinks=False):
        for name in names + files:
            path = Path(directory, name)
            if path.is_symlink():
                found[str(path)] = ("link", os.readlink(path).encode())
            elif path.is_dir():
                found[str(path)] = ("dir", b"")
            else:
                found[str(path)] = ("file", path.read_bytes())
    return found


def test_audit_hook_sees_nothing_outside_the_root(tmp_path: Path) -> None:
    """Every open/os/shutil event of every public method stays inside rootdirectory."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "dir" / "secret.txt").write_bytes(b"SECRET in a directory")
    (outside / "file.txt").write_bytes(b"SECRET file")
    (outside / "file2.txt").write_bytes(b"SECRET file 2")
    (root / "real" / "in").mkdir(parents=True)
    (root / "real" / "a").write_bytes(b"inside a")
    (root / "plain").write_bytes(b"plain")
    (root / "doomed").mkdir()
    (root / "doomed" / "keep").write_bytes(b"keep")
    os.symlink(outside / "dir", root / "outdir")  # absolute, to a directory
    os.symlink(outside / "file.txt", root / "outfile")  # absolute, to a file
    os.symlink("../outside/dir", root / "rel")  # relative, to a directory
    os.symlink(outside / "file2.txt", root / "real" / "in" / "outfile2")  # deeper
    os.symlink(outside / "dir", root / "doomed" / "out")  # inside a directory that gets deleted
    os.symlink(root / "real", root / "inlink")  # stays inside: must keep working
    before = snapshot(outside)

    result_file = tmp_path / "events.json"
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root), str(result_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(result_file.read_text())
    recorded: list[tuple[str, str, str]] = report["recorded"]
    results: dict[str, str] = report["results"]

    real_root = os.path.realpath(root)

    def escapes(path: str) -> bool:
        return not (path + os.sep).startswith(real_root + os.sep)

    # Resolved when the event happened (links still there) and again now.
    escaped = [
        (event, path, resolved)
        for event, path, resolved in recorded
        if (escapes(resolved) or escapes(os.path.realpath(path)))
        and not path.startswith((sys.prefix, sys.base_prefix, PACKAGE))  # lazy imports of modules, distfs's own too
    ]
    assert not escaped, escaped[:10]
    assert snapshot(outside) == before
    # The hook saw the work: opens, listings, creations, renames and removals inside the root.
    for event in ("os.scandir", "os.mkdir", "os.rename", "os.remove"):
        assert report["counts"].get(event, 0) > 0, (event, report["counts"], results)
    assert len(recorded) > 150
    assert report["counts"].get("open relative to a descriptor", 0) > 100
    # Through the links: refused. Around them: working.
    for key in ("get /outfile", "put /outdir/new", "writer /rel/secret.txt", "delete /outdir", "list /outdir"):
        assert results[key] == "InvalidPathError", (key, results[key])
    for key in ("get /real/a", "get /inlink/a", "put /fresh/new", "move /plain /outdir/stolen"):
        assert results[key] in ("ok", "InvalidPathError"), (key, results[key])
    assert results["get /inlink/a"] == "ok"
    assert results["walk /"] == "ok"
    assert results["delete /doomed"] == "ok"
    print(f"\naudit: {len(recorded)} paths checked, events {report['counts']}")
