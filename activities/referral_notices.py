"""Compose referral notices from the store and send them through the notifier.

The workflow names the notice (step, referral, leg, service); this activity loads what it
needs at send time: the service's channels from the directory and the referral's ward and
need. Agencies' emails and webhooks carry no personal data or free text: the number, the
need in words, ward, urgency and deadline, and signed links to act and to where the details
are shown to those allowed to see them (an email can be forwarded or mis-addressed, and
erasure cannot reach a mailbox); :mod:`activities.agency_notice` composes an agency's words.
Only an agency set to receive details by email for a lawful reason, and that the resident
consented to, gets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

import structlog
from temporalio import activity

from activities.agency_notice import ACTION_OF, AgencyNotice, AgencyNotices, Lines
from activities.notify import Notifier
from domain.directory import Service
from domain.labels import category_name, words
from domain.notification import EmailMessage, WebhookMessage, idempotency_key
from domain.referral_records import NOTIFY_REFERRAL, NoticeResult, NoticeStep, ReferralNotice
from domain.signed_link import LinkKeys
from domain.webhook_events import EventLink, ReferralNoticeEvent
from store.db import Sessions
from store.directory import get_service
from store.notice_facts import NoticeFacts, notice_facts, sends_details_by_email
from store.referrals import PersonalData, consented_agencies, get_leg, load_personal_data

log = structlog.get_logger(__name__)

_AGENCY_STEPS = {
    NoticeStep.LEG_SENT,
    NoticeStep.LEG_REMINDER,
    NoticeStep.LEG_STOPPED,
    NoticeStep.LEG_OUTCOME_REMINDER,
}
_COORDINATOR_STEPS = {
    NoticeStep.LEG_ESCALATED,
    NoticeStep.AGENCY_UNREACHABLE,
    NoticeStep.NEED_UNALLOCATED,
    NoticeStep.SERVICE_WITHDRAWN,
    NoticeStep.LEG_OUTCOME_OVERDUE,
    NoticeStep.QUEUE_REMINDER,
}
_SUBJECTS = {
    NoticeStep.LEG_SENT: "New referral {number}",
    NoticeStep.LEG_REMINDER: "Reminder: referral {number} is waiting for your response",
    NoticeStep.LEG_ESCALATED: "Escalation: no response to referral {number}",
    NoticeStep.AGENCY_UNREACHABLE: "Escalation: the agency cannot be reached for referral {number}",
    NoticeStep.LEG_STOPPED: "Stop work on referral {number}",
    NoticeStep.LEG_OUTCOME_REMINDER: "Reminder: record the outcome of referral {number}",
    NoticeStep.LEG_OUTCOME_OVERDUE: "Overdue: no outcome recorded for referral {number}",
    NoticeStep.QUEUE_REMINDER: "Reminder: an unallocated need on referral {number} waits for you",
    NoticeStep.SIGNPOST: "Where to get help: referral {number}",
    NoticeStep.NEED_UNALLOCATED: "Unallocated need on referral {number}",
    NoticeStep.SERVICE_WITHDRAWN: "Service withdrawn: referrals re-routed ({number})",
    NoticeStep.FOLLOW_UP_DUE: "Follow-up due: referral {number}",
    NoticeStep.NEED_RETURNED: "Returned to you: the resident could not be contacted ({number})",
}


@dataclass(frozen=True, kw_only=True)
class NoticeConfig:
    """Who the co-ordinator is and where users find the referral."""

    coordinator_email: str
    link_keys: LinkKeys
    """The keys that sign the action links in agencies' notices."""
    public_url: str = "http://127.0.0.1:8080"


