"""The ``filesystem`` driver never reads, writes, lists or deletes outside its root.

Every test builds a store ``tmp_path/root`` next to a directory ``tmp_path/outside``
holding a secret, plants symbolic links inside the store, calls the driver, and compares
a byte-for-byte snapshot of ``outside`` (names, kinds, sizes, contents, mtimes, also of
the directories) taken before and after the call.

Covered:

* ``.`` / ``..`` components and other malformed paths: ``InvalidPathError`` from every
  method, before anything is touched (and the inner driver refuses escaping ``..``
  paths on its own, as a second line of defence);
* links inside the root that lead out (directory, file, relative, the reserved
  ``.distfs~`` name and the directories below it): every method refuses every path
  through them with ``InvalidPathError`` naming the caller's path, without side effects;
* writes, moves and deletes through such links leave ``outside`` intact;
* links that stay inside the root keep working; ``list`` and ``walk`` leave out links
  that lead out (and dangling ones);
* links planted inside a suspended upload's state (``.distfs~/uploads/<path>/.distfs~``)
  are refused too: a resumed writer never truncates, appends to or reads a file outside.
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import distfs
from distfs import FileInfo, InvalidPathError, PathNotFoundError, StorageDriver, StorageDriverError
from distfs.backends import filesystem
from distfs.base import Base

SECRET = b"TOP-SECRET bytes that live outside the store 8c1f0e"
EVIL = b"EVIL bytes written through a planted link"
INSIDE = b"content of /inside/target"
OK = b"ok"

#: Names of everything in ``outside``: no listing may ever show one of them.
OUTSIDE_NAMES = {"secret.txt", "file", "sub", "deep.txt", "count.txt"}

#: kind, size, content (file) or link target (link), mtime in ns -- per relative name.
Entry = tuple[str, int, bytes, int]
Snapshot = dict[str, Entry]

Op = Callable[[StorageDriver, str], object]


# -- the world ------------------------------------------------------------------------


def snapshot(top: Path) -> Snapshot:
    """Everything below ``top`` (and ``top`` itself), without following links."""
    result: Snapshot = {}

    def record(path: Path) -> None:
        info = os.lstat(path)
        name = os.path.relpath(path, top)
        if stat_module.S_ISLNK(info.st_mode):
            result[name] = ("link", info.st_size, os.readlink(path).encode(), info.st_mtime_ns)
        elif stat_module.S_ISDIR(info.st_mode):
            result[name] = ("dir", 0, b"", info.st_mtime_ns)
        else:
            result[name] = ("file", info.st_size, path.read_bytes(), info.st_mtime_ns)

    record(top)
    for directory, dirnames, filenames in os.walk(top, followlinks=False):
        for name in [*dirnames, *filenames]:
            record(Path(directory) / name)
    return result


@dataclass
class World:
    """A store ``root`` (``/a/ok``, ``/inside/target``) and a directory ``outside`` next to it."""

    root: Path
    outside: Path
    driver: StorageDriver

    def plant(self, location: str, target: str) -> None:
        """Create the link ``root/location -> target`` (``{outside}``/``{root}`` are filled in)."""
        link = self.root / location
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target.format(outside=self.outside, root=self.root), link)

    def outside_snapshot(self) -> Snapshot:
        return snapshot(self.outside)

    def root_snapshot(self) -> Snapshot:
        return snapshot(self.root)


@pytest.fixture(params=[True, False], ids=["openat2", "per-component"])
def world(tmp_path: Path, request: pytest.FixtureRequest) -> World:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(SECRET)
    (outside / "file").write_bytes(b"an outside file")
    (outside / "sub" / "deep.txt").write_bytes(b"deep outside file")
    (outside / "count.txt").write_bytes(b"4")
    # Store content written directly, so that no .distfs~ exists before a link is planted.
    (root / "a").mkdir(parents=True)
    (root / "a" / "ok").write_bytes(OK)
    (root / "inside").mkdir()
    (root / "inside" / "target").write_bytes(INSIDE)
    driver = distfs.create("filesystem", {"rootdirectory": str(root)})
    if not request.param:  # the resolver used where the kernel has no openat2
        driver = filesystem.driver(filesystem.LocalStore(str(root), use_openat2=False))
    return World(root, outside, driver)


#: Links that lead out of the store: location in the root -> target.
LINKS: dict[str, tuple[str, str]] = {
    "dir": ("link", "{outside}"),
    "file": ("a/secret", "{outside}/secret.txt"),
    "hidden": (".distfs~", "{outside}"),
    "relative": ("rel", "../outside"),
    "nested-dir": ("a/lnk", "{outside}/sub"),
    "top-file": ("topfile", "{outside}/secret.txt"),
    "dangling": ("dangling", "{outside}/missing"),
}

#: Links that stay inside the store.
INSIDE_LINKS: dict[str, tuple[str, str]] = {
    "alias": ("alias", "{root}/inside/target"),
    "reldir": ("reldir", "inside"),
    "up": ("a/up", "../inside/target"),
}


def plant(world: World, *names: str) -> None:
    for name in names:
        location, target = {**LINKS, **INSIDE_LINKS}[name]
        world.plant(location, target)


# -- the operations -------------------------------------------------------------------


def _read(driver: StorageDriver, path: str, offset: int = 0) -> bytes:
    with driver.reader(path, offset) as stream:
        return stream.read()


def _write_commit(driver: StorageDriver, path: str, append: bool = False) -> int:
    writer = driver.writer(path, append=append)
    writer.write(EVIL)
    writer.commit()
    writer.close()
    return writer.size


def _walk(driver: StorageDriver, path: str) -> list[str]:
    seen: list[str] = []

    def fn(info: FileInfo) -> None:
        seen.append(info.path)

    driver.walk(path, fn)
    return seen


#: Every method of the driver, applied to one path (``move`` both ways).
OPS: dict[str, Op] = {
    "get_content": lambda d, p: d.get_content(p),
    "put_content": lambda d, p: d.put_content(p, EVIL),
    "reader": _read,
    "reader-offset": lambda d, p: _read(d, p, 3),
    "writer": _write_commit,
    "writer-append": lambda d, p: _write_commit(d, p, append=True),
    "stat": lambda d, p: d.stat(p),
    "list": lambda d, p: d.list(p),
    "walk": _walk,
    "delete": lambda d, p: d.delete(p),
    "move-source": lambda d, p: d.move(p, "/a/moved"),
    "move-dest": lambda d, p: d.move("/a/ok", p),
    "redirect_url": lambda d, p: d.redirect_url(p),
    "redirect_url-put": lambda d, p: d.redirect_url(p, "PUT"),
}


def _assert_refused(world: World, op: Op, path: str) -> None:
    """``op(path)`` raises ``InvalidPathError(path)`` and changes nothing, inside or outside."""
    outside, root = world.outside_snapshot(), world.root_snapshot()
    with pytest.raises(InvalidPathError) as info:
        op(world.driver, path)
    assert info.value.path == path
    assert info.value.driver_name == "filesystem"
    assert SECRET.decode() not in str(info.value)
    assert world.outside_snapshot() == outside
    assert world.root_snapshot() == root


# -- . and .. components --------------------------------------------------------------

DOTTED = [
    "/a/../../outside/secret.txt",
    "/../outside/secret.txt",
    "/../outside",
    "/..",
    "/.",
    "/a/./b",
    "/a/..",
    "/a/../ok",
    "/./a/ok",
    "/a/ok/.",
    "/a/b/..",
    "/inside/../../outside/file",
    "/../root/a/ok",
]

MALFORMED = [
    "",
    "a/ok",
    "//a/ok",
    "/a//ok",
    "/a/ok/",
    "/a/ok\x00",
    "/a\\..\\..\\outside",
    "/~/outside",
    "/a/o k",
    "/.distfs~",
    "/.distfs~/tmp",
]


@pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())
@pytest.mark.parametrize("path", DOTTED + MALFORMED)
def test_dot_components_and_malformed_paths_are_refused(world: World, path: str, op: Op) -> None:
    _assert_refused(world, op, path)


ESCAPING = ["/a/../../outside/secret.txt", "/../outside/secret.txt", "/../outside", "/..", "/../outside/new"]


@pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())
@pytest.mark.parametrize("path", ESCAPING)
def test_inner_driver_refuses_escaping_paths_too(world: World, path: str, op: Op) -> None:
    """Below the path validation of ``Base``, the backend's realpath check still holds."""
    assert isinstance(world.driver, Base)
    inner = World(world.root, world.outside, world.driver.inner)
    _assert_refused(inner, op, path)


