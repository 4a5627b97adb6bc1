"""A deterministic sample REST API that serves the same records in every pagination style.

Tests, ``mcp-paginate demo``, ``mcp-paginate sample-api`` and the benchmarks talk to it over real
loopback HTTP. The records are in `records`; each paging style's endpoints in its own module
(`alloy`, `offsets`, `pages`, `cursors`, `links`), mounted by `app`; switchable misbehaviour in
`faults`; the control endpoints (``/_stats``, ``/_faults``) in `control`; running it in `runner`.

Usage::

    with SampleAPI(records=100, api_key="secret") as api:
        httpx2.get(f"{api.url}/offset", headers={"Authorization": "Bearer secret"})
        api.faults.status_every = 3
        api.stats.max_in_flight

or in a terminal (the URL is printed on one line)::

    mcp-paginate sample-api --port 8000 --records 1000 --latency 20
    python -m mcp_paginate.sample --port 8000 --records 1000 --latency 20 --api-key K
"""

from __future__ import annotations

from mcp_paginate.sample.app import STYLES, create_app, style_endpoints
from mcp_paginate.sample.faults import FaultPlan
from mcp_paginate.sample.records import DEFAULT_PAGE_SIZE, DEFAULT_RECORDS, make_record
from mcp_paginate.sample.runner import SampleAPI, main, serve
from mcp_paginate.sample.stats import Stats

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RECORDS",
    "STYLES",
    "FaultPlan",
    "SampleAPI",
    "Stats",
    "create_app",
    "main",
    "make_record",
    "serve",
    "style_endpoints",
]
