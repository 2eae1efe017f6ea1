"""Credentials never show: not in repr/str, errors, tracebacks, log records or CLI output.

Every driver is configured with recognisable credentials its local server accepts:

* ``s3`` (moto accepts any key): access key, secret key and session token of our own;
* ``gcs``: a throwaway service account (fresh RSA key, ``private_key_id``) given as
  ``credentials`` and as a ``keyfile``, whose ``token_uri`` is a local token endpoint
  handing out a recognisable access token;
* ``azure``: Azurite accepts only its well-known account key, so that key is the secret,
  configured as ``accountkey`` and inside a ``connectionstring``;
* ``oss``: a private instance of distfs's OSS fake keyed with our own id and secret;
* ``inmemory`` / ``filesystem`` have no secrets but go through the same CLI runs.

Each configuration runs every operation -- also failing ones: missing paths, invalid
paths and offsets, finished writers, and wrong credentials (auth errors from Azurite and
the OSS fake, an unreachable token endpoint for GCS) -- with the ``distfs`` logger and
the root logger at DEBUG captured, plus ``distfs check`` / ``distfs health`` with the
secrets as ``-p`` parameters (and with a bad parameter beside them). Then the ``repr``
and ``str`` of drivers, writers and exceptions (with their ``__cause__``/``__context__``
chains and formatted tracebacks), every log record (message, args, formatted exception)
and the CLI's stdout/stderr are scanned for each secret, raw and base64-, URL- and
percent-encoded: zero occurrences.

moto accepts any S3 credentials, so there is no wrong-credentials run for ``s3``.

Signed URLs: the servers that verify signatures refuse expired and tampered ones. The
account-key and OSS cases are in tests/drivers/test_azure.py and tests/drivers/test_oss.py; here the
Azure connection-string configuration (the key comes from the string) is checked. moto
and fake-gcs-server do not verify signatures, so nothing can be proven there.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import itertools
import json
import logging
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cases import oauth_token_server, service_account_info
from profiles import LOCAL

import distfs
from distfs import StorageDriverError
from distfs.engine import core as engine_core
from distfs.tools.cli import main as cli_main
from distfs.tools.oss_fake import OSSFake, serve
from distfs.tools.servers import AZURITE_ACCOUNT, AZURITE_KEY

S3_ACCESS = "AKIAH4SECRETSCANID01"
S3_SECRET = "h4-s3-secret-Vq8Zr3LmWq/x+y=="
S3_TOKEN = "h4-s3-session-token-Pq7Hh2Kk"
OSS_ID = "h4-oss-key-id-Rr4Nn1"
OSS_SECRET = "h4-oss-secret-Kw2Tt9+/Yy=="
OSS_WRONG = "h4-oss-wrong-secret-Jj5Ee8"
GCS_TOKEN = "h4-gcs-access-token-Ab3Cd4Ef5"
GCS_KEY_ID = "h4-gcs-private-key-id-Gh6"
AZURE_WRONG = base64.b64encode(b"h4-azure-wrong-account-key-Mm3Ll0-padding-to-64-bytes.........").decode()


def encodings(secret: str) -> set[str]:
    """The forms a secret could leak in."""
    raw = secret.encode()
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        json.dumps(secret)[1:-1],
    }


def pem_fragments(pem: str) -> set[str]:
    """Recognisable pieces of a PEM private key (its base64 body lines, one-line and escaped forms)."""
    lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    body = "".join(lines)
    return {body[40:100], body[len(body) // 2 : len(body) // 2 + 60], lines[3], json.dumps(pem)[40:100]}


# -- local servers with recognisable credentials --------------------------------------


@pytest.fixture(scope="module")
def token_server() -> Iterator[str]:
    """An OAuth token endpoint on 127.0.0.1 handing out GCS_TOKEN."""
    with oauth_token_server(GCS_TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def oss_endpoint() -> Iterator[tuple[str, OSSFake]]:
    """A private OSS fake that knows only OSS_ID / OSS_SECRET."""
    fake = OSSFake(OSS_ID, OSS_SECRET)
    server, _ = serve(fake)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()


class Config:
    """One driver configuration: its parameters, a wrong-credentials variant, its secrets."""

    def __init__(
        self,
        name: str,
        parameters: dict[str, Any],
        wrong: dict[str, Any] | None,
        secrets: set[str],
        in_urls: set[str] = frozenset(),  # type: ignore[assignment]
    ):
        self.name = name
        self.parameters = parameters
        self.wrong = wrong
        self.secrets = secrets
        self.in_urls = in_urls  # secrets a signed URL must carry (an S3 session token)


_buckets = itertools.count()


def configs(
    store_parameters: Callable[[str], dict[str, Any]],
    token_server: str,
    oss: tuple[str, OSSFake],
    tmp_path: Path,
) -> list[Config]:
    s3 = {**store_parameters("s3"), "accesskey": S3_ACCESS, "secretkey": S3_SECRET, "sessiontoken": S3_TOKEN}
    sa = service_account_info(token_server, GCS_KEY_ID)
    keyfile = tmp_path / "sa.json"
    keyfile.write_text(json.dumps(sa))
    gcs_secrets = pem_fragments(sa["private_key"]) | encodings(GCS_TOKEN) | {GCS_KEY_ID}
    gcs = store_parameters("gcs")
    unreachable = {**sa, "token_uri": "http://127.0.0.1:9/token"}
    az = store_parameters("azure")
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={az['serviceurl']};"
    )
    az_connection = {"connectionstring": connection, "container": az["container"]}
    oss_endpoint, fake = oss
    bucket = f"secrets-{next(_buckets)}"
    fake.create_bucket(bucket)
    oss_parameters = {
        "accesskeyid": OSS_ID,
        "accesskeysecret": OSS_SECRET,
        "region": "oss-cn-hangzhou",
        "bucket": bucket,
        "endpoint": oss_endpoint,
        "secure": False,
    }
    azure_secrets = encodings(AZURITE_KEY) | {AZURITE_KEY[10:40]}
    return [
        Config("s3", s3, None, encodings(S3_SECRET) | encodings(S3_TOKEN), in_urls=encodings(S3_TOKEN)),
        Config("gcs", {**gcs, "credentials": sa}, {**gcs, "credentials": unreachable}, gcs_secrets),
        Config("gcs", {**gcs, "keyfile": str(keyfile)}, None, gcs_secrets),
        Config("azure", az, {**az, "accountkey": AZURE_WRONG}, azure_secrets | encodings(AZURE_WRONG)),
        Config("azure", az_connection, None, azure_secrets | {connection}),
        Config(
            "oss",
            oss_parameters,
            {**oss_parameters, "accesskeysecret": OSS_WRONG},
            encodings(OSS_SECRET) | encodings(OSS_WRONG),
        ),
    ]


# -- what gets scanned ----------------------------------------------------------------


class Capture(logging.Handler):
    """Every log record, rendered every way a handler could render it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.count = 0
        self.names: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.names[record.name] += 1
        self.texts.append(f"{record.name}: {record.msg!s} {record.args!r}")
        with contextlib.suppress(Exception):
            self.texts.append(record.getMessage())
        if record.exc_info:
            self.texts.append(logging.Formatter().formatException(record.exc_info))


