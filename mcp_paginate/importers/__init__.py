"""Importers: sources for our config from other tools' paging configs (Airbyte low-code manifests)."""

from __future__ import annotations

from mcp_paginate.importers.airbyte import ImportedSource, ImportResult, SkippedStream, import_manifest
from mcp_paginate.importers.output import render_toml, summary_lines

__all__ = [
    "ImportResult",
    "ImportedSource",
    "SkippedStream",
    "import_manifest",
    "render_toml",
    "summary_lines",
]
