"""Alloy's Connectivity API beyond its paging (`mcp_paginate.paginators.alloy`): action metadata."""

from __future__ import annotations

from mcp_paginate.alloy.metadata import MetadataCache, parse_parameters, prepare_pagination

__all__ = ["MetadataCache", "parse_parameters", "prepare_pagination"]
