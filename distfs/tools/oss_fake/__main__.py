"""``python -m distfs.tools.oss_fake``: the fake on a port (see :func:`.server.main`)."""

from .server import main

main()
