"""One module per storage backend: its parameters, its fsspec filesystem, its fast paths.

Each module exposes ``factory(parameters) -> StorageDriver`` (registered by name in
:mod:`distfs.factory`) and a store (:class:`distfs.engine.seam.Store`) holding only what
its backend does; the engine keeps the contract over it. :mod:`.generic` is the store of
any other fsspec filesystem. Backend SDK imports and exception mapping stay inside the
backend's own package.
"""
