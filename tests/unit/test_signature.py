import pytest

from domain.notification import idempotency_key
from domain.signature import sign, verify


def test_signature_round_trip() -> None:
    header = sign("s3cret", 1_700_000_000, b'{"a":1}')
    verify("s3cret", header, b'{"a":1}', now=1_700_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        ("other", b'{"a":1}', 1_700_000_000, "does not match"),
        ("s3cret", b'{"a":2}', 1_700_000_000, "does not match"),
        ("s3cret", b'{"a":1}', 1_700_000_301, "replay window"),
    ],
)
def test_signature_refuses_tampering_and_replays(
    secret: str, body: bytes, now: int, reason: str
) -> None:
    header = sign("s3cret", 1_700_000_000, b'{"a":1}')
    with pytest.raises(ValueError, match=reason):
        verify(secret, header, body, now=now)


def test_malformed_header_is_refused() -> None:
    with pytest.raises(ValueError, match="malformed"):
        verify("s", "nonsense", b"", now=0)


def test_idempotency_key_is_stable_and_distinct() -> None:
    assert idempotency_key("wf-1", "leg-a", "sent") == idempotency_key("wf-1", "leg-a", "sent")
    assert idempotency_key("wf-1", "leg-a", "sent") != idempotency_key("wf-1", "leg-a", "reminder")
    # The separator keeps ("a", "bc") and ("ab", "c") apart.
    assert idempotency_key("a", "bc") != idempotency_key("ab", "c")


def test_while_rotating_each_secret_signs_and_any_verifies() -> None:
    header = sign(["new-secret", "old-secret"], 1_700_000_000, b"{}")
    assert header.count("v1=") == 2
    # A partner still holding the old secret, and one already on the new, both accept it.
    verify("old-secret", header, b"{}", now=1_700_000_000)
    verify("new-secret", header, b"{}", now=1_700_000_000)
    # A receiver accepting either value takes what was signed with one of them.
    verify(
        ["new-secret", "old-secret"],
        sign("old-secret", 1_700_000_000, b"{}"),
        b"{}",
        now=1_700_000_000,
    )
    with pytest.raises(ValueError, match="does not match"):
        verify(["new-secret"], sign("old-secret", 1_700_000_000, b"{}"), b"{}", now=1_700_000_000)
    with pytest.raises(ValueError, match="needs a secret"):
        sign([], 1_700_000_000, b"{}")
