"""Partner callbacks: derived secrets, signatures and the events a partner may send."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from domain.callbacks import LegDeclined, LegOutcomeRecorded, PartnerCallback, valid_idempotency_key
from domain.signature import callback_secret, sign, verify
from workers.settings import Settings


def test_each_agency_has_its_own_stable_secret() -> None:
    cab = callback_secret("master", "cab")
    assert cab == callback_secret("master", "cab")
    assert cab != callback_secret("master", "charity")
    assert cab != callback_secret("other master", "cab")
    assert "master" not in cab
    assert len(cab) == 64


def test_a_callback_signed_with_another_agencys_secret_is_refused() -> None:
    body = b'{"event":"leg.accepted"}'
    header = sign(callback_secret("master", "charity"), 1_700_000_000, body)
    with pytest.raises(ValueError, match="does not match"):
        verify(callback_secret("master", "cab"), header, body, now=1_700_000_000)


@pytest.mark.parametrize(
    "header",
    ["t=1700000000,v1=\u00e9\u00e9", "t=1700000000", "v1=ab", "t=soon,v1=ab", "", "t=1,,v1=2"],
)
def test_odd_headers_are_refused_with_a_reason(header: str) -> None:
    with pytest.raises(ValueError, match=r"malformed|does not match|replay window"):
        verify("s", header, b"{}", now=1_700_000_000)


def test_a_timestamp_from_the_future_is_outside_the_window_too() -> None:
    header = sign("s", 1_700_000_301, b"{}")
    with pytest.raises(ValueError, match="replay window"):
        verify("s", header, b"{}", now=1_700_000_000)


def test_events_are_told_apart_by_their_name() -> None:
    declined = PartnerCallback.model_validate_json(
        '{"event":"leg.declined","leg_id":"L1","actor":"u1","reason":"no capacity"}'
    ).root
    assert isinstance(declined, LegDeclined)
    assert declined.reason == "no capacity"
    outcome = PartnerCallback.model_validate_json(
        '{"event":"leg.outcome_recorded","leg_id":"L1","actor":"u1",'
        '"outcome":{"code":"got_help","value":1240,"unit":"GBP"}}'
    ).root
    assert isinstance(outcome, LegOutcomeRecorded)
    assert outcome.outcome.value == 1240


@pytest.mark.parametrize(
    "body",
    [
        '{"event":"leg.teleported","leg_id":"L1","actor":"u1"}',
        '{"event":"leg.declined","leg_id":"L1","actor":"u1"}',
        '{"event":"leg.accepted","leg_id":"L1","actor":"u1","agency_id":"police"}',
        '{"event":"leg.accepted","leg_id":"","actor":"u1"}',
        '{"leg_id":"L1","actor":"u1"}',
    ],
)
def test_bad_events_are_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        PartnerCallback.model_validate_json(body)


def test_idempotency_keys_are_printable_and_bounded() -> None:
    assert valid_idempotency_key("0b6f2c1e-7d9a-4e1b-9a51-3c1f0d2e4b77")
    assert not valid_idempotency_key("")
    assert not valid_idempotency_key("has space")
    assert not valid_idempotency_key("x" * 201)
    assert not valid_idempotency_key("caf\u00e9")


def test_the_callback_secret_must_not_be_the_webhook_secret() -> None:
    with pytest.raises(ValidationError, match="must differ"):
        Settings(webhook_secret=SecretStr("same"), callback_secret=SecretStr("same"))
    # While either is being rotated, no value may be in both.
    with pytest.raises(ValidationError, match="must differ"):
        Settings(webhook_secret=SecretStr("new,same"), callback_secret=SecretStr("same,old"))