# -- links out of the root: every method, every path through them ---------------------

LINK_PATHS: dict[str, list[str]] = {
    "dir": ["/link", "/link/secret.txt", "/link/file", "/link/sub", "/link/sub/deep.txt", "/link/new", "/link/sub/new"],
    "file": ["/a/secret", "/a/secret/new"],
    "hidden": ["/.distfs~", "/.distfs~/secret.txt", "/.distfs~/tmp", "/.distfs~/uploads/a/ok"],
    "relative": ["/rel", "/rel/secret.txt", "/rel/sub/deep.txt", "/rel/new"],
    "nested-dir": ["/a/lnk", "/a/lnk/deep.txt", "/a/lnk/new"],
    "top-file": ["/topfile"],
    "dangling": ["/dangling", "/dangling/new"],
}
LINK_CASES = [(link, path) for link, link_paths in LINK_PATHS.items() for path in link_paths]


@pytest.mark.parametrize("op", OPS.values(), ids=OPS.keys())
@pytest.mark.parametrize(("link", "path"), LINK_CASES, ids=[f"{link}:{path}" for link, path in LINK_CASES])
def test_paths_through_links_out_of_the_root_are_refused(world: World, link: str, path: str, op: Op) -> None:
    plant(world, link)
    _assert_refused(world, op, path)
    assert (world.root / LINKS[link][0]).is_symlink()


