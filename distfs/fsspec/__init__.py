"""distfs as an fsspec protocol: ``distfs://`` for pandas, dask, pyarrow, zarr and UPath.

Registered through the ``fsspec.specs`` entry point, so no import is needed::

    import pandas as pd

    options = {"driver": "s3", "bucket": "data", "region": "eu-west-1"}
    df = pd.read_csv("distfs:///tables/2024.csv", storage_options=options)
    fs = fsspec.filesystem("distfs", driver="filesystem", rootdirectory="/srv/data")

The store: ``driver`` names a registered driver and every other keyword is one of its
parameters; or ``config="/etc/docker/registry/config.yml"`` takes the driver, its
parameters and its storage middleware from a registry configuration. Without either, the
store comes from the environment (:func:`store_from_environment`): ``DISTFS_CONFIG`` (the
path of a registry config.yml), or ``DISTFS_DRIVER`` with ``DISTFS_PARAMETERS`` (a JSON
object of the driver's parameters). With nothing configured, construction raises an
``InvalidParameterError`` naming these ways; a keyword that is neither a driver parameter
nor an fsspec option is named in the error. ``inmemory`` is used only when asked for.

Chained, ``distfs::s3://bucket/key`` (any fsspec URL after ``::``, its options under its
protocol name) is the driver :func:`distfs.from_filesystem` makes of the target's own
fsspec instance, rooted at the bucket, with the target's names (:mod:`.chain`).

Paths: ``distfs:///a/b.csv`` and ``distfs://a/b.csv`` are the driver path ``/a/b.csv``.
Unless ``paths`` is given, ``distfs://`` applies the ``portable`` path rules (hive
partitions such as ``year=2024``, names with spaces); a registry config keeps its own.

Guarantees (every call goes through the driver's public contract, nothing else):

* batches run their paths concurrently: on an object store ``cat``, ``cat_ranges``,
  ``pipe`` and ``sizes`` are gathered as coroutines on the engine's loop (the async
  driver over the same engine, :mod:`distfs.aio`, bounds them); ``get``, ``put``, ``cp``
  and every batch on other drivers run on a pool of :meth:`DistFileSystem.concurrency`
  threads (the driver's ``max_concurrency``, else :data:`DEFAULT_CONCURRENCY`); ``rm`` is
  one ``delete_many`` of the driver; ``find``, ``du`` and glob expansion use one walk;
  ``ls`` is one delimiter listing on an object store, a walk that does not descend
  elsewhere; ``cp`` on an object store copies inside the store;
* ``asynchronous=True`` (or fsspec's async callers): the coroutine methods ``_cat_file``,
  ``_pipe_file``, ``_info``, ... (:data:`ASYNC_MIRRORS`) work on any running loop; on an
  object store those of :data:`NATIVE_COROUTINES` await the engine with no thread;
* on an object store a file opened for reading fetches nothing at open (one ``stat``) and
  each fetch of its cache (``cache_type``, ``block_size``) is one ranged read pinned to the
  version seen at open (:mod:`distfs.fsspec.reads`); elsewhere it holds one driver reader
  for its whole life, so it reads one
  version of the object: the driver's reader pins it, and where the stream cannot seek,
  a re-opened reader is checked against the size and time seen at open (a change raises
  :class:`~distfs.errors.ObjectChangedError`, chained under an ``OSError``); on the
  ``filesystem`` driver the file reads the local file itself (its reader, opened confined
  to the root) with ``pread``, at local speed (:mod:`~distfs.fsspec.local`); every file
  is an fsspec file object (``name`` the path, cache chains work);
* a file opened for writing is published only when it is closed without an exception:
  ``close()`` while an exception raised after its ``open()`` is being handled (a ``with``
  block, fsspec's ``OpenFile``, pandas), a failed upload, and a file dropped without
  ``close()`` cancel the upload; compression and text layers keep that rule
  (:mod:`~distfs.fsspec.layers`). ``"ab"`` appends to the committed object: it starts a
  fresh upload that continues the committed content (on an object store inside the
  store, by copied parts), discarding any suspended upload of the path;
* ``with fs.transaction:`` publishes the files written inside and closed normally, one
  after another, when the block ends, and cancels all of them when it raises
  (:mod:`~distfs.fsspec.transactions`);
* errors: not-found is ``FileNotFoundError`` (``exists``/``isfile``/``isdir`` are False
  only then), invalid paths ``ValueError`` naming the rule and the ``paths=`` option,
  refused credentials ``PermissionError`` (:class:`~distfs.errors.AccessDeniedError`),
  unsupported calls ``NotImplementedError``; a failure with an ``errno`` (a local
  ``ENOTDIR``, ``EISDIR``, ``ENOSPC``...) its ``OSError`` kind naming the caller's path
  (a read-only store ``PermissionError``, see :mod:`~distfs.fsspec.oserrors`); anything
  else an ``OSError`` (``EIO``) whose message is the driver's (a missing bucket says so).
  ``__cause__`` is the typed error.

Pickling: an instance pickles as its constructor arguments and rebuilds on dask workers.
Credentials given inline as parameters travel with it; credentials from the environment,
a config file or the SDK's credential chain are not pickled (each process resolves its
own). ``created`` reports the modification time (drivers keep no creation time); ``sign``
is the driver's ``redirect_url(path, "GET", expires=expiration)`` and raises
``NotImplementedError`` where the driver cannot redirect. Names and directories follow
fsspec's own backends (:mod:`distfs.fsspec.names`: ``mv``, ``rmdir``, ``touch``,
``modified``; ``mkdir`` remembered by the instance).
"""

from .batches import DEFAULT_CONCURRENCY
from .coroutines import ASYNC_MIRRORS, NATIVE_COROUTINES
from .filesystem import DistFileSystem
from .store import ENV_CONFIG, ENV_DRIVER, ENV_PARAMETERS, store_from_environment

__all__ = [
    "ASYNC_MIRRORS",
    "DEFAULT_CONCURRENCY",
    "ENV_CONFIG",
    "ENV_DRIVER",
    "ENV_PARAMETERS",
    "NATIVE_COROUTINES",
    "DistFileSystem",
    "store_from_environment",
]
