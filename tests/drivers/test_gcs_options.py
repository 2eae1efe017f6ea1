"""The gcs driver on gcsfs: every ``storage_options`` key and token mode, against fake-gcs-server.

fake-gcs-server accepts any bearer token and ignores ``userProject``, so what an option
does is proven on the wire: the requests are recorded by a proxy between the driver and
the emulator (:class:`FaultProxy` with ``heard``), tokens come from loopback OAuth and
metadata servers, and IAM ``signBlob`` is a loopback stub that checks what it is sent.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import inspect
import json
import pickle
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from cases import json_server, oauth_token_server
from fault_proxy import FaultProxy
from test_gcs import CHUNK, admin_put, new_bucket, service_account_info

import distfs
from distfs.backends.gcs import OPTIONS, settings_from

#: A request a stub server received: method, path with query, headers (lower-case names), body.
Heard = tuple[str, str, dict[str, str], bytes]
#: A stub's answer to one request: status and JSON document.
Route = Callable[[Heard], tuple[int, Any]]

SA_EMAIL = "signer@test.iam.gserviceaccount.com"


@contextlib.contextmanager
def stub(routes: dict[str, Route]) -> Iterator[tuple[str, list[Heard]]]:
    """A server on 127.0.0.1 answering by path prefix (JSON, ``Metadata-Flavor: Google``) and
    recording every request; yields its URL and the requests heard."""
    heard: list[Heard] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = (self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            heard.append(request)
            route = next((r for prefix, r in routes.items() if self.path.startswith(prefix)), None)
            status, document = route(request) if route else (404, {"error": {"code": 404, "message": "no route"}})
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Metadata-Flavor", "Google")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", heard
    finally:
        server.shutdown()
        server.server_close()


def token_route(token: str) -> Route:
    return lambda _: (200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})


@pytest.fixture
def bucket(gcs_endpoint: str) -> str:
    return new_bucket(gcs_endpoint)


@pytest.fixture
def wire(gcs_endpoint: str) -> Iterator[FaultProxy]:
    """A proxy in front of fake-gcs-server recording every request's method, path and headers."""
    with FaultProxy(gcs_endpoint, "gcs") as proxy:
        proxy.heard = []
        yield proxy


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    with oauth_token_server("sa-token") as url:
        yield url


def through(proxy: FaultProxy, bucket: str, **parameters: Any) -> distfs.StorageDriver:
    return distfs.create("gcs", {"bucket": bucket, "endpoint": proxy.endpoint, "chunksize": CHUNK, **parameters})


def authorizations(proxy: FaultProxy) -> set[str | None]:
    assert proxy.heard
    return {headers.get("authorization") for _, _, headers in proxy.heard}


def round_trip(driver: distfs.StorageDriver) -> None:
    driver.put_content("/a/b", b"payload")
    assert driver.get_content("/a/b") == b"payload"
    assert driver.list("/a") == ["/a/b"]


# -- the table ----------------------------------------------------------------------------


def test_every_gcsfs_keyword_is_classified() -> None:
    """Every keyword of GCSFileSystem and of fsspec's base classes has a row (used / ignored / rejected / engine)."""
    from fsspec.asyn import AsyncFileSystem
    from fsspec.dircache import DirCache
    from gcsfs.core import GCSFileSystem

    keywords = {"skip_instance_cache"}
    for function in (GCSFileSystem.__init__, AsyncFileSystem.__init__, DirCache.__init__):
        keywords |= {
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self")
        }
    assert keywords <= {option.key for option in OPTIONS.options}
    assert all(option.why for option in OPTIONS.options)
    assert "| `token` | `keyfile, credentials` | used |" in OPTIONS.markdown()


