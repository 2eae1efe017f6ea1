"""What a driver's backend does natively: :class:`Capabilities`.

Every driver returned by :func:`distfs.create` exposes ``driver.capabilities``. The
contract of :class:`~distfs.driver.StorageDriver` holds whatever the capabilities say;
they tell *how* a backend keeps it (and so what it costs), not *whether*:

``append``
    ``"native"``: the store appends to an object in place, so a resumed writer sends only
    the new bytes; ``"emulated"``: distfs rebuilds the object (multipart copy, compose,
    block lists); ``"unknown"`` for drivers that do not say.
``atomic_move``
    ``move`` is one rename in the store (the object keeps its identity and modification
    time) rather than a copy followed by a delete.
``server_side_copy``
    moving an object never streams its bytes through this process.
``presign_get``, ``presign_head``
    ``redirect_url(path, "GET" / "HEAD")`` returns a URL a client can use directly.
``empty_directories``
    a directory outlives its last child (a local filesystem); on object stores it vanishes.
``listing_consistency``
    ``"strong"``: ``list`` and ``stat`` see every completed write and delete, also those of
    other processes; ``"unknown"`` for drivers that do not say.
``refused_characters``
    characters a name cannot hold faithfully on this store, so that a portable path
    (``paths: portable``) holding one is refused with ``InvalidPathError`` on every call
    (registry paths never hold them): :data:`BACKSLASH` where the store reads ``\\`` as
    ``/`` (Azure Blob Storage: ``/a\\b`` would be ``/a/b``, a silent overwrite),
    :data:`NOT_XML` where listings or batch deletes travel as XML (S3, Azure, OSS: such a
    name can be written but then not listed or deleted).
``pinned_reads``
    the store tells every replacement of an object apart (an ETag, a generation, an inode
    with a fine modification time), so a reader that meets a replaced object raises
    ``ObjectChangedError`` rather than mixing two versions; where it is not declared, a
    replacement of the same size within the store's time resolution may go unnoticed.
``atomic_put``
    ``put_content`` and ``commit`` publish the whole object or nothing (a reader never
    sees a partial object), natively or through a hidden temporary object and a rename.
``crash_resume``
    a suspended upload outlives the process: another process (another machine) resumes
    it at the size of its last ``close()``; not declared where the store itself lives in
    the process (``inmemory``).
``read_only``
    the backend cannot be written (a zip archive, an HTTP server): reads and listings
    work, and every write raises ``UnsupportedMethodError`` naming the driver and the path.

``distfs probe`` derives the same summary from behavioural probes
(:func:`distfs.tools.probe.report.derive_capabilities`); the test suite checks that every built-in
backend declares what the probes observe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["BACKSLASH", "NOT_XML", "OBJECT_STORE", "UNKNOWN", "Capabilities"]

#: A store that takes ``\\`` in a name for the separator ``/``.
BACKSLASH = "\\"
#: What XML 1.0 cannot carry beyond the controls and surrogates no portable name holds.
NOT_XML = "\ufffe\uffff"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A backend's native abilities (see the module docstring for each field)."""

    append: Literal["native", "emulated", "unknown"] = "unknown"
    atomic_move: bool = False
    server_side_copy: bool = False
    presign_get: bool = False
    presign_head: bool = False
    empty_directories: bool = False
    listing_consistency: Literal["strong", "stale", "unknown"] = "unknown"
    refused_characters: str = ""
    pinned_reads: bool = False
    atomic_put: bool = False
    crash_resume: bool = False
    read_only: bool = False


#: What the engine's object stores do natively (each store adds its refused characters).
OBJECT_STORE = Capabilities(
    append="emulated",
    server_side_copy=True,
    presign_get=True,
    presign_head=True,
    listing_consistency="strong",
    pinned_reads=True,
    atomic_put=True,
    crash_resume=True,
)

UNKNOWN = Capabilities()
"""What a driver that declares nothing reports: every ability unknown or absent."""
