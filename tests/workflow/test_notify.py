"""Notification activities against a real SMTP server and a real HTTP receiver."""

import asyncio
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier, NotifierConfig
from domain.notification import Attachment, EmailMessage, WebhookMessage, idempotency_key
from store.db import SQLITE_BUSY_SECONDS, Sessions
from store.schema import NotificationFailure
from tests.conftest import free_port
from tests.helpers.referral_world import eventually
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink


def notifier(sessions: Sessions, smtp: SmtpSink) -> Notifier:
    return Notifier(
        NotifierConfig(smtp_port=smtp.port, webhook_secrets=(WEBHOOK_SECRET,), sender="pf@test"),
        sessions,
    )


async def test_email_is_sent_once_per_key(sessions: Sessions, smtp_sink: SmtpSink) -> None:
    env = ActivityEnvironment()
    n = notifier(sessions, smtp_sink)
    msg = EmailMessage(
        idempotency_key=idempotency_key("TEN-1", "cab", "sent"),
        to=["intake@cab.example"],
        subject="New referral",
        text="plain",
        html="<p>html</p>",
        attachments=[
            Attachment(filename="m.ics", content_type="text/calendar", content="BEGIN:VCALENDAR")
        ],
    )
    first = await env.run(n.send_email, msg)
    again = await env.run(n.send_email, msg)
    assert (first.sent, again.sent) == (True, False)
    assert smtp_sink.keys() == [msg.idempotency_key]
    received = smtp_sink.messages[0]
    assert received["Subject"] == "New referral"
    assert [p.get_content_type() for p in received.walk()][-1] == "text/calendar"


