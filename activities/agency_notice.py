"""An agency's referral notice as it reads: what happened and what is asked, the facts in
words, the deadline as people say it, and a signed link for each action the leg allows now.
Composed from what the notice activity loaded; nothing here reads the store or sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from domain.deadline_words import day_words, deadline_words
from domain.directory import Service
from domain.labels import category_name, words
from domain.leg_link import (
    ACTION_WORDS,
    LEG_LINK_LIFETIME,
    LegLink,
    leg_link_token,
    possible_actions,
)
from domain.referral import LegState
from domain.referral_records import NoticeStep, ReferralNotice
from domain.signed_link import LinkKeys
from store.notice_facts import NoticeFacts
from store.referrals import StoredLeg

Lines = list[tuple[str, str]]

URGENCY_WORDS = {
    "routine": "Routine",
    "urgent": "Urgent: please answer within a working day",
    "emergency": "Emergency: please answer today",
}
SOURCE_WORDS = {
    "reach_out": "the Reach Out door-to-door service",
    "web_signposting": "the council's web signposting service",
    "agency": "a partner agency",
}
ACTION_OF = {words: action for action, words in ACTION_WORDS.items()}
STATE_AT = {
    NoticeStep.LEG_SENT: LegState.SENT,
    NoticeStep.LEG_REMINDER: LegState.SENT,
    NoticeStep.LEG_OUTCOME_REMINDER: LegState.ACCEPTED,
}
"""A leg's state when its notice is sent, for a leg not yet in the read model."""


@dataclass(frozen=True, kw_only=True)
class AgencyNotice:
    """A notice to an agency as it reads: what happened and what is asked, the facts, what
    to do (instructions and links), and how to get help."""

    opening: str
    facts: Lines
    actions: Lines = field(default_factory=list)
    links: Lines = field(default_factory=list)
    closing: list[str] = field(default_factory=list)

    def text(self, subject: str) -> str:
        """The plain-text part."""
        parts = [subject, "", self.opening, "", *(f"{k}: {v}" for k, v in self.facts), ""]
        if self.actions or self.links:
            parts += ["What to do next:", *(f"{k}: {v}" for k, v in self.actions)]
            parts += [*(f"- {k}: {v}" for k, v in self.links), ""]
        return "\n".join([*parts, *self.closing, ""])

    def html(self, subject: str) -> str:
        """The HTML part: the same words, the links as links."""
        rows = "".join(
            f"<tr><th scope='row' align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>"
            for k, v in self.facts
        )
        todo = "".join(f"<p><strong>{escape(v)}</strong></p>" for _, v in self.actions)
        if self.links:
            items = "".join(
                f"<li><a href='{escape(url, quote=True)}'>{escape(words)}</a></li>"
                for words, url in self.links
            )
            todo += f"<ul>{items}</ul>"
        if todo:
            todo = f"<h2>What to do next</h2>{todo}"
        closing = "".join(f"<p>{escape(line)}</p>" for line in self.closing)
        return (
            f"<h1>{escape(subject)}</h1><p>{escape(self.opening)}</p>"
            f"<table>{rows}</table>{todo}{closing}"
        )


@dataclass(frozen=True, kw_only=True)
class AgencyNotices:
    """How agency notices are composed: the keys their links are signed with, where the links
    point, and whom to tell of a misdirected email."""

    link_keys: LinkKeys
    public_url: str
    coordinator_email: str

    def compose(
        self,
        notice: ReferralNotice,
        service: Service,
        facts: NoticeFacts,
        leg: StoredLeg | None,
        now: datetime,
    ) -> AgencyNotice:
        """What an agency reads: what happened and what is asked, the facts in words, and a
        link for each thing it can do about the leg (``None``: not yet in the read model)."""
        need = category_name(facts.category).lower() if facts.category else "a need"
        facts_lines: Lines = [("Referral", notice.number), ("Service", service.name)]
        if facts.category:
            facts_lines.append(("Need", category_name(facts.category)))
        if facts.urgency:
            facts_lines.append(("Urgency", URGENCY_WORDS.get(facts.urgency, words(facts.urgency))))
        if facts.ward:
            facts_lines.append(("Ward", words(facts.ward).title()))
        if facts.referrer_organisation:
            who = facts.referrer_organisation
            if facts.referrer_contact:
                who += f" ({facts.referrer_contact})"
            facts_lines.append(("Referring organisation", who))
        elif facts.source:
            facts_lines.append(("How it came", SOURCE_WORDS.get(facts.source, words(facts.source))))
        step = notice.step
        if step in (NoticeStep.LEG_SENT, NoticeStep.LEG_REMINDER) and notice.deadline:
            facts_lines.append(("Please answer", deadline_words(notice.deadline, now)))
        if step is NoticeStep.LEG_OUTCOME_REMINDER and leg is not None and leg.outcome_due_at:
            facts_lines.append(("The outcome was due", day_words(leg.outcome_due_at)))
        referrer = facts.referrer_organisation or SOURCE_WORDS.get(facts.source or "", "")
        opening = {
            NoticeStep.LEG_SENT: f"A resident has been referred to {service.name} for help "
            f"with {need}{f' by {referrer}' if facts.referrer_organisation else ''}. "
            "Please accept or decline the referral.",
            NoticeStep.LEG_REMINDER: f"Referral {notice.number} to {service.name} is still "
            "waiting for your answer. Please accept or decline it.",
            NoticeStep.LEG_OUTCOME_REMINDER: f"You accepted referral {notice.number} to "
            f"{service.name}. Please record what happened for the resident.",
            NoticeStep.LEG_STOPPED: f"Please stop work on referral {notice.number} to "
            f"{service.name}.",
        }[step]
        actions: Lines = []
        if notice.consent_withdrawn:
            actions.append(("Action", "The resident withdrew consent: delete their details."))
        elif notice.offer_lost:
            actions.append(
                (
                    "Action",
                    "Another service has taken this referral: delete the resident's details.",
                )
            )
        elif step is NoticeStep.LEG_STOPPED:
            actions.append(
                ("Action", "The referral has ended for you: delete the resident's details.")
            )
        links: Lines = []
        state = leg.state if leg is not None else STATE_AT.get(step)
        if step is not NoticeStep.LEG_STOPPED and notice.leg_id and state is not None:
            for action in possible_actions(state):
                link = LegLink(
                    leg_id=notice.leg_id,
                    agency_id=service.agency_id,
                    action=action,
                    expires_at=now + LEG_LINK_LIFETIME,
                )
                token = leg_link_token(self.link_keys, link)
                links.append((ACTION_WORDS[action], f"{self.public_url}/leg/{token}"))
        closing = [
            "The resident's details are not in this email: the first link shows them to you "
            "after a click to confirm, and each link works only for your organisation."
            if links
            else "The resident's details are not in this email.",
            "If your organisation signs in to partnerflow, the referral is also at "
            f"{self.public_url}/referrals/{notice.number}.",
            "If this email reached you by mistake, please delete it and tell "
            f"{self.coordinator_email}.",
        ]
        return AgencyNotice(
            opening=opening, facts=facts_lines, actions=actions, links=links, closing=closing
        )
