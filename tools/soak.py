"""The soak: minutes of mixed load on the replicas, with their memory, descriptors and sessions sampled.

Run by ``python tools/load.py soak --minutes 10`` (see tools/load.py). Workers page with
``list_page`` (each step on the other replica), drain with ``fetch_all`` and read the stored
results back through the results resource from the other replica, every answer checked, while
the sample API injects faults (`FAULTS`). Every ``--sample-seconds`` each replica's RSS, open
file descriptors and sockets (``/proc/<pid>/status``, ``/proc/<pid>/fd``) and the store's
session and result counts are sampled; the report gives the curve, the growth after warm-up
(the first 20%), and whether the counts stayed within ``max_sessions`` / ``max_stored_results``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
from load_kit import TOKEN, CallFailed, Deployment, Mcp, Tally, client_for, page_ours

from mcp_paginate.store import Store, open_store

FAULTS = {
    "status_every": 50,
    "reset_every": 97,
    "truncate_every": 101,
    "bad_json_every": 103,
    "slow_every": 89,
    "slow_seconds": 0.2,
}
"""The sample API's faults during the soak: about 1 request in 20 fails or is slow; retries absorb them."""


@dataclass
class Sample:
    seconds: float
    rss_mb: list[float]
    fds: list[int]
    sockets: list[int]
    sessions: int
    results: int
    calls: int
    errors: int


@dataclass
class SoakResult:
    minutes: float
    workers: int
    max_sessions: int
    max_results: int
    faults: dict[str, float]
    calls: int = 0
    activities: dict[str, int] = field(default_factory=lambda: {"page": 0, "drain": 0})
    errors: int = 0
    wrong: int = 0
    error_samples: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    idle: Sample | None = None
    memory_growth: list[float] = field(default_factory=list)


