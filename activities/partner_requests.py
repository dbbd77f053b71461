"""Emails that ask a partner to act, sent with a signed link to the one form they ask for.

The workflow decides what to ask and when; this activity, which holds the link secret the
workflow must never see, signs the link and sends the email through the notifier (once per
idempotency key, as every email). The token depends only on the ask and its expiry, so a
retry sends the same link.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from temporalio import activity

from activities.notify import Notifier
from domain.notification import Delivery
from domain.partner_link import (
    PARTNER_ACTION_PURPOSE,
    SEND_PARTNER_REQUEST,
    PartnerAsk,
    PartnerRequest,
)
from domain.signed_link import LinkKeys, sign_link

log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class PartnerLinkConfig:
    """Where the dashboard is, and the links' key (the one the dashboard verifies with)."""

    public_url: str
    link_keys: LinkKeys


def partner_link(config: PartnerLinkConfig, ask: PartnerAsk) -> str:
    """The address of the form ``ask`` stands for."""
    token = sign_link(
        config.link_keys, ask.subject(), purpose=PARTNER_ACTION_PURPOSE, expires=ask.expires_at
    )
    return f"{config.public_url.rstrip('/')}/partner/{token}"


class PartnerRequests:
    """The partner request activity, bound to the notifier and the link configuration."""

    def __init__(self, notifier: Notifier, config: PartnerLinkConfig) -> None:
        self._notifier = notifier
        self._config = config

    @activity.defn(name=SEND_PARTNER_REQUEST)
    async def send_partner_request(self, request: PartnerRequest) -> Delivery:
        """Send the email with its link, and the words that say what the link is for."""
        link = partner_link(self._config, request.ask)
        until = request.ask.expires_at.strftime("%d %B %Y")
        text = (
            f"{request.email.text.rstrip()}\n\n"
            f"Answer here, without signing in: {link}\n\n"
            f"The link is for your organisation only and works until {until}, or until it "
            "has been answered. Please do not forward it.\n"
        )
        log.info(
            "partner request",
            partnership_id=request.ask.partnership_id,
            agency_id=request.ask.agency_id,
            update=request.ask.update,
        )
        return await self._notifier.send_email(request.email.model_copy(update={"text": text}))
