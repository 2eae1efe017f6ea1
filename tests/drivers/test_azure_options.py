"""The azure driver on adlfs: ``storage_options``, every credential kind, ``redirect_url`` by kind.

Against Azurite: account key, connection string, a container SAS made here, anonymous
access to a public container, credential objects (``AzureNamedKeyCredential``,
``AzureSasCredential``) on the shared http Azurite; a token credential on a second Azurite
over https with ``--oauth basic`` (Azurite checks a bearer token's issuer, audience and
lifetime, not its signature, and hands out user delegation keys), so the token is made here,
handed out by a test credential or by azure.identity's ClientSecretCredential through a
loopback https token endpoint.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import inspect
import json
import pickle
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fsspec
import pytest
from conftest import azurite_connection_string, unique_name
from fault_proxy import FaultProxy
from test_azure import Requests, admin, make, parameters_for, store_of

import distfs
from distfs.backends.azure import OPTIONS, AzureStore, settings_from
from distfs.backends.azure.settings import filesystem_options
from distfs.engine import build
from distfs.tools.servers import AZURITE_ACCOUNT, AZURITE_KEY, azurite

SAS_SECRET = "sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
# Azurite's fixed secret of user delegation keys (public, in its source: USERDELEGATIONKEY_BASIC_KEY).
AZURITE_DELEGATION_SECRET = "I17GKLvcJUossaebtsEDZZ2RJ8GNLwLH4m7hRMxbVbkx6wNIRAABj4Rtw0FBhFuEAgmbL4gFMzUw+AStz9Sqdg=="

# -- the table ------------------------------------------------------------------------


def test_every_adlfs_keyword_is_in_the_table() -> None:
    from adlfs import AzureBlobFileSystem

    keywords = set(inspect.signature(AzureBlobFileSystem.__init__).parameters) - {"self", "kwargs"}
    fsspec_keywords = {"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths"}
    listed = {option.key for option in OPTIONS.options}
    assert keywords | fsspec_keywords == listed
    assert all(option.why for option in OPTIONS.options if option.use != "used")
    assert "`account_key` | `accountkey` | used" in OPTIONS.markdown()


@pytest.mark.parametrize(
    ("options", "key", "words"),
    [
        ({"acount_key": "x"}, "storage_options.acount_key", "unknown adlfs option"),
        ({"version_aware": True}, "storage_options.version_aware", "not accepted"),
        ({"use_listings_cache": True}, "storage_options.use_listings_cache", "not accepted"),
        ({"blocksize": 1 << 20}, "storage_options.blocksize", "distfs sets this itself"),
        ({"loop": None}, "storage_options.loop", "distfs sets this itself"),
        ({"location_mode": "secondary"}, "storage_options.location_mode", "primary"),
        ({"credential": 42}, "storage_options.credential", "credential object"),
        ({"connection_string": "garbage-secret"}, "storage_options.connection_string", "Name=Value"),
        ("account_key=x", "storage_options", "mapping"),
    ],
)
def test_bad_storage_options_are_named(options: Any, key: str, words: str) -> None:
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("azure", {"accountname": "acct", "container": "c", "storage_options": options})
    assert (info.value.driver, info.value.parameter) == ("azure", key)
    assert words in str(info.value)
    assert "garbage-secret" not in str(info.value)


def test_adlfs_refusals_are_invalid_parameters_without_values() -> None:
    key = "c2VjcmV0LWtleS12YWx1ZQ=="
    options = {"connection_string": f"AccountName=acct;AccountKey={key};BlobSecondaryEndpoint=https://x"}
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("azure", {"accountname": "acct", "container": "c", "storage_options": options})
    assert info.value.parameter == "storage_options"
    assert "secondary endpoint" in str(info.value)  # adlfs's own message
    assert key not in str(info.value)


def test_precedence_user_keys_over_storage_options_over_defaults() -> None:
    settings = settings_from(
        {
            "accountname": "mine",
            "accountkey": "a2V5",
            "container": "c",
            "storage_options": {"account_name": "theirs", "account_key": "b3RoZXI=", "account_host": "h.example"},
        }
    )
    arguments = filesystem_options(settings)
    assert (arguments["account_name"], arguments["account_key"]) == ("mine", "a2V5")  # the user's keys win
    assert arguments["account_host"] == "h.example"  # over realm's default host
    assert arguments["skip_instance_cache"] is True  # the engine's
    realm = filesystem_options(
        settings_from(
            {
                "accountname": "a",
                "accountkey": "a2V5",
                "container": "c",
                "realm": "core.chinacloudapi.cn",
                "storage_options": {"account_host": "h.example"},
            }
        )
    )
    assert realm["account_host"] == "a.blob.core.chinacloudapi.cn"  # realm given: the user's key wins
    only_options = settings_from({"container": "c", "storage_options": {"account_name": "acct", "sas_token": "sv=1"}})
    assert (only_options.accountname, only_options.credentials) == ("acct", "storage_options")
    assert AzureStore.from_settings(only_options).url == "https://acct.blob.core.windows.net"


# -- credential kinds on Azurite (http) -------------------------------------------------------


class Recorded:
    """The ``Authorization`` header and URL of each request as sent (a response hook sees the
    request after the SDK's credential policy signed it)."""

    def __init__(self) -> None:
        self.authorization: list[str] = []
        self.urls: list[str] = []

    def __call__(self, response: Any) -> None:
        self.authorization.append(str(response.http_request.headers.get("Authorization", "")))
        self.urls.append(str(response.http_request.url))


def recorded(parameters: dict[str, Any], recorder: Recorded) -> distfs.StorageDriver:
    settings = settings_from(parameters)
    store = AzureStore.from_settings(settings, client_options={"raw_response_hook": recorder})
    return build(store, root=settings.rootdirectory, retries=max(settings.max_retries, 0), chunk=4 << 20)


@pytest.fixture
def container(azurite_endpoint: str) -> Any:
    client = admin(azurite_endpoint).get_container_client(unique_name("opts"))
    client.create_container()
    return client


def roundtrip(driver: distfs.StorageDriver, container: Any) -> None:
    """A write, a read, a list, a move and a delete through ``driver``, checked by the admin client."""
    driver.put_content("/d/a", b"alpha")
    assert driver.get_content("/d/a") == b"alpha"
    assert container.get_blob_client("d/a").download_blob().readall() == b"alpha"
    driver.move("/d/a", "/d/b")
    assert driver.list("/d") == ["/d/b"]
    driver.delete("/d")
    assert not list(container.list_blobs())


def fetch(url: str, context: ssl.SSLContext | None = None) -> bytes:
    with urllib.request.urlopen(url, timeout=30, context=context) as response:
        data: bytes = response.read()
        return data


def test_account_key_in_storage_options(azurite_endpoint: str, container: Any) -> None:
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": container.container_name}
    driver = distfs.create("azure", {**parameters, "storage_options": {"account_key": AZURITE_KEY}})
    roundtrip(driver, container)
    driver.put_content("/k", b"key")
    url = driver.redirect_url("/k", "GET")
    assert url
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["sp"] == ["r"]
    assert "skoid" not in query  # a service SAS, signed with the key
    assert fetch(url) == b"key"


def test_connection_string_in_storage_options(azurite_endpoint: str, container: Any) -> None:
    options = {"connection_string": azurite_connection_string(azurite_endpoint)}
    driver = distfs.create("azure", {"container": container.container_name, "storage_options": options})
    roundtrip(driver, container)
    driver.put_content("/k", b"conn")
    url = driver.redirect_url("/k", "GET")
    assert url
    assert fetch(url) == b"conn"


def container_sas(container: Any, permission: str) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        AZURITE_ACCOUNT,
        container.container_name,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions.from_string(permission),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


def test_sas_token(azurite_endpoint: str, container: Any) -> None:
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": container.container_name}
    requests = Recorded()
    sas = container_sas(container, "racwdl")
    driver = recorded({**parameters, "storage_options": {"sas_token": sas}}, requests)
    roundtrip(driver, container)
    assert requests.urls
    assert all("sig=" in url for url in requests.urls)  # every request carries the SAS
    assert set(requests.authorization) == {""}  # and no key
    driver.put_content("/k", b"sas")
    assert driver.redirect_url("/k", "GET") is None  # a SAS cannot sign another
    read_only = distfs.create("azure", {**parameters, "storage_options": {"sas_token": container_sas(container, "rl")}})
    assert read_only.get_content("/k") == b"sas"
    with pytest.raises(distfs.AccessDeniedError):
        read_only.put_content("/other", b"x")
    assert [b.name for b in container.list_blobs()] == ["k"]


def test_anon_on_a_public_container(azurite_endpoint: str, container: Any) -> None:
    container.set_container_access_policy(signed_identifiers={}, public_access="container")
    container.upload_blob("pub/a", b"public")
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": container.container_name}
    requests = Recorded()
    driver = recorded({**parameters, "storage_options": {"anon": True}}, requests)
    assert driver.get_content("/pub/a") == b"public"
    assert driver.list("/pub") == ["/pub/a"]
    assert requests.authorization
    assert set(requests.authorization) == {""}  # no credential on the wire
    for write in (lambda: driver.put_content("/pub/b", b"x"), lambda: driver.delete("/pub/a")):
        with pytest.raises(distfs.AccessDeniedError):
            write()
    assert driver.redirect_url("/pub/a", "GET") is None
    assert [b.name for b in container.list_blobs()] == ["pub/a"]


def test_anon_on_a_private_container_is_denied(azurite_endpoint: str, container: Any) -> None:
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": container.container_name}
    driver = distfs.create("azure", {**parameters, "storage_options": {"anon": True}})
    with pytest.raises(distfs.AccessDeniedError):
        driver.list("/")


@pytest.mark.parametrize("kind", ["named_key", "sas"])
def test_credential_objects(azurite_endpoint: str, container: Any, kind: str) -> None:
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential

    credential: Any = (
        AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
        if kind == "named_key"
        else AzureSasCredential(container_sas(container, "racwdl"))
    )
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": container.container_name}
    driver = distfs.create("azure", {**parameters, "storage_options": {"credential": credential}})
    assert store_of(driver).fs.credential is credential
    roundtrip(driver, container)
    driver.put_content("/k", b"obj")
    url = driver.redirect_url("/k", "GET")
    if kind == "named_key":
        assert url
        assert fetch(url) == b"obj"
    else:
        assert url is None


def test_a_store_from_a_users_filesystem(azurite_endpoint: str, container: Any) -> None:
    fs = fsspec.filesystem(
        "abfs", connection_string=azurite_connection_string(azurite_endpoint), skip_instance_cache=True
    )
    settings = settings_from(
        {"accountname": AZURITE_ACCOUNT, "container": container.container_name, "storage_options": {"anon": True}}
    )
    store = AzureStore.from_filesystem(fs, settings)  # the settings hold no credential: the filesystem does
    driver = build(store, root="", retries=5, chunk=4 << 20)
    driver.put_content("/yours", b"fs")
    assert fs.cat(f"{container.container_name}/yours") == b"fs"  # adlfs itself reads it back
    assert store.fs is fs


def test_fsspec_config_is_the_lowest_layer(azurite_endpoint: str, container: Any) -> None:
    parameters = {
        "accountname": AZURITE_ACCOUNT,
        "serviceurl": azurite_endpoint,
        "container": container.container_name,
        "credentials": {"type": "default_credentials"},
    }
    fsspec.config.conf["abfs"] = {"account_key": AZURITE_KEY}
    try:
        driver = distfs.create("azure", parameters)  # no key but fsspec's config
    finally:
        del fsspec.config.conf["abfs"]
    driver.put_content("/k", b"conf")
    assert container.get_blob_client("k").download_blob().readall() == b"conf"


def test_user_keys_win_over_adlfs_environment(
    azurite_endpoint: str, container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = azurite_connection_string(azurite_endpoint).replace(AZURITE_KEY, "d3Jvbmc=")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", wrong)  # adlfs reads it when none is given
    keyed = distfs.create("azure", parameters_for(azurite_endpoint, container.container_name))
    keyed.put_content("/k", b"mine")  # the accountkey, not the environment's wrong key
    options = {"anon": False}  # no key: adlfs takes the environment's connection string
    from_environment = distfs.create(
        "azure", {"accountname": AZURITE_ACCOUNT, "container": container.container_name, "storage_options": options}
    )
    with pytest.raises(distfs.AccessDeniedError):
        from_environment.get_content("/k")  # the environment's connection string, its wrong key


def test_two_drivers_with_different_credentials_side_by_side(azurite_endpoint: str, container: Any) -> None:
    container.set_container_access_policy(signed_identifiers={}, public_access="container")
    parameters = parameters_for(azurite_endpoint, container.container_name)
    keyed = distfs.create("azure", parameters)
    anonymous = distfs.create("azure", {**parameters, "accountkey": None, "storage_options": {"anon": True}})
    assert store_of(keyed).fs is not store_of(anonymous).fs
    keyed.put_content("/both", b"1")
    assert anonymous.get_content("/both") == b"1"
    with pytest.raises(distfs.AccessDeniedError):
        anonymous.put_content("/both", b"2")
    keyed.put_content("/both", b"3")
    assert container.get_blob_client("both").download_blob().readall() == b"3"


def test_client_secret_becomes_an_identity_credential() -> None:
    from azure.identity.aio import ClientSecretCredential

    parameters = {
        "accountname": "acct",
        "container": "c",
        "credentials": {"type": "client_secret", "clientid": "cid", "tenantid": "tid", "secret": "top-secret-value"},
    }
    store = store_of(distfs.create("azure", parameters))  # no token is asked for until the driver is used
    assert isinstance(store.fs.credential, ClientSecretCredential)
    assert (store.fs.client_id, store.fs.tenant_id) == ("cid", "tid")
    assert "top-secret-value" not in repr(store) + repr(store.settings)


# -- timeouts (the emulator answers at once: a proxy delays it) -----------------------------------


def test_read_timeout_reaches_the_requests(azurite_endpoint: str, container: Any) -> None:
    container.upload_blob("slow", b"x")
    with FaultProxy(azurite_endpoint, "azure", latency=3.0) as proxy:
        parameters = {**parameters_for(proxy.endpoint, container.container_name), "max_retries": -1}
        patient = distfs.create("azure", parameters)
        hasty = distfs.create("azure", {**parameters, "storage_options": {"read_timeout": 0.5}})
        proxy.force("HEAD", "/slow", "latency")
        assert patient.stat("/slow").size == 1  # waits out the delay
        proxy.force("HEAD", "/slow", "latency")
        began = time.monotonic()
        with pytest.raises(distfs.DriverError) as info:
            hasty.stat("/slow")
        assert time.monotonic() - began < 2.5
        assert f"({proxy.endpoint})" in str(info.value)


def test_unreachable_endpoint_names_it(container: Any) -> None:
    from distfs.tools.servers import free_port

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    driver = distfs.create("azure", {**parameters_for(endpoint, "c"), "max_retries": 1, "retry_delay": "1ms"})
    with pytest.raises(distfs.DriverError) as info:
        driver.stat("/x")
    assert f"({endpoint})" in str(info.value)  # the service URL, not only aiohttp's host:port


# -- secrets, pickling ------------------------------------------------------------------------


def test_no_secret_in_repr_str_or_errors(azurite_endpoint: str, container: Any) -> None:
    secret = "c2VjcmV0LWluLXN0b3JhZ2Utb3B0aW9ucw=="
    options = {"account_key": secret, "sas_token": SAS_SECRET, "connection_timeout": 5}
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": container.container_name}
    driver = distfs.create("azure", {**parameters, "storage_options": options})
    store = store_of(driver)
    shown = repr(driver) + str(driver) + repr(store) + repr(store.settings) + str(store.settings.storage_options)
    with pytest.raises(distfs.AccessDeniedError) as info:
        driver.put_content("/x", b"1")  # a wrong key
    shown += str(info.value) + repr(info.value)
    for bad in ({**options, "nope": secret}, {**options, "credential": 7}):
        with pytest.raises(distfs.InvalidParameterError) as refused:
            distfs.create("azure", {**parameters, "storage_options": bad})
        shown += str(refused.value)
    from distfs.tools.servers import free_port

    unreachable = f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}"
    gone = distfs.create(
        "azure",
        {**parameters, "serviceurl": unreachable, "max_retries": -1, "storage_options": {"sas_token": SAS_SECRET}},
    )
    with pytest.raises(distfs.DriverError) as failed:
        gone.list("/")
    shown += str(failed.value) + repr(failed.value)
    assert unreachable.split("/")[2] in shown
    assert secret not in shown
    assert SAS_SECRET not in shown
    assert "c2VjcmV0LXNpZ25hdHVyZQ" not in shown


def test_distfs_protocol_with_storage_options_pickles(azurite_endpoint: str, container: Any) -> None:
    options = {"account_key": AZURITE_KEY, "connection_timeout": 10}
    fs = fsspec.filesystem(
        "distfs",
        driver="azure",
        accountname=AZURITE_ACCOUNT,
        serviceurl=azurite_endpoint,
        container=container.container_name,
        storage_options=options,
        skip_instance_cache=True,
    )
    fs.pipe_file("/p/a", b"pickled")
    again = pickle.loads(pickle.dumps(fs))
    assert again is not fs
    assert again.cat_file("/p/a") == b"pickled"
    again.pipe_file("/p/b", b"back")
    assert container.get_blob_client("p/b").download_blob().readall() == b"back"


# -- a token credential on Azurite over https with OAuth -----------------------------------------


def jwt(audience: str = "https://storage.azure.com", lifetime: int = 3600) -> str:
    """A bearer token as Azurite's ``--oauth basic`` checks it (issuer, audience, lifetime; unsigned)."""

    def part(document: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()

    now = int(time.time())
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "oid": "0e2f1a8c-3a8e-4c55-9d5e-0a0b0c0d0e0f",
        "tid": tenant,
    }
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class StaticToken:
    """An async token credential (what azure.identity's are to the SDK) handing out one token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.asked = 0

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.asked += 1
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("certificate")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert, pem = directory / "cert.pem", directory / "key.pem"
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, pem


@pytest.fixture(scope="module")
def azurite_oauth(certificate: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second Azurite over https (the self-signed certificate) checking bearer tokens."""
    with azurite(tmp_path_factory.mktemp("azurite-oauth") / "azurite.log", tls=certificate) as endpoint:
        yield endpoint


@contextlib.contextmanager
def token_endpoint(certificate: tuple[Path, Path], token: str) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """An OAuth token endpoint over https on 127.0.0.1 (Microsoft Entra's shape: POST
    ``/<tenant>/oauth2/v2.0/token``) handing out ``token``; yields its authority URL and
    the form of every request."""
    seen: list[dict[str, list[str]]] = []
    body = json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            seen.append({"path": [self.path], **urllib.parse.parse_qs(form)})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def oauth_container(endpoint: str) -> str:
    from azure.storage.blob import BlobServiceClient

    connection = azurite_connection_string(endpoint).replace("Protocol=http;", "Protocol=https;")
    name = unique_name("oauth")
    BlobServiceClient.from_connection_string(connection, connection_verify=False).create_container(name)
    return name


def token_parameters(endpoint: str, container: str, credential: Any) -> dict[str, Any]:
    return {
        "accountname": AZURITE_ACCOUNT,
        "serviceurl": endpoint,
        "container": container,
        "skipverify": True,
        "storage_options": {"credential": credential},
    }


def test_token_credential_is_sent_and_checked(azurite_oauth: str) -> None:
    container = oauth_container(azurite_oauth)
    token = jwt()
    credential = StaticToken(token)
    requests = Recorded()
    driver = recorded(token_parameters(azurite_oauth, container, credential), requests)
    driver.put_content("/t/a", b"token")
    assert driver.get_content("/t/a") == b"token"
    assert driver.list("/t") == ["/t/a"]
    assert credential.asked >= 1
    assert set(requests.authorization) == {f"Bearer {token}"}  # on every request
    wrong = distfs.create("azure", token_parameters(azurite_oauth, container, StaticToken(jwt("https://else.example"))))
    with pytest.raises(distfs.AccessDeniedError) as info:
        wrong.stat("/t/a")
    assert "audience" in str(info.value).lower() or "Authentication" in str(info.value)
    expired = distfs.create("azure", token_parameters(azurite_oauth, container, StaticToken(jwt(lifetime=-600))))
    with pytest.raises(distfs.AccessDeniedError):
        expired.stat("/t/a")


def test_an_azure_identity_credential_object(azurite_oauth: str, certificate: tuple[Path, Path]) -> None:
    """azure.identity's ClientSecretCredential, given as storage_options ``credential``, asks
    its token endpoint (a loopback one here) and the driver sends that token to Azurite."""
    from azure.identity.aio import ClientSecretCredential

    container = oauth_container(azurite_oauth)
    token = jwt()
    with token_endpoint(certificate, token) as (authority, seen):
        credential = ClientSecretCredential(
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "the-client",
            "the-secret",
            authority=authority,
            connection_verify=False,
        )
        requests = Recorded()
        driver = recorded(token_parameters(azurite_oauth, container, credential), requests)
        driver.put_content("/id/a", b"identity")
        assert driver.get_content("/id/a") == b"identity"
        assert driver.redirect_url("/id/a", "GET")  # a user delegation SAS
    assert len(seen) == 1  # one token, cached by the SDK for the requests
    assert seen[0]["path"] == ["/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"]
    assert (seen[0]["client_id"], seen[0]["grant_type"]) == (["the-client"], ["client_credentials"])
    assert set(requests.authorization) == {f"Bearer {token}"}


def test_token_credential_redirects_with_a_user_delegation_sas(azurite_oauth: str) -> None:
    """The SAS is signed with the user delegation key Azurite handed out for the token.

    Azurite 3.35 cannot check such a SAS when it is used: azure-storage-blob 12.31 signs
    with a newer version (two more lines in the string to sign) than Azurite's 2025-11-05.
    So the test derives the key as Azurite does (HMAC of the key's fields under Azurite's
    fixed secret) and checks the SAS's signature with it.
    """
    import hashlib
    import hmac

    from azure.storage.blob import UserDelegationKey, generate_blob_sas

    container = oauth_container(azurite_oauth)
    parameters = token_parameters(azurite_oauth, container, StaticToken(jwt()))
    requests = Requests()
    driver = make(parameters, requests)
    driver.put_content("/blob", b"delegated")
    requests.clear()
    url = driver.redirect_url("/blob", "GET")
    assert url
    assert requests.calls == [("POST", "userdelegationkey")]  # one request for the key
    query = {key: values[0] for key, values in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).items()}
    assert query["sp"] == "r"
    assert (query["skoid"], query["sks"]) == ("0e2f1a8c-3a8e-4c55-9d5e-0a0b0c0d0e0f", "b")
    key = UserDelegationKey()
    key.signed_oid, key.signed_tid, key.signed_start = query["skoid"], query["sktid"], query["skt"]
    key.signed_expiry, key.signed_service, key.signed_version = query["ske"], query["sks"], query["skv"]
    fields = "\n".join([key.signed_oid, key.signed_tid, key.signed_start, key.signed_expiry, "b", key.signed_version])
    digest = hmac.new(AZURITE_DELEGATION_SECRET.encode(), fields.encode(), hashlib.sha256).digest()
    key.value = base64.b64encode(digest).decode()
    expected = generate_blob_sas(
        AZURITE_ACCOUNT,
        container,
        "blob",
        user_delegation_key=key,
        permission="r",
        start=query["st"],
        expiry=query["se"],
    )
    assert urllib.parse.parse_qs(expected)["sig"] == [query["sig"]]


