"""Residents' emails: the confirmation with its signed tracking link, and a shortlist from the
outbox, each sent once however often its notice runs; a recorded history still replays."""

from __future__ import annotations

import os
import re
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.notify import Notifier, NotifierConfig
from activities.resident_notices import ResidentNoticeConfig, ResidentNotices
from domain.referral import Need, ReferralSource, ReferralSubmission, Referrer, Resident
from domain.resident_notice import (
    RESIDENT_NOTICE_WORKFLOW,
    ResidentNotice,
    ResidentNoticeKind,
    ResidentNoticeResult,
)
from domain.signed_link import TRACK_PURPOSE, LinkKeys, verify_link
from store.db import Sessions
from store.find_visits import queue_email, queued_email
from store.referrals import save_referral
from tests.helpers.sinks import SmtpSink
from workers.worker import INTERCEPTORS
from workflows.resident_notice import ResidentNoticeWorkflow

HISTORY = Path(__file__).with_name("histories") / "resident_notice.json"
KEYS = LinkKeys.from_secrets([secrets.token_urlsafe(32)])


async def _run(
    env: WorkflowEnvironment, sessions: Sessions, smtp: SmtpSink, notice: ResidentNotice
) -> tuple[ResidentNoticeResult, str]:
    notices = ResidentNotices(
        Notifier(NotifierConfig(smtp_port=smtp.port, sender="pf@test"), sessions),
        sessions,
        ResidentNoticeConfig(
            public_url="http://site.example", council_name="Council", link_keys=KEYS
        ),
    )
    queue = f"tq-{uuid.uuid4()}"
    workflow_id = f"resident-notice-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[ResidentNoticeWorkflow],
        activities=[notices.notify_resident],
        interceptors=INTERCEPTORS,
    ):
        result = await env.client.execute_workflow(
            RESIDENT_NOTICE_WORKFLOW,
            notice,
            id=workflow_id,
            task_queue=queue,
            result_type=ResidentNoticeResult,
        )
    return result, workflow_id


async def test_confirmation_carries_a_link_to_the_referral_and_goes_once(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    number = "TEN-2026-000042"
    await save_referral(
        sessions,
        number,
        ReferralSubmission(
            source=ReferralSource.WEB_SIGNPOSTING,
            ward="pier",
            resident=Resident(name="Edna Pettigrew", email="edna@home.example"),
            needs=[Need(category="social_isolation")],
            referrer=Referrer(name="Self-referral on the website"),
        ),
        submitted_by="web-signposting",
        at=datetime.now(UTC),
    )
    notice = ResidentNotice(kind=ResidentNoticeKind.CONFIRMATION, ref=number)
    first, workflow_id = await _run(time_skipping_env, sessions, smtp_sink, notice)
    again, _ = await _run(time_skipping_env, sessions, smtp_sink, notice)
    assert (first.sent, again.sent) == (True, False)
    [message] = smtp_sink.to("edna@home.example")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Feeling lonely" in text
    token = re.search(r"http://site\.example/find/track/(\S+)", text)
    assert token is not None
    assert verify_link(KEYS, token.group(1), purpose=TRACK_PURPOSE, now=datetime.now(UTC)) == number
    if os.environ.get("PARTNERFLOW_RECORD_HISTORIES"):
        history = await time_skipping_env.client.get_workflow_handle(workflow_id).fetch_history()
        HISTORY.write_text(history.to_json())


async def test_shortlist_leaves_the_outbox_once_sent(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    outbox_id = await queue_email(
        sessions,
        recipient="me@home.example",
        subject="Your shortlist",
        text="CAB",
        html="<p>CAB</p>",
    )
    notice = ResidentNotice(kind=ResidentNoticeKind.SHORTLIST, ref=outbox_id)
    result, _ = await _run(time_skipping_env, sessions, smtp_sink, notice)
    assert result.sent
    assert [m["Subject"] for m in smtp_sink.to("me@home.example")] == ["Your shortlist"]
    # The address goes with the sent email; a repeat finds nothing to send.
    assert await queued_email(sessions, outbox_id) is None
    repeat, _ = await _run(time_skipping_env, sessions, smtp_sink, notice)
    assert not repeat.sent


async def test_recorded_resident_notice_replays() -> None:
    history = WorkflowHistory.from_json("resident-notice", HISTORY.read_text())
    assert len(history.events) > 5
    await Replayer(
        workflows=[ResidentNoticeWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(history)
