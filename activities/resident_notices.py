"""Compose and send residents' emails from the public website through the notifier.

The confirmation is read from the store at send time: the resident's address, the needs in
plain words and a freshly signed tracking link. A shortlist waits in the outbox and leaves it
once sent. Either way the notifier's ledger keeps a retried attempt from sending twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

import structlog
from temporalio import activity

from activities.notify import Notifier
from domain.directory import NeedCategory
from domain.find_words import need_label
from domain.notification import EmailMessage, idempotency_key
from domain.resident_notice import (
    NOTIFY_RESIDENT,
    ResidentNotice,
    ResidentNoticeKind,
    ResidentNoticeResult,
)
from domain.signed_link import TRACK_PURPOSE, TRACKING_LINK_LIFETIME, LinkKeys, sign_link
from store.db import Sessions
from store.find_visits import drop_email, queued_email
from store.referrals import get_referral, load_personal_data

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class ResidentNoticeConfig:
    """Where the website is, who runs it, and the tracking links' key."""

    public_url: str
    council_name: str
    link_keys: LinkKeys


class ResidentNotices:
    """The resident notice activity, bound to the notifier, the store and its configuration."""

    def __init__(self, notifier: Notifier, sessions: Sessions, config: ResidentNoticeConfig):
        self._notifier = notifier
        self._sessions = sessions
        self._config = config

    @activity.defn(name=NOTIFY_RESIDENT)
    async def notify_resident(self, notice: ResidentNotice) -> ResidentNoticeResult:
        """Send the confirmation or the shortlist email."""
        if notice.kind is ResidentNoticeKind.SHORTLIST:
            return await self._shortlist(notice)
        return await self._confirmation(notice)

    async def _shortlist(self, notice: ResidentNotice) -> ResidentNoticeResult:
        queued = await queued_email(self._sessions, notice.ref)
        if queued is None:
            return ResidentNoticeResult()
        delivery = await self._notifier.send_email(
            EmailMessage(
                idempotency_key=idempotency_key("resident", notice.kind.value, notice.ref),
                to=[queued.recipient],
                subject=queued.subject,
                text=queued.text,
                html=queued.html,
                subject_ref="shortlist",
            )
        )
        await drop_email(self._sessions, notice.ref)
        return ResidentNoticeResult(sent=delivery.sent)

    async def _confirmation(self, notice: ResidentNotice) -> ResidentNoticeResult:
        number = notice.ref
        personal = await load_personal_data(self._sessions, number)
        stored = await get_referral(self._sessions, number)
        if personal is None or stored is None or personal.resident.email is None:
            log.info("no address for the confirmation", referral=number)
            return ResidentNoticeResult()
        token = sign_link(
            self._config.link_keys,
            number,
            purpose=TRACK_PURPOSE,
            expires=datetime.now(UTC) + TRACKING_LINK_LIFETIME,
        )
        link = f"{self._config.public_url.rstrip('/')}/find/track/{token}"
        needs = [need_label(NeedCategory(n.category)) for n in stored.needs]
        shared = bool(stored.consent_agency_ids)
        subject = f"Your request for help: {number}"
        paragraphs = [
            f"Dear {personal.resident.name},",
            f"Thank you. Your request for help has been sent. Your reference number is {number}.",
            "You asked for help with: " + ", ".join(needs) + ".",
            (
                "What happens next: we send your request to the services you agreed to share "
                "your details with. They usually contact you within 5 working days, or 1 "
                "working day if you said it is urgent."
                if shared
                else "What happens next: you did not agree to share your details, so we will "
                "email you each service's contact details for you to get in touch yourself."
            ),
            f"See how your request is going, or withdraw your consent, at: {link}",
            "This link is just for you: do not share it. It works for 180 days.",
            self._config.council_name,
        ]
        delivery = await self._notifier.send_email(
            EmailMessage(
                idempotency_key=idempotency_key(number, "resident", notice.kind.value),
                to=[personal.resident.email],
                subject=subject,
                text="\n\n".join(paragraphs) + "\n",
                html="".join(
                    f'<p><a href="{escape(link)}">See how your request is going</a></p>'
                    if p.startswith("See how")
                    else f"<p>{escape(p)}</p>"
                    for p in paragraphs
                ),
                subject_ref=number,
            )
        )
        return ResidentNoticeResult(sent=delivery.sent)
