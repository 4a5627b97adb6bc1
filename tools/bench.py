"""Benchmark fetch_all against the limit set by round trips, on loopback only.

Starts the sample API in a subprocess with an injected latency (default 20 ms) and N records
(default 5,000, pages of 50), starts ``mcp-paginate serve`` over stdio (what MCP hosts run)
and drives it with the real MCP client (``mcp.Client``), with a progress callback as a host
showing progress would. For each style it also runs a minimal sequential httpx2 loop over the
same API in the same run: that loop is "the limit" for a chain of requests on this machine.

Rows: cursor (``/token``), offset + total (``/offset``, concurrency 8), Alloy-style has_more
(without prefetch and with prefetch 4). Columns: wall time (median of ``--repeat`` runs),
requests the API saw, wall / (pages x latency), speed-up over the sequential loop of the same
style, and the server process's peak RSS (VmHWM, a high-water mark over the whole run).
Each repeat runs every row back to back, and a ratio is the median of the repeats' ratios
(a fetch_all against the loop run just before it), so a machine whose speed drifts during
the run does not tilt it. Then the list_page round trip over a direct GET of the same page,
p50, against a second sample API with no latency; the overhead is the median difference
between each list_page call and the direct GET right after it.

    python tools/bench.py                              # the table and the targets
    python tools/bench.py --records 20000 --latency 0  # peak RSS, compare with:
    python tools/bench.py --records 200000 --latency 0

Everything listens on 127.0.0.1 and stops by itself (``--timeout``, default 30 min).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from rich.console import Console
from rich.table import Table

BENCH_KEY = "bench-key-not-a-secret"
PAGE_SIZE = 50


# -- processes ---------------------------------------------------------------------------------


class SampleAPIProcess:
    """``python -m mcp_paginate.sample`` in a subprocess; its URL is the first line it prints."""

    def __init__(self, records: int, latency_ms: float) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mcp_paginate.sample",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--records",
                str(records),
                "--latency",
                str(latency_ms),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the sample API did not start (said {line!r})")
        self.url = line

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def server_pid() -> int:
    """The ``mcp-paginate serve`` process the MCP client started (a child of this process)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == me and b"serve" in command:
            return int(entry.name)
    raise RuntimeError("cannot find the mcp-paginate serve process")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc status")


def server_config(api: str, quiet_api: str, concurrency: int, prefetch: int) -> str:
    alloy = f"""preset = "alloy"
base_url = "{api}"
connector = "hubspot"
action = "listContacts"
credential_id = "bench-credential"
user_id = "bench-user"
"""
    return f"""
[server]
max_records = 100000000
max_pages = 100000000
tool_deadline_seconds = 7200

[sources.cursor]
url = "{api}/token"
[sources.cursor.pagination]
mode = "cursor"
next = {{ body = "meta.next_token" }}
cursor_param = {{ in = "query", name = "pagination_token" }}
size_param = {{ in = "query", name = "max_results" }}
page_size = {PAGE_SIZE}

[sources.offset_total]
url = "{api}/offset"
records = "items"
concurrency = {concurrency}
[sources.offset_total.pagination]
mode = "offset"
total = "total"
page_size = {PAGE_SIZE}

[sources.alloy]
{alloy}
[sources.alloy_prefetch]
{alloy}prefetch = {prefetch}

[sources.quiet_offset]
url = "{quiet_api}/offset"
records = "items"
[sources.quiet_offset.pagination]
mode = "offset"
total = "total"
page_size = {PAGE_SIZE}
"""


# -- the minimal sequential loops -------------------------------------------------------------


async def loop_cursor(http: httpx2.AsyncClient, api: str) -> int:
    params = {"max_results": str(PAGE_SIZE)}
    count = 0
    while True:
        body = (await http.get(f"{api}/token", params=params)).json()
        count += len(body["data"])
        token = body["meta"].get("next_token")
        if not token:
            return count
        params = {"max_results": str(PAGE_SIZE), "pagination_token": token}


