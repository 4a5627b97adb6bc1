"""Auto-detected pagination: choose a concrete mode from the first response.

Detection looks, in order of trust, for an RFC 8288 ``Link: rel="next"``, a next URL
in the body (``next``, ``links.next``, ``@odata.nextLink``, ``paging.next``…), and
otherwise treats the response as a single page. The chosen spec is reported as
``detected`` so it can be pinned in config. Links to another origin are never chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from mcp_paginate.expressions import search
from mcp_paginate.paginators.base import PageView, PreparedRequest, RequestOption, State
from mcp_paginate.paginators.cursor import CursorPagination, NextCursor
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

if TYPE_CHECKING:
    from mcp_paginate.http import OriginPolicy

__all__ = ["AutoPagination", "detect"]

NEXT_URL_PATHS = (
    "next",
    "links.next",
    "links.next.href",
    "_links.next.href",
    "next_page_url",
    "nextPageUrl",
    "\"@odata.nextLink\"",
    "paging.next",
    "meta.next",
    "pagination.next",
    "pagination.next_url",
)


class AutoPagination(BaseModel):
    """Detect the pagination style from the first response and report it as ``detected``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["auto"] = "auto"
    page_size: int | None = Field(default=None, ge=1, description="Records per request, when detectable.")

    def first_state(self, page_size: int | None) -> State:
        return State(offset=0, page_size=page_size)


def detect(
    page: PageView, request: PreparedRequest, page_size: int | None, policy: OriginPolicy | None = None
) -> OffsetPagination | PagePagination | CursorPagination | NoPagination:
    """The concrete pagination that continues from this first page."""
    url_mode = RequestOption.model_validate({"in": "url"})
    if "next" in page.links and _same_origin(page.links["next"], page.url, policy):
        return CursorPagination(next=NextCursor(link="next"), cursor_param=url_mode)
    if isinstance(page.body, dict):
        for path in NEXT_URL_PATHS:
            value = search(path, page.body)
            if isinstance(value, str) and value.strip() and _same_origin(urljoin(page.url, value), page.url, policy):
                return CursorPagination(next=NextCursor(body=path), cursor_param=url_mode)
    return NoPagination()


def _same_origin(url: str, current: str, policy: OriginPolicy | None) -> bool:
    from mcp_paginate.http import origin_of

    return origin_of(url) == origin_of(current) or (policy is not None and policy.host_listed(url))
