"""flask-smorest: a bare JSON list, the paging state in an ``X-Pagination`` JSON header.

``GET /items?page=2&page_size=20`` answers 20 records (10 by default) and ``X-Pagination: {"total": 237,
"total_pages": 12, "first_page": 1, "last_page": 12, "page": 2, "previous_page": 1, "next_page": 3}``.
"""

from __future__ import annotations

from typing import Any

import marshmallow
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint, Page

from tests.peers.base import DATASET, WSGIServer

__all__ = ["FlaskSmorestPeer"]


class ItemSchema(marshmallow.Schema):
    id = marshmallow.fields.Int()
    name = marshmallow.fields.Str()


def create_app() -> Flask:
    app = Flask("mcp-paginate-peer")
    app.config.update(
        API_TITLE="peer", API_VERSION="1", OPENAPI_VERSION="3.0.2", TESTING=False, PROPAGATE_EXCEPTIONS=False
    )
    api = Api(app)
    blueprint = Blueprint("items", "items", url_prefix="/items")

    @blueprint.route("")
    class Items(MethodView):
        @blueprint.response(200, ItemSchema(many=True))
        @blueprint.paginate(Page)  # the defaults: page_size 10, at most 100
        def get(self) -> Any:
            return DATASET

    api.register_blueprint(blueprint)
    return app


class FlaskSmorestPeer(WSGIServer):
    """The flask-smorest app on a free loopback port."""

    def __init__(self) -> None:
        super().__init__(create_app())
