"""Tools above the runtime: the ``distfs`` command, ``distfs bench``, ``distfs probe``, and the
local test servers (moto, fake-gcs-server, Azurite and distfs's own OSS fake).

Nothing in the runtime package imports this subpackage; it imports the runtime.
"""
