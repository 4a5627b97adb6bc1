"""Litestar's own pagination containers, each filled by one of its abstract paginators over the dataset.

As Litestar's docs show them (a handler per style, the paginator called with the query parameters),
over an in-memory list; the parameters are declared with ``FromQuery`` (Litestar 2.22 deprecates
inferring them) and have defaults, so that a bare URL answers the first page:

- ``/offset``: ``OffsetPagination`` ``{items, limit, offset, total}``, params ``limit`` (10 by
  default) and ``offset``;
- ``/classic``: ``ClassicPagination`` ``{items, page_size, current_page, total_pages}``, params
  ``page_size`` (10 by default) and ``current_page`` (from 1);
- ``/cursor``: ``CursorPagination`` ``{items, results_per_page, cursor}``, params ``cursor`` (the id
  of the last record received; none for the first page) and ``results_per_page`` (10 by default).
  The cursor answered is the id of the page's last record, or null when no record follows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

from litestar import Litestar, get
from litestar.pagination import (
    AbstractSyncClassicPaginator,
    AbstractSyncCursorPaginator,
    AbstractSyncOffsetPaginator,
    ClassicPagination,
    CursorPagination,
    OffsetPagination,
)
from litestar.params import FromQuery

from tests.peers.base import DATASET, ASGIApp, ASGIServer

__all__ = ["LitestarPeer"]

DEFAULT_PAGE_SIZE = 10


@dataclass(frozen=True)
class Item:
    id: int
    name: str


def items() -> list[Item]:
    return [Item(**record) for record in DATASET]


class ItemOffsetPaginator(AbstractSyncOffsetPaginator[Item]):
    def __init__(self, data: list[Item]) -> None:
        self.data = data

    def get_total(self) -> int:
        return len(self.data)

    def get_items(self, limit: int, offset: int) -> list[Item]:
        return self.data[offset : offset + limit]


class ItemClassicPaginator(AbstractSyncClassicPaginator[Item]):
    def __init__(self, data: list[Item]) -> None:
        self.data = data

    def get_total(self, page_size: int) -> int:
        """The number of pages (ClassicPagination's ``total_pages``)."""
        return math.ceil(len(self.data) / page_size)

    def get_items(self, page_size: int, current_page: int) -> list[Item]:
        start = (current_page - 1) * page_size
        return self.data[start : start + page_size]


class ItemCursorPaginator(AbstractSyncCursorPaginator[int, Item]):
    def __init__(self, data: list[Item]) -> None:
        self.data = data

    def get_items(self, cursor: int | None, results_per_page: int) -> tuple[list[Item], int | None]:
        following = [item for item in self.data if cursor is None or item.id > cursor]
        page = following[:results_per_page]
        more = len(following) > len(page)
        return page, (page[-1].id if page and more else None)


def create_app() -> Litestar:
    data = items()
    offset_paginator = ItemOffsetPaginator(data)
    classic_paginator = ItemClassicPaginator(data)
    cursor_paginator = ItemCursorPaginator(data)

    @get("/offset", sync_to_thread=False)
    def offset(
        limit: FromQuery[int] = DEFAULT_PAGE_SIZE, offset: FromQuery[int] = 0
    ) -> OffsetPagination[Item]:
        return offset_paginator(limit=limit, offset=offset)

    @get("/classic", sync_to_thread=False)
    def classic(
        page_size: FromQuery[int] = DEFAULT_PAGE_SIZE, current_page: FromQuery[int] = 1
    ) -> ClassicPagination[Item]:
        return classic_paginator(page_size=page_size, current_page=current_page)

    @get("/cursor", sync_to_thread=False)
    def cursor(
        cursor: FromQuery[int | None] = None, results_per_page: FromQuery[int] = DEFAULT_PAGE_SIZE
    ) -> CursorPagination[int, Item]:
        return cursor_paginator(cursor=cursor, results_per_page=results_per_page)

    return Litestar(route_handlers=[offset, classic, cursor], openapi_config=None)


class LitestarPeer(ASGIServer):
    """The Litestar app under uvicorn on a free loopback port."""

    def __init__(self) -> None:
        # Litestar types its __call__ with its own scope and event TypedDicts: a plain ASGI app all the same.
        super().__init__(cast(ASGIApp, create_app()))
