"""Auto-detected pagination (placeholder: detection is filled in by the auto-detection work)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AutoPagination"]


class AutoPagination(BaseModel):
    """Detect the pagination style from the first response and report it as ``detected``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["auto"] = "auto"
    page_size: int | None = Field(default=None, ge=1, description="Records per request, when detectable.")
