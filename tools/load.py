"""Load and soak mcp-paginate over streamable HTTP: two replicas on one Redis, beside a bare SDK server.

Starts, all on 127.0.0.1: the sample API (``--latency`` ms per request, default 20), a
``redis-server``, ``--replicas`` (default 2) ``mcp-paginate serve --transport http`` processes
sharing it, and ``tools/bare_server.py`` (the MCP SDK with one tool doing the same upstream GET
per call, with an unbounded connection pool). The client speaks MCP itself — JSON-RPC POSTs of
the 2026-07-28 stateless protocol with httpx2, one ``server/discover`` per assistant, then
``tools/call`` — so that the client is not what is measured.

``levels`` (the default): for each level (default 8, 32, 128, 512) that many assistants at once,
each paging ``--steps`` (default 10) pages with ``list_page``, every step sent to the *other*
replica (no stickiness), each page checked (ids continue exactly); then the same assistants
against the bare server (``get_page`` with the upstream's own token). Per level and target:
calls/s, p50 and p99 of a call, errors, wrong pages, and ours / bare.

``soak``: ``--minutes`` (default 10) of mixed load — paging, draining with ``fetch_all`` and
reading the stored results back through the results resource from the other replica, with the
sample API injecting faults (503s, dropped connections, truncated and non-JSON bodies, slow
answers) — sampling each replica's RSS, open file descriptors and sockets
(``/proc/<pid>/status``, ``/proc/<pid>/fd``) and the store's session and result counts.

    python tools/load.py                                # the table (a few minutes)
    python tools/load.py --levels 4 --steps 3           # a smoke run (the test suite's)
    python tools/load.py soak --minutes 10              # the soak
    python tools/load.py --json out.json ...            # also write the figures as JSON

Exits 1 if any call failed or any page was wrong. Every process is stopped at the end; the
whole run is bounded by ``--timeout`` (seconds, default 3600).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
from load_kit import (
    PAGE_SIZE,
    ROOT,
    TOKEN,
    CallFailed,
    Deployment,
    Mcp,
    Tally,
    client_for,
    page_ours,
    start_deployment,
)
from soak import report_soak, run_soak

sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer

# -- the levels --------------------------------------------------------------------------------


async def page_bare(endpoints: list[Mcp], index: int, steps: int, tally: Tally) -> None:
    """One assistant on the bare server: the same pages, carrying the upstream's token itself."""
    try:
        endpoint = endpoints[0]
        await endpoint.request("server/discover")
        token: str | None = None
        for step in range(1, steps + 1):
            arguments: dict[str, Any] = {"max_results": PAGE_SIZE, **({"token": token} if token else {})}
            result = await tally.timed(endpoint.call_tool("get_page", arguments))
            if not tally.check_page(step, result["records"], "bare") or not result.get("next_token"):
                return
            token = result["next_token"]
    except CallFailed as exc:
        tally.fail(str(exc))


Assistant = Callable[[list[Mcp], int, int, Tally], Coroutine[Any, Any, None]]


@dataclass
class LevelResult:
    level: int
    target: str
    calls: int
    seconds: float
    calls_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrong_pages: int
    load_average: float
    samples: list[str]


async def run_level(
    target: str, endpoints: list[Mcp], assistant: Assistant, level: int, steps: int
) -> LevelResult:
    tally = Tally()
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for index in range(level):
            group.start_soon(assistant, endpoints, index, steps, tally)
    seconds = time.perf_counter() - started
    latencies = sorted(tally.latencies) or [0.0]
    return LevelResult(
        level=level,
        target=target,
        calls=len(tally.latencies),
        seconds=round(seconds, 3),
        calls_per_second=round(len(tally.latencies) / seconds, 1),
        p50_ms=round(1000 * statistics.median(latencies), 1),
        p99_ms=round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
        errors=tally.errors,
        wrong_pages=tally.wrong_pages,
        load_average=round(os.getloadavg()[0], 2),
        samples=tally.samples,
    )


async def run_levels(deployment: Deployment, args: argparse.Namespace) -> list[LevelResult]:
    results: list[LevelResult] = []
    levels = [int(level) for level in args.levels.split(",")]
    async with client_for(max(levels)) as http:
        ours = [Mcp(http, replica.url, TOKEN) for replica in deployment.replicas]
        bare = [Mcp(http, deployment.bare.url)]
        targets: list[tuple[str, list[Mcp], Assistant]] = [
            ("ours", ours, page_ours),
            ("bare", bare, page_bare),
        ]
        for name, endpoints, assistant in targets:  # warm both up: connections, imports, caches
            await run_level(name, endpoints, assistant, min(8, max(levels)), 2)
        for level in levels:
            for name, endpoints, assistant in targets:
                result = await run_level(name, endpoints, assistant, level, args.steps)
                results.append(result)
                print(_row(result), flush=True)
    return results


