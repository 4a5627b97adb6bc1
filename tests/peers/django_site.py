"""Django REST Framework and Django Ninja, one Django site (settings in code, in-memory SQLite).

Django is configured once per process, so both frameworks live here, under ``/drf/`` and ``/ninja/``:

- DRF ``LimitOffsetPagination`` (``{count, next, previous, results}``), ``PageNumberPagination``
  (``?page=&page_size=``) and ``CursorPagination`` (an opaque ``cursor`` in the ``next`` URL);
- Ninja ``LimitOffsetPagination`` / ``PageNumberPagination`` (``{"items": [...], "count": N}``, no
  next link) and ``CursorPagination`` (``{next, previous, results}``).
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings

__all__ = ["DjangoPeer"]

DATABASE_NAME = "file:mcp-paginate-peers?mode=memory&cache=shared"
"""Shared-cache in-memory SQLite: one database for every thread (each has its own connection)."""

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-peer-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "ninja"],
        MIDDLEWARE=[],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATABASE_NAME}},
        USE_TZ=True,
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "UNAUTHENTICATED_USER": None,
            "PAGE_SIZE": 50,
        },
    )
    django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, models  # noqa: E402
from django.urls import path  # noqa: E402
from ninja import NinjaAPI, Schema  # noqa: E402
from ninja.pagination import CursorPagination as NinjaCursor  # noqa: E402
from ninja.pagination import LimitOffsetPagination as NinjaLimitOffset  # noqa: E402
from ninja.pagination import PageNumberPagination as NinjaPageNumber  # noqa: E402
from ninja.pagination import paginate  # noqa: E402
from rest_framework import generics, pagination, serializers  # noqa: E402

from tests.peers.base import DATASET, WSGIServer  # noqa: E402


class Item(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "peers"
        ordering = ["id"]


# ---- Django REST Framework --------------------------------------------------------------------


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "name"]


class PageNumber(pagination.PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class Cursor(pagination.CursorPagination):
    page_size = 30
    page_size_query_param = "page_size"
    ordering = "id"


def _drf_view(paginator: type[pagination.BasePagination]) -> Any:
    return generics.ListAPIView.as_view(
        queryset=Item.objects.all(), serializer_class=ItemSerializer, pagination_class=paginator
    )


# ---- Django Ninja -----------------------------------------------------------------------------


class ItemOut(Schema):
    id: int
    name: str


ninja_api = NinjaAPI(urls_namespace="peers-ninja")


@ninja_api.get("/limit-offset", response=list[ItemOut])
@paginate(NinjaLimitOffset)
def ninja_limit_offset(request: Any) -> Any:
    return Item.objects.all()


@ninja_api.get("/page-number", response=list[ItemOut])
@paginate(NinjaPageNumber)
def ninja_page_number(request: Any) -> Any:
    return Item.objects.all()


@ninja_api.get("/cursor", response=list[ItemOut])
@paginate(NinjaCursor, ordering=("id",), page_size=40)
def ninja_cursor(request: Any) -> Any:
    return Item.objects.all()


urlpatterns = [
    path("drf/limit-offset", _drf_view(pagination.LimitOffsetPagination)),
    path("drf/page-number", _drf_view(PageNumber)),
    path("drf/cursor", _drf_view(Cursor)),
    path("ninja/", ninja_api.urls),
]


class DjangoPeer(WSGIServer):
    """The Django site on a free loopback port, its table filled with ``DATASET``.

    The main thread's connection keeps the shared in-memory database alive while the peer runs.
    """

    def __init__(self) -> None:
        if Item._meta.db_table not in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.create_model(Item)
            Item.objects.bulk_create(Item(id=record["id"], name=record["name"]) for record in DATASET)
        super().__init__(WSGIHandler())