@contextlib.contextmanager
def debug_logging() -> Iterator[Capture]:
    capture = Capture()
    loggers = [logging.getLogger(), logging.getLogger("distfs")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def describe_error(error: BaseException) -> str:
    parts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(getattr(current, "args", ""))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def exercise(driver: distfs.StorageDriver, texts: list[str], urls: list[str]) -> int:
    """Every operation, succeeding and failing; appends what could leak (signed URLs to
    ``urls``); returns the calls made."""
    calls = 0

    def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        try:
            result = fn(*args, **kwargs)
        except (StorageDriverError, ValueError, LookupError) as error:
            texts.append(describe_error(error))
            return None
        texts.append(repr(result))
        return result

    texts += [repr(driver), str(driver), repr(getattr(driver, "inner", None))]
    texts.append(repr(getattr(getattr(driver, "inner", None), "backend", None)))
    attempt(driver.put_content, "/s/a", b"content")
    attempt(driver.get_content, "/s/a")
    stream = attempt(driver.reader, "/s/a", 2)
    if stream is not None:
        with stream:
            texts.append(repr(stream))
    attempt(driver.stat, "/s/a")
    attempt(driver.stat, "/")
    attempt(driver.list, "/s")
    attempt(driver.walk, "/", lambda info: texts.append(repr(info)))
    writer = attempt(driver.writer, "/s/w")
    if writer is not None:
        texts += [repr(writer), str(writer)]
        attempt(writer.write, b"partial")
        attempt(writer.close)
        attempt(writer.write, b"after close")  # a finished writer's error
        resumed = attempt(driver.writer, "/s/w", append=True)
        if resumed is not None:
            texts.append(repr(resumed))
            attempt(resumed.write, b" more")
            attempt(resumed.commit)
            attempt(resumed.close)
            attempt(resumed.cancel)
    cancelled = attempt(driver.writer, "/s/c")
    if cancelled is not None:
        attempt(cancelled.write, b"x")
        attempt(cancelled.cancel)
    attempt(driver.move, "/s/a", "/s/b")
    attempt(driver.move, "/missing", "/s/b")
    for method in ("GET", "HEAD", "PUT"):
        calls += 1
        try:
            urls.append(str(driver.redirect_url("/s/b", method)))
        except StorageDriverError as error:
            texts.append(describe_error(error))
    attempt(driver.get_content, "/missing")
    attempt(driver.reader, "/s/b", -1)
    attempt(driver.list, "/missing")
    attempt(driver.stat, "/missing")
    attempt(driver.get_content, "/../x")
    attempt(driver.writer, "/missing-upload", append=True)
    attempt(driver.delete, "/missing")
    attempt(driver.delete, "/s")
    return calls


def run_cli(argv: list[str], texts: list[str]) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli_main(argv)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    texts += [out.getvalue(), err.getvalue()]
    return code


def cli_parameters(parameters: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for key, value in parameters.items():
        if not isinstance(value, dict):
            argv += ["-p", f"{key}={value}"]
    return argv


def scan(texts: list[str], secrets: set[str]) -> list[tuple[str, str]]:
    """(secret, context) of every occurrence."""
    found = []
    for text in texts:
        for secret in secrets:
            at = text.find(secret)
            if at >= 0:
                found.append((secret[:6] + "...", text[:60] + " ... " + text[max(0, at - 80) : at + 20]))
    return found


@pytest.mark.parametrize(
    "index", range(6), ids=["s3", "gcs-credentials", "gcs-keyfile", "azure-key", "azure-connection", "oss"]
)
def test_no_secret_escapes(
    index: int,
    store_parameters: Callable[[str], dict[str, Any]],
    token_server: str,
    oss_endpoint: tuple[str, OSSFake],
    tmp_path: Path,
) -> None:
    """Every operation, failing ones and CLI runs included: no secret in any output."""
    config = configs(store_parameters, token_server, oss_endpoint, tmp_path)[index]
    texts: list[str] = []
    urls: list[str] = []
    with debug_logging() as capture:
        driver = distfs.create(config.name, config.parameters)
        calls = exercise(driver, texts, urls)
        assert driver.stat("/").is_dir  # the credentials work
        if config.wrong is not None:
            wrong_errors = 0
            try:
                bad = distfs.create(config.name, config.wrong)
            except (StorageDriverError, ValueError) as error:
                texts.append(describe_error(error))
                wrong_errors += 1
            else:
                for call in (
                    lambda: bad.put_content("/x", b"x"),
                    lambda: bad.get_content("/s/w"),
                    lambda: bad.list("/"),
                ):
                    try:
                        call()
                    except StorageDriverError as error:
                        texts.append(describe_error(error))
                        wrong_errors += 1
            assert wrong_errors > 0, "wrong credentials were accepted"
        root = {"rootdirectory": f"cli-{index}"}
        cli_arguments = cli_parameters({**config.parameters, **root})
        if "credentials" in config.parameters and isinstance(config.parameters["credentials"], dict):
            keyfile = tmp_path / "cli-sa.json"
            keyfile.write_text(json.dumps(config.parameters["credentials"]))
            cli_arguments += ["-p", f"keyfile={keyfile}"]
        assert run_cli(["health", config.name, *cli_arguments], texts) == 0
        assert run_cli(["check", config.name, *cli_arguments, "-k", "test_list", "--json", "-"], texts) in (0, 1)
        assert run_cli(["health", config.name, *cli_arguments, "-p", "chunksize=-5", "-p", "bogus=1"], texts) != 0
        assert run_cli(["health", config.name, *cli_arguments, "-p", "noequals"], texts) != 0
    texts += capture.texts
    # distfs logged its calls at DEBUG (what third-party loggers emit depends on earlier tests'
    # logging set-up, so only distfs's own records are counted)
    assert capture.names["distfs"] > calls // 2, capture.names
    leaks = scan(texts, config.secrets) + scan(urls, config.secrets - config.in_urls)
    assert not leaks, leaks[:5]
    print(f"\nsecrets[{config.name}]: {len(config.secrets)} forms x {len(texts)} texts, {capture.count} log records")


@pytest.mark.parametrize("name", LOCAL)
def test_cli_of_drivers_without_secrets(name: str, store_parameters: Callable[[str], dict[str, Any]]) -> None:
    """The secret-free drivers through the same CLI runs: a bogus secret-looking value is not echoed."""
    secret = "h4-not-a-parameter-secret-Zz9"
    parameters = {k: str(v) for k, v in store_parameters(name).items()}
    texts: list[str] = []
    with debug_logging() as capture:
        assert run_cli(["health", name, *cli_parameters(parameters)], texts) == 0
        assert run_cli(["health", name, *cli_parameters(parameters), "-p", f"secretkey={secret}"], texts) != 0
        assert run_cli(["check", name, *cli_parameters(parameters), "-p", f"accesskey={secret}"], texts) != 0
    texts += capture.texts
    assert any("secretkey" in text for text in texts)  # the unknown parameter is named...
    assert not scan(texts, encodings(secret))  # ...but its value is not shown


def test_connection_string_signed_urls_expired_or_tampered_are_refused(
    store_parameters: Callable[[str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azurite verifies SAS: with the key from a connection string, tampered or expired URLs get 403."""
    az = store_parameters("azure")
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={az['serviceurl']};"
    )
    driver = distfs.create("azure", {"connectionstring": connection, "container": az["container"]})
    driver.put_content("/blob", b"signed")
    driver.put_content("/other", b"other")
    url = driver.redirect_url("/blob", "GET")
    assert url
    assert urllib.request.urlopen(url, timeout=30).read() == b"signed"
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tampered = [
        url.replace("/blob?", "/other?"),  # another blob
        parts._replace(query=urllib.parse.urlencode({**query, "se": later})).geturl(),  # a later expiry
        parts._replace(query=urllib.parse.urlencode({**query, "sp": "rw"})).geturl(),  # more permissions
        url.split("?")[0],  # no signature at all
    ]
    for bad in tampered:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=30)
        assert refused.value.code in (403, 404), bad  # 404: Azurite hides an anonymous blob
    monkeypatch.setattr(engine_core, "REDIRECT_SECONDS", -60)
    expired = driver.redirect_url("/blob", "GET")
    assert expired
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(expired, timeout=30)
    assert refused.value.code == 403
