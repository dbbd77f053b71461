"""The resident's tracking link: a signed, expiring, single-purpose token for one referral.

The token carries the referral number, what it may be used for and when it expires, and an
HMAC-SHA256 over them; nothing personal. The key is derived from a deployment secret, so no
key is stored, and changing the secret makes every link stop working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

TRACK_PURPOSE = "track-referral"
LINK_LIFETIME = timedelta(days=180)


class BadLink(ValueError):
    """The token is malformed, forged, for another purpose or expired."""


def link_key(master_secret: str) -> bytes:
    """The signing key of tracking links, derived from ``master_secret``."""
    return hmac.new(master_secret.encode(), b"resident-tracking-link", hashlib.sha256).digest()


def sign_link(key: bytes, number: str, *, expires: datetime, purpose: str = TRACK_PURPOSE) -> str:
    """A token for ``number``, good for ``purpose`` until ``expires``."""
    claims = json.dumps(
        {"n": number, "p": purpose, "e": int(expires.timestamp())}, separators=(",", ":")
    ).encode()
    body = base64.urlsafe_b64encode(claims).rstrip(b"=")
    mac = hmac.new(key, body, hashlib.sha256).digest()
    return f"{body.decode()}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def verify_link(key: bytes, token: str, *, now: datetime, purpose: str = TRACK_PURPOSE) -> str:
    """The referral number of a genuine, unexpired ``token`` for ``purpose``; else BadLink."""
    body, dot, mac = token.partition(".")
    if not dot or len(token) > 400:
        raise BadLink("not a tracking link")
    expected = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.rstrip(b"=").decode(), mac):
        raise BadLink("the link is not genuine")
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        number, used_for, expiry = str(claims["n"]), str(claims["p"]), int(claims["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadLink("not a tracking link") from exc
    if used_for != purpose:
        raise BadLink("the link is for something else")
    if now.timestamp() >= expiry:
        raise BadLink("the link has expired")
    return number
