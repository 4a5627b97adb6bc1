"""Hostile templates against a real server process: every one a clear tool error, and the
server's peak memory (VmHWM from /proc, not assumed) flat over the whole battery.

``pagination`` is a tool argument, so a model — or text injected into what it reads — can
send any template. Before the memory bounds, each of these grew the server by 191 to 763 MB
(issue 17); ten times the sizes killed it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_paginate.sample import SampleAPI
from tests.conftest import structured

N = 400_000_000
"""The size each hostile template asks for: 400 MB as text."""

BIG = "'x' * 1000000"
"""The largest text a template may build (1 MB): the seed of the doubling attacks."""

STOP = "stop_condition"
NEXT = "next"
VALUE = "value"

HOSTILE: list[tuple[str, str]] = [
    # Formatting: % and str.format, widths and precisions, nested and starred.
    (STOP, f"{{{{ '%0{N}d' % 1 }}}}"),
    (STOP, f"{{{{ '%.{N}f' % 1.0 }}}}"),
    (STOP, f"{{{{ '%*d' % ({N}, 1) }}}}"),
    (NEXT, f"{{{{ '{{:>{N}}}'.format(1) }}}}"),
    (NEXT, f"{{{{ '{{0:{{1}}}}'.format(1, {N}) }}}}"),
    (STOP, f"{{{{ '{{x:{{w}}}}'.format_map({{'x': 1, 'w': {N}}}) }}}}"),
    (STOP, f"{{{{ '%0{N}d' | format(1) }}}}"),
    # Padding methods of str and bytes.
    (STOP, f"{{{{ 'a'.ljust({N}) }}}}"),
    (NEXT, f"{{{{ 'a'.rjust({N}) }}}}"),
    (STOP, f"{{{{ 'a'.center({N}) }}}}"),
    (STOP, f"{{{{ 'a'.zfill({N}) }}}}"),
    (STOP, f"{{{{ 'a\\tb'.expandtabs({N}) }}}}"),
    (STOP, f"{{{{ 'x'.encode().ljust({N}) }}}}"),
    (NEXT, f"{{{{ 'x'.encode().center({N}) }}}}"),
    (STOP, f"{{{{ (1).to_bytes({N}, 'big') }}}}"),
    # Concatenation, replace, join, translate, split.
    (STOP, f"{{% set a = {BIG} %}}{{% set b = a ~ a %}}{{% set c = b ~ b %}}{{{{ c ~ c }}}}"),
    (STOP, f"{{% set a = {BIG} %}}{{{{ (a + a + a) | length }}}}"),
    (STOP, f"{{{{ ({BIG}).replace('x', 'xxxxxxxxxx') }}}}"),
    (NEXT, f"{{{{ ','.join([{BIG}] * 400) }}}}"),
    (STOP, f"{{{{ ({BIG}).translate({{120: 'y' * 400}}) }}}}"),
    (STOP, "{{ ('a ' * 500000).split() | length }}"),
    # Filters that pad, repeat or serialise.
    (STOP, f"{{{{ 'x' | indent({N}, true) }}}}"),
    (NEXT, f"{{{{ 'x' | center({N}) }}}}"),
    (STOP, f"{{{{ 'x' | wordwrap(1, wrapstring={BIG}) }}}}"),
    (STOP, f"{{{{ 'x y' | truncate({N}, end={BIG} ~ {BIG}) }}}}"),
    (STOP, "{{ ('www.example.test ' * 50000) | urlize(target='t' * 100000) }}"),
    (STOP, f"{{{{ ([{BIG}] * 100000) | tojson }}}}"),
    (STOP, "{{ (range(100000) | list) | tojson(indent=400) }}"),
    (STOP, f"{{{{ ([{BIG}] * 1000) | join }}}}"),
    (STOP, f"{{{{ [1] | batch({N}, 0) | list | length }}}}"),
    (STOP, f"{{{{ [1] | slice({N}) | list | length }}}}"),
    (STOP, "{{ ([[0] * 100000] * 100000) | sum(start=[]) | length }}"),
    (STOP, "{{ ('x' * 200000) | list | length }}"),
    (STOP, f"{{{{ ([{BIG}] * 10) | string | length }}}}"),
    # Lists, dicts, numbers.
    (STOP, "{{ (range(100000) | list * 4000) | length }}"),
    (STOP, "{{ ((range(100000) | list) + (range(100000) | list)) | length }}"),
    (STOP, f"{{{{ {{}}.fromkeys(range(100000) | list, {BIG}) | tojson | length }}}}"),
    (STOP, "{{ 2 ** 100000 }}"),
    (STOP, "{{ 9 ** (9 ** 9) }}"),
    (STOP, "{% set a = 10 ** 4000 %}{% set b = a * a %}{{ (b * b) | string | length }}"),
    # Values held at once: 9,000 distinct 1 MB texts kept in a namespace (9 GB without a total).
    (
        STOP,
        "{% set ns = namespace(kept=[]) %}{% for i in range(9000) %}"
        "{% set ns.kept = ns.kept + [('x' * 999000) ~ i] %}{% endfor %}{{ ns.kept | length }}",
    ),
    # Output: literal text and values in a loop, in a block set.
    (STOP, "{% for i in range(9000) %}{{ 'x' * 1000 }}{% endfor %}"),
    (STOP, "{% set s %}{% for i in range(9000) %}" + "y" * 1000 + "{% endfor %}{% endset %}{{ s | length }}"),
    # Value templates (rendered before the request is sent).
    (VALUE, f"{{{{ (value ~ '').ljust({N}) }}}}"),
    (VALUE, f"{{{{ '%0{N}d' % value }}}}"),
    # Names a pagination template is never given.
    (STOP, f"{{{{ lipsum({N}) }}}}"),
]

REFUSED = re.compile(r"at most [\d,]+|unknown variable")

SLOW: list[tuple[str, str]] = [
    # Per-item work inside filters, which the step count charges by the hundred: each of these ran
    # for 8 to 40 s (holding the server's event loop) before a render had a time bound.
    (STOP, "{{ range(99999)" + "|map(attribute='real')" * 40 + "|list|length }}"),
    (NEXT, "{{ range(99999)" + "|map(attribute='imag')" * 40 + "|list|length }}"),
    (STOP, "{{ (range(99999)|list)" + "|groupby('real')|map(attribute='grouper')|list" * 10 + "|length }}"),
    (STOP, "{{ range(99999)" + "|selectattr('real')" * 40 + "|list|length }}"),
    (VALUE, "{{ range(99999)" + "|rejectattr('imag')" * 40 + "|list|length }}"),
]
"""Templates that cost time, not memory."""

TIMED_OUT = re.compile(r"ran for more than 1 s|took more than [\d,]+ steps")


def pagination_for(slot: str, template: str) -> dict[str, Any]:
    if slot == STOP:
        return {"mode": "offset", "total": "total", "page_size": 40, "stop_condition": template}
    if slot == NEXT:
        return {
            "mode": "cursor",
            "next": {"template": template},
            "cursor_param": {"in": "query", "name": "c"},
        }
    return {
        "mode": "offset",
        "page_size": 40,
        "offset_param": {"in": "query", "name": "offset", "template": template},
    }


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "hostile.toml"
    path.write_text(
        f"""\