def _row(result: LevelResult) -> str:
    return (
        f"{result.level:>5} {result.target:<5} {result.calls:>6} {result.calls_per_second:>9.1f} "
        f"{result.p50_ms:>8.1f} {result.p99_ms:>8.1f} {result.errors:>6} {result.wrong_pages:>6}   "
        f"load {result.load_average:.2f}" + (f"   e.g. {result.samples[0]}" if result.samples else "")
    )


def report_levels(results: list[LevelResult]) -> bool:
    """Print the table; True if no call failed and no page was wrong."""
    print(
        "\n| assistants | ours calls/s | bare calls/s | ours / bare | ours p50 / p99 ms "
        "| bare p50 / p99 ms | errors (ours, bare) | wrong pages | load avg |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for ours, bare in zip(results[::2], results[1::2], strict=True):
        ratio = ours.calls_per_second / bare.calls_per_second if bare.calls_per_second else 0.0
        ratios.append(ratio)
        wrong = ours.wrong_pages + bare.wrong_pages
        print(
            f"| {ours.level} | {ours.calls_per_second:.1f} | {bare.calls_per_second:.1f} | {ratio:.2f}× "
            f"| {ours.p50_ms:.0f} / {ours.p99_ms:.0f} | {bare.p50_ms:.0f} / {bare.p99_ms:.0f} "
            f"| {ours.errors}, {bare.errors} | {wrong} | {ours.load_average:.2f} |"
        )
    clean = all(r.errors == 0 and r.wrong_pages == 0 for r in results)
    met = clean and all(ratio >= 0.9 for ratio in ratios)
    target = "no error, no wrong page, ≥ 0.9× the bare server's calls/s at every level"
    print(f"\ntarget ({target}): {'met' if met else 'NOT met'}")
    return clean


# -- main --------------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", nargs="?", choices=("levels", "soak"), default="levels")
    parser.add_argument("--levels", default="8,32,128,512", help="concurrent assistants per level")
    parser.add_argument("--steps", type=int, default=10, help="list_page steps per assistant")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--latency", type=float, default=20.0, help="upstream latency, ms")
    parser.add_argument("--records", type=int, default=1000, help="records the sample API serves")
    parser.add_argument("--redis", default=None, help="use this Redis URL instead of starting redis-server")
    parser.add_argument("--max-sessions", type=int, help="server.max_sessions (10000; soak: 1000)")
    parser.add_argument("--max-results", type=int, help="server.max_stored_results (200; soak: 100)")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak: how long")
    parser.add_argument("--workers", type=int, default=32, help="soak: concurrent assistants")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="soak: sampling period")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
    args = parser.parse_args(argv)
    soak = args.mode == "soak"
    args.max_sessions = args.max_sessions or (1000 if soak else 10000)
    args.max_results = args.max_results or (100 if soak else 200)
    if args.steps * PAGE_SIZE > args.records:
        parser.error(f"--records must be at least steps × {PAGE_SIZE}")
    return args


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="mcp-paginate-load-") as directory:
        logs = Path(directory)
        redis = None if args.redis else RedisServer()
        if redis is not None:
            redis.start()
        store_url = args.redis or redis.url  # type: ignore[union-attr]
        deployment: Deployment | None = None
        try:
            with anyio.fail_after(args.timeout):
                deployment = await start_deployment(logs, args, store_url)
                if args.mode == "levels":
                    results = await run_levels(deployment, args)
                    clean = report_levels(results)
                    figures: Any = [asdict(result) for result in results]
                else:
                    soak = await run_soak(deployment, args)
                    clean = report_soak(soak)
                    figures = asdict(soak)
            for service in (*deployment.replicas, deployment.bare):
                if "Traceback" in service.output():
                    print(f"\n{service.name} logged a traceback:\n{service.output()}")
                    clean = False
        finally:
            if deployment is not None:
                for service in (*deployment.replicas, deployment.bare, deployment.api):
                    service.stop()
            if redis is not None:
                redis.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 0 if clean else 1


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs)")
    if args.mode == "levels":
        print("level target  calls   calls/s   p50 ms   p99 ms errors  wrong")
    sys.exit(anyio.run(run, args))


if __name__ == "__main__":
    main()
