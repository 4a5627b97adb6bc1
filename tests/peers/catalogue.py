"""Every framework × style the peer tests drain, and a pool that starts each peer once, on demand.

A style's ``configured`` TOML is what a user would write for that API with today's pagination modes,
as the source ``peer``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from tests.peers.base import Peer, Style

__all__ = ["PEERS", "SOURCE", "STYLES", "PeerPool", "PeerUnavailable"]

SOURCE = "peer"
"""The name of the configured source in every style's TOML."""

STYLES: list[Style] = [
    # ---- Django REST Framework -----------------------------------------------------------------
    Style(
        "Django REST Framework",
        "LimitOffsetPagination",
        "django",
        """
        [sources.peer]
        url = "@BASE@/drf/limit-offset"
        records = "results"
        pagination = { mode = "offset", page_size = 40, total = "count" }
        """,
        "/drf/limit-offset",
    ),
    Style(
        "Django REST Framework",
        "PageNumberPagination",
        "django",
        """
        [sources.peer]
        url = "@BASE@/drf/page-number"
        records = "results"
        pagination = { mode = "page", page_size = 40, total = "count" }
        """,
        "/drf/page-number",
    ),
    Style(
        "Django REST Framework",
        "CursorPagination",
        "django",
        """
        [sources.peer]
        url = "@BASE@/drf/cursor"
        records = "results"
        [sources.peer.pagination]
        mode = "cursor"
        next = { body = "next" }
        cursor_param = { in = "url" }
        page_size = 40
        size_param = { in = "query", name = "page_size" }
        """,
        "/drf/cursor",
    ),
    # ---- Django Ninja --------------------------------------------------------------------------
    Style(
        "Django Ninja",
        "LimitOffsetPagination",
        "django",
        """
        [sources.peer]
        url = "@BASE@/ninja/limit-offset"
        records = "items"
        pagination = { mode = "offset", page_size = 40, total = "count" }
        """,
        "/ninja/limit-offset",
    ),
    Style(
        "Django Ninja",
        "PageNumberPagination",
        "django",
        """
        [sources.peer]
        url = "@BASE@/ninja/page-number"
        records = "items"
        pagination = { mode = "page", page_size = 40, total = "count" }
        """,
        "/ninja/page-number",
    ),
    Style(
        "Django Ninja",
        "CursorPagination",
        "django",
        """
        [sources.peer]
        url = "@BASE@/ninja/cursor"
        records = "results"
        [sources.peer.pagination]
        mode = "cursor"
        next = { body = "next" }
        cursor_param = { in = "url" }
        page_size = 30
        size_param = { in = "query", name = "page_size" }
        """,
        "/ninja/cursor",
    ),
    # ---- flask-smorest -------------------------------------------------------------------------
    Style(
        "flask-smorest",
        "Page, ends on the short page",
        "flask-smorest",
        """
        [sources.peer]
        url = "@BASE@/items"
        pagination = { mode = "page", page_size = 25 }
        """,
        None,
    ),
    Style(
        "flask-smorest",
        "Page, X-Pagination header",
        "flask-smorest",
        """
        [sources.peer]
        url = "@BASE@/items"
        [sources.peer.pagination]
        mode = "page"
        page_size = 25
        stop_condition = "{{ (headers['X-Pagination'] | fromjson).next_page is not defined }}"
        """,
        "/items",
    ),
    # ---- FastAPI + fastapi-pagination ----------------------------------------------------------
    Style(
        "FastAPI + fastapi-pagination",
        "Page",
        "fastapi",
        """
        [sources.peer]
        url = "@BASE@/page"
        records = "items"
        [sources.peer.pagination]
        mode = "page"
        page_size = 40
        size_param = { in = "query", name = "size" }
        total = "total"
        total_pages = "pages"
        """,
        "/page",
    ),
    Style(
        "FastAPI + fastapi-pagination",
        "LimitOffsetPage",
        "fastapi",
        """
        [sources.peer]
        url = "@BASE@/limit-offset"
        records = "items"
        pagination = { mode = "offset", page_size = 40, total = "total" }
        """,
        "/limit-offset",
    ),
    Style(
        "FastAPI + fastapi-pagination",
        "links.Page (body links)",
        "fastapi",
        """
        [sources.peer]
        url = "@BASE@/links?size=40"
        records = "items"
        pagination = { mode = "cursor", next = { body = "links.next" }, cursor_param = { in = "url" } }
        """,
        "/links",
    ),
    Style(
        "FastAPI + fastapi-pagination",
        "Page + UseHeaderLinks (Link)",
        "fastapi",
        """
        [sources.peer]
        url = "@BASE@/header-links?size=40"
        records = "items"
        pagination = { mode = "cursor", next = { link = "next" }, cursor_param = { in = "url" } }
        """,
        "/header-links",
    ),
    # ---- Litestar (its own pagination containers and abstract paginators) ----------------------
    Style(
        "Litestar",
        "OffsetPagination",
        "litestar",
        """
        [sources.peer]
        url = "@BASE@/offset"
        records = "items"
        pagination = { mode = "offset", page_size = 40, total = "total" }
        """,
        "/offset",
    ),
    Style(
        "Litestar",
        "ClassicPagination",
        "litestar",
        """
        [sources.peer]
        url = "@BASE@/classic"
        records = "items"
        [sources.peer.pagination]
        mode = "page"
        page_size = 40
        page_param = { in = "query", name = "current_page" }
        size_param = { in = "query", name = "page_size" }
        total_pages = "total_pages"
        """,
        "/classic",
    ),
    Style(
        "Litestar",
        "CursorPagination",
        "litestar",
        """
        [sources.peer]
        url = "@BASE@/cursor"
        records = "items"
        [sources.peer.pagination]
        mode = "cursor"
        next = { body = "cursor" }
        cursor_param = { in = "query", name = "cursor" }
        page_size = 40
        size_param = { in = "query", name = "results_per_page" }
        """,
        "/cursor",
    ),
    # ---- json-server (npm) ---------------------------------------------------------------------
    Style(
        "json-server 0.17",
        "_page/_limit + Link",
        "json-server-0.17",
        """
        [sources.peer]
        url = "@BASE@/items?_page=1&_limit=25"
        pagination = { mode = "cursor", next = { link = "next" }, cursor_param = { in = "url" } }
        """,
        "/items",
    ),
    Style(
        "json-server 0.17",
        "_start/_limit + X-Total-Count",
        "json-server-0.17",
        """
        [sources.peer]
        url = "@BASE@/items"
        [sources.peer.pagination]
        mode = "offset"
        page_size = 40
        offset_param = { in = "query", name = "_start" }
        limit_param = { in = "query", name = "_limit" }
        stop_condition = "{{ records_so_far >= headers['X-Total-Count'] | int }}"
        """,
        "/items?_limit=40",
    ),
    Style(
        "json-server 1.x",
        "_page/_per_page",
        "json-server-1",
        """
        [sources.peer]
        url = "@BASE@/items"
        records = "data"
        [sources.peer.pagination]
        mode = "page"
        page_size = 25
        page_param = { in = "query", name = "_page" }
        size_param = { in = "query", name = "_per_page" }
        total = "items"
        total_pages = "pages"
        """,
        "/items",
    ),
    Style(
        "json-server 1.x", "_page/_per_page in the URL", "json-server-1", None, "/items?_page=1&_per_page=25"
    ),
    # ---- FeathersJS (npm) ----------------------------------------------------------------------
    Style(
        "FeathersJS 5",
        "memory service, $limit/$skip",
        "feathers",
        """
        [sources.peer]
        url = "@BASE@/items"
        records = "data"
        [sources.peer.pagination]
        mode = "offset"
        page_size = 50
        offset_param = { in = "query", name = "$skip" }
        limit_param = { in = "query", name = "$limit" }
        total = "total"
        """,
        "/items",
    ),
]