[sources.offset_total]
url = "{url}/offset"
records = "items"
max_page_size = 100

[sources.offset_total.pagination]
mode = "offset"
total = "total"
page_size = 40
""",
        encoding="utf-8",
    )
    return path


def server_pid(marker: str) -> int:
    """The pid of this test's server process: a child of ours whose command line has ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        if parent and int(parent.group(1)) == os.getpid() and marker in command and "serve" in command:
            found.append(int(entry.name))
    assert len(found) == 1, f"expected one server process, found {found}"
    return found[0]


def peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))


@asynccontextmanager
async def served(tmp_path: Path, config: Path) -> AsyncIterator[Client]:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_paginate", "serve", "--config", str(config), "--store", "memory://"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "MCP_PAGINATE_CONFIG": "",
        },
        cwd=str(tmp_path),
    )
    async with Client(parameters) as client:
        yield client


def test_the_battery_is_large_and_varied() -> None:
    assert len(HOSTILE) >= 40
    assert {slot for slot, _ in HOSTILE} == {STOP, NEXT, VALUE}
    assert len({template for _, template in HOSTILE}) == len(HOSTILE)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
@pytest.mark.anyio
async def test_hostile_templates_are_tool_errors_and_the_server_peak_memory_stays_flat(
    tmp_path: Path, sample_api: SampleAPI
) -> None:
    config = write_config(tmp_path, sample_api.url)
    with anyio.fail_after(120):
        async with served(tmp_path, config) as client:
            pid = server_pid(str(config))
            # Warm up every path a hostile call takes (validation, a page fetched, each render).
            for slot in (STOP, NEXT, VALUE):
                benign = pagination_for(slot, "{{ value }}" if slot == VALUE else "{{ page_number > 9 }}")
                structured(
                    await client.call_tool("list_page", {"source": "offset_total", "pagination": benign})
                )
            before = peak_rss_kb(pid)
            for slot, template in HOSTILE:
                arguments = {"source": "offset_total", "pagination": pagination_for(slot, template)}
                result = await client.call_tool("list_page", arguments)
                text = " ".join(getattr(block, "text", "") for block in result.content)
                assert result.is_error, f"{template!r} rendered: {text[:200]}"
                assert REFUSED.search(text), f"{template!r}: {text[:300]}"
                assert "template" in text or "stop_condition" in text, text[:300]
                assert "Traceback" not in text
            after = peak_rss_kb(pid)
            # Still serving, and correctly.
            page = structured(await client.call_tool("list_page", {"source": "offset_total"}))
            assert [record["id"] for record in page["records"]] == list(range(1, 41))
    growth_mb = (after - before) / 1024
    print(
        f"\nserver peak RSS {before / 1024:.1f} MB -> {after / 1024:.1f} MB "
        f"over {len(HOSTILE)} hostile templates"
    )
    assert growth_mb < 50, f"the server's peak RSS grew by {growth_mb:.1f} MB"


@pytest.mark.anyio
async def test_templates_that_cost_time_are_stopped_within_a_second_each(
    tmp_path: Path, sample_api: SampleAPI
) -> None:
    """Unbounded, these five would hold the server for two to three minutes; each stops at its
    render's time bound (1 s) or step budget, as a tool error naming the template."""
    config = write_config(tmp_path, sample_api.url)
    with anyio.fail_after(60):
        async with served(tmp_path, config) as client:
            for slot, template in SLOW:
                arguments = {"source": "offset_total", "pagination": pagination_for(slot, template)}
                result = await client.call_tool("list_page", arguments)
                text = " ".join(getattr(block, "text", "") for block in result.content)
                assert result.is_error, f"{template[:80]!r} rendered: {text[:200]}"
                assert TIMED_OUT.search(text), text[:300]
                if "groupby" in template:  # 1,000 steps a stage, 1.5 s a stage: only time stops it
                    assert "ran for more than 1 s" in text, text[:300]
                assert "Traceback" not in text
            page = structured(await client.call_tool("list_page", {"source": "offset_total"}))
            assert [record["id"] for record in page["records"]] == list(range(1, 41))
