"""``distfs::<url>``: distfs's guarantees over a user's own fsspec URL (fsspec's URL chaining).

As fsspec's caching wrappers do, ``distfs::`` goes in front of any fsspec URL; the target's
options go under its protocol name, as fsspec passes them (``target_options``)::

    with fsspec.open("distfs::s3://bucket/prefix/key.csv", "wb", s3={"endpoint_url": ...}) as f:
        ...
    df.to_parquet("distfs::s3://bucket/t.parquet", storage_options={"s3": {"profile": "dev"}})

The target filesystem is fsspec's own instance for those options; the driver over it is
:func:`distfs.from_filesystem` (the native store of s3fs, gcsfs, adlfs, ossfs, the local
and the memory filesystem; the generic store for any other) with ``portable`` paths unless
``paths`` is given. Its root is the option ``root`` (``bucket/prefix``, ``/srv/data``), by
default the URL's first path component: ``bucket`` of ``s3://bucket/a/b``, ``/tmp`` of
``file:///tmp/a/b``; distfs keeps its hidden state in ``<root>/.distfs~``. Names are the
target's own (``bucket/prefix/key``): an object lands at the key the plain URL names, and
listings return such names. Every URL below one root with the same options shares one
filesystem instance (:class:`ChainRoot` caches instances by root, not by URL).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import fsspec
from fsspec.spec import _Cached

from ..errors import InvalidParameterError, InvalidPathError
from ..factory import option_table
from ..parameters import redact

__all__ = ["Chain", "ChainRoot", "chain_root", "open_chain"]

#: The name of the face in the errors of chaining (the driver's own name is in the driver's).
FACE = "distfs"
_PREFIXES = ("distfs::", "distfs://")
_UNEXPECTED = re.compile(r"unexpected keyword argument '([^']+)'")


@dataclass(frozen=True)
class Chain:
    """The target filesystem of a ``distfs::`` URL and the root the driver has in it."""

    protocol: str
    target: Any
    root: str

    def strip(self, path: Any) -> Any:
        """``path`` (a ``distfs::<url>``, a target URL or name, or a list) as a target name."""
        if isinstance(path, list):
            return [self.strip(p) for p in path]
        text = str(path)
        for prefix in _PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        return self.target._strip_protocol(text) if text else self.root

    def parent(self, path: str) -> str:
        """The target's parent of ``path``."""
        parent: str = self.target._parent(self.strip(path))
        return parent

    def key(self, name: str) -> str:
        """The driver path of the target name ``name``; InvalidPathError outside the root."""
        base = self.root.rstrip("/")
        if name.rstrip("/") == base:
            return "/"
        if not name.startswith(base + "/"):
            raise InvalidPathError(
                name, FACE, f"outside {self.protocol}://{self.root}, the root of this distfs:: filesystem"
            )
        return "/" + name[len(base) + 1 :].strip("/")

    def name(self, key: str) -> str:
        """The target name of the driver path ``key``."""
        return self.root if key == "/" else self.root.rstrip("/") + key


def _target_class(protocol: str) -> Any:
    try:
        return fsspec.get_filesystem_class(protocol)
    except (ValueError, ImportError) as exc:
        raise InvalidParameterError(FACE, "target_protocol", f"{protocol!r}: {exc}") from None


def chain_root(protocol: str, fo: str, root: str | None = None) -> str:
    """The root of a chained filesystem as the target names it: ``root``, else ``fo``'s first component."""
    path = str(_target_class(protocol)._strip_protocol(root if root is not None else fo))
    lead = "/" if path.startswith("/") else ""
    base = path.strip("/") if root is not None else path.strip("/").partition("/")[0]
    if not base:
        reason = f"the {protocol} URL must name a bucket or directory ({protocol}://<bucket>/...)"
        raise InvalidParameterError(FACE, "root" if root is not None else "fo", reason)
    return lead + base


def _check_options(protocol: str, options: object) -> dict[str, Any]:
    """``options`` as keyword arguments: a mapping with string keys (values never shown)."""
    if not isinstance(options, Mapping):
        raise InvalidParameterError(FACE, protocol, f"the {protocol} options must be a mapping")
    if not all(isinstance(key, str) for key in options):
        raise InvalidParameterError(FACE, protocol, "option names must be strings")
    return dict(options)


def open_chain(protocol: str, options: object, fo: str, root: str | None) -> Chain:
    """The target filesystem of ``protocol`` with the user's ``options``, and its root (:func:`chain_root`).

    An option the target's class does not take is an :class:`InvalidParameterError` naming
    ``<protocol>.<option>``; so is, for the classes of the built-in drivers (which pass
    unknown keywords on, to fail at the first request), an option not in that driver's
    ``storage_options`` table. Values are never shown.
    """
    cls = _target_class(protocol)
    kwargs = _check_options(protocol, options)
    try:
        target = fsspec.filesystem(protocol, **kwargs)
    except TypeError as exc:
        unknown = _UNEXPECTED.search(str(exc))
        if unknown is None:
            raise InvalidParameterError(FACE, protocol, redact(str(exc), kwargs.values())) from None
        raise InvalidParameterError(FACE, f"{protocol}.{unknown[1]}", f"not an option of {cls.__name__}") from None
    except (ValueError, OSError) as exc:
        message = redact(str(exc), kwargs.values())
        raise InvalidParameterError(FACE, protocol, f"{cls.__name__} refused its options: {message}") from None
    table = option_table(target)
    for key in kwargs:
        if table is not None and table.get(key) is None:
            raise InvalidParameterError(FACE, f"{protocol}.{key}", f"not an option of {table.package}")
    return Chain(protocol, target, chain_root(protocol, fo, root))


class ChainRoot(_Cached):  # type: ignore[misc]
    """fsspec's instance cache, keyed by a chained filesystem's root rather than by its URL.

    fsspec hands a chained filesystem the path of each URL as ``fo``; replaced by the
    ``root`` it names (unless ``root`` is given), every URL of one bucket (with the same
    options) shares one instance, and the instance pickles with its root.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        protocol, fo, root = kwargs.get("target_protocol"), kwargs.get("fo"), kwargs.get("root")
        if isinstance(protocol, str) and isinstance(fo, str) and (root is None or isinstance(root, str)):
            with contextlib.suppress(InvalidParameterError):  # the constructor raises it, typed
                kwargs["root"] = chain_root(protocol, fo, root)
                del kwargs["fo"]
        return super().__call__(*args, **kwargs)
