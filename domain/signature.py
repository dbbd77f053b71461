"""HMAC-SHA256 signatures on webhook bodies, with a timestamp to bound replays."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Partnerflow-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


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
    if not hmac.compare_digest(expected, given):
        raise ValueError("signature does not match the body")
