"""What a referral submission must satisfy beyond its shape: a plausible date of birth,
consent naming agencies of the directory, and a ward of the borough.

These rules need today's date, the directory's agencies and the borough's wards, which the
API reads; this module only judges, so the rules are tested without a store.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Final

from pydantic import BaseModel

from domain.referral import ReferralSubmission

OLDEST_AGE = 120
# How long a submission's Idempotency-Key answers with its referral's number: long enough for
# a device that lost the answer on a doorstep to resend it days later, then forgotten.
SUBMISSION_KEY_RETENTION: Final = timedelta(days=7)


class FieldProblem(BaseModel):
    """One field of a request and why it is refused."""

    field: str
    message: str


def submission_problems(
    submission: ReferralSubmission,
    *,
    today: date,
    agency_ids: Collection[str],
    wards: Collection[str],
) -> list[FieldProblem]:
    """Every reason to refuse ``submission`` (empty: it may be stored)."""
    problems: list[FieldProblem] = []
    born = submission.resident.date_of_birth
    if born is not None:
        if born > today:
            problems.append(
                FieldProblem(field="resident.date_of_birth", message="is in the future")
            )
        elif born < _years_before(today, OLDEST_AGE):
            problems.append(
                FieldProblem(
                    field="resident.date_of_birth",
                    message=f"is more than {OLDEST_AGE} years ago",
                )
            )
    unknown = sorted(set(submission.consent.agency_ids) - set(agency_ids))
    if unknown:
        problems.append(
            FieldProblem(
                field="consent.agency_ids",
                message=f"not agencies of the directory: {', '.join(unknown)}",
            )
        )
    if wards and submission.ward not in wards:
        problems.append(
            FieldProblem(
                field="ward",
                message=f"not a ward of the borough; the wards are: {', '.join(sorted(wards))}",
            )
        )
    return problems


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
