"""Does HTTP/2 help? HTTP/1.1 against HTTP/2 on the same TLS server, on loopback only.

Serves the sample API under hypercorn over TLS (a throwaway CA from trustme), offering ``h2``
and ``http/1.1`` by ALPN, and drains it with httpx2 both ways in one run:

- a cursor chain (100 pages of 50, one request at a time);
- 8 concurrent offset requests on a warm client (HTTP/1.1 on up to 8 connections, HTTP/2
  multiplexed on one);
- the same on a new client each time, so HTTP/1.1 pays 8 TLS handshakes to HTTP/2's one.

It prints each median and the HTTP/2 / HTTP/1.1 ratio. mcp-paginate speaks HTTP/1.1 because
this says HTTP/2 costs more than it saves (README, Performance). It needs packages that are
not mcp-paginate's dependencies::

    pip install hypercorn h2 trustme
    python tools/http2_bench.py               # 20 ms latency, 3 repeats
    python tools/http2_bench.py --latency 0

Everything listens on 127.0.0.1 and stops by itself (``--timeout``, default 10 min).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2

PAGE_SIZE = 50
CONCURRENCY = 8


def serve(port: int, folder: str, records: int, latency_ms: float) -> None:
    """The server process: the sample API under hypercorn, TLS with ALPN h2 and http/1.1."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from mcp_paginate.sample import create_app

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = f"{folder}/cert.pem", f"{folder}/key.pem"
    config.alpn_protocols = ["h2", "http/1.1"]
    config.loglevel = "WARNING"
    asyncio.run(hypercorn_serve(create_app(records=records, latency=latency_ms / 1000), config))


async def cursor_chain(client: httpx2.AsyncClient, base: str) -> int:
    token, count = None, 0
    while True:
        params: dict[str, str | int] = {"max_results": PAGE_SIZE}
        if token:
            params["pagination_token"] = token
        body = (await client.get(f"{base}/token", params=params)).json()
        count += len(body["data"])
        token = body["meta"].get("next_token")
        if not token:
            return count


async def offset_concurrent(client: httpx2.AsyncClient, base: str, records: int) -> int:
    limiter = anyio.Semaphore(CONCURRENCY)
    counts: list[int] = []

    async def one(offset: int) -> None:
        async with limiter:
            response = await client.get(f"{base}/offset", params={"limit": PAGE_SIZE, "offset": offset})
            counts.append(len(response.json()["items"]))

    async with anyio.create_task_group() as group:
        for offset in range(0, records, PAGE_SIZE):
            group.start_soon(one, offset)
    return sum(counts)


async def median_wall(repeat: int, run: Callable[[], Awaitable[int]], records: int) -> float:
    walls = []
    for _ in range(repeat):
        started = time.perf_counter()
        count = await run()
        walls.append(time.perf_counter() - started)
        if count != records:
            raise RuntimeError(f"got {count} records, expected {records}")
    return statistics.median(walls)


async def measure(base: str, tls: ssl.SSLContext, records: int, repeat: int) -> dict[tuple[str, bool], float]:
    limits = httpx2.Limits(max_keepalive_connections=CONCURRENCY)
    results: dict[tuple[str, bool], float] = {}
    for http2 in (False, True):
        async with httpx2.AsyncClient(http2=http2, verify=tls, limits=limits, trust_env=False) as client:
            version = (await client.get(f"{base}/token", params={"max_results": 1})).http_version
            if version != ("HTTP/2" if http2 else "HTTP/1.1"):
                raise RuntimeError(f"asked for {'HTTP/2' if http2 else 'HTTP/1.1'}, got {version}")
            await cursor_chain(client, base)  # warm up
            await offset_concurrent(client, base, records)
            results["cursor chain", http2] = await median_wall(
                repeat, functools.partial(cursor_chain, client, base), records
            )
            results[f"offset, {CONCURRENCY} concurrent", http2] = await median_wall(
                repeat, functools.partial(offset_concurrent, client, base, records), records
            )

        async def cold(http2: bool = http2) -> int:
            async with httpx2.AsyncClient(http2=http2, verify=tls, limits=limits, trust_env=False) as client:
                return await offset_concurrent(client, base, records)

        results[f"offset, {CONCURRENCY} concurrent, new client", http2] = await median_wall(
            repeat, cold, records
        )
    return results


async def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    with anyio.fail_after(30):
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    "the server exited; is hypercorn installed? pip install hypercorn h2 trustme"
                )
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                await anyio.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=20, help="ms added to every request (20)")
    parser.add_argument("--records", type=int, default=5000, help="records served (5,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (3)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before giving up (600)")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.records, args.latency)
        return 0

    import trustme

    with tempfile.TemporaryDirectory() as folder:
        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1")
        certificate.private_key_pem.write_to_path(f"{folder}/key.pem")
        certificate.cert_chain_pems[0].write_to_path(f"{folder}/cert.pem")
        tls = ssl.create_default_context()
        authority.configure_trust(tls)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), folder]
        command += ["--records", str(args.records), "--latency", str(args.latency)]
        server = subprocess.Popen(command)
        try:

            async def run() -> dict[tuple[str, bool], float]:
                with anyio.fail_after(args.timeout):
                    await wait_for(port, server)
                    return await measure(f"https://127.0.0.1:{port}", tls, args.records, args.repeat)

            results = anyio.run(run)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"{args.records:,} records, pages of {PAGE_SIZE}, latency {args.latency:g} ms, TLS on loopback, "
        f"median of {args.repeat}"
    )
    for kind in dict.fromkeys(kind for kind, _ in results):
        one, two = results[kind, False], results[kind, True]
        print(f"  {kind:<38} HTTP/1.1 {one:7.3f} s   HTTP/2 {two:7.3f} s   HTTP/2 / HTTP/1.1 {two / one:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