async def loop_offset(http: httpx2.AsyncClient, api: str) -> int:
    offset = count = 0
    while True:
        body = (await http.get(f"{api}/offset", params={"limit": PAGE_SIZE, "offset": offset})).json()
        count += len(body["items"])
        offset += len(body["items"])
        if offset >= body["total"] or not body["items"]:
            return count


async def loop_alloy(http: httpx2.AsyncClient, api: str) -> int:
    url = f"{api}/connectors/hubspot/actions/listContacts/execute"
    headers = {
        "Authorization": f"Bearer {BENCH_KEY}",
        "x-api-version": "2025-09",
        "x-alloy-userid": "bench-user",
    }
    offset = count = 0
    while True:
        payload = {
            "credentialId": "bench-credential",
            "actionId": "listContacts",
            "input": {"limit": PAGE_SIZE, "offset": offset},
        }
        body = (await http.post(url, headers=headers, json=payload)).json()
        count += len(body["data"])
        if not body["pagination"]["hasMore"]:
            return count
        offset = body["pagination"]["nextOffset"]


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    style: str
    kind: str  # "loop" or "mcp"
    walls: list[float] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    rss_mb: float | None = None

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


async def api_requests(http: httpx2.AsyncClient, api: str) -> int:
    return int((await http.get(f"{api}/_stats")).json()["requests"])


async def reset_stats(http: httpx2.AsyncClient, api: str) -> None:
    (await http.post(f"{api}/_stats/reset")).raise_for_status()


async def fetch_all(client: Client, source: str, records: int) -> int:
    async def progress(progress: float, total: float | None, message: str | None) -> None:
        return None

    result = await client.call_tool("fetch_all", {"source": source}, progress_callback=progress)
    if result.is_error:
        raise RuntimeError(f"fetch_all({source}) failed: {result.content}")
    data = result.structured_content
    assert isinstance(data, dict)
    if data["count"] != records or not data["complete"]:
        raise RuntimeError(
            f"fetch_all({source}) returned {data['count']} records, complete={data['complete']}"
        )
    return int(data["pages"])


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = await call()
    return time.perf_counter() - started, value


async def list_page_overhead(
    client: Client, http: httpx2.AsyncClient, quiet_api: str, samples: int
) -> Overhead:
    """p50 of a list_page round trip re-reading page 1 by cursor, and of a direct GET of it."""
    first = await client.call_tool("list_page", {"source": "quiet_offset"})
    data = first.structured_content
    assert isinstance(data, dict) and not first.is_error
    cursor = data["cursor"]
    url, params = f"{quiet_api}/offset", {"limit": PAGE_SIZE, "offset": 0}

    async def through_mcp() -> Any:
        result = await client.call_tool("list_page", {"cursor": cursor})
        assert not result.is_error
        return result

    async def direct() -> Any:
        response = await http.get(url, params=params)
        return response.json()

    for _ in range(20):  # warm up both paths
        await through_mcp()
        await direct()

    async def no_io() -> Any:  # the same MCP round trip for a tool that makes no request
        result = await client.call_tool("list_sources", {})
        assert not result.is_error
        return result

    mcp_times, direct_times, floor_times = [], [], []
    for _ in range(samples):
        mcp_times.append((await timed(through_mcp))[0])
        direct_times.append((await timed(direct))[0])
        floor_times.append((await timed(no_io))[0])
    # The overhead is the median of each call's difference from the direct GET made right after it.
    extra = statistics.median(m - d for m, d in zip(mcp_times, direct_times, strict=True))
    return Overhead(
        statistics.median(mcp_times), statistics.median(direct_times), extra, statistics.median(floor_times)
    )


@dataclass
class Overhead:
    through: float
    direct: float
    extra: float
    floor: float
    """p50 of list_sources, which makes no request: the MCP round trip itself (SDK, stdio, JSON)."""


