"""tools/load.py runs end to end at a tiny size: two replicas on the test Redis beside the bare SDK
server, every page checked, and a short soak with faults. No figure is asserted: timings belong
to the tool's full run (README, Performance); what is asserted is that nothing failed or was wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.redis_server import redis_url  # noqa: F401 - the fixture, requested by name

pytestmark = pytest.mark.redis

LOAD = Path(__file__).resolve().parent.parent / "tools" / "load.py"


@pytest.fixture
def load_store(redis_url: str) -> str:  # noqa: F811
    """A database of the test Redis of the load tool's own, emptied."""
    url = redis_url.rsplit("/", 1)[0] + "/7"
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


def _run(arguments: list[str], output: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(LOAD), *arguments, "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done


def test_load_levels_page_every_assistant_exactly_across_replicas(load_store: str, tmp_path: Path) -> None:
    output = tmp_path / "levels.json"
    done = _run(["--levels", "2,4", "--steps", "3", "--records", "60", "--redis", load_store], output)
    results = json.loads(output.read_text())
    assert [(r["level"], r["target"]) for r in results] == [
        (2, "ours"),
        (2, "bare"),
        (4, "ours"),
        (4, "bare"),
    ]
    for result in results:
        assert (result["errors"], result["wrong_pages"]) == (0, 0), result
        assert result["calls"] == result["level"] * 3
        assert result["calls_per_second"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]
    assert "| 4 |" in done.stdout and "ours / bare" in done.stdout


def test_load_soak_drains_reads_and_samples_the_replicas(load_store: str, tmp_path: Path) -> None:
    output = tmp_path / "soak.json"
    arguments = ["soak", "--minutes", "0.1", "--workers", "3", "--steps", "3", "--records", "120"]
    done = _run([*arguments, "--sample-seconds", "1", "--max-sessions", "20", "--redis", load_store], output)
    soak = json.loads(output.read_text())
    assert (soak["errors"], soak["wrong"]) == (0, 0), soak["error_samples"]
    assert soak["activities"]["page"] > 0 and soak["activities"]["drain"] > 0
    assert len(soak["samples"]) >= 3
    for sample in soak["samples"]:
        assert len(sample["rss_mb"]) == 2 and all(rss > 0 for rss in sample["rss_mb"])
        assert all(sockets > 0 for sockets in sample["sockets"])
        assert sample["sessions"] <= 20 and sample["results"] <= soak["max_results"]
    assert "memory grew < 10% after warm-up" in done.stdout