# -- writes and deletes through links ---------------------------------------------------

#: (link planted, what is done) -> InvalidPathError, nothing new or changed in outside.
WRITES: dict[str, tuple[str, Callable[[StorageDriver], object]]] = {
    "put_content /link/new": ("dir", lambda d: d.put_content("/link/new", EVIL)),
    "writer /link/new": ("dir", lambda d: _write_commit(d, "/link/new")),
    "writer /link/secret.txt append": ("dir", lambda d: _write_commit(d, "/link/secret.txt", append=True)),
    "move /a/ok -> /link/moved": ("dir", lambda d: d.move("/a/ok", "/link/moved")),
    "move /link/secret.txt -> /a/stolen": ("dir", lambda d: d.move("/link/secret.txt", "/a/stolen")),
    "put_content /rel/new": ("relative", lambda d: d.put_content("/rel/new", EVIL)),
    "put_content /a/secret": ("file", lambda d: d.put_content("/a/secret", EVIL)),
    "writer /a/secret append": ("file", lambda d: _write_commit(d, "/a/secret", append=True)),
    "move /a/ok -> /a/secret": ("file", lambda d: d.move("/a/ok", "/a/secret")),
    "put_content /new via .distfs~ temp": ("hidden", lambda d: d.put_content("/new", EVIL)),
    "put_content /a/ok via .distfs~ temp": ("hidden", lambda d: d.put_content("/a/ok", EVIL)),
    "writer /new via .distfs~ uploads": ("hidden", lambda d: _write_commit(d, "/new")),
    "writer /a/ok append via .distfs~ uploads": ("hidden", lambda d: _write_commit(d, "/a/ok", append=True)),
}


@pytest.mark.parametrize(("link", "action"), WRITES.values(), ids=WRITES.keys())
def test_writes_through_links_do_not_reach_outside(
    world: World, link: str, action: Callable[[StorageDriver], object]
) -> None:
    plant(world, link)
    before = world.outside_snapshot()
    with pytest.raises(InvalidPathError):
        action(world.driver)
    assert world.outside_snapshot() == before
    assert not {"new", "moved", "tmp", "uploads"} & set(os.listdir(world.outside))
    assert (world.outside / "secret.txt").read_bytes() == SECRET
    assert world.driver.get_content("/a/ok") == OK  # a refused move or overwrite keeps the source


#: (link planted, path deleted, expected error or None) -- outside stays intact either way.
DELETES: list[tuple[str, str, type[StorageDriverError] | None]] = [
    ("dir", "/link", InvalidPathError),
    ("dir", "/link/file", InvalidPathError),
    ("dir", "/link/sub", InvalidPathError),
    ("file", "/a/secret", InvalidPathError),
    ("relative", "/rel", InvalidPathError),
    ("relative", "/rel/secret.txt", InvalidPathError),
    ("top-file", "/topfile", InvalidPathError),
    ("hidden", "/a/ok", InvalidPathError),  # its uploads would be removed through the link
    ("file", "/a", None),  # a directory holding a link: the link goes, not its target
    ("nested-dir", "/a", None),
]


