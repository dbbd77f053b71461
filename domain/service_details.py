"""What a resident reads about a service before contacting it, from the directory's ORUK fields.

Routing needs none of this; the public signposting website shows it. Every field is optional:
what a directory does not say is left out of the page, never shown as a placeholder.
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Weekday(StrEnum):
    """A day of the week, as ORUK schedules name them (``byday`` uses MO..SU)."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def label(self) -> str:
        """The day's name in words, e.g. ``Monday``."""
        return self.value.capitalize()


WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)


class OpeningTime(BaseModel):
    """Open on ``weekday`` from ``opens`` to ``closes``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekday: Weekday
    opens: time
    closes: time

    @model_validator(mode="after")
    def _in_order(self) -> OpeningTime:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class ServiceDetails(BaseModel):
    """A service's public details: cost, opening times, languages, access, location."""

    model_config = ConfigDict(extra="forbid")

    free: bool | None = Field(default=None, description="Free to use; None when not stated.")
    cost: str = Field(default="", max_length=1000, description="What it costs, in words.")
    opening_times: list[OpeningTime] = Field(default_factory=list, max_length=50)
    opening_note: str = Field(default="", max_length=1000, description="Opening times in words.")
    languages: list[str] = Field(default_factory=list, max_length=50)
    accessibility: list[str] = Field(
        default_factory=list, max_length=50, description="Accessibility of the venue."
    )
    how_to_get_there: str = Field(default="", max_length=1000)
    after_contact: str = Field(
        default="", max_length=2000, description="What happens after a resident gets in touch."
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _week_order(self) -> ServiceDetails:
        # One order for the same hours, however a feed lists them.
        order = {day: i for i, day in enumerate(WEEKDAYS)}
        self.opening_times.sort(key=lambda o: (order[o.weekday], o.opens, o.closes))
        return self

    def open_on(self, day: Weekday) -> bool:
        """Whether the service has opening hours on ``day``."""
        return any(o.weekday is day for o in self.opening_times)