class PeerUnavailable(Exception):
    """A peer that cannot run on this machine (json-server, FeathersJS without node); the message says why."""


def _django() -> Peer:
    from tests.peers.django_site import DjangoPeer

    return DjangoPeer()


def _flask_smorest() -> Peer:
    from tests.peers.flask_smorest_site import FlaskSmorestPeer

    return FlaskSmorestPeer()


def _fastapi() -> Peer:
    from tests.peers.fastapi_site import FastAPIPeer

    return FastAPIPeer()


def _litestar() -> Peer:
    from tests.peers.litestar_site import LitestarPeer

    return LitestarPeer()


def _json_server(line: str) -> Callable[[], Peer]:
    def start() -> Peer:
        from tests.peers.json_server import JsonServerPeer, json_server_missing

        missing = json_server_missing()
        if missing is not None:
            raise PeerUnavailable(missing)
        return JsonServerPeer(line)

    return start


def _feathers() -> Peer:
    from tests.peers.feathers import FeathersPeer, feathers_missing

    missing = feathers_missing()
    if missing is not None:
        raise PeerUnavailable(missing)
    return FeathersPeer()


PEERS: dict[str, Callable[[], Peer]] = {
    "django": _django,
    "flask-smorest": _flask_smorest,
    "fastapi": _fastapi,
    "litestar": _litestar,
    "json-server-0.17": _json_server("0.17"),
    "json-server-1": _json_server("1"),
    "feathers": _feathers,
}
"""How to make each peer (not started): the name a ``Style.peer`` gives."""


class PeerPool:
    """Starts each peer the first time it is asked for, stops them all on exit.

    Example::

        with PeerPool() as pool:
            peer = pool.get("django")
    """

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._peers: dict[str, Any] = {}

    def get(self, name: str) -> Peer:
        """The running peer ``name`` (raises PeerUnavailable when it cannot run here)."""
        if name not in self._peers:
            self._peers[name] = self._stack.enter_context(PEERS[name]())  # type: ignore[arg-type]
        peer: Peer = self._peers[name]
        return peer

    def __enter__(self) -> PeerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()
