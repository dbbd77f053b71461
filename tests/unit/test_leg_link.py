"""A notice's link: its subject round trip through a signed token, and when it works."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.leg_link import (
    LEG_ACTION_PURPOSE,
    LegLink,
    LinkAction,
    NotALegLink,
    closed_because,
    leg_link_from,
)
from domain.partner_link import PARTNER_ACTION_PURPOSE
from domain.referral import LegState
from domain.signed_link import BadLink, LinkKeys, sign_link, verify_link_until

KEYS = LinkKeys.from_secrets(["leg links in unit tests"])
NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)
LINK = LegLink(
    leg_id="TEN-2026-000001-L1",
    agency_id="cab",
    action=LinkAction.ACCEPT,
    expires_at=datetime(2027, 1, 6, 10, tzinfo=UTC),
)


def test_the_subject_round_trips_through_a_signed_token() -> None:
    token = sign_link(KEYS, LINK.subject(), purpose=LEG_ACTION_PURPOSE, expires=LINK.expires_at)
    subject, expires = verify_link_until(KEYS, token, purpose=LEG_ACTION_PURPOSE, now=NOW)
    assert leg_link_from(subject, expires) == LINK
    assert LINK.actor == "link:cab"
    with pytest.raises(BadLink):  # a leg's link is no partner's link
        verify_link_until(KEYS, token, purpose=PARTNER_ACTION_PURPOSE, now=NOW)
    with pytest.raises(BadLink):
        verify_link_until(KEYS, token, purpose=LEG_ACTION_PURPOSE, now=LINK.expires_at)


def test_a_subject_of_another_kind_is_not_a_leg_link() -> None:
    with pytest.raises(NotALegLink):
        leg_link_from('["p1","cab","commit_partner",{}]', NOW)
    with pytest.raises(NotALegLink):
        leg_link_from('["leg","L1","cab","delete"]', NOW)


def _closed(action: LinkAction, state: LegState, **kw: object) -> str | None:
    link = LINK.model_copy(update={"action": action})
    args: dict[str, object] = {
        "state": state,
        "agency_id": "cab",
        "consent_withdrawn": False,
        "offer_lost": False,
    }
    args.update(kw)
    return closed_because(link, **args)  # type: ignore[arg-type]


def test_a_link_works_only_while_its_action_is_possible() -> None:
    assert _closed(LinkAction.ACCEPT, LegState.SENT) is None
    assert _closed(LinkAction.DECLINE, LegState.SENT) is None
    assert _closed(LinkAction.START, LegState.ACCEPTED) is None
    assert _closed(LinkAction.OUTCOME, LegState.IN_PROGRESS) is None
    assert _closed(LinkAction.VIEW, LegState.OUTCOME_RECORDED) is None
    assert "not possible now" in (_closed(LinkAction.ACCEPT, LegState.ACCEPTED) or "")
    assert "closed" in (_closed(LinkAction.VIEW, LegState.CLOSED) or "")
    assert "not sent to your organisation" in (
        _closed(LinkAction.VIEW, LegState.SENT, agency_id="charity") or ""
    )
    assert "withdrawn their consent" in (
        _closed(LinkAction.VIEW, LegState.SENT, consent_withdrawn=True) or ""
    )
    assert "another service" in (_closed(LinkAction.ACCEPT, LegState.SENT, offer_lost=True) or "")


def test_lifetime_is_a_sensible_month() -> None:
    from domain.leg_link import LEG_LINK_LIFETIME

    assert timedelta(days=7) <= LEG_LINK_LIFETIME <= timedelta(days=60)


def test_a_notice_offers_the_links_possible_in_the_legs_state() -> None:
    from domain.leg_link import possible_actions

    capacity = LinkAction.CAPACITY
    assert possible_actions(LegState.SENT) == [
        LinkAction.VIEW,
        LinkAction.ACCEPT,
        LinkAction.DECLINE,
        capacity,
    ]
    assert possible_actions(LegState.ACCEPTED) == [
        LinkAction.VIEW,
        LinkAction.START,
        LinkAction.OUTCOME,
        capacity,
    ]
    assert possible_actions(LegState.IN_PROGRESS) == [LinkAction.VIEW, LinkAction.OUTCOME, capacity]
    assert possible_actions(LegState.OUTCOME_RECORDED) == [LinkAction.VIEW, capacity]
    assert possible_actions(LegState.DECLINED) == []


def test_a_links_token_verifies_and_its_form_token_is_its_own() -> None:
    from domain.leg_link import form_token, leg_link_token

    token = leg_link_token(KEYS, LINK)
    subject, expires = verify_link_until(KEYS, token, purpose=LEG_ACTION_PURPOSE, now=NOW)
    assert leg_link_from(subject, expires) == LINK
    other = leg_link_token(KEYS, LINK.model_copy(update={"action": LinkAction.DECLINE}))
    assert form_token(KEYS, token) != form_token(KEYS, other)
    assert form_token(KEYS, token) == form_token(KEYS, token)
