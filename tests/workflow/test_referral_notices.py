"""Referral notices: composed from the store at send time, sent once per key."""

import re
from datetime import UTC, datetime

from temporalio.testing import ActivityEnvironment

from activities.notify import Notifier, NotifierConfig
from activities.referral_notices import NoticeConfig, ReferralNotices
from domain.leg_link import LEG_ACTION_PURPOSE, leg_link_from
from domain.notification import idempotency_key
from domain.referral_records import NoticeStep, ReferralNotice
from domain.signed_link import verify_link_until
from store.db import Sessions
from store.directory import save_directory
from store.notice_facts import set_email_details
from store.referrals import erase_personal_data, save_referral
from tests.helpers.referral_world import (
    COORDINATOR,
    LINK_KEYS,
    RESIDENT_NAME,
    directory,
    submission,
)
from tests.helpers.sinks import WEBHOOK_SECRET, SmtpSink, WebhookSink

NUMBER = "TEN-2026-000001"


async def notices(sessions: Sessions, smtp: SmtpSink, webhooks: WebhookSink) -> ReferralNotices:
    async with sessions.begin() as session:
        await save_directory(session, directory(webhooks.url))
    notifier = Notifier(
        NotifierConfig(smtp_port=smtp.port, webhook_secrets=(WEBHOOK_SECRET,)), sessions
    )
    return ReferralNotices(
        notifier, sessions, NoticeConfig(coordinator_email=COORDINATOR, link_keys=LINK_KEYS)
    )


def notice(step: NoticeStep, service_id: str, **kwargs: object) -> ReferralNotice:
    return ReferralNotice.model_validate(
        {
            "key": idempotency_key(NUMBER, "L1", step.value),
            "step": step,
            "number": NUMBER,
            "leg_id": f"{NUMBER}-L1",
            "need_id": "N1",
            "service_id": service_id,
            **kwargs,
        }
    )


