"""HMAC-SHA256 signatures on webhook bodies, with a timestamp to bound replays.

The same scheme signs the webhooks partnerflow sends and verifies the callbacks partner
agencies send back; each agency signs its callbacks with its own derived secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

SIGNATURE_HEADER = "X-Partnerflow-Signature"
DEFAULT_TOLERANCE_SECONDS = 300
CALLBACK_KEY_CONTEXT = "callback:"  # what the derived key is for, not a secret


def callback_secret(master: str, agency_id: str) -> str:
    """The secret ``agency_id`` signs its callbacks with: HMAC(master, "callback:" + agency_id).

    Derived rather than stored, so nothing extra is kept; one agency's secret tells nothing
    about another's. Changing ``master`` changes every agency's secret.
    """
    mac = hmac.new(master.encode(), (CALLBACK_KEY_CONTEXT + agency_id).encode(), hashlib.sha256)
    return mac.hexdigest()


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str | Sequence[str], timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds).

    Given several secrets (while one is being rotated), the header carries one ``v1`` per
    secret, so a receiver holding either the old or the new secret accepts it.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise ValueError("a signature needs a secret")
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, body)}" for s in secrets)])


def verify(
    secret: str | Sequence[str],
    header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a signature header against ``secret`` (or any of several, while rotating);
    raise ``ValueError`` with the reason when it does not hold."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    try:
        fields = [part.split("=", 1) for part in header.split(",")]
        (timestamp,) = (int(value) for name, value in fields if name == "t")
        given = [value for name, value in fields if name == "v1"]
    except ValueError as exc:
        raise ValueError("malformed signature header") from exc
    if not given:
        raise ValueError("malformed signature header")
    if abs(now - timestamp) > tolerance:
        raise ValueError("signature timestamp outside the replay window")
    # Compare bytes: compare_digest refuses non-ASCII text, and a header may carry any.
    expected = [_mac(s, timestamp, body).encode() for s in secrets]
    if not any(
        hmac.compare_digest(want, got.encode("utf-8", "surrogateescape"))
        for want in expected
        for got in given
    ):
        raise ValueError("signature does not match the body")
