"""distfs:// as a data user meets it (issue 15): one test per numbered finding.

Each test runs on real stores (``filesystem``, ``s3`` on moto; ``inmemory`` where the
point is the protocol itself; ``azure`` and ``oss`` for refused credentials, which moto
does not verify).
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import NO_LEAKS
from fsspec.callbacks import Callback

import distfs
from distfs.base import Base
from distfs.middleware import Middleware
from distfs.protocol import DistFileSystem
from distfs.tools.servers import ACCESS_KEY

pytestmark = NO_LEAKS


@pytest.fixture(autouse=True)
def _fresh_instances(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("DISTFS_CONFIG", "DISTFS_DRIVER", "DISTFS_PARAMETERS"):
        monkeypatch.delenv(name, raising=False)
    DistFileSystem.clear_instance_cache()
    yield
    DistFileSystem.clear_instance_cache()


@pytest.fixture(params=["filesystem", "s3"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Storage options of each driver, as a user writes them (no ``paths``)."""
    if request.param == "filesystem":
        return {"driver": "filesystem", "rootdirectory": str(tmp_path / "store")}
    return {"driver": "s3", **request.getfixturevalue("s3_parameters")}


def filesystem_of(options: dict[str, Any]) -> DistFileSystem:
    fs = fsspec.filesystem("distfs", **options)
    assert isinstance(fs, DistFileSystem)
    return fs


# -- 1. batches run concurrently, bounded by the driver's limit -------------------------


class _InFlight(Middleware):
    """A filesystem driver that records how many calls overlap (each lasts 20 ms)."""

    peak = 0
    _now = 0
    _lock = threading.Lock()

    def _timed(self, call: Any, *args: Any) -> Any:
        with _InFlight._lock:
            _InFlight._now += 1
            _InFlight.peak = max(_InFlight.peak, _InFlight._now)
        try:
            time.sleep(0.02)
            return call(*args)
        finally:
            with _InFlight._lock:
                _InFlight._now -= 1

    def get_content(self, path: str) -> bytes:
        content: bytes = self._timed(self.wrapped.get_content, path)
        return content

    def put_content(self, path: str, content: bytes) -> None:
        self._timed(self.wrapped.put_content, path, content)

    def delete(self, path: str) -> None:
        self._timed(self.wrapped.delete, path)

    def delete_many(self, paths: Sequence[str], *, files_only: bool = False) -> None:
        self._timed(lambda: self.wrapped.delete_many(paths, files_only=files_only))


def _in_flight(parameters: Mapping[str, Any]) -> distfs.StorageDriver:
    limit = parameters.get("maxconcurrency")
    inner = distfs.create("filesystem", {k: v for k, v in parameters.items() if k != "maxconcurrency"})
    return Base(_InFlight(inner), max_concurrency=limit)


if "i15-inflight" not in distfs.driver_names():
    distfs.register("i15-inflight", _in_flight)


@pytest.mark.parametrize("limit", [None, 4])
def test_batches_run_concurrently_within_the_driver_limit(tmp_path: Path, limit: int | None) -> None:
    parameters: dict[str, Any] = {"rootdirectory": str(tmp_path)}
    if limit:
        parameters["maxconcurrency"] = limit
    fs = filesystem_of({"driver": "i15-inflight", **parameters})
    bound = limit or distfs.protocol.DEFAULT_CONCURRENCY
    assert fs.concurrency() == bound
    names = [f"/b/f{i:03}" for i in range(40)]
    for call in (
        lambda: fs.pipe({name: name.encode() for name in names}),
        lambda: fs.cat(names),
    ):
        _InFlight.peak = 0
        call()
        assert 1 < _InFlight.peak <= bound
    _InFlight.peak = 0
    fs.rm(names)  # one batched delete_many of the driver
    assert _InFlight.peak == 1
    assert fs.find("/b") == []


def test_rm_of_many_names_removes_files_only(options: dict[str, Any]) -> None:
    fs = filesystem_of(options)
    fs.pipe({"/r/a": b"a", "/r/b": b"b", "/r/d/x": b"x", "/r/keep": b"k"})
    with fs.open("/r/b", "wb") as stream:  # published, then a suspended upload of the same path
        stream.write(b"b2")
    suspended = fs.driver.writer("/r/b")
    suspended.write(b"suspended")
    suspended.close()
    fs.rm(["/r/a", "/r/b", "/r/d", "/r/missing"])  # one batch: files go, the rest is skipped
    assert fs.find("/r") == ["/r/d/x", "/r/keep"]
    with pytest.raises(distfs.PathNotFoundError):
        fs.driver.writer("/r/b", append=True)  # its suspended upload went with it
    with pytest.raises(IsADirectoryError):
        fs.rm("/r/d")  # one path names one file
    with pytest.raises(FileNotFoundError):
        fs.rm("/r/missing")
    fs.rm("/r/k*")  # a glob names many
    assert fs.find("/r") == ["/r/d/x"]
    with pytest.raises(FileNotFoundError):
        fs.rm(["/r/d", "/r/missing"], recursive=True)
    assert fs.find("/r") == []