def process_sample(pid: int) -> tuple[float, int, int]:
    """A process's resident memory (MB), open file descriptors and sockets among them."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fds = sockets = 0
    for entry in os.scandir(f"/proc/{pid}/fd"):
        fds += 1
        with suppress(OSError):  # closed between the listing and the look
            sockets += os.readlink(entry.path).startswith("socket:")
    return round(rss, 1), fds, sockets


async def drain(endpoints: list[Mcp], index: int, records: int, tally: Tally) -> None:
    """fetch_all on one replica, then the stored results read back from the other; both checked."""
    expected = list(range(1, records + 1))
    try:
        result = await tally.timed(
            endpoints[index % len(endpoints)].call_tool("fetch_all", {"source": "drain"})
        )
        inline = [record["id"] for record in result["records"]]
        if not result["complete"] or result["count"] != records or inline != expected[: len(inline)]:
            tally.wrong(f"fetch_all: complete={result['complete']} count={result['count']}")
            return
        reader = endpoints[(index + 1) % len(endpoints)]
        stored = json.loads(await tally.timed(reader.read_resource(result["results_uri"])))
        if [record["id"] for record in stored["records"]] != expected:
            tally.wrong(f"results resource: {stored.get('count')} records, not ids 1..{records}")
    except CallFailed as exc:
        tally.fail(str(exc))


async def soak_worker(
    endpoints: list[Mcp],
    worker: int,
    deadline: float,
    args: argparse.Namespace,
    tally: Tally,
    soak: SoakResult,
) -> None:
    turn = 0
    while time.monotonic() < deadline:
        turn += 1
        if turn % 3:
            soak.activities["page"] += 1
            await page_ours(endpoints, worker + turn, args.steps, tally)
        else:
            soak.activities["drain"] += 1
            await drain(endpoints, worker + turn, args.records, tally)


async def sample_every(
    deployment: Deployment, store: Store, period: float, tally: Tally, soak: SoakResult, started: float
) -> None:
    while True:
        soak.samples.append(await take_sample(deployment, store, tally, started))
        await anyio.sleep(period)


async def take_sample(deployment: Deployment, store: Store, tally: Tally, started: float) -> Sample:
    figures = [process_sample(replica.pid) for replica in deployment.replicas]
    counts = await store.counts()
    return Sample(
        seconds=round(time.monotonic() - started, 1),
        rss_mb=[rss for rss, _, _ in figures],
        fds=[fds for _, fds, _ in figures],
        sockets=[sockets for _, _, sockets in figures],
        sessions=counts["sessions"],
        results=counts["results"],
        calls=len(tally.latencies),
        errors=tally.errors + tally.wrong_pages,
    )


async def run_soak(deployment: Deployment, args: argparse.Namespace) -> SoakResult:
    """Turn the faults on, run the workers until ``--minutes`` are up while sampling, then one
    sample more once the client has hung up (its keep-alive connections closed)."""
    soak = SoakResult(args.minutes, args.workers, args.max_sessions, args.max_results, dict(FAULTS))
    tally = Tally()
    async with httpx2.AsyncClient(timeout=30.0) as control:
        (await control.post(deployment.api.url + "/_faults", json=FAULTS)).raise_for_status()
    store = open_store(deployment.store_url)
    try:
        started = time.monotonic()
        deadline = started + 60 * args.minutes
        async with client_for(args.workers) as http, anyio.create_task_group() as sampling:
            sampling.start_soon(sample_every, deployment, store, args.sample_seconds, tally, soak, started)
            endpoints = [Mcp(http, replica.url, TOKEN) for replica in deployment.replicas]
            async with anyio.create_task_group() as group:
                for worker in range(args.workers):
                    group.start_soon(soak_worker, endpoints, worker, deadline, args, tally, soak)
            sampling.cancel_scope.cancel()
        await anyio.sleep(2.0)  # a measurement after the load, not a synchronisation
        soak.idle = await take_sample(deployment, store, tally, started)
    finally:
        await store.aclose()
    soak.calls, soak.errors, soak.wrong = len(tally.latencies), tally.errors, tally.wrong_pages
    soak.error_samples = tally.samples
    return soak


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _joined(values: list[float] | list[int], spec: str = "") -> str:
    return " / ".join(format(value, spec) for value in values)


def report_soak(soak: SoakResult) -> bool:
    """Print the curve and the verdicts; True if no call failed, nothing was wrong and the store's
    counts stayed within their limits (the memory verdict is printed and kept in `SoakResult`)."""
    print(
        f"\nsoak: {soak.minutes:g} min, {soak.workers} assistants, {soak.calls} calls "
        f"({soak.activities['page']} paging runs, {soak.activities['drain']} drains + reads), "
        f"errors {soak.errors}, wrong {soak.wrong}; sample API faults {soak.faults}"
    )
    for text in soak.error_samples:
        print(f"  e.g. {text}")
    print("\n| t (s) | RSS MB per replica | fds | sockets | sessions | results | calls |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    step = max(1, len(soak.samples) // 12)
    shown = soak.samples[::step] + ([soak.samples[-1]] if (len(soak.samples) - 1) % step else [])
    for sample in [*shown, *([soak.idle] if soak.idle else [])]:
        when = f"{sample.seconds:.0f}" + (" (idle)" if sample is soak.idle else "")
        print(
            f"| {when} | {_joined(sample.rss_mb, '.1f')} | {_joined(sample.fds)} | {_joined(sample.sockets)} "
            f"| {sample.sessions} | {sample.results} | {sample.calls} |"
        )
    soak.memory_growth = memory_growth(soak)
    bounded = all(s.sessions <= soak.max_sessions and s.results <= soak.max_results for s in soak.samples)
    flat = all(growth < 0.10 for growth in soak.memory_growth)
    print(
        f"memory grew < 10% after warm-up (the first 20%): {'yes' if flat else 'NO'}; "
        f"sessions ≤ {soak.max_sessions} and results ≤ {soak.max_results} at every sample: "
        f"{'yes' if bounded else 'NO'} (at most {max(s.sessions for s in soak.samples)} and "
        f"{max(s.results for s in soak.samples)})"
    )
    return soak.errors == 0 and soak.wrong == 0 and bounded


def memory_growth(soak: SoakResult) -> list[float]:
    """Per replica, RSS growth from just after warm-up (the first 20%) to the end, printed with fds."""
    warm = [s for s in soak.samples if s.seconds >= 0.2 * 60 * soak.minutes] or soak.samples[-1:]
    window = max(1, len(warm) // 10)
    first, last = warm[:window], warm[-window:]
    growths = []
    for index in range(len(warm[0].rss_mb)):
        before = _mean([s.rss_mb[index] for s in first])
        after = _mean([s.rss_mb[index] for s in last])
        growths.append(round((after - before) / before, 4))
        print(
            f"replica {index}: RSS {before:.1f} MB after warm-up, {after:.1f} MB at the end "
            f"({100 * growths[-1]:+.1f}%), peak {max(s.rss_mb[index] for s in warm):.1f} MB; "
            f"fds {first[0].fds[index]} → {last[-1].fds[index]}, "
            f"sockets {first[0].sockets[index]} → {last[-1].sockets[index]}"
        )
    return growths
