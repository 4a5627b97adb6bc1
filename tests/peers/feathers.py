"""FeathersJS 5 (npm, Koa transport) as a subprocess: a memory service, paginated as Feathers' docs show.

``GET /items?$limit=25&$skip=50`` answers ``{total, limit, skip, data}`` (10 records by default, at
most 50). Feathers reads every other query key as a filter on a field: ``?skip=10`` or ``?limit=5``
answers ``{"total": 0, "data": []}``, not an error. Installed by ``npm ci --prefix tests/peers/node``.
"""

from __future__ import annotations

from tests.peers.node_peer import NodePeer, node_missing

__all__ = ["FeathersPeer", "feathers_missing"]

PACKAGES = ["@feathersjs/feathers", "@feathersjs/koa", "@feathersjs/memory"]


def feathers_missing() -> str | None:
    """Why the Feathers app cannot run here (no node, packages not installed), or None."""
    return node_missing(PACKAGES)


class FeathersPeer(NodePeer):
    """``node feathers.mjs db.json``: the dataset as the memory service ``/items``."""

    def __init__(self) -> None:
        super().__init__("FeathersJS", ["feathers.mjs"])
