"""A deadline as an agency reads it in an email: "by 5 pm on Tuesday 8 December (1 working
day)", in London time, with the working days left counted as domain/calendar.py counts them."""

from __future__ import annotations

from datetime import datetime, time

from domain.calendar import LONDON, working_days_between


def clock_words(at: time) -> str:
    """A time of day as people say it: ``12 noon``, ``5 pm``, ``9:30 am``, ``12 midnight``."""
    if at.hour == 12 and at.minute == 0:
        return "12 noon"
    if at.hour == 0 and at.minute == 0:
        return "12 midnight"
    hour = at.hour % 12 or 12
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{hour}{minutes} {'am' if at.hour < 12 else 'pm'}"


def days_left_words(now: datetime, deadline: datetime) -> str:
    """How long is left, in working days: ``today``, ``1 working day``, ``passed``."""
    if deadline <= now:
        return "passed"
    days = working_days_between(now, deadline)
    if days == 0:
        return "today"
    return f"{days} working day{'' if days == 1 else 's'}"


def deadline_words(deadline: datetime, now: datetime) -> str:
    """``by 5 pm on Tuesday 8 December (1 working day)``; the year only when not this one."""
    if deadline.tzinfo is None or now.tzinfo is None:
        raise ValueError("deadline and now must be timezone-aware")
    local = deadline.astimezone(LONDON)
    year = f" {local.year}" if local.year != now.astimezone(LONDON).year else ""
    day = f"{local:%A} {local.day} {local:%B}{year}"
    return f"by {clock_words(local.time())} on {day} ({days_left_words(now, deadline)})"


def day_words(moment: datetime) -> str:
    """The London day of ``moment`` in words: ``Monday 7 December 2026``."""
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y}"