def test_du_find_and_glob_use_one_walk(options: dict[str, Any]) -> None:
    fs = filesystem_of(options)
    fs.pipe({f"/t/d{i % 3}/f{i}.csv": b"x" * i for i in range(12)})
    assert fs.du("/t") == sum(range(12))
    assert sorted(fs.du("/t", total=False)) == sorted(f"/t/d{i % 3}/f{i}.csv" for i in range(12))
    assert fs.glob("/t/d1/*.csv") == sorted(f"/t/d1/f{i}.csv" for i in range(1, 12, 3))
    assert fs.cat("/t/d0/f3.csv") == b"xxx"
    assert fs.cat(["/t/d0/f3.csv", "/t/nope"], on_error="omit") == {"/t/d0/f3.csv": b"xxx"}
    with pytest.raises(FileNotFoundError):
        fs.cat(["/t/d0/f3.csv", "/t/nope"])


def test_get_and_put_batches_report_progress(options: dict[str, Any], tmp_path: Path) -> None:
    fs = filesystem_of(options)
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    for i in range(5):
        (local / "sub" / f"f{i}").write_bytes(b"y" * (i + 1))

    class Counting(Callback):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def set_size(self, size: int) -> None:
            self.sizes.append(size)

    progress = Counting()
    fs.put(str(local / "sub"), "/up", recursive=True, callback=progress)
    assert progress.sizes[-1] >= 5
    assert progress.value == progress.sizes[-1]
    assert fs.cat("/up/f4") == b"yyyyy"
    single = Counting()
    fs.put_file(str(local / "sub" / "f4"), "/one", callback=single)
    assert (single.sizes, single.value) == ([5], 5)
    back = tmp_path / "back"
    fs.get("/up", str(back), recursive=True)
    assert sorted(os.listdir(back)) == [f"f{i}" for i in range(5)]
    fetched = Counting()
    fs.get_file("/one", str(tmp_path / "one"), callback=fetched)
    assert (fetched.sizes, fetched.value) == ([5], 5)
    fs.copy("/up", "/copy", recursive=True)
    assert fs.cat("/copy/f2") == b"yyy"


