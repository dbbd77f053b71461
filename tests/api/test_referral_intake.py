"""Bad input the API refuses at the edge: 422 naming the field and the reason, nothing stored;
and no stored value can make a notice unsendable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier, NotifierConfig
from domain.access import Role
from domain.notification import Attachment, EmailMessage
from store.db import Sessions
from store.demo import demo_directory
from store.directory import save_directory
from store.schema import ReferralRow, ResidentRow
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink

GOOD: dict[str, Any] = {
    "source": "reach_out",
    "ward": "pier",
    "resident": {"name": "Edna Pettigrew", "date_of_birth": "1951-03-14"},
    "needs": [{"category": "benefits_debt"}],
    "consent": {"agency_ids": ["tendring-cab"]},
    "referrer": {"name": "Sam (Reach Out)"},
}


def changed(path: str, value: object) -> dict[str, Any]:
    """GOOD with the dotted ``path`` set to ``value``."""
    body: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in GOOD.items()}
    *parents, leaf = path.split(".")
    target = body
    for part in parents:
        target = target[part]
    target[leaf] = value
    return body


async def _refused(
    api: TestClient[Any, Any], headers: dict[str, str], body: dict[str, Any]
) -> list[dict[str, Any]]:
    resp = await api.post("/api/referrals", json=body, headers=headers)
    assert resp.status == 422, await resp.text()
    detail: list[dict[str, Any]] = (await resp.json())["detail"]
    return detail


async def test_implausible_dates_unknown_agencies_and_wards_are_refused_and_nothing_kept(
    api: TestClient[Any, Any], bearer: Any, sessions: Sessions
) -> None:
    async with sessions.begin() as session:
        await save_directory(session, demo_directory())
    referrer = await bearer(Role.REFERRER)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    (problem,) = await _refused(api, referrer, changed("resident.date_of_birth", tomorrow))
    assert problem == {"field": "resident.date_of_birth", "message": "is in the future"}
    (problem,) = await _refused(api, referrer, changed("resident.date_of_birth", "1890-01-01"))
    assert problem == {
        "field": "resident.date_of_birth",
        "message": "is more than 120 years ago",
    }
    (problem,) = await _refused(
        api, referrer, changed("consent.agency_ids", ["tendring-cab", "cab", "nobody"])
    )
    assert problem == {
        "field": "consent.agency_ids",
        "message": "not agencies of the directory: cab, nobody",
    }
    (problem,) = await _refused(api, referrer, changed("ward", "atlantis"))
    assert problem["field"] == "ward"
    assert problem["message"].startswith("not a ward of the borough; the wards are: ")
    assert "pier" in problem["message"]
    assert "frinton" in problem["message"]
    for path in ("resident.name", "referrer.name"):
        detail = await _refused(api, referrer, changed(path, "A\r\nBcc: all@x.example"))
        assert [(d["field"], d["message"]) for d in detail] == [
            (path, "Value error, must be on one line: no line breaks (CR or LF)")
        ]
    async with sessions() as session:
        for table in (ReferralRow, ResidentRow):
            assert await session.scalar(select(func.count()).select_from(table)) == 0
    # The same submission without the faults passes every check (and reaches Temporal,
    # unreachable here).
    assert (await api.post("/api/referrals", json=GOOD, headers=referrer)).status == 503


async def test_a_partnership_name_with_a_line_break_is_refused(
    api: TestClient[Any, Any], bearer: Any
) -> None:
    body = {
        "id": "interaction",
        "name": "Interaction\nPartnership",
        "aims": ["Improve quality of life"],
        "coordinator": {"name": "Neighbourhood manager", "email": "nm@tendring.example"},
    }
    resp = await api.post("/api/partnerships", json=body, headers=await bearer(Role.COORDINATOR))
    assert resp.status == 422, await resp.text()
    fields = [d["field"] for d in (await resp.json())["detail"]]
    assert fields == ["name"]
    body["name"] = "Interaction Partnership"
    body["coordinator"] = {"name": "Neighbourhood\rmanager", "email": "nm@tendring.example"}
    resp = await api.post("/api/partnerships", json=body, headers=await bearer(Role.COORDINATOR))
    assert resp.status == 422, await resp.text()
    assert [d["field"] for d in (await resp.json())["detail"]] == ["coordinator.name"]


async def test_a_stored_name_with_a_line_break_still_sends(
    sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    """A name stored before the rule (or from elsewhere) goes into a header as one line."""
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp_sink.port, webhook_secrets=(WEBHOOK_SECRET,), sender="pf@t"),
        sessions,
    )
    message = EmailMessage(
        idempotency_key="meeting-invitation-1",
        to=["nm@tendring.example"],
        subject="Interaction\r\nPartnership: stakeholder meeting 1",
        text="The meeting",
        attachments=[
            Attachment(filename="meet\ning.ics", content_type="text/calendar", content="X")
        ],
    )
    delivery = await ActivityEnvironment().run(notifier.send_email, message)
    assert delivery.sent
    (received,) = smtp_sink.messages
    assert received["Subject"] == "Interaction Partnership: stakeholder meeting 1"
