"""Time a drain split over fetch_all calls (each answering at a short tool-call deadline, the next
one resuming with next_cursor) against the same drain in one uninterrupted call.

    python tools/drain_split.py                                 # 1000 records, 25 ms a page, 0.5 s calls
    python tools/drain_split.py --records 2000 --latency 0.05 --deadline 1 --runs 3

Both drains read the built-in sample API on 127.0.0.1 (offset pages of 25 records, one request at
a time) through the real MCP client in memory; the split drain's calls follow each other at once,
as a host's would. Prints the median seconds of each and their ratio (the aim is <= 1.05).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import anyio
from mcp import Client

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server


def config(url: str, deadline: float) -> AppConfig:
    return AppConfig.model_validate(
        {
            "server": {"tool_deadline_seconds": deadline, "max_inline_chars": 1000},
            "sources": {
                "slow": {
                    "url": url + "/offset",
                    "records": "items",
                    "concurrency": 1,
                    "pagination": {"mode": "offset", "total": "total", "page_size": 25},
                }
            },
        }
    )


async def drain(url: str, deadline: float) -> tuple[float, int, int]:
    """Seconds to drain the source with this tool deadline; the calls it took, the records."""
    async with Client(create_server(config(url, deadline), "memory://", environ={})) as client:
        arguments: dict[str, Any] = {"source": "slow", "fields": ["id"]}
        started, calls = time.perf_counter(), 0
        while True:
            result = (await client.call_tool("fetch_all", arguments)).structured_content or {}
            calls += 1
            if result.get("complete") or not result.get("next_cursor"):
                return time.perf_counter() - started, calls, int(result.get("count", 0))
            arguments = {"cursor": result["next_cursor"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.025, help="seconds per page request")
    parser.add_argument("--deadline", type=float, default=0.5, help="tool-call deadline of the split drain")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    whole: list[float] = []
    split: list[float] = []
    with SampleAPI(records=args.records, latency=args.latency) as api:
        for _ in range(args.runs):
            seconds, calls, count = anyio.run(drain, api.url, 600.0)
            assert calls == 1 and count == args.records, (calls, count)
            whole.append(seconds)
            seconds, calls, count = anyio.run(drain, api.url, args.deadline)
            assert count == args.records, count
            split.append(seconds)
    print(f"uninterrupted: {statistics.median(whole):.3f} s in 1 call  (runs: {_list(whole)})")
    print(f"split:         {statistics.median(split):.3f} s in {calls} calls  (runs: {_list(split)})")
    print(f"ratio:         {statistics.median(split) / statistics.median(whole):.3f}")
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.3f}" for value in values)


if __name__ == "__main__":
    sys.exit(main())