async def test_a_retried_notice_is_sent_once_with_details_only_where_consented(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    n = await notices(sessions, smtp_sink, webhook_sink)
    env = ActivityEnvironment()
    sub = submission(consent=["charity"])
    await save_referral(sessions, NUMBER, sub, submitted_by="u", at=datetime.now(UTC))
    sent = notice(NoticeStep.LEG_SENT, "cab-debt")
    first = await env.run(n.notify_referral, sent)
    again = await env.run(n.notify_referral, sent)
    assert (first.channels, first.sent, again.sent) == (["email", "webhook"], 2, 0)
    assert len(smtp_sink.messages) == len(webhook_sink.events) == 1
    # The CAB is not in the consent: the notice carries no personal details.
    (mail,) = smtp_sink.messages
    assert RESIDENT_NAME not in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert RESIDENT_NAME not in str(webhook_sink.events[0]["data"])
    # The charity is, but like every agency it gets no details by email unless set to.
    await env.run(n.notify_referral, notice(NoticeStep.LEG_SENT, "charity-debt", key="k" * 16))
    text = smtp_sink.to("help@charity.example")[0].get_body(("plain",))
    assert RESIDENT_NAME not in text.get_content()  # type: ignore[union-attr]
    assert "Need: Benefits and debt" in text.get_content()  # type: ignore[union-attr]
    assert "Ward: Pier" in text.get_content()  # type: ignore[union-attr]


async def test_an_agency_set_for_a_lawful_reason_gets_the_details_by_email(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    n = await notices(sessions, smtp_sink, webhook_sink)
    env = ActivityEnvironment()
    await save_referral(
        sessions, NUMBER, submission(consent=["charity"]), submitted_by="u", at=datetime.now(UTC)
    )
    await set_email_details(
        sessions,
        "charity",
        lawful_reason="Statutory safeguarding duty, agreed with the DPO",
        by="admin",
        at=datetime.now(UTC),
    )
    await env.run(n.notify_referral, notice(NoticeStep.LEG_SENT, "charity-debt"))
    html = smtp_sink.to("help@charity.example")[0].get_body(("html",))
    assert RESIDENT_NAME in html.get_content()  # type: ignore[union-attr]
    # The sink's check, run after every test, would fail this one but for the setting.
    assert smtp_sink.agency_emails_with_resident_details() == [
        f"New referral {NUMBER} to help@charity.example"
    ]
    smtp_sink.details_allowed.add("help@charity.example")
    assert smtp_sink.agency_emails_with_resident_details() == []
    # Not to an agency the resident did not consent to, whatever its setting.
    await set_email_details(
        sessions, "cab", lawful_reason="Statutory duty", by="admin", at=datetime.now(UTC)
    )
    await env.run(n.notify_referral, notice(NoticeStep.LEG_SENT, "cab-debt", key="c" * 16))
    cab = smtp_sink.to("intake@cab.example")[0].get_body(("plain",))
    assert RESIDENT_NAME not in cab.get_content()  # type: ignore[union-attr]


async def test_after_erasure_nothing_personal_is_left_to_send(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    n = await notices(sessions, smtp_sink, webhook_sink)
    env = ActivityEnvironment()
    await save_referral(sessions, NUMBER, submission(), submitted_by="u", at=datetime.now(UTC))
    await erase_personal_data(sessions, NUMBER)
    await env.run(n.notify_referral, notice(NoticeStep.LEG_SENT, "charity-debt"))
    text = smtp_sink.to("help@charity.example")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert RESIDENT_NAME not in text
    follow_up = await env.run(n.notify_referral, notice(NoticeStep.FOLLOW_UP_DUE, "cab-debt"))
    assert follow_up.channels == []


async def test_an_agency_notice_reads_as_words_with_a_link_for_each_action_possible_now(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    n = await notices(sessions, smtp_sink, webhook_sink)
    await save_referral(sessions, NUMBER, submission(), submitted_by="u", at=datetime.now(UTC))
    deadline = datetime(2026, 12, 8, 17, tzinfo=UTC)  # 5 pm in London in winter
    await ActivityEnvironment().run(
        n.notify_referral, notice(NoticeStep.LEG_SENT, "cab-debt", deadline=deadline)
    )
    (mail,) = smtp_sink.messages
    text = str(mail.get_body(("plain",)).get_content()).replace("\r\n", "\n")  # type: ignore[union-attr]
    html = str(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "A resident has been referred to" in text
    assert "for help with benefits and debt" in text
    assert "Please answer: by 5 pm on Tuesday 8 December" in text
    # A Reach Out referral names how it came; no database codes, no raw timestamps.
    assert "How it came: the Reach Out door-to-door service" in text
    assert "2026-12-08T" not in text
    assert "Leg:" not in text
    links = re.findall(r"^- ([^:]+): (http\S+/leg/(\S+))$", text, re.M)
    assert [words for words, _, _ in links] == [
        "See the referral",
        "Accept the referral",
        "Decline the referral",
        "Say how many places you have",
    ]
    for words, url, token in links:
        subject, _ = verify_link_until(
            LINK_KEYS, token, purpose=LEG_ACTION_PURPOSE, now=datetime.now(UTC)
        )
        link = leg_link_from(subject, datetime.now(UTC))
        assert (link.leg_id, link.agency_id) == (f"{NUMBER}-L1", "cab")
        assert f"href='{url}'" in html
        assert words in html
    assert RESIDENT_NAME not in text
    assert RESIDENT_NAME not in html


async def test_a_stop_notice_carries_no_action_links(
    sessions: Sessions, smtp_sink: SmtpSink, webhook_sink: WebhookSink
) -> None:
    n = await notices(sessions, smtp_sink, webhook_sink)
    await save_referral(sessions, NUMBER, submission(), submitted_by="u", at=datetime.now(UTC))
    await ActivityEnvironment().run(
        n.notify_referral, notice(NoticeStep.LEG_STOPPED, "cab-debt", consent_withdrawn=True)
    )
    text = str(smtp_sink.messages[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "delete their details" in text
    assert "/leg/" not in text
