"""``python -m mcp_paginate.sample``: serve the sample API in the foreground."""

from __future__ import annotations

from mcp_paginate.sample.runner import main

main()
