"""One module per storage backend: its parameters, its fsspec filesystem, its fast paths.

Each module exposes ``factory(parameters) -> StorageDriver`` (registered by name in
:mod:`distfs.factory`) and a :class:`distfs.fsspec_driver.Backend` subclass holding only
what its filesystem does differently. Backend SDK imports and exception mapping stay
inside the backend's own module.
"""