@pytest.mark.parametrize(
    ("options", "parameter", "words"),
    [
        ({"tokn": "anon"}, "storage_options.tokn", "unknown gcsfs option"),
        ({"use_listings_cache": False}, "storage_options.use_listings_cache", "never cached"),
        ({"version_aware": True}, "storage_options.version_aware", "not accepted"),
        ({"block_size": 1 << 20}, "storage_options.block_size", "'chunksize'"),
        ({"requests_timeout": 5}, "storage_options.requests_timeout", "sets this itself"),
        ({"token": "browser"}, "storage_options.token", "interactive"),
        ({"token": "/nonexistent/sa.json"}, "storage_options.token", "names no file"),
        ({"consistency": "sha1"}, "storage_options.consistency", "one of"),
        ({"requester_pays": 1}, "storage_options.requester_pays", "boolean or a project"),
        ({"session_kwargs": {"connector": None}}, "storage_options.session_kwargs.connector", "per event loop"),
        ({"session_kwargs": []}, "storage_options.session_kwargs", "mapping"),
        ({"endpoint_url": "127.0.0.1:1"}, "storage_options.endpoint_url", "http or https"),
    ],
)
def test_bad_storage_options_name_the_key(options: dict[str, Any], parameter: str, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("gcs", {"bucket": "b", "storage_options": options})
    assert (info.value.driver, info.value.parameter) == ("gcs", parameter)
    assert words in str(info.value)


def test_gcsfs_errors_name_the_key_and_hide_values() -> None:
    broken = {**service_account_info(), "private_key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n"}
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("gcs", {"bucket": "b", "endpoint": "http://127.0.0.1:9", "storage_options": {"token": broken}})
    assert info.value.parameter == "storage_options.token"
    assert "c2VjcmV0LWtleQ" not in str(info.value)
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("gcs", {"bucket": "b", "storage_options": {"token": "anon", "access": "everything"}})
    assert info.value.parameter == "storage_options.access"
    with pytest.raises(distfs.InvalidParameterError, match="needs a project") as info:
        distfs.create("gcs", {"bucket": "b", "storage_options": {"token": "anon", "requester_pays": True}})
    with pytest.raises(distfs.InvalidParameterError) as info:  # off Google, no metadata server
        distfs.create("gcs", {"bucket": "b", "endpoint": "http://127.0.0.1:9", "storage_options": {"token": "cloud"}})
    assert info.value.parameter == "storage_options.token"


def test_no_secret_in_repr_str_or_errors(token_server: str) -> None:
    sa = service_account_info(token_server)
    secrets = [sa["private_key"][40:100], "hunter2-proxy-password", "pw-h4x0r"]
    session = {
        "headers": {"Proxy-Authorization": "Basic hunter2-proxy-password"},
        "proxy": "http://u:pw-h4x0r@127.0.0.1:9",
    }
    options = {"token": sa, "session_kwargs": session}
    parameters = {"bucket": "b", "endpoint": "http://127.0.0.1:9", "maxretries": 0, "storage_options": options}
    driver = distfs.create("gcs", parameters)
    shown = [repr(driver), str(driver), repr(settings_from(parameters)), str(settings_from(parameters))]
    with pytest.raises(distfs.StorageDriverError) as info:
        driver.stat("/x")
    shown.append(str(info.value))
    with pytest.raises(distfs.InvalidParameterError) as bad:
        distfs.create("gcs", {**parameters, "storage_options": {**options, "tokenn": sa}})
    shown.append(str(bad.value))
    for text in shown:
        assert not any(secret in text for secret in secrets), text


# -- token modes, proven on the wire ----------------------------------------------------------


def test_anon_sends_no_authorization_and_refuses_writes(wire: FaultProxy, gcs_endpoint: str, bucket: str) -> None:
    admin_put(gcs_endpoint, bucket, "public/blob", b"open data")
    driver = through(wire, bucket, storage_options={"token": "anon"})
    assert driver.get_content("/public/blob") == b"open data"
    assert authorizations(wire) == {None}
    for write in (
        lambda: driver.put_content("/x", b"1"),
        lambda: driver.delete("/public"),
        lambda: driver.move("/public/blob", "/y"),
    ):
        with pytest.raises(distfs.AccessDeniedError, match="read-only"):
            write()
    assert wire.heard is not None
    assert {method for method, _, _ in wire.heard} == {"GET"}  # nothing was sent to write
    assert driver.redirect_url("/public/blob") is None


def test_an_endpoint_without_credentials_is_anonymous_and_writable(wire: FaultProxy, bucket: str) -> None:
    round_trip(through(wire, bucket))
    assert authorizations(wire) == {None}


def test_service_account_file_and_dict(wire: FaultProxy, bucket: str, tmp_path: Path) -> None:
    """Two drivers with different service accounts live side by side, each sending its own token."""
    with oauth_token_server("file-token") as file_uri, oauth_token_server("dict-token") as dict_uri:
        keyfile = tmp_path / "sa.json"
        keyfile.write_text(json.dumps(service_account_info(file_uri)))
        from_file = through(wire, bucket, storage_options={"token": str(keyfile)})
        from_dict = through(wire, bucket, storage_options={"token": service_account_info(dict_uri)})
        for driver, token in ((from_file, "file-token"), (from_dict, "dict-token"), (from_file, "file-token")):
            wire.heard = []
            round_trip(driver)
            assert authorizations(wire) == {f"Bearer {token}"}
        wire.heard = []
        # distribution's credentials win over storage_options (and are not read-only)
        driver = through(wire, bucket, credentials=service_account_info(file_uri), storage_options={"token": "anon"})
        round_trip(driver)
        assert authorizations(wire) == {"Bearer file-token"}


def test_google_default(
    wire: FaultProxy, bucket: str, tmp_path: Path, token_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyfile = tmp_path / "adc.json"
    keyfile.write_text(json.dumps(service_account_info(token_server)))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(keyfile))
    driver = through(wire, bucket, storage_options={"token": "google_default"})
    round_trip(driver)
    assert authorizations(wire) == {"Bearer sa-token"}
    assert driver.inner.engine.store.fs.project == "test"  # type: ignore[attr-defined]  # ADC's project


def test_a_credentials_object(wire: FaultProxy, bucket: str) -> None:
    """A google.auth Credentials object is used as it is (here a user token, which cannot sign)."""
    from google.oauth2.credentials import Credentials

    driver = through(wire, bucket, storage_options={"token": Credentials("object-token")})
    round_trip(driver)
    assert authorizations(wire) == {"Bearer object-token"}
    assert driver.redirect_url("/a/b") is None


def test_refused_credentials_are_access_denied(wire: FaultProxy, bucket: str) -> None:
    with json_server(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}) as (url, seen):
        driver = through(wire, bucket, storage_options={"token": service_account_info(url + "/token")})
        with pytest.raises(distfs.AccessDeniedError):
            driver.stat("/x")
        assert seen
    assert wire.heard == []  # nothing reached the store


