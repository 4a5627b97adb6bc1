"""Print, as a Markdown table, what draining each test peer gives: framework × style × (configured / auto).

    python tools/peers_table.py [--out FILE.md]

The peers and the drains are the test suite's own (``tests/peers/``): real web frameworks on
127.0.0.1, each case drained with ``fetch_all`` through the MCP client. For each case: the records
received, whether they are the peer's dataset exactly, the requests the peer answered, ``complete``
and ``stop_reason``, and how auto mode paged. json-server and FeathersJS rows need node and
``npm ci --prefix tests/peers/node``; without them they say why they did not run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.peers.base import RECORDS, Peer, Style
from tests.peers.catalogue import STYLES, PeerPool, PeerUnavailable
from tests.peers.runner import Outcome, drain_style

HEADER = (
    "| framework | style | case | records | exact | requests | complete | stop_reason | how auto paged |\n"
    "|---|---|---|---:|:---:|---:|:---:|---|---|"
)


def cases() -> list[tuple[Style, str]]:
    """Every (style, configured|auto) the test module drains, in its order."""
    listed = [(style, "configured") for style in STYLES if style.configured is not None]
    listed += [(style, "auto") for style in STYLES if style.auto_path is not None]
    return sorted(listed, key=lambda case: STYLES.index(case[0]))


def _detected(outcome: Outcome) -> str:
    if outcome.detected is None:
        return ""
    mode = outcome.detected.get("mode", "?")
    detail = ", ".join(f"{key}={value}" for key, value in outcome.detected.items() if key != "mode" and value)
    return f"{mode} ({detail})" if detail else str(mode)


def row(style: Style, case: str, peer: Peer | None, outcome: Outcome | None, why: str = "") -> str:
    cells = [style.framework, style.name, f"auto `{style.auto_path}`" if case == "auto" else case]
    if peer is None or outcome is None:
        cells += ["—", "—", "—", "—", "not run", why]
    else:
        exact = "yes" if outcome.ids == peer.expected_ids else "no"
        how = _detected(outcome) if case == "auto" else ""
        if outcome.error:
            how = (how + " · " if how else "") + "error: " + outcome.error.splitlines()[-1].strip()[:120]
        cells += [
            str(len(outcome.ids)),
            exact,
            str(outcome.requests),
            "true" if outcome.complete else "false",
            outcome.stop_reason or "—",
            how,
        ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def start_peers(pool: PeerPool) -> dict[str, Peer | str]:
    """Each peer the styles need, started here (outside the event loop), or why it cannot run."""
    started: dict[str, Peer | str] = {}
    for style in STYLES:
        if style.peer not in started:
            try:
                started[style.peer] = pool.get(style.peer)
            except PeerUnavailable as exc:
                started[style.peer] = str(exc)
    return started


async def table(peers: dict[str, Peer | str]) -> str:
    lines = [HEADER]
    for style, case in cases():
        peer = peers[style.peer]
        if isinstance(peer, str):
            lines.append(row(style, case, None, None, peer))
            continue
        with tempfile.TemporaryDirectory(prefix="mcp-paginate-peers-") as directory:
            outcome = await drain_style(Path(directory), peer, style, case)
        lines.append(row(style, case, peer, outcome))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    with PeerPool() as pool:
        text = anyio.run(table, start_peers(pool))
    text += (
        f"\n\nEvery peer serves {RECORDS} records; `exact` = the ids received are the dataset, in order.\n"
    )
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