class ReferralNotices:
    """The referral notice activity, bound to the notifier, the store and its configuration."""

    def __init__(self, notifier: Notifier, sessions: Sessions, config: NoticeConfig) -> None:
        self._notifier = notifier
        self._sessions = sessions
        self._config = config

    @activity.defn(name=NOTIFY_REFERRAL)
    async def notify_referral(self, notice: ReferralNotice) -> NoticeResult:
        """Compose one notice and send it by email (and webhook to an agency that has one)."""
        service = (
            await get_service(self._sessions, notice.service_id) if notice.service_id else None
        )
        facts = await notice_facts(self._sessions, notice.number, notice.need_id)
        lines = self._about(notice, service, facts)
        subject = _SUBJECTS[notice.step].format(number=notice.number)
        emails: list[str] = []
        webhook: str | None = None
        composed: AgencyNotice | None = None
        if notice.step in _AGENCY_STEPS and service is not None:
            emails = [str(service.email)] if service.email else []
            webhook = str(service.webhook_url) if service.webhook_url else None
            leg = await get_leg(self._sessions, notice.leg_id) if notice.leg_id else None
            composed = AgencyNotices(
                link_keys=self._config.link_keys,
                public_url=self._config.public_url,
                coordinator_email=self._config.coordinator_email,
            ).compose(notice, service, facts, leg, datetime.now(UTC))
            if notice.step is NoticeStep.LEG_SENT and await sends_details_by_email(
                self._sessions, service.agency_id
            ):
                composed.facts.extend(await self._resident_lines(notice, service))
        elif notice.step in _COORDINATOR_STEPS:
            emails = [self._config.coordinator_email]
        else:
            personal = await load_personal_data(self._sessions, notice.number)
            emails = self._resident_or_referrer(notice, personal)
            if notice.step is NoticeStep.NEED_RETURNED:
                lines.insert(
                    -1,
                    (
                        "Action",
                        "The agency could not contact the resident. The referral's page says "
                        "what they tried: check how to reach the resident, and refer again if "
                        "they still need help.",
                    ),
                )
            if notice.step is NoticeStep.SIGNPOST:
                lines += await self._signpost_lines(notice, service)
                if (
                    service is not None
                    and personal is not None
                    and emails == [str(personal.resident.email)]
                ):
                    # The resident cannot open the staff dashboard: link the service's public
                    # page instead.
                    lines = [
                        (label, value)
                        if label != "Link"
                        else (label, f"{self._config.public_url}/find/services/{service.id}")
                        for label, value in lines
                    ]
        result = NoticeResult()
        if emails:
            delivery = await self._notifier.send_email(
                EmailMessage(
                    idempotency_key=idempotency_key(notice.key, "email"),
                    to=emails,
                    subject=subject,
                    text=composed.text(subject) if composed else _text(subject, lines),
                    html=composed.html(subject) if composed else _html(subject, lines),
                    subject_ref=notice.number,
                )
            )
            result.channels.append("email")
            result.sent += int(delivery.sent)
        if webhook is not None:
            delivery = await self._notifier.send_webhook(
                WebhookMessage(
                    idempotency_key=idempotency_key(notice.key, "webhook"),
                    url=webhook,
                    event=f"referral.{notice.step.value}",
                    payload=self._event(notice, composed.links if composed else []),
                    subject_ref=notice.number,
                )
            )
            result.channels.append("webhook")
            result.sent += int(delivery.sent)
        if not result.channels:
            log.warning("no recipient for notice", referral=notice.number, step=notice.step)
        return result

    def _event(self, notice: ReferralNotice, links: Lines) -> dict[str, object]:
        """A webhook event's data, as published (:class:`ReferralNoticeEvent`): ids and states
        only; the partner's system fetches the details with its token."""
        return ReferralNoticeEvent(
            referral=notice.number,
            leg_id=notice.leg_id,
            need_id=notice.need_id,
            service_id=notice.service_id,
            step=notice.step,
            deadline=notice.deadline,
            consent_withdrawn=notice.consent_withdrawn,
            offer_lost=notice.offer_lost,
            url=f"{self._config.public_url}/api/referrals/{notice.number}",
            links=[
                EventLink(action=ACTION_OF[words].value, words=words, url=url)
                for words, url in links
            ],
        ).model_dump(mode="json")

    def _about(self, notice: ReferralNotice, service: Service | None, facts: NoticeFacts) -> Lines:
        lines: Lines = [("Referral", notice.number)]
        if notice.leg_id:
            lines.append(("Leg", notice.leg_id))
        if facts.category:
            lines.append(("Need", category_name(facts.category)))
        elif notice.need_id:
            lines.append(("Need", notice.need_id))
        if facts.urgency:
            lines.append(("Urgency", words(facts.urgency).capitalize()))
        if facts.ward:
            lines.append(("Ward", words(facts.ward).title()))
        if service is not None:
            lines.append(("Service", f"{service.name} ({service.id})"))
        # Co-ordinators' notices carry the system's own reasons, never someone's free text.
        if notice.reason and notice.step in _COORDINATOR_STEPS:
            lines.append(("Reason", notice.reason))
        lines.append(("Link", f"{self._config.public_url}/referrals/{notice.number}"))
        return lines

    async def _resident_lines(self, notice: ReferralNotice, service: Service) -> Lines:
        # Details go only to an agency the resident agreed to share them with.
        if service.agency_id not in await consented_agencies(self._sessions, notice.number):
            return []
        personal = await load_personal_data(self._sessions, notice.number)
        if personal is None:
            return []
        resident = personal.resident
        lines: Lines = [("Resident", resident.name)]
        for label, value in (
            (
                "Date of birth",
                resident.date_of_birth.isoformat() if resident.date_of_birth else None,
            ),
            ("Address", resident.address),
            ("Postcode", resident.postcode),
            ("Phone", resident.phone),
            ("Email", str(resident.email) if resident.email else None),
            ("Notes", personal.need_notes.get(notice.need_id or "")),
            ("Referred by", personal.referrer.name),
        ):
            if value:
                lines.append((label, value))
        return lines

    async def _signpost_lines(self, notice: ReferralNotice, service: Service | None) -> Lines:
        """The contact details of every service the resident is signposted to."""
        if not notice.service_ids:
            return _contact_lines(service) if service is not None else []
        lines: Lines = []
        for service_id in notice.service_ids:
            signposted = await get_service(self._sessions, service_id)
            if signposted is not None:
                lines += _contact_lines(signposted)
        return lines

    @staticmethod
    def _resident_or_referrer(notice: ReferralNotice, personal: PersonalData | None) -> list[str]:
        if personal is None:
            return []
        if notice.step is NoticeStep.SIGNPOST and personal.resident.email:
            return [str(personal.resident.email)]
        return [str(personal.referrer.email)] if personal.referrer.email else []


def _contact_lines(service: Service) -> Lines:
    lines: Lines = [("Contact", service.name)]
    for label, value in (
        ("Phone", service.phone),
        ("Email", str(service.email) if service.email else None),
        ("Website", str(service.url) if service.url else None),
        ("Address", service.address),
    ):
        if value:
            lines.append((label, value))
    return lines


def _text(subject: str, lines: Lines) -> str:
    return "\n".join([subject, "", *(f"{label}: {value}" for label, value in lines), ""])


def _html(subject: str, lines: Lines) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in lines
    )
    return f"<h1>{escape(subject)}</h1><table>{rows}</table>"