# -- main ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, console: Console) -> int:
    api = SampleAPIProcess(args.records, args.latency)
    quiet = SampleAPIProcess(PAGE_SIZE * 4, 0)
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "bench.toml"
            config.write_text(server_config(api.url, quiet.url, args.concurrency, args.prefetch))
            store = args.store or f"sqlite:///{folder}/state.db"
            parameters = StdioServerParameters(
                command=sys.executable,
                args=["-m", "mcp_paginate", "serve", "--config", str(config), "--store", store],
                env={
                    "ALLOY_API_KEY": BENCH_KEY,
                    "ALLOY_BASE_URL": api.url,
                    "PATH": os.environ.get("PATH", ""),
                },
            )
            limits = httpx2.Limits(max_keepalive_connections=8)
            async with (
                httpx2.AsyncClient(trust_env=False, limits=limits, timeout=60) as http,
                Client(parameters) as client,
            ):
                pid = server_pid()
                with anyio.fail_after(args.timeout):
                    return await measure(args, console, client, http, api.url, quiet.url, pid)
    finally:
        api.stop()
        quiet.stop()


async def measure(
    args: argparse.Namespace,
    console: Console,
    client: Client,
    http: httpx2.AsyncClient,
    api: str,
    quiet_api: str,
    pid: int,
) -> int:
    records, latency = args.records, args.latency / 1000
    loops = {"cursor": loop_cursor, "offset": loop_offset, "alloy": loop_alloy}
    rows = [
        Row("sequential httpx2 loop: cursor", "cursor", "loop"),
        Row("fetch_all: cursor", "cursor", "mcp"),
        Row("sequential httpx2 loop: offset", "offset", "loop"),
        Row(f"fetch_all: offset + total, concurrency {args.concurrency}", "offset", "mcp"),
        Row("sequential httpx2 loop: Alloy", "alloy", "loop"),
        Row("fetch_all: Alloy has_more", "alloy", "mcp"),
        Row(f"fetch_all: Alloy has_more, prefetch {args.prefetch}", "alloy", "mcp"),
    ]
    sources = {
        rows[1].label: "cursor",
        rows[3].label: "offset_total",
        rows[5].label: "alloy",
        rows[6].label: "alloy_prefetch",
    }
    rows = [row for row in rows if row.style in args.styles]
    # Warm up every path once (imports, connections, the store).
    for source in ("cursor", "offset_total", "alloy", "alloy_prefetch"):
        result = await client.call_tool("fetch_all", {"source": source, "max_pages": 3})
        assert not result.is_error, result.content
    for loop in loops.values():
        await loop(http, quiet_api)
    for repeat in range(args.repeat):
        for row in rows:
            await reset_stats(http, api)
            if row.kind == "loop":
                loop = loops[row.style]
                wall, count = await timed(lambda loop=loop: loop(http, api))  # type: ignore[misc]
                if count != records:
                    raise RuntimeError(f"{row.label} got {count} records, expected {records}")
                pages = await api_requests(http, api)
            else:
                source = sources[row.label]
                wall, pages = await timed(lambda source=source: fetch_all(client, source, records))  # type: ignore[misc]
                row.rss_mb = peak_rss_mb(pid)
            row.walls.append(wall)
            row.requests, row.pages = await api_requests(http, api), pages
            console.print(f"  run {repeat + 1}/{args.repeat}: {row.label}: {wall:.3f} s", style="dim")

    overhead: Overhead | None = None
    if args.overhead_samples:
        overhead = await list_page_overhead(client, http, quiet_api, args.overhead_samples)
    report(args, console, rows, overhead, peak_rss_mb(pid), latency)
    return 0


