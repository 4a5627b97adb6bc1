"""FastAPI with fastapi-pagination: ``Page``, ``LimitOffsetPage``, and ``Page`` with links.

- ``/page``: ``{items, total, page, size, pages}``, params ``page``/``size`` (50 by default);
- ``/limit-offset``: ``{items, total, limit, offset}``;
- ``/links``: ``Page`` with ``links: {first, last, self, next, prev}`` (relative URLs) in the body;
- ``/header-links``: ``Page`` with an RFC 8288 ``Link`` header (``UseHeaderLinks``).
"""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI
from fastapi_pagination import LimitOffsetPage, Page, add_pagination, paginate
from fastapi_pagination.customization import CustomizedPage
from fastapi_pagination.links import Page as LinksPage
from fastapi_pagination.links import UseHeaderLinks
from fastapi_pagination.utils import disable_installed_extensions_check
from pydantic import BaseModel

from tests.peers.base import DATASET, ASGIServer

__all__ = ["FastAPIPeer"]


class Item(BaseModel):
    id: int
    name: str


HeaderLinksPage = CustomizedPage[Page[Item], UseHeaderLinks()]


def items() -> list[Item]:
    return [Item(**record) for record in DATASET]


def create_app() -> FastAPI:
    # The records are a plain list; Django being installed (for its own peer) is no reason to warn.
    disable_installed_extensions_check()
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    # paginate() is typed to return Any: the page class it builds is the route's response model.

    @app.get("/page")
    def page() -> Page[Item]:
        return cast("Page[Item]", paginate(items()))

    @app.get("/limit-offset")
    def limit_offset() -> LimitOffsetPage[Item]:
        return cast("LimitOffsetPage[Item]", paginate(items()))

    @app.get("/links")
    def links() -> LinksPage[Item]:
        return cast("LinksPage[Item]", paginate(items()))

    @app.get("/header-links")
    def header_links() -> HeaderLinksPage:
        return cast("HeaderLinksPage", paginate(items()))

    add_pagination(app)
    return app


class FastAPIPeer(ASGIServer):
    """The FastAPI app under uvicorn on a free loopback port."""

    def __init__(self) -> None:
        super().__init__(create_app())
