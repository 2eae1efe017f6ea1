"""Checks every cloud driver's tests run the same way, on its own server."""

from __future__ import annotations

import contextlib
import http.server
import itertools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

import distfs
from distfs.tools.registry_store import put_blob, put_image

#: ``pytestmark`` of a module whose tests leave nothing open (issue 26): a ``ResourceWarning``
#: (an unclosed file, socket or session) fails the test, also when a finalizer reports it
#: and pytest sees an unraisable exception; other unraisable exceptions stay warnings.
NO_LEAKS = [
    pytest.mark.filterwarnings("error::ResourceWarning"),
    pytest.mark.filterwarnings("error:(?s).*ResourceWarning:pytest.PytestUnraisableExceptionWarning"),
]

_STEP = textwrap.dedent(
    """
    import json, sys, distfs
    name, parameters, path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    start, end = int(sys.argv[4]), int(sys.argv[5])
    with open(sys.argv[6], "rb") as source:
        source.seek(start)
        piece = source.read(end - start)
    writer = distfs.create(name, parameters).writer(path, append=start > 0)
    assert writer.size == start, (writer.size, start)
    writer.write(piece)
    writer.close()
    print(writer.size)
    """
)


def suspend_in_fresh_processes(
    driver: str, parameters: Mapping[str, Any], data: bytes, bounds: Sequence[int], path: str = "/p/data"
) -> None:
    """Write ``data[bounds[i]:bounds[i + 1]]`` to ``path``, each piece in a new process.

    Every process resumes the previous one's upload (checking its size), writes its piece
    and closes (suspends) the writer; nothing is committed.
    """
    with tempfile.NamedTemporaryFile() as source:
        source.write(data)
        source.flush()
        for start, end in itertools.pairwise(bounds):
            arguments = [driver, json.dumps(dict(parameters)), path, str(start), str(end), source.name]
            result = subprocess.run(
                [sys.executable, "-c", _STEP, *arguments], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, result.stderr
            assert int(result.stdout) == end


def two_instances_see_each_other(driver: str, parameters: Mapping[str, Any]) -> None:
    """A write through one driver instance is at once visible to another's list and stat."""
    first, second = distfs.create(driver, parameters), distfs.create(driver, parameters)
    assert first.list("/") == []
    second.put_content("/seen/now", b"1")
    assert first.list("/") == ["/seen"]
    assert first.stat("/seen/now").size == 1
    second.delete("/seen")
    assert first.list("/") == []
    with pytest.raises(distfs.PathNotFoundError):
        first.stat("/seen/now")


@contextlib.contextmanager
def json_server(status: int, document: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server on 127.0.0.1 answering every GET and POST with ``status`` and ``document`` (JSON).

    Yields its base URL and the list of the headers of every request it received.
    """
    seen: list[dict[str, str]] = []
    body = json.dumps(document).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def service_account_info(token_uri: str = "https://oauth2.googleapis.com/token", key_id: str = "k1") -> dict[str, str]:
    """A throwaway GCS service account with a fresh RSA key (nothing is registered anywhere)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": "distfs@test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }


#: The keywords every fsspec filesystem takes (AbstractFileSystem and its instance cache).
FSSPEC_KEYWORDS = {
    "skip_instance_cache",
    "use_listings_cache",
    "listings_expiry_time",
    "max_paths",
    "asynchronous",
    "loop",
}


@contextlib.contextmanager
def oauth_token_server(token: str) -> Iterator[str]:
    """An OAuth token endpoint on 127.0.0.1 handing out ``token``, so service-account
    credentials work against fake-gcs-server; yields its URL."""
    with json_server(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}) as (url, _):
        yield url + "/token"


def filled(driver: distfs.StorageDriver) -> dict[str, str]:
    """A registry store (``distfs.tools.registry_store``): two tagged images sharing a layer,
    one untagged manifest, one garbage blob; their digests by name."""
    shared = os.urandom(3000)
    return {
        "a": put_image(driver, "team/a", "v1", [shared, os.urandom(1000)]),
        "b": put_image(driver, "b", "latest", [shared]),
        "untagged": put_image(driver, "b", None, [os.urandom(500)]),
        "garbage": put_blob(driver, os.urandom(700)),
    }
