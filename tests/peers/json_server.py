"""json-server (npm) as a subprocess: 0.17 and 1.x, installed by ``npm ci --prefix tests/peers/node``.

Without node or the installed packages the tests that need them are skipped locally, but fail when
``$CI`` is set (``.ci/run`` installs them), as the Redis tests do.
"""

from __future__ import annotations

from typing import Any

from tests.peers.base import DATASET
from tests.peers.node_peer import NodePeer, node_missing

__all__ = ["JsonServerPeer", "json_server_missing"]

LINES = {"0.17": "json-server", "1": "json-server-1"}


def json_server_missing() -> str | None:
    """Why json-server cannot run here (no node, packages not installed), or None."""
    return node_missing(list(LINES.values()))


class JsonServerPeer(NodePeer):
    """``node serve.mjs LINE db.json`` on a port the system chose, told on its first line of output.

    Example::

        with JsonServerPeer("1") as peer:
            httpx2.get(peer.url + "/items?_page=2&_per_page=25")
    """

    def __init__(self, line: str) -> None:
        if line not in LINES:
            raise ValueError(f"json-server line {line!r}: use one of {sorted(LINES)}")
        super().__init__(f"json-server {line}", ["serve.mjs", line])
        self.line = line

    @property
    def expected_ids(self) -> list[Any]:
        # json-server 1.x keeps ids as strings, whatever the file said ("id": 1 is served as "1").
        if self.line == "1":
            return [str(record["id"]) for record in DATASET]
        return [record["id"] for record in DATASET]
