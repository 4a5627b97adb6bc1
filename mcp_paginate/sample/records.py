"""The records the sample API serves, and the slice of them one page holds (faults applied).

``N`` records (default 237, deliberately not a multiple of common page sizes)::

    {"id": i, "name": f"Record {i}", "email": f"user{i}@example.test",
     "group": ["red", "green", "blue"][i % 3], "score": (i * 37) % 101}      # i = 1..N
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import URL

from mcp_paginate.sample.faults import FaultPlan
from mcp_paginate.sample.stats import Stats

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RECORDS",
    "MAX_PAGE_SIZE",
    "SILENT_PAGE_CAP",
    "JSONObject",
    "SampleData",
    "Slice",
    "make_record",
]

DEFAULT_RECORDS = 237
DEFAULT_PAGE_SIZE = 10
SILENT_PAGE_CAP = 25
MAX_PAGE_SIZE = 100

JSONObject = dict[str, Any]


def make_record(record_id: int) -> JSONObject:
    """The sample record with this id (1-based)."""
    return {
        "id": record_id,
        "name": f"Record {record_id}",
        "email": f"user{record_id}@example.test",
        "group": ["red", "green", "blue"][record_id % 3],
        "score": (record_id * 37) % 101,
    }


@dataclasses.dataclass(frozen=True)
class Slice:
    records: list[JSONObject]
    offset: int
    size: int
    next_offset: int | None  # None: this is the last page

    @property
    def is_first(self) -> bool:
        return self.offset == 0


class SampleData:
    """Records, stats and the live fault plan of one sample API app: what every handler reads."""

    def __init__(self, records: int, latency: float, api_key: str | None, faults: FaultPlan | None) -> None:
        if records < 0:
            raise ValueError("records must be >= 0")
        self.total = records
        self.latency = latency
        self.api_key = api_key
        self.stats = Stats()
        self._faults = faults or FaultPlan()
        self._fault_lock = threading.Lock()
        self._fault_count = 0

    # -- faults ----------------------------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        with self._fault_lock:
            self._faults = plan
            self._fault_count = 0

    def next_request_number(self) -> tuple[FaultPlan, int]:
        """The current plan and this request's number under it (1, 2, 3...)."""
        with self._fault_lock:
            self._fault_count += 1
            return self._faults, self._fault_count

    # -- data ------------------------------------------------------------------------------

    def slice(self, offset: int, size: int, *, cursor: bool = False) -> Slice:
        """Records ``offset+1 .. offset+size`` and the next offset, faults applied."""
        end = min(offset + size, self.total)
        records = [make_record(i) for i in range(offset + 1, end + 1)]
        next_offset = end if end < self.total else None
        if next_offset is None and self.faults.empty_forever:
            next_offset = offset + size
        if cursor and self.faults.loop and offset == 2 * size:
            next_offset = size  # what the first page handed out
        return Slice(records, offset, size, next_offset)

    def next_link(self, page: Slice, url: URL | str) -> str:
        """The next page's link, moved to ``evil_next_url``'s origin on the first page if that fault is on."""
        evil = self.faults.evil_next_url
        return with_origin(str(url), evil) if evil and page.is_first else str(url)


def with_origin(url: str, origin: str) -> str:
    """``url`` moved to another scheme://host:port, path and query kept."""
    target, parts = urlsplit(origin), urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))
