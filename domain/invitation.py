"""Meeting invitations as iCalendar (RFC 5545) requests that calendar clients can accept."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

from domain.partnership_schedule import MeetingSlot


def meeting_ics(
    *,
    uid: str,
    slot: MeetingSlot,
    title: str,
    description: str,
    organiser: str,
    attendees: list[str],
    stamp: datetime,
) -> str:
    """A METHOD:REQUEST calendar with one event; ``stamp`` keeps it the same on every replay."""
    cal = Calendar()
    cal.add("prodid", "-//partnerflow//partnership meetings//EN")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", uid)
    # UTC times need no VTIMEZONE block, which some clients mishandle.
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", slot.starts_at.astimezone(UTC))
    event.add("dtend", slot.ends_at.astimezone(UTC))
    event.add("summary", title)
    event.add("description", description)
    event.add("sequence", 0)
    organizer = vCalAddress(f"mailto:{organiser}")
    organizer.params["cn"] = vText("Partnership co-ordinator")
    event["organizer"] = organizer
    for email in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    ics: bytes = cal.to_ical()
    return ics.decode()