def test_token_credential_over_http_is_refused(azurite_endpoint: str) -> None:
    parameters = token_parameters(azurite_endpoint, "c", StaticToken(jwt()))
    with pytest.raises(distfs.InvalidParameterError) as info:
        distfs.create("azure", parameters)
    assert info.value.parameter == "serviceurl"
    assert "https" in str(info.value)


# -- config.yml, a missing container ----------------------------------------------------------------


def test_config_yml_takes_storage_options(azurite_endpoint: str, container: Any) -> None:
    sas = container_sas(container, "racwdl")
    document = f"""
version: 0.1
storage:
  azure:
    accountname: {AZURITE_ACCOUNT}
    container: {container.container_name}
    serviceurl: {azurite_endpoint}
    storage_options:
      sas_token: "{sas}"
      connection_timeout: 10
"""
    driver = distfs.from_config(document)
    driver.put_content("/from/config", b"yml")
    assert container.get_blob_client("from/config").download_blob().readall() == b"yml"
    with pytest.raises(distfs.ConfigError) as info:
        distfs.from_config(document.replace("connection_timeout", "blocksize"))
    assert "storage.azure.storage_options.blocksize" in str(info.value)
    assert sas not in str(info.value)


@pytest.mark.parametrize("kind", ["account_key", "connection_string"])
def test_missing_container_is_store_not_found(azurite_endpoint: str, kind: str) -> None:
    """(Anonymous requests to a missing container are refused by Azurite, as to a private one.)"""
    options = {"account_key": AZURITE_KEY, "connection_string": azurite_connection_string(azurite_endpoint)}
    parameters = {"accountname": AZURITE_ACCOUNT, "serviceurl": azurite_endpoint, "container": unique_name("gone")}
    driver = distfs.create("azure", {**parameters, "storage_options": {kind: options[kind]}})
    with pytest.raises(distfs.StoreNotFoundError) as info:
        driver.list("/")
    assert "container" in str(info.value)
