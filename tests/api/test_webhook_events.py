"""Webhook events are published: the OpenAPI document names every event partnerflow posts to
partners, with its body's JSON schema, and what a real delivery posts validates against it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, ValidationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.referral_notices import _AGENCY_STEPS
from domain.partnership import Contact, InvitePartner
from domain.partnership_schedule import ReminderKind
from domain.referral_records import NoticeStep
from domain.webhook_events import (
    PARTNERSHIP_EVENT_KINDS,
    REFERRAL_EVENT_STEPS,
    WEBHOOK_EVENTS,
)
from store.db import Sessions
from store.referrals import save_referral
from tests.helpers.partnership_support import act, partnership_worker, start
from tests.helpers.referral_world import eventually, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from tests.workflow.test_referral_notices import NUMBER, notice, notices

EXPECTED = {
    "referral.leg_sent",
    "referral.leg_reminder",
    "referral.leg_stopped",
    "referral.leg_outcome_reminder",
    "partnership.partner_invitation",
    "partnership.commitment_reminder",
    "partnership.meeting_invitation",
}


async def _document(api: TestClient[Any, Any]) -> dict[str, Any]:
    resp = await api.get("/api/openapi.json")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


def _validator(doc: dict[str, Any], event: str) -> Draft202012Validator:
    """A validator of ``event``'s body as the document publishes it (its refs resolved in the
    document's own components)."""
    body = doc["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]
    schema = {"$ref": body["schema"]["$ref"], "components": doc["components"]}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _body(received: dict[str, Any]) -> dict[str, Any]:
    # The sink keeps the Idempotency-Key header beside the body it received.
    return {k: v for k, v in received.items() if k != "idempotency_key"}


async def test_the_document_publishes_every_event_with_its_schema(
    api: TestClient[Any, Any],
) -> None:
    doc = await _document(api)
    assert set(doc["webhooks"]) == EXPECTED == {e.name for e in WEBHOOK_EVENTS}
    # Every notice step the activity posts to a service's webhook is published, and only those.
    assert REFERRAL_EVENT_STEPS == _AGENCY_STEPS
    assert {ReminderKind.PARTNER_INVITATION, ReminderKind.MEETING_INVITATION} <= (
        PARTNERSHIP_EVENT_KINDS
    )
    for name, item in doc["webhooks"].items():
        post = item["post"]
        assert post["description"], name
        headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
        assert headers == {"Idempotency-Key", "X-Partnerflow-Event", "X-Partnerflow-Signature"}
        ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert schema["properties"]["event"] == {"const": name}
        assert set(schema["required"]) == {"event", "id", "data"}
        _validator(doc, name)
    referral = doc["components"]["schemas"]["ReferralNoticeEvent"]
    # What a referral event says, every field always there: ids, states and times only.
    assert set(referral["required"]) == {
        "referral",
        "leg_id",
        "need_id",
        "service_id",
        "step",
        "deadline",
        "consent_withdrawn",
        "offer_lost",
        "url",
        "links",
    }


async def test_referral_events_as_posted_validate_against_their_schemas(
    api: TestClient[Any, Any], sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    doc = await _document(api)
    n = await notices(sessions, smtp_sink, webhook_sink)
    await save_referral(sessions, NUMBER, submission(), submitted_by="u", at=datetime.now(UTC))
    due = datetime(2026, 12, 8, 17, tzinfo=UTC)
    for step, extra in (
        (NoticeStep.LEG_SENT, {"deadline": due}),
        (NoticeStep.LEG_REMINDER, {"deadline": due}),
        (NoticeStep.LEG_STOPPED, {"consent_withdrawn": True, "reason": "consent withdrawn"}),
        (NoticeStep.LEG_OUTCOME_REMINDER, {"deadline": due + timedelta(days=20)}),
    ):
        sent = notice(step, "cab-debt", key=f"{NUMBER}:{step.value}:key", **extra)
        result = await ActivityEnvironment().run(n.notify_referral, sent)
        assert "webhook" in result.channels
    events = [_body(e) for e in webhook_sink.events]
    assert [e["event"] for e in events] == [
        "referral.leg_sent",
        "referral.leg_reminder",
        "referral.leg_stopped",
        "referral.leg_outcome_reminder",
    ]
    for event in events:
        _validator(doc, event["event"]).validate(event)
    stopped = events[2]["data"]
    assert (stopped["consent_withdrawn"], stopped["deadline"]) == (True, None)
    # The partner's system gets the email's links: the leg's actions now, none once stopped.
    assert [link["action"] for link in events[0]["data"]["links"]] == [
        "view",
        "accept",
        "decline",
        "capacity",
    ]
    assert all("/leg/" in link["url"] for link in events[0]["data"]["links"])
    assert stopped["links"] == []
    # The schemas tell the events apart: a leg_sent body is no leg_stopped event.
    with pytest.raises(ValidationError):
        _validator(doc, "referral.leg_stopped").validate(events[0])
    with pytest.raises(ValidationError):
        _validator(doc, "referral.leg_sent").validate({**events[0], "data": {"referral": 1}})


async def test_a_partnership_event_as_posted_validates_against_its_schema(
    api: TestClient[Any, Any],
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    doc = await _document(api)
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        invite = InvitePartner(
            agency_id="leisure",
            name="Active Tendring",
            contact=Contact(name="Pat Leisure", email="pat@leisure.example"),
            webhook_url=webhook_sink.url,  # type: ignore[arg-type]
        )
        await act(handle, [invite])
        await eventually(lambda: bool(webhook_sink.events))
        await handle.terminate()
    (event,) = [_body(e) for e in webhook_sink.events]
    assert event["event"] == "partnership.partner_invitation"
    _validator(doc, event["event"]).validate(event)
    assert event["data"]["partnership"] == handle.id.removeprefix("partnership-")