def report(
    args: argparse.Namespace,
    console: Console,
    rows: list[Row],
    overhead: Overhead | None,
    final_rss: float,
    latency: float,
) -> None:
    loops = {row.style: row for row in rows if row.kind == "loop"}

    def paired(row: Row, other: Row) -> float:
        """Median over the repeats of row's wall / other's wall in the same repeat: rows of one
        repeat run back to back, so a machine that speeds up or slows down during the run
        does not tilt the ratio (a ratio of two medians could pair runs minutes apart)."""
        return statistics.median(mine / theirs for mine, theirs in zip(row.walls, other.walls, strict=True))

    title = (
        f"{args.records:,} records, pages of {PAGE_SIZE}, latency {args.latency:g} ms, "
        f"median of {args.repeat} (ratios: median of per-repeat ratios), store {args.store or 'sqlite'}"
    )
    table = Table(title=title)
    for name in (
        "run",
        "wall s",
        "requests",
        "wall / (pages × latency)",
        "speed-up vs loop",
        "server peak RSS",
    ):
        table.add_column(name, justify="left" if name == "run" else "right")
    for row in rows:
        bound = f"{row.wall / (row.pages * latency):.2f}" if latency else "–"
        speedup = f"{1 / paired(row, loops[row.style]):.2f}×" if row.style in loops else "–"
        rss = f"{row.rss_mb:.0f} MB" if row.rss_mb is not None else ""
        table.add_row(row.label, f"{row.wall:.3f}", str(row.requests), bound, speedup, rss)
    console.print(table)
    if overhead is not None:
        console.print(
            f"list_page round trip (stdio, cursor re-read of one {PAGE_SIZE}-record page, latency 0): "
            f"p50 {overhead.through * 1000:.2f} ms; direct GET p50 {overhead.direct * 1000:.2f} ms; "
            f"overhead p50 {overhead.extra * 1000:.2f} ms (median of paired differences)"
        )
        console.print(
            f"for scale, list_sources (no request, a small result) over the same connection: "
            f"p50 {overhead.floor * 1000:.2f} ms"
        )
    console.print(f"server process peak RSS (VmHWM) over the whole run: {final_rss:.0f} MB")

    by_label = {row.label: row for row in rows}
    checks: list[tuple[str, str, bool]] = []

    def ratio(label: str, style: str) -> float | None:
        row = by_label.get(label)
        return paired(row, loops[style]) if row is not None and style in loops else None

    offset = ratio(f"fetch_all: offset + total, concurrency {args.concurrency}", "offset")
    if offset is not None:
        checks.append(("offset+total ≥ 5× the sequential loop", f"{1 / offset:.2f}×", 1 / offset >= 5))
    cursor = ratio("fetch_all: cursor", "cursor")
    if cursor is not None:
        checks.append(("cursor ≤ 1.02× the sequential loop", f"{cursor:.3f}×", cursor <= 1.02))
    alloy = ratio("fetch_all: Alloy has_more", "alloy")
    if alloy is not None:
        checks.append(("Alloy without prefetch ≤ 1.02× the loop", f"{alloy:.3f}×", alloy <= 1.02))
    prefetched = by_label.get(f"fetch_all: Alloy has_more, prefetch {args.prefetch}")
    plain = by_label.get("fetch_all: Alloy has_more")
    if prefetched is not None and plain is not None:
        gain = paired(plain, prefetched)
        checks.append((f"prefetch {args.prefetch} ≥ 3× faster than without", f"{gain:.2f}×", gain >= 3))
    if overhead is not None:
        extra = overhead.extra * 1000
        checks.append(("list_page overhead ≤ 3 ms p50", f"{extra:.2f} ms", extra <= 3))
    checks.append(("server peak RSS ≤ 250 MB", f"{final_rss:.0f} MB", final_rss <= 250))
    targets = Table(title="targets")
    for name in ("target", "measured", "met"):
        targets.add_column(name)
    for name, measured, met in checks:
        targets.add_row(name, measured, "yes" if met else "NO")
    console.print(targets)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=5000, help="records the sample API serves (5000)")
    parser.add_argument("--latency", type=float, default=20.0, help="ms added to every API request (20)")
    parser.add_argument("--concurrency", type=int, default=8, help="offset+total source concurrency (8)")
    parser.add_argument("--prefetch", type=int, default=4, help="prefetch of the second Alloy row (4)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each row; the median is shown (5)")
    parser.add_argument("--store", default=None, help="server store URL (default: sqlite in a temp dir)")
    parser.add_argument(
        "--styles",
        default="cursor,offset,alloy",
        type=lambda text: set(text.split(",")),
        help="which styles to run: cursor,offset,alloy (all)",
    )
    parser.add_argument("--overhead-samples", type=int, default=200, help="list_page samples (200; 0 skips)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    args = parser.parse_args(argv)
    console = Console(width=150, highlight=False)
    console.print(f"mcp-paginate bench: python tools/bench.py {' '.join(sys.argv[1:])}".rstrip())
    return anyio.run(run, args, console)


if __name__ == "__main__":
    sys.exit(main())
