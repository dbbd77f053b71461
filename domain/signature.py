"""HMAC-SHA256 signatures on webhook bodies, with a timestamp to bound replays.

The same scheme signs the webhooks partnerflow sends and verifies the callbacks partner
agencies send back; each agency signs its callbacks with its own derived secret.
"""

from __future__ import annotations

import hashlib
import hmac

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


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a signature header; raise ``ValueError`` with the reason when it does not hold."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError) as exc:
        raise ValueError("malformed signature header") from exc
    if abs(now - timestamp) > tolerance:
        raise ValueError("signature timestamp outside the replay window")
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    # Compare bytes: compare_digest refuses non-ASCII text, and a header may carry any.
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape")):
        raise ValueError("signature does not match the body")