def test_a_failing_token_endpoint_is_retried_not_denied(wire: FaultProxy, bucket: str) -> None:
    """google-auth retries a token endpoint's 5xx itself (one layer: the engine does not again)."""
    with json_server(503, {"error": "unavailable"}) as (url, seen):
        driver = through(wire, bucket, storage_options={"token": service_account_info(url + "/token")})
        with pytest.raises(distfs.DriverError) as info:
            driver.stat("/x")
    assert not isinstance(info.value, distfs.AccessDeniedError)
    assert "token endpoint failed" in str(info.value)
    assert len(seen) == 3  # google-auth's attempts; the engine's maxretries (5) did not multiply them
    assert wire.heard == []


def test_access_is_the_scope_of_the_tokens(wire: FaultProxy, bucket: str) -> None:
    with stub({"/token": token_route("ro-token")}) as (url, heard):
        driver = through(
            wire, bucket, storage_options={"token": service_account_info(url + "/token"), "access": "read_only"}
        )
        assert driver.list("/") == []
    [(_, _, _, body)] = heard
    assertion = urllib.parse.parse_qs(body.decode())["assertion"][0]
    claims = json.loads(base64.urlsafe_b64decode(assertion.split(".")[1] + "=="))
    assert claims["scope"] == "https://www.googleapis.com/auth/devstorage.read_only"
    assert authorizations(wire) == {"Bearer ro-token"}


