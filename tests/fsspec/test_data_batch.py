"""``distfs bench --delay``: the delay proxy and the batch section run (figures: docs/performance.md)."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import time
import urllib.request
from typing import Any

import pytest
from cases import NO_LEAKS

from distfs.tools.batch import WORKLOADS, run_batch
from distfs.tools.delayproxy import DelayProxy

pytestmark = NO_LEAKS


def test_delay_proxy_delays_each_request_and_forwards_it(s3_endpoint: str, s3_parameters: dict[str, Any]) -> None:
    with DelayProxy(s3_endpoint, 0.05) as proxy:
        began = time.perf_counter()
        with pytest.raises(urllib.error.HTTPError) as info:  # unsigned: moto answers 403, through the proxy
            urllib.request.urlopen(f"{proxy.endpoint}/{s3_parameters['bucket']}/nothing", timeout=10)
        assert info.value.code in (403, 404)
        info.value.close()  # an HTTPError holds the response's socket
        assert time.perf_counter() - began >= 0.05
        assert proxy.requests == 1
    with pytest.raises(ValueError, match="loopback"):
        DelayProxy("http://example.com", 0.01)


def test_delay_proxy_answers_without_waiting_for_the_clients_ack(s3_endpoint: str) -> None:
    """Requests one after another on one connection: with Nagle's algorithm on the proxy's
    socket each answer's body waited for the client's delayed ACK of its headers (48 ms
    each at no delay, a stall that hit some of the bench's calls and not others)."""
    with DelayProxy(s3_endpoint, 0.0) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", int(proxy.endpoint.rpartition(":")[2]), timeout=10)
        took = []
        try:
            for _ in range(15):
                began = time.perf_counter()
                connection.request("PUT", "/no-such-bucket/key", body=b"x" * 100)  # unsigned: moto refuses it
                connection.getresponse().read()
                took.append(time.perf_counter() - began)
        finally:
            connection.close()
        assert proxy.requests == 15
    assert statistics.median(took) < 0.02, took


def test_delay_proxy_is_a_process_of_its_own_that_takes_a_hundred_connections_at_once(s3_endpoint: str) -> None:
    """Its threads must not take the measured client's interpreter lock, and a client opening
    100 connections at once (obstore) must not wait for SYN retransmits (a backlog of 5 did:
    1 s and more per connection beyond the fifth)."""
    with DelayProxy(s3_endpoint, 0.01) as proxy:
        assert proxy.pid != os.getpid()
        port = int(proxy.endpoint.rpartition(":")[2])
        began = time.perf_counter()
        sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(100)]
        assert time.perf_counter() - began < 0.9
        for sock in sockets:
            sock.close()
        proxy.peak = 0
        assert proxy.peak == 0
        with pytest.raises(ValueError, match="reset"):
            proxy.peak = 3


def test_batch_section_runs_every_workload(s3_endpoint: str, s3_parameters: dict[str, Any]) -> None:
    rows = run_batch(s3_endpoint, s3_parameters, delay=0.002, count=8, size=100, repeats=1)
    assert [row.workload for row in rows] == list(WORKLOADS)
    assert {row.workload: row.target for row in rows} == {
        "pipe": 1.0,
        "cat": 1.0,
        "aio": 0.6,
        "obstore": 1.2,
        "du": 1.0,
        "rm": 1.0,
    }
    by_name = {row.workload: row for row in rows}
    assert by_name["obstore"].ours == by_name["aio"].ours  # the same distfs.aio samples
    assert by_name["obstore"].theirs == "obstore"
    assert by_name["obstore"].peak_raw >= 2  # obstore's gets went through the proxy, concurrently
    for row in rows:
        assert row.ours > 0
        assert row.raw > 0
        assert row.ratio == row.ours / row.raw
        assert row.peak_ours >= 1
        assert row.peak_raw >= 1
        assert row.cpu_ours > 0
        assert row.cpu_raw > 0


def test_dataframe_reads_run(tmp_path: Any) -> None:
    from distfs.tools.dataframes import run_reads

    rows = run_reads(tmp_path, rows=1000, rounds=1)
    assert [row.reader for row in rows] == ["read_parquet", "read_csv"]
    assert all(row.ours > 0 and row.local > 0 for row in rows)
