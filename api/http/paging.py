"""The paging every list endpoint takes: which page, how many a page."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Paging(BaseModel):
    """Which page of a list to answer (the first is 1), and how many items a page holds."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=500)

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.page - 1) * self.per_page