# -- signed URLs: locally, or through IAM signBlob ----------------------------------------------


def metadata_routes(email: str, token: str) -> dict[str, Route]:
    """A Compute Engine metadata server: the default service account's e-mail and token."""
    base = "/computeMetadata/v1/instance/service-accounts/default/"
    info = {"email": email, "scopes": ["https://www.googleapis.com/auth/cloud-platform"], "aliases": ["default"]}
    return {base + "token": token_route(token), base: lambda _: (200, info)}


def test_signed_urls_through_iam_sign_blob(
    wire: FaultProxy, gcs_endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compute Engine credentials hold no key: the URL is signed by signBlob, with the
    store's bearer token, and carries the signature IAM returned."""
    from google.auth import compute_engine
    from google.auth.compute_engine import _metadata

    signature = b"\x01signed-by-iam\xff"

    def sign_blob(request: Heard) -> tuple[int, Any]:
        method, path, headers, body = request
        ok = (
            method == "POST"
            and path == f"/v1/projects/-/serviceAccounts/{SA_EMAIL}:signBlob"
            and headers.get("authorization") == "Bearer mds-token"
            and base64.b64decode(json.loads(body)["payload"]).startswith(b"GOOG4-RSA-SHA256\n")
        )
        return (200, {"keyId": "k", "signedBlob": base64.b64encode(signature).decode()}) if ok else (403, {})

    with stub(metadata_routes(SA_EMAIL, "mds-token")) as (mds, _), stub({"/v1/": sign_blob}) as (iam, signed):
        monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", mds.removeprefix("http://"))
        driver = through(wire, bucket, storage_options={"token": compute_engine.Credentials()})
        round_trip(driver)
        assert authorizations(wire) == {"Bearer mds-token"}
        driver.inner.engine.store.iam_endpoint = iam  # type: ignore[attr-defined]
        url = driver.redirect_url("/a/b", "GET")
        assert url is not None
        assert len(signed) == 1
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Goog-Signature"] == [signature.hex()]
    assert query["X-Goog-Credential"][0].startswith(SA_EMAIL + "/")
    assert url.startswith(f"{wire.endpoint}/{bucket}/a/b?")


def test_cloud_token_from_the_metadata_server(wire: FaultProxy, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``token="cloud"``: gcsfs asks the metadata server (here a loopback one; gcsfs allows the
    mode only when its endpoint is Google's, which the test makes it believe)."""
    from gcsfs.core import GCSFileSystem
    from google.auth.compute_engine import _metadata

    with stub(metadata_routes(SA_EMAIL, "cloud-token")) as (mds, heard):
        monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", mds.removeprefix("http://"))
        monkeypatch.setattr(GCSFileSystem, "on_google", property(lambda self: True))
        driver = through(wire, bucket, storage_options={"token": "cloud"})
        round_trip(driver)
    assert authorizations(wire) == {"Bearer cloud-token"}
    assert any("/token" in path for _, path, _, _ in heard)


def test_a_refused_sign_blob_is_access_denied(wire: FaultProxy, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth import compute_engine
    from google.auth.compute_engine import _metadata

    def refuse(_: Heard) -> tuple[int, Any]:
        return 403, {"error": {"code": 403, "message": "Permission iam.serviceAccounts.signBlob denied"}}

    with stub(metadata_routes(SA_EMAIL, "mds-token")) as (mds, _), stub({"/v1/": refuse}) as (iam, _):
        monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", mds.removeprefix("http://"))
        driver = through(wire, bucket, storage_options={"token": compute_engine.Credentials()})
        driver.inner.engine.store.iam_endpoint = iam  # type: ignore[attr-defined]
        with pytest.raises(distfs.AccessDeniedError, match="signBlob"):
            driver.redirect_url("/a/b")


# -- requester pays, project, session, consistency, endpoint --------------------------------------


def user_projects(proxy: FaultProxy) -> set[str]:
    assert proxy.heard
    found = set()
    for _, path, _ in proxy.heard:
        values = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("userProject", [""])
        found.add(values[0])
    return found


def test_requester_pays_bills_every_request(wire: FaultProxy, bucket: str, token_server: str) -> None:
    options = {"requester_pays": True, "project": "billed-project", "token": service_account_info(token_server)}
    driver = through(wire, bucket, storage_options=options)
    round_trip(driver)
    w = driver.writer("/big")
    w.write(b"x" * (2 * CHUNK + 1))  # parts, composes, deletes
    w.commit()
    driver.move("/big", "/moved")
    driver.delete("/a")
    assert user_projects(wire) == {"billed-project"}
    url = driver.redirect_url("/moved")
    assert url is not None
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["userProject"] == ["billed-project"]
    wire.heard = []
    driver = through(wire, bucket, storage_options={"requester_pays": "other-project"})
    round_trip(driver)
    assert user_projects(wire) == {"other-project"}
    wire.heard = []
    round_trip(through(wire, bucket, storage_options={"project": "not-billed"}))
    assert user_projects(wire) == {""}


def test_session_kwargs_reach_every_request_and_fsspec_config_is_beneath(
    wire: FaultProxy, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    round_trip(through(wire, bucket, storage_options={"session_kwargs": {"headers": {"X-Probe": "options"}}}))
    assert wire.heard
    assert {headers.get("x-probe") for _, _, headers in wire.heard} == {"options"}
    monkeypatch.setitem(fsspec.config.conf, "gcs", {"session_kwargs": {"headers": {"X-Probe": "conf"}}})
    wire.heard = []
    round_trip(through(wire, bucket))
    assert {headers.get("x-probe") for _, _, headers in wire.heard} == {"conf"}
    wire.heard = []
    round_trip(through(wire, bucket, storage_options={"session_kwargs": {"headers": {"X-Probe": "options"}}}))
    assert {headers.get("x-probe") for _, _, headers in wire.heard} == {"options"}


@pytest.mark.parametrize("consistency", ["size", "md5"])
def test_consistency_checks_every_upload(consistency: str, gcs_endpoint: str, bucket: str) -> None:
    driver = distfs.create(
        "gcs",
        {
            "bucket": bucket,
            "endpoint": gcs_endpoint,
            "chunksize": CHUNK,
            "storage_options": {"consistency": consistency},
        },
    )
    round_trip(driver)
    w = driver.writer("/parts")
    w.write(b"p" * (2 * CHUNK + 3))
    w.commit()
    assert driver.stat("/parts").size == 2 * CHUNK + 3
    # a store answering an upload with another object's size and hash
    lie = {"name": "x", "bucket": bucket, "generation": "1", "size": "1", "md5Hash": "AAAAAAAAAAAAAAAAAAAAAA=="}
    with json_server(200, lie) as (url, _):
        parameters = {"bucket": bucket, "endpoint": url, "maxretries": 0}
        distfs.create("gcs", parameters).put_content("/x", b"abc")  # no check: accepted
        checked = distfs.create("gcs", {**parameters, "storage_options": {"consistency": consistency}})
        with pytest.raises(distfs.DriverError, match=f"{consistency} check failed"):
            checked.put_content("/x", b"abc")


def test_endpoint_url_and_its_precedence(wire: FaultProxy, gcs_endpoint: str, bucket: str) -> None:
    driver = distfs.create("gcs", {"bucket": bucket, "storage_options": {"endpoint_url": wire.endpoint}})
    round_trip(driver)
    assert authorizations(wire) == {None}  # an endpoint without credentials: anonymous
    # distribution's endpoint wins over storage_options' endpoint_url (a dead port here)
    dead = {"endpoint_url": "http://127.0.0.1:9"}
    round_trip(distfs.create("gcs", {"bucket": bucket, "endpoint": gcs_endpoint, "storage_options": dead}))


def test_unreachable_endpoint_and_missing_bucket(gcs_endpoint: str) -> None:
    driver = distfs.create(
        "gcs", {"bucket": "b", "maxretries": 1, "storage_options": {"endpoint_url": "http://127.0.0.1:9"}}
    )
    with pytest.raises(distfs.DriverError, match=r"http://127\.0\.0\.1:9"):
        driver.stat("/x")
    missing = distfs.create("gcs", {"bucket": "no-such-bucket-i24", "storage_options": {"endpoint_url": gcs_endpoint}})
    with pytest.raises(distfs.StoreNotFoundError):
        missing.list("/")


def test_distfs_filesystem_with_storage_options_pickles(wire: FaultProxy, bucket: str, token_server: str) -> None:
    """Plain-value storage_options (a service account's fields among them) travel with the
    pickle: the copy sends the same token and options."""
    from distfs.protocol import DistFileSystem

    options = {
        "token": service_account_info(token_server),
        "requester_pays": "pickled-project",
        "session_kwargs": {"headers": {"X-Probe": "1"}},
        "consistency": "md5",
    }
    fs = DistFileSystem(driver="gcs", bucket=bucket, endpoint=wire.endpoint, storage_options=options)
    fs.pipe_file("/t/data.bin", b"pickled")
    again = pickle.loads(pickle.dumps(fs))
    wire.heard = []
    assert again.cat_file("/t/data.bin") == b"pickled"
    again.pipe_file("/t/other.bin", b"2")
    assert fs.cat_file("/t/other.bin") == b"2"
    assert authorizations(wire) == {"Bearer sa-token"}
    assert user_projects(wire) == {"pickled-project"}
    assert options["token"]["private_key"][40:100] not in repr(again)


def test_config_yml_takes_storage_options(wire: FaultProxy, bucket: str) -> None:
    config = f"""
version: 0.1
storage:
  gcs:
    bucket: {bucket}
    endpoint: {wire.endpoint}
    storage_options:
      requester_pays: from-config
      session_kwargs:
        headers:
          X-Probe: config
"""
    round_trip(distfs.from_config(config, environ={}))
    assert user_projects(wire) == {"from-config"}
    assert wire.heard is not None
    assert {headers.get("x-probe") for _, _, headers in wire.heard} == {"config"}
    with pytest.raises(distfs.ConfigError) as info:
        distfs.from_config(config.replace("requester_pays", "requester_payz"), environ={})
    assert "storage.gcs.storage_options.requester_payz" in str(info.value)
    wire.heard = []
    environ = {"REGISTRY_STORAGE_GCS_STORAGE_OPTIONS_REQUESTER_PAYS": "from-environment"}
    round_trip(distfs.from_config(config, environ=environ))
    assert user_projects(wire) == {"from-environment"}


def test_a_store_from_a_users_filesystem(wire: FaultProxy, bucket: str) -> None:
    """``GCSStore.from_filesystem``: the configuration is the instance's (here its endpoint,
    requester pays and session options), not the settings'."""
    from gcsfs.core import GCSFileSystem

    from distfs.backends.gcs import GCSStore
    from distfs.engine import build

    session = {"headers": {"X-Probe": "instance"}, "trust_env": False}
    fs = GCSFileSystem(token="anon", endpoint_url=wire.endpoint, requester_pays="users-project", session_kwargs=session)
    store = GCSStore.from_filesystem(fs, settings_from({"bucket": bucket}))
    round_trip(build(store, retries=0, chunk=CHUNK))
    assert user_projects(wire) == {"users-project"}
    assert wire.heard is not None
    assert {headers.get("x-probe") for _, _, headers in wire.heard} == {"instance"}
    assert store.fs is fs
