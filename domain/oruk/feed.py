"""ORUK records read from one source, before validation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from domain.oruk.validation import RecordProblem


class Feed(BaseModel):
    """ORUK records read from one source, not yet validated."""

    services: list[dict[str, Any]] = Field(default_factory=list)
    organisations: list[dict[str, Any]] = Field(
        default_factory=list, description="Organisations given on their own (tables, lists)."
    )
    phones: dict[str, str] = Field(
        default_factory=dict, description="Service id → phone number (only tables carry phones)."
    )
    problems: list[RecordProblem] = Field(default_factory=list)

    def extend(self, other: Feed) -> Feed:
        """Both feeds as one."""
        return Feed(
            services=[*self.services, *other.services],
            organisations=[*self.organisations, *other.organisations],
            phones={**self.phones, **other.phones},
            problems=[*self.problems, *other.problems],
        )
