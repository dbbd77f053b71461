"""The directory's words put plainly for residents: needs, urgency, eligibility, opening times,
and where each part of a referral has got to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from domain.directory import Eligibility, NeedCategory, Urgency
from domain.referral import LegState, NeedState
from domain.service_details import WEEKDAYS, OpeningTime


@dataclass(frozen=True)
class NeedWords:
    """How a need category is named to residents, and the words that find it."""

    label: str
    hint: str
    search_text: str


NEED_WORDS: dict[NeedCategory, NeedWords] = {
    NeedCategory.BENEFITS_DEBT: NeedWords(
        "Money and debt", "Benefits, bills, debts, budgeting", "money debt benefits bills"
    ),
    NeedCategory.HOUSING: NeedWords(
        "Housing", "Somewhere to live, rent, repairs, eviction", "housing home rent tenancy"
    ),
    NeedCategory.HEALTH: NeedWords(
        "Health", "Staying well, exercise, a health check", "health wellbeing exercise"
    ),
    NeedCategory.MENTAL_HEALTH: NeedWords(
        "Feeling low or anxious", "Mental health and wellbeing", "mental health anxiety low mood"
    ),
    NeedCategory.SOCIAL_ISOLATION: NeedWords(
        "Feeling lonely", "Company, befriending, things to do", "lonely loneliness company friends"
    ),
    NeedCategory.EMPLOYMENT_TRAINING: NeedWords(
        "Work and training", "Finding work, skills, volunteering", "work job employment training"
    ),
    NeedCategory.ADULT_LEARNING: NeedWords(
        "Learning and courses", "Reading, writing, computers, college", "learning courses college"
    ),
    NeedCategory.FAMILY_SUPPORT: NeedWords(
        "Family and children", "Parenting, young children, family support", "family children"
    ),
    NeedCategory.COMMUNITY_SAFETY: NeedWords(
        "Feeling safe", "Crime, antisocial behaviour, safety at home", "safety crime police"
    ),
    NeedCategory.SUBSTANCE_MISUSE: NeedWords(
        "Drugs and alcohol", "Help with drinking or drug use", "drugs alcohol drinking"
    ),
    NeedCategory.ENVIRONMENT: NeedWords(
        "Your street and environment", "Fly-tipping, litter, noise", "environment litter noise"
    ),
    NeedCategory.LEISURE: NeedWords(
        "Sport and leisure", "Leisure centres, activities, clubs", "sport leisure activities"
    ),
}

URGENCY_WORDS: dict[Urgency, str] = {
    Urgency.ROUTINE: "It can wait a week or two",
    Urgency.URGENT: "I need help in the next few days",
    Urgency.EMERGENCY: "I need help today",
}

LEG_WORDS: dict[LegState, str] = {
    LegState.SENT: "Sent: waiting for the service to reply",
    LegState.ACCEPTED: "Accepted: the service will contact you",
    LegState.IN_PROGRESS: "The service is helping you",
    LegState.OUTCOME_RECORDED: "Help given",
    LegState.CLOSED: "Finished",
    LegState.DECLINED: "The service could not help: we are finding another",
    LegState.EXPIRED: "No reply yet: we are finding another service",
    LegState.WITHDRAWN: "Stopped",
}

# The GOV.UK tag colour of each state on the tracking page: no two states look alike, so
# "Sent" (waiting) is never mistaken for "Accepted".
LEG_COLOURS: dict[LegState, str] = {
    LegState.SENT: "yellow",
    LegState.ACCEPTED: "turquoise",
    LegState.IN_PROGRESS: "blue",
    LegState.OUTCOME_RECORDED: "green",
    LegState.CLOSED: "grey",
    LegState.DECLINED: "orange",
    LegState.EXPIRED: "pink",
    LegState.WITHDRAWN: "red",
}

NEED_STATE_COLOURS: dict[NeedState, str] = {
    NeedState.ROUTING: "light-blue",
    NeedState.REFERRED: "yellow",
    NeedState.SIGNPOSTED: "purple",
    NeedState.UNALLOCATED: "pink",
    NeedState.OUTCOME_RECORDED: "green",
    NeedState.WITHDRAWN: "red",
    NeedState.CLOSED: "grey",
}

# Needs where a visitor may be at risk from someone close to them (domestic abuse, harm to a
# child or an adult): their pages carry the "Exit this page" button.
AT_RISK_NEEDS: frozenset[NeedCategory] = frozenset(
    {NeedCategory.COMMUNITY_SAFETY, NeedCategory.FAMILY_SUPPORT}
)

NEED_STATE_WORDS: dict[NeedState, str] = {
    NeedState.ROUTING: "We are finding the right service",
    NeedState.REFERRED: "Sent to a service",
    NeedState.SIGNPOSTED: "We sent you the service's contact details",
    NeedState.UNALLOCATED: "A co-ordinator is looking for a service for you",
    NeedState.OUTCOME_RECORDED: "Help given",
    NeedState.WITHDRAWN: "Stopped",
    NeedState.CLOSED: "Finished",
}


def need_label(category: NeedCategory) -> str:
    """A need category in plain words."""
    return NEED_WORDS[category].label


def eligibility_words(eligibility: Eligibility) -> str:
    """Who a service is for, in a sentence; empty when it is for everyone."""
    low, high = eligibility.minimum_age, eligibility.maximum_age
    if low is not None and high is not None:
        ages = f"people aged {low} to {high}"
    elif low is not None:
        ages = f"people aged {low} and over"
    elif high is not None:
        ages = f"people aged {high} and under"
    else:
        ages = ""
    sentence = f"For {ages}." if ages else ""
    if eligibility.description:
        sentence = f"{sentence} {eligibility.description.rstrip('.')}.".strip()
    return sentence


def opening_words(times: list[OpeningTime]) -> list[tuple[str, str]]:
    """Opening hours per day in week order, e.g. ``("Monday", "9am to 5pm")``."""
    rows = []
    for day in WEEKDAYS:
        spans = sorted((o for o in times if o.weekday is day), key=lambda o: o.opens)
        if spans:
            rows.append(
                (day.label, ", ".join(f"{_clock(o.opens)} to {_clock(o.closes)}" for o in spans))
            )
    return rows


def _clock(moment: time) -> str:
    hour, minute = moment.hour, moment.minute
    suffix = "am" if hour < 12 else "pm"
    shown = hour % 12 or 12
    return f"{shown}{suffix}" if minute == 0 else f"{shown}:{minute:02d}{suffix}"


def miles_words(miles: float | None) -> str:
    """A distance as residents read it: '0.4 miles away'; empty when unknown."""
    if miles is None:
        return ""
    if miles < 0.1:
        return "less than 0.1 miles away"
    return f"{miles:.1f} miles away"
