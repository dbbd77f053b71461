"""Who must act next, and how pressing it is: the overview's "waiting on" section and the
referral list's "waiting on" column.

- An **agency** owes an answer on each leg sent to it (accept or decline by its deadline) and
  an outcome on each leg it accepted.
- The **co-ordinator** owns every unallocated need and every escalation (a leg still
  unanswered after its reminder).
- **Partners** owe their partnership's actions, commitments and quarterly returns.
- The **referrer** owes the follow-up with the resident.

Pressure, never shown by colour alone: *breached* (past its deadline), *due within a working
day*, or *waiting*.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel

from domain.calendar import add_working_days


class Party(StrEnum):
    """Who a piece of work waits on."""

    AGENCY = "agency"
    COORDINATOR = "coordinator"
    PARTNERS = "partners"
    REFERRER = "referrer"


class Pressure(StrEnum):
    """How pressing a line of work is; each has a text label and a colour."""

    BREACHED = "breached"
    DUE_SOON = "due_soon"
    WAITING = "waiting"


PRESSURE_LABELS = {
    Pressure.BREACHED: "Breached",
    Pressure.DUE_SOON: "Due within a working day",
    Pressure.WAITING: "Waiting, in time",
}
TO_ACCEPT = "sent"
"""The leg state in which an agency owes an answer."""
OUTCOME_DUE = ("accepted", "in_progress")
"""The leg states in which an agency owes an outcome."""


def due_soon_until(now: datetime) -> datetime:
    """Deadlines before this moment (and not yet passed) are "due within a working day"."""
    return add_working_days(now, 1)


def leg_pressure(
    *, state: str, deadline: datetime, breached: bool, now: datetime, due_by: datetime
) -> Pressure:
    """How pressing one leg is for its agency: an unanswered leg is breached once its
    deadline has passed, due soon when it falls before ``due_by``."""
    if state != TO_ACCEPT:
        return Pressure.WAITING
    if breached or deadline <= now:
        return Pressure.BREACHED
    return Pressure.DUE_SOON if deadline <= due_by else Pressure.WAITING


class WaitingLine(BaseModel):
    """One line of the overview's "waiting on" section: one party, one kind of work."""

    party: Party
    who: str
    """The agency's id; the party's name for the others."""
    name: str
    work: str
    total: int
    breached: int = 0
    due_soon: int = 0
    oldest_since: datetime | None = None
    link: str

    @property
    def pressure(self) -> Pressure:
        """The most pressing of the line's items."""
        if self.breached:
            return Pressure.BREACHED
        if self.due_soon:
            return Pressure.DUE_SOON
        return Pressure.WAITING


def sort_lines(lines: list[WaitingLine]) -> list[WaitingLine]:
    """Most breached first, then most due soon, then oldest."""
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        lines,
        key=lambda line: (-line.breached, -line.due_soon, line.oldest_since or far, line.name),
    )


class OpenLeg(BaseModel):
    """A leg still open, as the referral list needs it."""

    agency_id: str
    state: str
    escalated: bool = False


def waiting_on(
    *, status: str, open_legs: list[OpenLeg], unallocated_needs: int
) -> list[tuple[Party, str | None, str]]:
    """Who a referral waits on now: (party, agency id or None, what they owe), most
    pressing party first; empty when nobody owes anything."""
    result: list[tuple[Party, str | None, str]] = []
    if unallocated_needs:
        result.append((Party.COORDINATOR, None, "an unallocated need"))
    if any(leg.escalated and leg.state == TO_ACCEPT for leg in open_legs):
        result.append((Party.COORDINATOR, None, "an escalation"))
    for leg in open_legs:
        if leg.state == TO_ACCEPT:
            result.append((Party.AGENCY, leg.agency_id, "an answer"))
        elif leg.state in OUTCOME_DUE:
            result.append((Party.AGENCY, leg.agency_id, "an outcome"))
    if status == "follow_up":
        result.append((Party.REFERRER, None, "the follow-up"))
    return result
