"""Signed links: one subject, one purpose, an expiry, and keys that rotate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.signed_link import TRACK_PURPOSE, BadLink, LinkKeys, sign_link, verify_link

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NEW, OLD = LinkKeys.from_secrets(["n" * 40]), LinkKeys.from_secrets(["o" * 40])


def _token(keys: LinkKeys, subject: str = "TEN-2026-000001", purpose: str = TRACK_PURPOSE) -> str:
    return sign_link(keys, subject, purpose=purpose, expires=NOW + timedelta(days=1))


def test_a_link_names_its_subject_and_lapses() -> None:
    token = _token(NEW)
    assert verify_link(NEW, token, purpose=TRACK_PURPOSE, now=NOW) == "TEN-2026-000001"
    assert "TEN" not in token  # the number is encoded, nothing readable at a glance
    with pytest.raises(BadLink, match="expired"):
        verify_link(NEW, token, purpose=TRACK_PURPOSE, now=NOW + timedelta(days=2))


def test_a_link_signed_with_another_secret_or_edited_is_not_genuine() -> None:
    token = _token(NEW)
    with pytest.raises(BadLink, match="not genuine"):
        verify_link(OLD, token, purpose=TRACK_PURPOSE, now=NOW)
    _body, _, mac = token.partition(".")
    forged = _token(NEW, "TEN-2026-000002").split(".")[0]
    with pytest.raises(BadLink, match="not genuine"):
        verify_link(NEW, f"{forged}.{mac}", purpose=TRACK_PURPOSE, now=NOW)
    for garbage in ("garbage", ".", "a.b", "x" * 700):
        with pytest.raises(BadLink):
            verify_link(NEW, garbage, purpose=TRACK_PURPOSE, now=NOW)


def test_each_purpose_has_its_own_key() -> None:
    # Same secret, other purpose: the MAC itself differs, not only the claim.
    accept = _token(NEW, "leg-1", purpose="accept-leg")
    with pytest.raises(BadLink, match="not genuine"):
        verify_link(NEW, accept, purpose=TRACK_PURPOSE, now=NOW)
    assert NEW.for_purpose("accept-leg") != NEW.for_purpose(TRACK_PURPOSE)
    assert verify_link(NEW, accept, purpose="accept-leg", now=NOW) == "leg-1"


def test_rotation_signs_with_the_newest_and_verifies_with_every_value() -> None:
    rotating = LinkKeys.from_secrets(["n" * 40, "o" * 40])
    sent_before = _token(OLD)
    assert verify_link(rotating, sent_before, purpose=TRACK_PURPOSE, now=NOW) == "TEN-2026-000001"
    sent_during = _token(rotating)
    assert verify_link(NEW, sent_during, purpose=TRACK_PURPOSE, now=NOW) == "TEN-2026-000001"
    # Once the old value is dropped, what it signed stops working.
    with pytest.raises(BadLink, match="not genuine"):
        verify_link(NEW, sent_before, purpose=TRACK_PURPOSE, now=NOW)


def test_keys_need_a_secret_and_hash_by_it() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        LinkKeys.from_secrets([])
    assert NEW.keyed_hash("rate-limit", "127.0.0.1") != OLD.keyed_hash("rate-limit", "127.0.0.1")
    assert NEW.keyed_hash("rate-limit", "127.0.0.1") == NEW.keyed_hash("rate-limit", "127.0.0.1")
