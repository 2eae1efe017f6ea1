"""Registry configuration: config.yml, environment overrides, middleware, health, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import fsspec
import pytest
import yaml

import distfs
from distfs.middleware import Middleware, RedirectMiddleware, RewriteMiddleware, apply_middleware, middleware_names

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


# -- the documented examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "driver", "parameter", "value"),
    [
        ("filesystem.yml", "filesystem", "rootdirectory", "/var/lib/registry"),
        ("inmemory.yml", "inmemory", None, None),
        ("s3.yml", "s3", "chunksize", 5242880),
        ("s3.yml", "s3", "forcepathstyle", True),
        ("gcs.yml", "gcs", "credentials", "service_account"),
        ("azure.yml", "azure", "credentials", "client_secret"),
        ("middleware.yml", "s3", "bucket", "registry"),
    ],
)
def test_documented_configs(file: str, driver: str, parameter: str | None, value: Any) -> None:
    config = distfs.load_config(CONFIGS / file, environ={})
    assert config.driver == driver
    if parameter == "credentials":
        assert config.parameters["credentials"]["type"] == value
    elif parameter is not None:
        assert config.parameters[parameter] == value
    assert not set(config.parameters) & {"maintenance", "cache", "delete", "redirect", "tag"}


def test_reserved_sections_are_exposed_separately() -> None:
    config = distfs.load_config(CONFIGS / "s3.yml", environ={})
    assert config.delete == {"enabled": True}
    assert config.redirect == {"disable": False}
    assert config.maintenance["uploadpurging"]["age"] == "168h"
    assert config.cache["blobdescriptor"] == "redis"
    assert config.tag == {"concurrencylimit": 8}
    assert "secretkey" in config.parameters
    assert "awssecretkey" not in repr(config)
    health = distfs.load_config(CONFIGS / "filesystem.yml", environ={}).health
    assert health == {"enabled": True, "interval": "10s", "threshold": 3}


def test_middleware_entries_keep_their_order() -> None:
    config = distfs.load_config(CONFIGS / "middleware.yml", environ={})
    assert [m["name"] for m in config.middleware] == ["cloudfront", "redirect"]
    assert config.middleware[0]["options"]["duration"] == "3000s"


def test_sources_path_text_and_mapping(tmp_path: Path) -> None:
    text = f"storage:\n  filesystem:\n    rootdirectory: {tmp_path}\n"
    for source in (text, yaml.safe_load(text), CONFIGS / "inmemory.yml", str(CONFIGS / "inmemory.yml")):
        driver = distfs.from_config(source, environ={})
        assert driver.list("/") == []


# -- environment overrides --------------------------------------------------------------


def test_env_overrides_type_values_like_yaml(tmp_path: Path) -> None:
    environ = {
        "REGISTRY_STORAGE_S3_BUCKET": "from-env",
        "REGISTRY_STORAGE_S3_CHUNKSIZE": "10485760",
        "REGISTRY_STORAGE_S3_ENCRYPT": "false",
        "REGISTRY_STORAGE_S3_STORAGECLASS": "REDUCED_REDUNDANCY",
        "REGISTRY_STORAGE_DELETE_ENABLED": "false",
        "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_DRYRUN": "true",
        "REGISTRY_HTTP_ADDR": ":6000",  # not storage: left alone
    }
    config = distfs.load_config(CONFIGS / "s3.yml", environ=environ)
    assert config.parameters["bucket"] == "from-env"
    assert config.parameters["chunksize"] == 10485760
    assert config.parameters["encrypt"] is False
    assert config.parameters["storageclass"] == "REDUCED_REDUNDANCY"
    assert config.delete == {"enabled": False}
    assert config.maintenance["uploadpurging"]["dryrun"] is True


def test_env_overrides_nested_keys_and_new_keys() -> None:
    environ = {
        "REGISTRY_STORAGE_GCS_CREDENTIALS_CLIENT": "x",  # splits on "_": credentials.client
        "REGISTRY_STORAGE_GCS_MAXCONCURRENCY": "30",
    }
    config = distfs.load_config(CONFIGS / "gcs.yml", environ=environ)
    assert config.parameters["credentials"]["client"] == "x"
    assert config.parameters["credentials"]["type"] == "service_account"
    assert config.parameters["maxconcurrency"] == 30


def test_env_replaces_or_adds_drivers(tmp_path: Path) -> None:
    assert distfs.load_config(CONFIGS / "s3.yml", environ={"REGISTRY_STORAGE": "inmemory"}).driver == "inmemory"
    with pytest.raises(distfs.ConfigError, match="exactly one storage type; provided: s3, filesystem"):
        distfs.load_config(CONFIGS / "s3.yml", environ={"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/x"})
    config = distfs.load_config("storage: inmemory", environ={"REGISTRY_STORAGE_INMEMORY_X": "1"})
    assert config.parameters == {"x": 1}


def test_env_points_a_config_at_a_local_s3(s3_parameters: dict[str, Any]) -> None:
    environ = {f"REGISTRY_STORAGE_S3_{k.upper()}": str(v) for k, v in s3_parameters.items()}
    driver = distfs.from_config("storage:\n  s3:\n    region: us-west-1\n    bucket: placeholder\n", environ=environ)
    driver.put_content("/docker/registry/v2/x", b"through the config")
    assert driver.get_content("/docker/registry/v2/x") == b"through the config"


# -- storage_options ---------------------------------------------------------------------

OSS_TOKEN = "sts-token-in-a-config-Qw7"


def test_storage_options_pass_through_a_config(tmp_path: Path) -> None:
    text = f"storage:\n  filesystem:\n    rootdirectory: {tmp_path}\n    storage_options: {{auto_mkdir: true}}\n"
    config = distfs.load_config(text, environ={})
    assert config.parameters["storage_options"] == {"auto_mkdir": True}
    distfs.from_config(text, environ={}).put_content("/a/b", b"x")
    with pytest.raises(distfs.ConfigError) as info:
        distfs.from_config("storage:\n  inmemory:\n    storage_options: {global_store: true}\n", environ={})
    assert info.value.key == "storage.inmemory.storage_options.global_store"


def test_env_sets_storage_options_keys_with_underscores() -> None:
    environ = {
        "REGISTRY_STORAGE_OSS_STORAGE_OPTIONS_TOKEN": OSS_TOKEN,
        "REGISTRY_STORAGE_OSS_STORAGE_OPTIONS_DEFAULT_CACHE_TYPE": "none",  # one key: default_cache_type
        "REGISTRY_STORAGE_OSS_STORAGE_OPTIONS_KEY": "",  # null: anonymous
    }
    text = "storage:\n  oss:\n    bucket: b\n    storage_options:\n      Token: from-the-file\n"
    options = distfs.load_config(text, environ=environ).parameters["storage_options"]
    assert options == {"Token": OSS_TOKEN, "default_cache_type": "none", "key": None}
    whole = {"REGISTRY_STORAGE_INMEMORY_STORAGE_OPTIONS": "{skip_instance_cache: true}"}
    assert distfs.load_config("storage: inmemory", environ=whole).parameters == {
        "storage_options": {"skip_instance_cache": True}
    }
    plain = {"REGISTRY_STORAGE_GCS_STORAGE_CLASS": "x"}  # not storage_options: split as before
    assert distfs.load_config("storage: gcs", environ=plain).parameters == {"storage": {"class": "x"}}


def test_a_config_with_an_sts_token_from_the_environment(local_stores: Any) -> None:
    """The token reaches ossfs and the OSS fake checks it on every request."""
    fake = local_stores.oss_fake()
    fake.add_sts("STS.config-id", "config-secret", OSS_TOKEN)
    parameters = local_stores.parameters("oss")
    environ = {f"REGISTRY_STORAGE_OSS_{k.upper()}": str(v) for k, v in parameters.items()}
    environ["REGISTRY_STORAGE_OSS_ACCESSKEYID"] = "STS.config-id"
    environ["REGISTRY_STORAGE_OSS_ACCESSKEYSECRET"] = "config-secret"
    text = "storage:\n  oss:\n    bucket: placeholder\n"
    with pytest.raises(distfs.AccessDeniedError, match="InvalidSecurityToken"):
        distfs.from_config(text, environ=environ).put_content("/x", b"no token")
    environ["REGISTRY_STORAGE_OSS_STORAGE_OPTIONS_TOKEN"] = OSS_TOKEN
    driver = distfs.from_config(text, environ=environ)
    driver.put_content("/x", b"with the token")
    assert driver.get_content("/x") == b"with the token"
    assert OSS_TOKEN not in repr(driver)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        (f"{{token: {OSS_TOKEN}, bogus: {OSS_TOKEN}}}", "storage.oss.storage_options.bogus"),
        (f"{{use_listings_cache: {OSS_TOKEN}}}", "storage.oss.storage_options.use_listings_cache"),
        (f"{{key: k, secret: [{OSS_TOKEN}]}}", "storage.oss.storage_options.secret"),
        (f"{{key: null, token: {OSS_TOKEN}}}", "storage.oss.storage_options.token"),
        (f"[{OSS_TOKEN}]", "storage.oss.storage_options"),
    ],
)
def test_storage_options_secrets_never_in_config_errors(options: str, key: str) -> None:
    text = f"storage:\n  oss:\n    bucket: b\n    region: r\n    storage_options: {options}\n"
    config = distfs.load_config(text, environ={})
    assert OSS_TOKEN not in repr(config)
    assert OSS_TOKEN not in str(config)
    with pytest.raises(distfs.ConfigError) as info:
        distfs.from_config(text, environ={})
    assert info.value.key == key
    assert OSS_TOKEN not in str(info.value)
    assert OSS_TOKEN not in repr(info.value)


def test_a_storage_options_override_that_is_not_yaml_is_not_quoted() -> None:
    variable = "REGISTRY_STORAGE_OSS_STORAGE_OPTIONS_TOKEN"
    with pytest.raises(distfs.ConfigError) as info:
        distfs.load_config("storage: oss", environ={variable: f"[{OSS_TOKEN}"})
    assert info.value.key == variable
    assert OSS_TOKEN not in str(info.value)


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("version: 0.1\n", "storage", "no storage configuration"),
        ("storage:\n  s3: {}\n  gcs: {}\n", "storage", "exactly one storage type"),
        ("storage:\n  delete: {enabled: true}\n", "storage", "provided: none"),
        ("storage:\n  nosuch: {}\n", "storage.nosuch", "StorageDriver not registered: nosuch"),
        ("storage:\n  filesystem:\n    maxthreads: lots\n", "storage.filesystem.maxthreads", "integer"),
        ("storage:\n  filesystem:\n    rootdir: /x\n", "storage.filesystem.rootdir", "unknown parameter"),
        ("storage: inmemory\nmiddleware:\n  storage:\n    - name: nosuch\n", "middleware.storage[0].name", "nosuch"),
        (
            "storage: inmemory\nmiddleware:\n  storage:\n    - name: redirect\n",
            "middleware.storage[0].options.baseurl",
            "no baseurl",
        ),
        ("storage: [a, b]\n", "storage", "mapping"),
        ("- just a list\n", "", "mapping"),
        ("storage: {inmemory: 3}\n", "storage.inmemory", "mapping"),
    ],
)
def test_config_errors_name_the_key(text: str, key: str, words: str) -> None:
    with pytest.raises(distfs.ConfigError) as info:
        distfs.from_config(text, environ={})
    assert info.value.key == key
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)


def test_invalid_yaml() -> None:
    with pytest.raises(distfs.ConfigError, match="not valid YAML"):
        distfs.load_config("storage: [unclosed\n  x: y", environ={})


# -- middleware -------------------------------------------------------------------------


def test_redirect_middleware() -> None:
    driver = apply_middleware(distfs.create("inmemory"), "redirect", {"baseurl": "https://example.com/path/"})
    assert isinstance(driver, RedirectMiddleware)
    assert driver.redirect_url("/morty/data") == "https://example.com/path/morty/data"
    plain = apply_middleware(distfs.create("inmemory"), "redirect", {"baseurl": "https://example.com"})
    assert plain.redirect_url("/a/b", "HEAD") == "https://example.com/a/b"
    with pytest.raises(distfs.InvalidPathError):
        plain.redirect_url("/a/../b")
    for options, words in (
        ({}, "no baseurl"),
        ({"baseurl": 3}, "must be a string"),
        ({"baseurl": "example.com"}, "no scheme"),
        ({"baseurl": "https://"}, "no host"),
    ):
        with pytest.raises(distfs.InvalidParameterError, match=words):
            apply_middleware(distfs.create("inmemory"), "redirect", options)


def test_rewrite_middleware(s3_parameters: dict[str, Any]) -> None:
    s3 = distfs.create("s3", s3_parameters)
    s3.put_content("/blob", b"x")
    driver = apply_middleware(
        s3, "rewrite", {"scheme": "https", "host": "cdn.example.com", "trimpathprefix": "/" + s3_parameters["bucket"]}
    )
    assert isinstance(driver, RewriteMiddleware)
    url = driver.redirect_url("/blob")
    assert url is not None
    assert url.startswith("https://cdn.example.com/blob?")
    assert "X-Amz-Signature=" in url
    # a driver that does not redirect still does not (Go returned a bogus "https://host")
    assert apply_middleware(distfs.create("inmemory"), "rewrite", {"host": "cdn"}).redirect_url("/x") is None
    with pytest.raises(distfs.InvalidParameterError, match="scheme must be a string"):
        apply_middleware(s3, "rewrite", {"scheme": 443})


def test_middleware_passes_other_calls_through() -> None:
    driver = apply_middleware(distfs.create("inmemory"), "redirect", {"baseurl": "https://example.com"})
    driver.put_content("/a/b", b"v")
    assert driver.get_content("/a/b") == b"v"
    assert driver.list("/a") == ["/a/b"]
    assert driver.name == "inmemory"


def test_every_middleware_unwraps_to_the_driver_it_wraps() -> None:
    """Issue 28: each wrapper, stacked as a registry config stacks them, unwraps one layer at a time."""
    text = (
        "storage: inmemory\nmiddleware:\n  storage:\n"
        "    - name: redirect\n      options: {baseurl: 'https://a.example'}\n"
        "    - name: rewrite\n      options: {host: cdn.example}\n"
    )
    driver = distfs.from_config(text, environ={})
    assert isinstance(driver, RewriteMiddleware)
    inner = driver.unwrap()
    assert isinstance(inner, RedirectMiddleware)
    assert driver.redirect_url("/x") == "https://cdn.example/x"
    base = inner.unwrap()
    assert not isinstance(base, Middleware)
    base.put_content("/a", b"v")  # the very driver the middleware delegates to
    assert driver.get_content("/a") == b"v"


def test_register_middleware() -> None:
    from distfs import middleware
    from distfs.middleware import registry

    def upper(driver: distfs.StorageDriver, options: Any) -> distfs.StorageDriver:
        class Upper(middleware.Middleware):
            def redirect_url(self, path: str, method: str = "GET") -> str | None:
                return "HTTPS://" + path.upper()

        return Upper(driver)

    distfs.register_middleware("upper-test", upper)
    try:
        assert "upper-test" in middleware_names()
        with pytest.raises(ValueError, match="already registered"):
            distfs.register_middleware("upper-test", upper)
        with pytest.raises(ValueError, match="already registered"):
            distfs.register_middleware("redirect", upper)
        text = "storage: inmemory\nmiddleware:\n  storage:\n    - name: upper-test\n"
        assert distfs.from_config(text, environ={}).redirect_url("/a") == "HTTPS:///A"
    finally:
        registry._registered.pop("upper-test")


def test_disabled_middleware_is_skipped() -> None:
    text = (
        "storage: inmemory\nmiddleware:\n  storage:\n"
        "    - name: redirect\n      options: {baseurl: 'https://a.example'}\n"
        "    - name: redirect\n      disabled: true\n      options: {baseurl: 'https://b.example'}\n"
    )
    assert distfs.from_config(text, environ={}).redirect_url("/x") == "https://a.example/x"


# -- command line and fsspec ------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "distfs.tools.cli", *args], capture_output=True, text=True, check=False
    )


def test_health(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    (tmp_path / "store").mkdir()
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'store'}\n")
    result = run_cli("health", "--config", str(config))
    assert (result.returncode, result.stdout.strip()) == (0, "healthy: filesystem")
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'store'}\n    maxthreads: x\n")
    result = run_cli("health", "--config", str(config))
    assert result.returncode == 1
    assert len(result.stdout.strip().splitlines()) == 1
    assert result.stdout.startswith("unhealthy: storage.filesystem.maxthreads")
    (tmp_path / "file").write_text("")
    result = run_cli("health", "filesystem", "-p", f"rootdirectory={tmp_path / 'file' / 'below'}")
    assert result.returncode == 1


def test_health_never_creates_a_missing_root(tmp_path: Path) -> None:
    """A mistyped root is unhealthy, named with its parameter, and not created (issue 27)."""
    missing = tmp_path / "no" / "such" / "store"
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {missing}\n")
    for store in (["filesystem", "-p", f"rootdirectory={missing}"], ["--config", str(config)]):
        result = run_cli("health", *store)
        assert result.returncode == 1, result.stdout
        assert result.stdout.strip() == (
            f"unhealthy: filesystem: invalid parameter 'rootdirectory': no such directory: {missing} "
            "(nothing was created)"
        )
        assert not (tmp_path / "no").exists()


def test_health_of_an_unreachable_s3() -> None:
    result = run_cli(
        "health",
        "s3",
        "-p",
        "bucket=b",
        "-p",
        "regionendpoint=http://127.0.0.1:9",
        "-p",
        "accesskey=a",
        "-p",
        "secretkey=b",
        "-p",
        "maxretries=0",  # botocore's backoff between its retries of a refused connection: 14 s
    )
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: ")


def test_check_with_a_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'store'}\n")
    result = run_cli("check", "--config", str(config), "-k", "list")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "filesystem" in result.stdout
    result = run_cli("check", "--config", str(tmp_path / "missing.yml"))
    assert result.returncode == 2


def test_fsspec_accepts_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'store'}\n")
    fs = fsspec.filesystem("distfs", config=str(config))
    fs.pipe("/from/config", b"c")
    assert (tmp_path / "store" / "from" / "config").read_bytes() == b"c"