async def test_webhook_is_signed_and_sent_once(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    env = ActivityEnvironment()
    n = notifier(sessions, smtp_sink)
    msg = WebhookMessage(
        idempotency_key=idempotency_key("TEN-1", "cab", "sent"),
        url=webhook_sink.url,  # type: ignore[arg-type]
        event="referral.sent",
        payload={"referral": "TEN-1"},
    )
    assert (await env.run(n.send_webhook, msg)).sent
    assert not (await env.run(n.send_webhook, msg)).sent
    assert webhook_sink.rejected == []
    assert webhook_sink.keys() == [msg.idempotency_key]
    assert webhook_sink.events[0]["data"] == {"referral": "TEN-1"}


async def test_webhook_server_error_is_retryable_refusal_is_not(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    env = ActivityEnvironment()
    n = notifier(sessions, smtp_sink)
    msg = WebhookMessage(
        idempotency_key="k" * 16,
        url=webhook_sink.url,
        event="e",
        payload={},  # type: ignore[arg-type]
    )
    webhook_sink.fail_next, webhook_sink.fail_status = 1, 503
    with pytest.raises(ApplicationError) as err:
        await env.run(n.send_webhook, msg)
    assert not err.value.non_retryable
    [failing] = await _failures(sessions)
    assert (failing.channel, failing.gave_up) == ("webhook", False)
    assert "HTTP 503" in failing.last_error
    webhook_sink.fail_next, webhook_sink.fail_status = 1, 410
    with pytest.raises(ApplicationError) as err:
        await env.run(n.send_webhook, msg)
    assert err.value.non_retryable
    [failing] = await _failures(sessions)
    assert failing.gave_up
    assert "HTTP 410" in failing.last_error
    # Nothing was recorded as sent, so the next attempt delivers it, and the failure clears.
    assert (await env.run(n.send_webhook, msg)).sent
    assert await _failures(sessions) == []


async def test_unreachable_mail_server_is_noted_as_failing(sessions: Sessions) -> None:
    n = Notifier(NotifierConfig(smtp_port=free_port()), sessions)
    msg = EmailMessage(idempotency_key="m" * 16, to=["a@b.example"], subject="s", text="t")
    with pytest.raises(ApplicationError, match="unreachable"):
        await ActivityEnvironment().run(n.send_email, msg)
    [failing] = await _failures(sessions)
    assert (failing.channel, failing.recipient) == ("email", "a@b.example")


async def test_any_failure_of_a_send_is_noted_not_only_mail_and_partner_errors(
    sessions: Sessions, webhook_sink: WebhookSink
) -> None:
    n = Notifier(NotifierConfig(webhook_secrets=(WEBHOOK_SECRET,)), sessions)
    # An event name no HTTP header can carry: the HTTP client refuses it before sending.
    msg = WebhookMessage(
        idempotency_key="w" * 16,
        url=webhook_sink.url,
        event="referral.leg_sent\r\nX-Injected: 1",
        payload={},
        subject_ref="TEN-2026-000001",
    )
    with pytest.raises(ValueError):  # noqa: PT011 - the HTTP client's own refusal
        await ActivityEnvironment().run(n.send_webhook, msg)
    [failing] = await _failures(sessions)
    assert (failing.channel, failing.subject_ref, failing.attempts) == (
        "webhook",
        msg.subject_ref,
        1,
    )
    assert failing.last_error.startswith("ValueError")


async def _failures(sessions: Sessions) -> list[NotificationFailure]:
    async with sessions() as session:
        return list((await session.scalars(select(NotificationFailure))).all())


async def test_wrong_secret_is_refused_by_the_receiver(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    n = Notifier(NotifierConfig(smtp_port=smtp_sink.port, webhook_secrets=("wrong",)), sessions)
    msg = WebhookMessage(idempotency_key="w" * 16, url=webhook_sink.url, event="e", payload={})  # type: ignore[arg-type]
    with pytest.raises(ApplicationError, match="HTTP 401"):
        await ActivityEnvironment().run(n.send_webhook, msg)
    assert webhook_sink.rejected == ["signature does not match the body"]


async def test_a_ledger_locked_after_sending_is_waited_out_not_sent_again(
    tmp_path: Path, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = ActivityEnvironment()
    n = notifier(sessions, smtp_sink)
    msg = EmailMessage(
        idempotency_key=idempotency_key("TEN-1", "cab", "sent"),
        to=["intake@cab.example"],
        subject="New referral",
        text="plain",
    )
    smtp_sink.accept_seconds = 1
    sending = asyncio.create_task(env.run(n.send_email, msg))
    # Once the send is under way, another process (the API, say) takes the write lock and
    # holds it longer than SQLite's busy wait.
    async with aiosqlite.connect(tmp_path / "app.db", isolation_level=None) as other:
        for _ in range(100):
            if await (await other.execute("SELECT 1 FROM notification_claims")).fetchall():
                break
            await asyncio.sleep(0.05)
        await other.execute("BEGIN IMMEDIATE")
        await eventually(lambda: bool(smtp_sink.messages))
        await asyncio.sleep(SQLITE_BUSY_SECONDS + 1)
        assert not sending.done()
        await other.execute("ROLLBACK")
    assert (await sending).sent
    assert not (await env.run(n.send_email, msg)).sent
    assert smtp_sink.keys() == [msg.idempotency_key]


async def test_two_executions_of_one_notice_at_once_send_it_once(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    # The same task handed out twice (Temporal may, when its store is slow), or a retry
    # that starts while the first execution is still sending: the second waits its turn.
    smtp_sink.accept_seconds = 0.5
    n = notifier(sessions, smtp_sink)
    email = EmailMessage(
        idempotency_key="twice-email", to=["intake@cab.example"], subject="s", text="t"
    )
    webhook = WebhookMessage(
        idempotency_key="twice-hook",
        url=webhook_sink.url,  # type: ignore[arg-type]
        event="referral.sent",
        payload={},
    )
    for activity_fn, message in ((n.send_email, email), (n.send_webhook, webhook)):
        first, second = await asyncio.gather(
            ActivityEnvironment().run(activity_fn, message),
            ActivityEnvironment().run(activity_fn, message),
            return_exceptions=True,
        )
        [delivery] = [r for r in (first, second) if not isinstance(r, BaseException)]
        [refused] = [r for r in (first, second) if isinstance(r, ApplicationError)]
        assert delivery.sent
        assert refused.type == "NoticeBeingSent"
        assert not refused.non_retryable
        # The retry Temporal makes of the refused one finds it delivered.
        assert not (await ActivityEnvironment().run(activity_fn, message)).sent
    assert smtp_sink.keys() == ["twice-email"]
    assert webhook_sink.keys() == ["twice-hook"]
    assert await _failures(sessions) == []


async def test_a_send_cancelled_midway_is_sent_by_the_next_attempt(
    sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    smtp_sink.accept_seconds = 5
    n = notifier(sessions, smtp_sink)
    msg = EmailMessage(idempotency_key="cancelled", to=["a@b.example"], subject="s", text="t")
    env = ActivityEnvironment()
    sending = asyncio.create_task(env.run(n.send_email, msg))
    await asyncio.sleep(0.5)
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    smtp_sink.accept_seconds = 0
    # Not held back by the cancelled attempt's claim: sent now, not after it lapses.
    assert (await ActivityEnvironment().run(n.send_email, msg)).sent