def test_reads_on_filesystem_are_the_local_file_itself(tmp_path: Path) -> None:
    import pandas as pd

    root = tmp_path / "root"
    root.mkdir()
    options = {"driver": "filesystem", "rootdirectory": str(root)}
    fs = filesystem_of(options)
    fs.pipe("/t/a.csv", b"x,y\n1,2\n")
    with fs.open("/t/a.csv", "rb") as stream:
        # the file below the root itself, opened by the driver: no copy, no per-block call
        assert os.fstat(stream.fileno()).st_ino == os.stat(root / "t" / "a.csv").st_ino
        assert (stream.path, stream.size) == ("/t/a.csv", 8)
        fs.pipe("/t/a.csv", b"replaced")  # replaced atomically: the open file keeps its version
        assert stream.read() == b"x,y\n1,2\n"
    assert pd.read_csv("distfs:///t/a.csv", storage_options=options).columns.tolist() == ["replaced"]
    with pytest.raises(FileNotFoundError):
        fs.open("/t/missing.csv", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open("/t", "rb")
    (tmp_path / "secret").write_bytes(b"outside the root")
    os.symlink(tmp_path / "secret", root / "t" / "link")
    with pytest.raises(distfs.InvalidPathError) as refused:  # confined: a link out of the root is never followed
        fs.open("/t/link", "rb").read()
    assert "outside the root" not in str(refused.value)


# -- 2. an abandoned write file is discarded --------------------------------------------


def test_abandoned_write_is_never_committed(options: dict[str, Any]) -> None:
    fs = filesystem_of(options)
    fs.pipe("/good.csv", b"header,row1,row2\n")

    def producer() -> None:
        stream = fs.open("/good.csv", "wb")
        stream.write(b"header,row1,")
        raise RuntimeError("the producer failed outside a with block")

    with pytest.raises(RuntimeError):
        producer()
    gc.collect()
    assert fs.cat("/good.csv") == b"header,row1,row2\n"


# -- 3. a read file pins one version ----------------------------------------------------


def test_a_read_file_reads_one_version(options: dict[str, Any], request: pytest.FixtureRequest) -> None:
    fs = filesystem_of(options)
    other = distfs.create(options["driver"], {k: v for k, v in options.items() if k != "driver"})
    size = 12 << 20
    fs.pipe("/big", b"a" * size)
    outcome: list[bytes] = []

    def read_across_a_replace() -> None:
        with fs.open("/big", "rb", block_size=1 << 20) as stream:
            outcome.append(stream.read(1 << 20))
            other.put_content("/big", b"b" * (size // 2))
            outcome.append(stream.read())
            stream.seek(0)
            outcome.append(stream.read(10))

    caught: OSError | None = None
    try:
        read_across_a_replace()
    except OSError as exc:
        caught = exc
    if caught is not None:
        changed = caught.__cause__ if not isinstance(caught, distfs.ObjectChangedError) else caught
        assert isinstance(changed, distfs.ObjectChangedError), repr(caught)
        return
    assert outcome[0] + outcome[1] == b"a" * size
    assert outcome[2] == b"a" * 10


# -- 4. "ab" appends to the committed object --------------------------------------------


def test_append_continues_the_committed_object_not_a_suspended_upload(options: dict[str, Any]) -> None:
    fs = filesystem_of(options)
    fs.pipe("/log.txt", b"committed\n")
    suspended = fs.driver.writer("/log.txt")
    suspended.write(b"suspended upload\n")
    suspended.close()
    with fs.open("/log.txt", "ab") as stream:
        stream.write(b"appended\n")
    assert fs.cat("/log.txt") == b"committed\nappended\n"
    with fs.open("/new.txt", "ab") as stream:
        stream.write(b"fresh")
    assert fs.cat("/new.txt") == b"fresh"


# -- 5 and 8. exists is False only for not-found; refused credentials ------------------


def test_exists_is_false_only_for_not_found(s3_parameters: dict[str, Any], tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    gone = filesystem_of({"driver": "s3", **s3_parameters, "regionendpoint": dead, "maxretries": 0})
    for call in (gone.exists, gone.isfile, gone.isdir):
        with pytest.raises(OSError):
            call("/a.csv")
    fs = filesystem_of({"driver": "filesystem", "rootdirectory": str(tmp_path)})
    assert not fs.exists("/a.csv")
    assert not fs.isfile("/a.csv")
    assert not fs.isdir("/a.csv")
    fs.pipe("/d/a.csv", b"")
    assert (fs.exists("/d"), fs.isdir("/d"), fs.isfile("/d"), fs.isfile("/d/a.csv")) == (True, True, False, True)


#: A wrong credential, on the servers that verify them (moto does not).
WRONG = {
    "azure": {"accountkey": "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="},
    "oss": {"accesskeysecret": "wrong-secret"},
}
STORE_CODES = r"AuthorizationFailure|AuthenticationFailed|SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId|403"


@pytest.mark.parametrize("name", sorted(WRONG))
def test_exists_raises_on_refused_credentials(name: str, store_parameters: Any) -> None:
    bad = filesystem_of({"driver": name, **store_parameters(name), **WRONG[name]})
    for call in (bad.exists, bad.isfile, bad.isdir):
        with pytest.raises(PermissionError):
            call("/a.csv")


@pytest.mark.parametrize("name", sorted(WRONG))
def test_refused_credentials_are_permission_errors_with_the_store_code(name: str, store_parameters: Any) -> None:
    bad = filesystem_of({"driver": name, **store_parameters(name), **WRONG[name]})
    for call in (lambda: bad.exists("/a"), lambda: bad.cat("/a"), lambda: bad.ls("/"), lambda: bad.pipe("/a", b"")):
        with pytest.raises(PermissionError, match=STORE_CODES):
            call()


def test_a_missing_bucket_says_so(s3_parameters: dict[str, Any]) -> None:
    fs = filesystem_of({"driver": "s3", **s3_parameters, "bucket": "no-such-bucket-i15", "maxretries": 0})
    with pytest.raises(OSError, match="bucket no-such-bucket-i15 does not exist"):
        fs.cat("/e/a.csv")


# -- 6. no silent in-memory default -----------------------------------------------------


def test_no_store_configured_is_an_error_naming_the_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    with pytest.raises(distfs.InvalidParameterError) as info:
        DistFileSystem()
    for way in ("driver=", "config=", "DISTFS_CONFIG", "DISTFS_DRIVER", "DISTFS_PARAMETERS"):
        assert way in str(info.value)
    with pytest.raises(ValueError, match="DISTFS_CONFIG"):
        pd.DataFrame({"a": [1]}).to_csv("distfs:///x.csv")
    with pytest.raises(distfs.InvalidParameterError, match="'drivr'"):
        DistFileSystem(drivr="s3")
    with pytest.raises(distfs.InvalidParameterError, match="'rootdirectory'"):
        DistFileSystem(driver="inmemory", rootdirectory="/x")
    assert DistFileSystem(driver="inmemory").driver.name == "inmemory"


def test_default_store_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pandas as pd

    monkeypatch.setenv("DISTFS_DRIVER", "filesystem")
    monkeypatch.setenv("DISTFS_PARAMETERS", json.dumps({"rootdirectory": str(tmp_path / "env")}))
    frame = pd.DataFrame({"a": [1, 2]})
    frame.to_csv("distfs:///x y/data.csv", index=False)
    assert (tmp_path / "env" / "x y" / "data.csv").read_text() == "a\n1\n2\n"
    assert "environment" in repr(DistFileSystem())
    monkeypatch.setenv("DISTFS_PARAMETERS", "{not json")
    DistFileSystem.clear_instance_cache()
    with pytest.raises(distfs.InvalidParameterError, match="DISTFS_PARAMETERS"):
        DistFileSystem()
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path / 'conf'}\n")
    monkeypatch.delenv("DISTFS_DRIVER")
    monkeypatch.setenv("DISTFS_CONFIG", str(config))
    DistFileSystem.clear_instance_cache()
    fs = DistFileSystem()
    fs.pipe("/c.txt", b"c")
    assert (tmp_path / "conf" / "c.txt").read_bytes() == b"c"


# -- 7. hive partitions and spaces by default; the error says how ------------------------


def test_hive_partitions_with_default_options(options: dict[str, Any]) -> None:
    import pandas as pd

    frame = pd.DataFrame({"year": [2023, 2024, 2024], "value": [1.5, 2.5, 3.5]})
    frame.to_parquet("distfs:///by year", partition_cols=["year"], storage_options=options)
    back = pd.read_parquet("distfs:///by year", storage_options=options)
    assert sorted(back["value"].tolist()) == [1.5, 2.5, 3.5]
    fs = filesystem_of(options)
    assert fs.ls("/by year", detail=False) == ["/by year/year=2023", "/by year/year=2024"]
    registry = filesystem_of({**options, "paths": "registry"})
    with pytest.raises(ValueError, match=r"character '=' .*paths='portable'"):
        registry.pipe("/year=2024/a", b"")
    with pytest.raises(ValueError, match=r"'\.\.'"):
        fs.pipe("/a/../b", b"")
    assert distfs.create("inmemory").portable_paths is False  # type: ignore[attr-defined]


# -- 9. rsync and GenericFileSystem -------------------------------------------------------


def test_rsync_and_generic_copy_into_distfs(options: dict[str, Any], tmp_path: Path) -> None:
    from fsspec.generic import GenericFileSystem, rsync

    source = tmp_path / "src"
    (source / "d").mkdir(parents=True)
    (source / "d" / "a.txt").write_bytes(b"a")
    (source / "b.txt").write_bytes(b"b")
    fsspec.filesystem("distfs", **options)  # the instance rsync's URLs resolve to
    fsspec.config.conf["distfs"] = options
    try:
        rsync(str(source), "distfs:///synced", delete_missing=True)
        fs = filesystem_of(options)
        assert fs.cat(["/synced/b.txt", "/synced/d/a.txt"]) == {"/synced/b.txt": b"b", "/synced/d/a.txt": b"a"}
        generic = GenericFileSystem()
        generic.cp_file(str(source / "b.txt"), "distfs:///generic/b.txt")
        assert fs.cat("/generic/b.txt") == b"b"
    finally:
        fsspec.config.conf.pop("distfs", None)


# -- 10. errors, reprs, transactions -----------------------------------------------------


def test_errors_keep_args_errno_and_filename_across_processes() -> None:
    error = distfs.PathNotFoundError("/a/b.csv", "s3")
    assert repr(error) == "PathNotFoundError(2, 's3: Path not found: /a/b.csv')"
    assert (error.errno, error.filename, error.strerror) == (2, "/a/b.csv", "s3: Path not found: /a/b.csv")
    denied = distfs.AccessDeniedError("AccessDenied", "s3")
    assert isinstance(denied, PermissionError)
    assert denied.errno == 13
    for sample in (
        error,
        denied,
        distfs.StoreNotFoundError("data", "azure", kind="container"),
        distfs.ObjectChangedError("/x", "gcs"),
        distfs.InvalidPathError("/a b", "s3", reason="character ' ' is not allowed"),
        distfs.DriverNotInstalledError("gcs", "gcs", "gcsfs"),
        distfs.ConfigError("storage.s3.bucket", "required"),
    ):
        script = "import pickle, sys; e = pickle.loads(sys.stdin.buffer.read()); print(repr(e)); print(str(e))"
        out = subprocess.run(
            [sys.executable, "-c", script], input=pickle.dumps(sample), capture_output=True, check=True
        ).stdout.decode()
        assert out == f"{sample!r}\n{sample}\n"
        assert repr(sample) != f"{type(sample).__name__}()"


def test_upath_first_use_does_not_warn(tmp_path: Path) -> None:
    script = (
        "import warnings; warnings.simplefilter('error'); from upath import UPath; "
        f"p = UPath('distfs:///a.txt', driver='filesystem', rootdirectory={str(tmp_path)!r}); "
        "p.write_text('x'); print(p.exists())"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "True"


def test_repr_names_driver_and_bucket_never_secrets(s3_parameters: dict[str, Any], tmp_path: Path) -> None:
    fs = filesystem_of({"driver": "s3", **s3_parameters})
    text = repr(fs)
    assert "'s3'" in text
    assert s3_parameters["bucket"] in text
    assert ACCESS_KEY not in text
    assert s3_parameters["secretkey"] not in text
    local = filesystem_of({"driver": "filesystem", "rootdirectory": str(tmp_path)})
    assert str(tmp_path) in repr(local)
    assert "size=3" in repr(distfs.FileInfo("/a", 3, distfs.driver.EPOCH, False))


def test_transaction_publishes_at_the_end_or_not_at_all(options: dict[str, Any]) -> None:
    fs = filesystem_of(options)
    with fs.transaction:
        with fs.open("/tx/a", "wb") as stream:
            stream.write(b"a")
        fs.pipe_file("/tx/b", b"b")
        assert not fs.exists("/tx/a")
        assert not fs.exists("/tx/b")
    assert fs.cat(["/tx/a", "/tx/b"]) == {"/tx/a": b"a", "/tx/b": b"b"}

    def aborted() -> None:
        with fs.transaction:
            with fs.open("/tx/a", "wb") as stream:
                stream.write(b"changed")
            fs.pipe_file("/tx/c", b"c")
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        aborted()
    assert fs.cat("/tx/a") == b"a"
    assert not fs.exists("/tx/c")


def test_cat_ranges_and_sizes_in_one_batch(tmp_path: Path) -> None:
    fs = filesystem_of({"driver": "filesystem", "rootdirectory": str(tmp_path)})
    fs.pipe({"/r/a": b"0123456789", "/r/b": b"abcdef"})
    assert fs.cat_ranges(["/r/a", "/r/b", "/r/a"], [0, 2, -3], [4, None, None]) == [b"0123", b"cdef", b"789"]
    missing = fs.cat_ranges(["/r/a", "/r/nope"], 0, 1)
    assert missing[0] == b"0"
    assert isinstance(missing[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        fs.cat_ranges(["/r/nope"], 0, 1, on_error="raise")
    assert fs.sizes(["/r/a", "/r/b"]) == [10, 6]


def test_credentials_from_the_environment_are_not_pickled(
    s3_parameters: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTFS_DRIVER", "s3")
    monkeypatch.setenv("DISTFS_PARAMETERS", json.dumps(s3_parameters))
    fs = DistFileSystem()
    fs.pipe("/p.txt", b"p")
    blob = pickle.dumps(fs)
    assert s3_parameters["secretkey"].encode() not in blob
    assert pickle.loads(blob).cat("/p.txt") == b"p"  # the copy resolves its own environment
    inline = pickle.dumps(filesystem_of({"driver": "s3", **s3_parameters}))
    assert s3_parameters["secretkey"].encode() in inline  # documented: inline credentials travel


def test_concurrency_follows_the_driver_under_middleware(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  i15-inflight:\n    rootdirectory: {tmp_path}\n    maxconcurrency: 40\n"
        "middleware:\n  storage:\n    - name: rewrite\n      options: {}\n"
    )
    fs = DistFileSystem(config=str(config))
    assert fs.concurrency() == 40
