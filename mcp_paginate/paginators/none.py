"""No pagination: the response is the whole collection."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from mcp_paginate.paginators.base import PageView, PreparedRequest, State, Step

__all__ = ["NoPagination"]


class NoPagination(BaseModel):
    """One request, one page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["none"] = "none"

    def first_state(self, page_size: int | None) -> State:
        return State(offset=0, page_size=page_size)

    def apply(self, request: PreparedRequest, state: State) -> None:
        return None

    def next_state(self, page: PageView, state: State) -> Step:
        return Step(None, len(page.records), "single-page source")
