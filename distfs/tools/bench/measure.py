"""What the bench measures besides time: bytes sent to a store, a fresh process's peak RSS
while it streams, and the machine the figures come from."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import urllib.parse
from typing import Any

from ... import factory
from ...parameters import KiB, MiB
from .timing import drain

__all__ = ["SentBytes", "endpoint_ports", "machine", "peak_rss_delta", "status", "written_chars"]


class SentBytes:
    """Bytes this process sends on sockets connected to ``ports`` (every port if empty).

    Counts at the socket (``send``, ``sendall``, ``sendmsg`` of :class:`socket.socket`), so
    it sees every HTTP library the backends use (aiohttp, requests) and the wire bytes,
    headers included. The count is only valid while nothing else in the process sends.
    """

    def __init__(self, ports: set[int]) -> None:
        self.ports = ports
        self.bytes = 0
        self._lock = threading.Lock()
        self._saved: dict[str, Any] = {}

    def _counts(self, sock: socket.socket) -> bool:
        if not self.ports:
            return True
        try:
            peer = sock.getpeername()
        except OSError:
            return False
        return isinstance(peer, tuple) and len(peer) >= 2 and peer[1] in self.ports

    def _add(self, sock: socket.socket, count: int) -> None:
        if count and self._counts(sock):
            with self._lock:
                self.bytes += count

    def __enter__(self) -> SentBytes:
        counter = self
        send, sendall, sendmsg = socket.socket.send, socket.socket.sendall, socket.socket.sendmsg
        self._saved = {"send": send, "sendall": sendall, "sendmsg": sendmsg}

        def counted_send(sock: socket.socket, data: Any, *args: Any) -> int:
            sent: int = send(sock, data, *args)
            counter._add(sock, sent)
            return sent

        def counted_sendall(sock: socket.socket, data: Any, *args: Any) -> None:
            sendall(sock, data, *args)
            counter._add(sock, memoryview(data).nbytes)

        def counted_sendmsg(sock: socket.socket, buffers: Any, *args: Any) -> int:
            sent: int = sendmsg(sock, buffers, *args)
            counter._add(sock, sent)
            return sent

        socket.socket.send = counted_send  # type: ignore[method-assign,assignment]
        socket.socket.sendall = counted_sendall  # type: ignore[method-assign,assignment]
        socket.socket.sendmsg = counted_sendmsg  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.send = self._saved["send"]  # type: ignore[method-assign]
        socket.socket.sendall = self._saved["sendall"]  # type: ignore[method-assign]
        socket.socket.sendmsg = self._saved["sendmsg"]  # type: ignore[method-assign]


def written_chars() -> int:
    """Bytes this process passed to ``write`` system calls so far (``/proc/self/io``)."""
    with open("/proc/self/io", encoding="ascii") as stream:
        for line in stream:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def endpoint_ports(parameters: dict[str, Any]) -> set[int]:
    """Ports of the URL-valued parameters (the store's endpoint); empty if none is given."""
    ports = set()
    for key in ("regionendpoint", "endpoint", "serviceurl"):
        value = parameters.get(key)
        if isinstance(value, str) and "://" in value:
            url = urllib.parse.urlsplit(value)
            ports.add(url.port or (443 if url.scheme == "https" else 80))
    return ports


def status(field_name: str) -> int:
    """A ``/proc/self/status`` memory field in bytes."""
    with open("/proc/self/status", encoding="ascii") as stream:
        for line in stream:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * KiB
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def peak_rss_delta(name: str, parameters: dict[str, Any], path: str, size: int) -> float:
    """MiB the peak RSS of a fresh process grows by while it streams ``size`` bytes
    through ``writer`` and back through ``reader``. Parameters go through stdin, never argv.
    """
    request = json.dumps({"driver": name, "parameters": parameters, "path": path, "size": size})
    result = subprocess.run(
        [sys.executable, "-c", "from distfs.tools.bench.measure import _rss_child; _rss_child()"],
        input=request.encode(),
        capture_output=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"peak RSS child for {name} failed: {tail[0]}")
    answer = json.loads(result.stdout.decode().strip().splitlines()[-1])
    return float(answer["peak"] - answer["baseline"]) / MiB


def _rss_child() -> None:
    """The child of :func:`peak_rss_delta`: the request on stdin, the answer on stdout."""
    request = json.loads(sys.stdin.read())
    driver = factory.create(request["driver"], request["parameters"])
    path, size = request["path"], request["size"]
    piece = memoryview(os.urandom(MiB))
    driver.put_content(path, b"warm-up")  # load every module and open the connections first
    with driver.reader(path) as stream:
        drain(stream)
    writer = driver.writer(path)
    writer.write(b"x")
    writer.commit()
    baseline = status("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # reset VmHWM to the current RSS
    writer = driver.writer(path)
    left = size
    while left > 0:
        take = min(left, MiB)
        writer.write(piece[:take])
        left -= take
    writer.commit()
    with driver.reader(path) as stream:
        read = drain(stream)
    peak = status("VmHWM")
    driver.delete(path)
    if read != size:
        raise RuntimeError(f"read back {read} bytes of {size}")
    print(json.dumps({"baseline": baseline, "peak": peak}))


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import fsspec

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii", errors="replace") as stream:
        for line in stream:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as stream:
        for line in stream:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / MiB:.1f} GiB"
                break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "fsspec": fsspec.__version__,
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
