"""A local SFTP server for tests: asyncssh's SFTP server chrooted to one directory.

Plain SFTP only (no shell, no ``exec``, no port forwarding): what a locked-down SFTP
host offers, so a client that runs shell commands (sshfs's ``cp``) sees them refused.
One user logs in with a password, which is read from ``$DISTFS_SFTP_PASSWORD`` (never
from the command line, where ``ps`` would show it), or with a key of ``--authorized-keys``.
The host key is generated at start and lives only in memory, so clients connect with
``known_hosts=None``. The SFTP
extensions are asyncssh's (``posix-rename@openssh.com``, ``statvfs``, ``hardlink``, ...).

Started and stopped by :func:`distfs.tools.servers.sftp_server`; run standalone::

    DISTFS_SFTP_PASSWORD=secret python -m distfs.tools.sftp_server --port 2222 --root DIR --username me

Started as root, ``--user nobody`` makes it run as ``nobody`` once it listens, so that file
permissions refuse what they would refuse on a real host (root reads a mode-000 file).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
from collections.abc import Callable, Sequence

import asyncssh

from .servers import PASSWORD_VARIABLE

__all__ = ["main", "serve"]


class _PasswordServer(asyncssh.SSHServer):
    """One user, one password; every other login is refused."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username
        self._password = password

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is required for everyone

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return hmac.compare_digest(username.encode(), self._username.encode()) and hmac.compare_digest(
            password.encode(), self._password.encode()
        )


def _sftp_factory(root: str) -> Callable[[asyncssh.SSHServerChannel[bytes]], asyncssh.SFTPServer]:
    def make(channel: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(channel, chroot=root.encode())

    return make


async def serve(
    host: str, port: int, root: str, username: str, password: str, *, authorized_keys: str | None = None
) -> asyncssh.SSHAcceptor:
    """Listen on ``host:port``; SFTP sessions see ``root`` as ``/`` (also their home directory).

    ``authorized_keys``: an OpenSSH ``authorized_keys`` file whose keys may log in as
    ``username`` too (read now, before any change of user).
    """
    key = asyncssh.generate_private_key("ssh-ed25519")
    return await asyncssh.listen(
        host,
        port,
        server_host_keys=[key],
        # read now: asyncssh would read a file name again at every login, maybe as another user
        authorized_client_keys=asyncssh.read_authorized_keys(authorized_keys) if authorized_keys else None,
        server_factory=lambda: _PasswordServer(username, password),
        sftp_factory=_sftp_factory(os.path.realpath(root)),
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
    )


def _drop_to(user: str) -> None:
    """Run on as ``user`` (started as root): file permissions then deny as on a real host."""
    import ctypes
    import pwd
    import signal

    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    # Changing the user clears the parent-death signal servers._die_with_parent set: set it again.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


async def _run(arguments: argparse.Namespace, password: str) -> None:
    acceptor = await serve(
        arguments.host,
        arguments.port,
        arguments.root,
        arguments.username,
        password,
        authorized_keys=arguments.authorized_keys,
    )
    user: str | None = arguments.user
    if user:
        _drop_to(user)  # after everything is imported: the new user may not read the interpreter's files
    print(f"listening on {arguments.host}:{arguments.port}", flush=True)
    await acceptor.wait_closed()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m distfs.tools.sftp_server --port N --root DIR [--host H] [--username U]``."""
    parser = argparse.ArgumentParser(prog="python -m distfs.tools.sftp_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True, help="the directory clients see as /")
    parser.add_argument("--username", default="distfs", help="the SFTP login")
    parser.add_argument("--authorized-keys", metavar="FILE", help="keys that may log in too (authorized_keys format)")
    parser.add_argument("--user", help="the local account to run as once listening (when started as root)")
    arguments = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        parser.error(f"set the user's password in ${PASSWORD_VARIABLE}")
    asyncio.run(_run(arguments, password))


if __name__ == "__main__":  # pragma: no cover - run as a subprocess by servers.sftp_server
    main()