@pytest.mark.parametrize(("link", "path", "error"), DELETES, ids=[f"{link}:{path}" for link, path, _ in DELETES])
def test_deletes_through_links_leave_outside_intact(
    world: World, link: str, path: str, error: type[StorageDriverError] | None
) -> None:
    plant(world, link)
    before = world.outside_snapshot()
    if error is None:
        world.driver.delete(path)
        with pytest.raises(PathNotFoundError):
            world.driver.stat(path)
        assert not (world.root / LINKS[link][0]).is_symlink()
    else:
        with pytest.raises(error):
            world.driver.delete(path)
        assert (world.root / LINKS[link][0]).is_symlink()
    assert world.outside_snapshot() == before


def test_moving_a_directory_holding_links_leaves_outside_intact(world: World) -> None:
    plant(world, "file", "nested-dir")
    before = world.outside_snapshot()
    world.driver.move("/a", "/b")
    assert world.driver.list("/b") == ["/b/ok"]
    assert world.driver.get_content("/b/ok") == OK
    with pytest.raises(InvalidPathError):
        world.driver.get_content("/b/secret")
    assert world.outside_snapshot() == before


# -- the reserved name and the state below it -----------------------------------------

HIDDEN_OPS: dict[str, Callable[[StorageDriver], object]] = {
    "put_content new": lambda d: d.put_content("/n", EVIL),
    "put_content over": lambda d: d.put_content("/a/ok", EVIL),
    "writer new": lambda d: _write_commit(d, "/n"),
    "writer over": lambda d: _write_commit(d, "/a/ok"),
    "writer append": lambda d: _write_commit(d, "/a/ok", append=True),
    "delete": lambda d: d.delete("/a/ok"),
    "move": lambda d: d.move("/a/ok", "/m"),
    "get_content": lambda d: d.get_content("/a/ok"),
}

#: Link location (pointing to outside) -> the HIDDEN_OPS refused with InvalidPathError;
#: the others succeed (they do not go through the link).
HIDDEN_REFUSED: dict[str, set[str]] = {
    ".distfs~": {"put_content new", "put_content over", "writer new", "writer over", "writer append", "delete"},
    ".distfs~/tmp": {"put_content new", "put_content over", "writer new", "writer over", "writer append"},
    ".distfs~/uploads": {"writer new", "writer over", "writer append", "delete"},
    ".distfs~/uploads/a": {"writer over", "writer append", "delete"},
    ".distfs~/uploads/a/ok": {"writer over", "writer append", "delete"},
    ".distfs~/uploads/a/ok/.distfs~": {"writer over", "writer append"},
}
HIDDEN_CASES = [(location, name) for location in HIDDEN_REFUSED for name in HIDDEN_OPS]


@pytest.mark.parametrize(("location", "name"), HIDDEN_CASES, ids=[f"{loc}:{name}" for loc, name in HIDDEN_CASES])
def test_links_at_the_hidden_state_do_not_reach_outside(world: World, location: str, name: str) -> None:
    """distfs keeps temp files and suspended uploads under ``.distfs~``: a link there leads nowhere."""
    world.plant(location, "{outside}")
    before = world.outside_snapshot()
    driver = world.driver
    if name in HIDDEN_REFUSED[location]:
        with pytest.raises(InvalidPathError):
            HIDDEN_OPS[name](driver)
        assert driver.get_content("/a/ok") == OK
    else:
        result = HIDDEN_OPS[name](driver)
        expected = {
            "put_content new": ("/n", EVIL),
            "put_content over": ("/a/ok", EVIL),
            "writer new": ("/n", EVIL),
            "writer over": ("/a/ok", EVIL),
            "writer append": ("/a/ok", OK + EVIL),
            "move": ("/m", OK),
            "get_content": ("/a/ok", OK),
        }
        if name == "delete":
            with pytest.raises(PathNotFoundError):
                driver.stat("/a/ok")
        else:
            path, content = expected[name]
            assert driver.get_content(path) == content
        if name == "get_content":
            assert result == OK
    assert world.outside_snapshot() == before
    assert set(os.listdir(world.outside)) == {"secret.txt", "file", "sub", "count.txt"}


