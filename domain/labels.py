"""What people read instead of ids: agency, service, ward and need names, money, and how
far a deadline is ("in 3 h", "2 days late"). Ids stay in links and the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from domain.directory import NeedCategory

CATEGORY_NAMES: dict[str, str] = {
    NeedCategory.BENEFITS_DEBT: "Benefits and debt",
    NeedCategory.HOUSING: "Housing",
    NeedCategory.HEALTH: "Health",
    NeedCategory.EMPLOYMENT_TRAINING: "Employment and training",
    NeedCategory.FAMILY_SUPPORT: "Family support",
    NeedCategory.COMMUNITY_SAFETY: "Community safety",
    NeedCategory.ADULT_LEARNING: "Adult learning",
    NeedCategory.SOCIAL_ISOLATION: "Social isolation",
    NeedCategory.ENVIRONMENT: "Environment",
    NeedCategory.LEISURE: "Leisure",
    NeedCategory.MENTAL_HEALTH: "Mental health",
    NeedCategory.SUBSTANCE_MISUSE: "Substance misuse",
}
SOURCE_NAMES = {"reach_out": "Reach Out", "web_signposting": "Web", "agency": "Agency"}
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


class Names(BaseModel):
    """Display names by id, read once per page from the directory and the ward mapping."""

    agencies: dict[str, str] = Field(default_factory=dict)
    services: dict[str, str] = Field(default_factory=dict)
    wards: dict[str, str] = Field(default_factory=dict)

    def agency(self, agency_id: str | None) -> str:
        """The agency's name (its id when unknown)."""
        return self.agencies.get(agency_id or "", agency_id or "")

    def service(self, service_id: str | None) -> str:
        """The service's name (its id when unknown)."""
        return self.services.get(service_id or "", service_id or "")

    def ward(self, ward_id: str | None) -> str:
        """The ward's name (its id, in words, when unknown)."""
        return self.wards.get(ward_id or "", words(ward_id or ""))


def words(code: str) -> str:
    """A code as words: ``outcome_recorded`` → ``outcome recorded``."""
    return code.replace("_", " ").replace("-", " ")


def category_name(category: str) -> str:
    """A need category in words: ``benefits_debt`` → ``Benefits and debt``."""
    return CATEGORY_NAMES.get(category, words(category).capitalize())


def money(value: float | None, unit: str | None) -> str:
    """An amount as people write it: ``£1,240``, ``£12.50``, ``3 hours``; empty if none."""
    if value is None:
        return ""
    whole = float(value).is_integer()
    figure = f"{value:,.0f}" if whole else f"{value:,.2f}"
    symbol = CURRENCY_SYMBOLS.get((unit or "").upper())
    if symbol:
        return f"{'-' if value < 0 else ''}{symbol}{figure.lstrip('-')}"
    return f"{figure} {unit}" if unit else figure


def relative(moment: datetime, now: datetime) -> str:
    """How far ``moment`` is from ``now``: ``in 3 h``, ``in 2 days``, ``5 h late``,
    ``2 days late``; within a minute: ``now``."""
    gap = moment - now
    late = gap < timedelta(0)
    span = abs(gap)
    if span < timedelta(minutes=1):
        return "now"
    if span < timedelta(hours=1):
        amount = f"{int(span.total_seconds() // 60)} min"
    elif span < timedelta(hours=48):
        amount = f"{int(span.total_seconds() // 3600)} h"
    else:
        days = span.days
        amount = f"{days} day{'s' if days != 1 else ''}"
    return f"{amount} late" if late else f"in {amount}"


def age(since: datetime, now: datetime) -> str:
    """How long ago ``since`` was: ``40 min``, ``5 h``, ``3 days``."""
    span = max(now - since, timedelta(0))
    if span < timedelta(hours=1):
        return f"{int(span.total_seconds() // 60)} min"
    if span < timedelta(hours=48):
        return f"{int(span.total_seconds() // 3600)} h"
    return f"{span.days} days"
