"""The aiohttp example of docs/async.md runs: it streams a blob from ``reader`` to an HTTP response."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web

import distfs.aio
from distfs.tools.local import LocalStores

PAGE = Path(__file__).resolve().parents[2] / "docs" / "async.md"


def example() -> str:
    """The first python block of the page's section "Serving a blob over HTTP"."""
    section = PAGE.read_text().split("## Serving a blob over HTTP", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "docs/async.md lost its HTTP example"
    return match.group(1)


@pytest.mark.parametrize("name", ["inmemory", "s3"])
def test_http_example_streams_a_blob(local_stores: LocalStores, name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example(), str(PAGE), "exec"), namespace)
    blob = bytes(range(256)) * (40 << 10)  # 10 MiB: several chunks on every driver

    async def main() -> None:
        driver = await distfs.aio.create(name, local_stores.parameters(name))
        await driver.put_content("/layers/blob", blob)
        runner = web.AppRunner(namespace["blob_app"](driver))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with ClientSession() as client:
                async with client.get(f"http://127.0.0.1:{port}/blobs/layers/blob") as response:
                    assert response.status == 200
                    assert response.headers["Content-Type"] == "application/octet-stream"
                    assert "Content-Length" not in response.headers  # streamed, chunked
                    assert await response.read() == blob
                async with client.get(f"http://127.0.0.1:{port}/blobs/layers/missing") as response:
                    assert response.status == 404
        finally:
            await runner.cleanup()
            await driver.delete("/layers")
            await driver.close()

    asyncio.run(main())