def _suspended_upload(world: World, path: str) -> Path:
    """The state directory distfs keeps for the suspended upload of ``path``."""
    return world.root / ".distfs~" / "uploads" / path.lstrip("/") / ".distfs~"


@pytest.mark.parametrize("recorded", ["0", str(len(SECRET))], ids=["truncates", "appends"])
def test_resuming_an_upload_whose_data_is_a_link_does_not_reach_outside(world: World, recorded: str) -> None:
    upload = _suspended_upload(world, "/y")
    upload.mkdir(parents=True)
    (upload / "size").write_text(recorded)
    os.symlink(world.outside / "secret.txt", upload / "data")
    before = world.outside_snapshot()
    with contextlib.suppress(StorageDriverError):
        _write_commit(world.driver, "/y", append=True)
    assert (world.outside / "secret.txt").read_bytes() == SECRET
    assert world.outside_snapshot() == before


def test_resuming_an_upload_whose_size_is_a_link_does_not_read_outside(world: World) -> None:
    upload = _suspended_upload(world, "/y")
    upload.mkdir(parents=True)
    (upload / "data").write_bytes(b"0123456789")
    os.symlink(world.outside / "count.txt", upload / "size")  # count.txt holds "4"
    before = world.outside_snapshot()
    try:
        writer = world.driver.writer("/y", append=True)
    except StorageDriverError:
        pass  # refusing the damaged upload state is fine
    else:
        resumed = writer.size
        writer.cancel()
        assert resumed != 4, "the resumed size was read from a file outside the root"
    assert world.outside_snapshot() == before


# -- links that stay inside the root ----------------------------------------------------

THROUGH_INSIDE_LINKS = [
    ("alias", "/alias"),
    ("reldir", "/reldir/target"),
    ("up", "/a/up"),
]


@pytest.mark.parametrize(("link", "path"), THROUGH_INSIDE_LINKS, ids=[p for _, p in THROUGH_INSIDE_LINKS])
def test_links_inside_the_root_keep_working(world: World, link: str, path: str) -> None:
    plant(world, link)
    driver = world.driver
    assert driver.get_content(path) == INSIDE
    assert _read(driver, path, 8) == INSIDE[8:]
    info = driver.stat(path)
    assert (info.size, info.is_dir) == (len(INSIDE), False)
    assert driver.redirect_url(path) is None


def test_a_directory_link_inside_the_root_lists_and_walks(world: World) -> None:
    plant(world, "reldir")
    assert world.driver.list("/reldir") == ["/reldir/target"]
    assert _walk(world.driver, "/reldir") == ["/reldir/target"]
    assert world.driver.stat("/reldir").is_dir


# -- listings leave out links that lead out ---------------------------------------------

EXPECTED_LISTS = {
    "/": ["/a", "/alias", "/inside", "/reldir"],
    "/a": ["/a/ok", "/a/up"],
    "/inside": ["/inside/target"],
    "/reldir": ["/reldir/target"],
}
EXPECTED_WALK = ["/a", "/a/ok", "/a/up", "/alias", "/inside", "/inside/target", "/reldir", "/reldir/target"]


@pytest.mark.parametrize("directory", EXPECTED_LISTS)
def test_list_leaves_out_links_that_lead_outside(world: World, directory: str) -> None:
    plant(world, *LINKS, *INSIDE_LINKS)
    before = world.outside_snapshot()
    listed = world.driver.list(directory)
    assert listed == EXPECTED_LISTS[directory]
    assert not OUTSIDE_NAMES & {p.rsplit("/", 1)[-1] for p in listed}
    for path in listed:
        world.driver.stat(path)  # everything listed is reachable
    assert world.outside_snapshot() == before


@pytest.mark.parametrize("start", ["/", "/a"])
def test_walk_leaves_out_links_that_lead_outside(world: World, start: str) -> None:
    plant(world, *LINKS, *INSIDE_LINKS)
    before = world.outside_snapshot()
    infos: list[FileInfo] = []
    world.driver.walk(start, infos.append)
    walked = [info.path for info in infos]
    expected = [p for p in EXPECTED_WALK if start == "/" or p.startswith(start + "/")]
    assert sorted(walked) == expected
    assert not OUTSIDE_NAMES & {p.rsplit("/", 1)[-1] for p in walked}
    assert all(world.driver.get_content(i.path) != SECRET for i in infos if not i.is_dir)
    assert world.outside_snapshot() == before
