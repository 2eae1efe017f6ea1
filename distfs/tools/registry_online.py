"""Whether ``distfs registry gc`` may run as asked while the registry serves pushes.

A real run needs its store named (never the driver's default location) and a grace at
least the registry's upload timeout (read from its config), unless the registry is
read-only or ``--force`` is given; a blob-descriptor cache in the config is warned about.
"""

from __future__ import annotations

import argparse
import sys

from ..config import StorageConfig, load_config
from ..errors import ConfigError
from .registry_open import StoreUnavailable, require_named, store_spec

__all__ = ["DEFAULT_UPLOAD_AGE", "descriptor_cache", "gc_refusal", "read_only", "upload_timeout"]


#: distribution's default ``storage.maintenance.uploadpurging.age``: an upload lives this long.
DEFAULT_UPLOAD_AGE = "168h"


def gc_refusal(args: argparse.Namespace, parameters: dict[str, str]) -> str:
    """Why gc must not run as asked ("" if it may); warns about the blob-descriptor cache."""
    try:
        spec = store_spec(args, parameters)
        config = load_config(args.config) if args.config else None
    except ConfigError as exc:
        return str(exc)
    if config is not None:
        cache = descriptor_cache(config)
        if cache:
            print(
                "distfs registry gc: warning: the registry's blob-descriptor cache is on "
                f"(storage.cache.blobdescriptor: {cache}): it still reports the blobs gc deletes as stored, "
                "so a push of them skips their upload and leaves a tag that answers 'manifest unknown'; "
                "restart the registry after gc, or disable the cache",
                file=sys.stderr,
            )
    if args.dry_run:
        return ""
    try:
        require_named(spec, "gc without --dry-run deletes")
        timeout, where = upload_timeout(config)
    except (StoreUnavailable, ConfigError) as exc:
        return str(exc)
    if args.force or (timeout is not None and args.grace >= timeout) or read_only(config):
        return ""
    needed = "" if timeout is None else f"--grace {timeout:.0f}, "
    limit = "no upload timeout" if timeout is None else f"an upload timeout of {timeout:.0f} s"
    return (
        f"refusing to run online: the registry has {limit} ({where}), so a push in flight may commit layers "
        f"more than --grace {args.grace:.0f} s before its manifest, and gc would delete them; "
        f"give {needed}a --config whose upload purging is shorter, or --force"
    )


def upload_timeout(config: StorageConfig | None) -> tuple[float | None, str]:
    """How long the registry keeps an upload (seconds; None: forever) and where that was read.

    As the registry reads ``storage.maintenance.uploadpurging`` (``enabled``, ``age``,
    ``dryrun``; distribution's defaults: enabled, 168h). Without a config, the defaults are assumed.
    """
    from ..cloudfront import parse_duration  # the cloudfront middleware's module: imported when needed

    key = "storage.maintenance.uploadpurging"
    if config is None:
        return parse_duration(DEFAULT_UPLOAD_AGE), f"{key}.age {DEFAULT_UPLOAD_AGE}: distribution's default, assumed"
    purging = config.maintenance.get("uploadpurging")
    if purging is None:
        return parse_duration(DEFAULT_UPLOAD_AGE), f"{key}.age {DEFAULT_UPLOAD_AGE}: distribution's default"
    if not isinstance(purging, dict):
        raise ConfigError(key, "must be a mapping with enabled, age, interval and dryrun")
    if purging.get("enabled") is False:
        return None, f"{key}.enabled is false"
    if purging.get("dryrun") is True:
        return None, f"{key}.dryrun is true"
    age = purging.get("age")
    if not isinstance(age, str):
        raise ConfigError(f"{key}.age", "must be a duration such as 168h")
    try:
        seconds = parse_duration(age)
    except ValueError:
        raise ConfigError(f"{key}.age", "must be a duration such as 168h") from None
    return seconds, f"{key}.age {age[:40]}"


def read_only(config: StorageConfig | None) -> bool:
    """Whether the registry serves the store read-only (``storage.maintenance.readonly.enabled``): no pushes."""
    read_only = config.maintenance.get("readonly") if config is not None else None
    return isinstance(read_only, dict) and read_only.get("enabled") is True


def descriptor_cache(config: StorageConfig) -> str:
    """The registry's blob-descriptor cache (``inmemory``, ``redis``) or ""; ``layerinfo`` is its old name."""
    value = config.cache.get("blobdescriptor", config.cache.get("layerinfo"))
    return value if value in ("inmemory", "redis") else ""
