"""Signed links: a token that lets whoever holds it do one thing, for one subject, until it expires.

The resident's tracking link is one; links in emails that let an agency or a partner act
without an account are others. A token carries its purpose, its subject (a referral number,
a leg, a partnership and partner), its expiry and an HMAC-SHA256 over them; nothing personal.
Each purpose signs with its own key derived from the deployment's link secret, so a token made
for one purpose is worthless for another.

The secret may hold several values, newest first: the newest signs, every one verifies. To
rotate, put a new value in front; drop the old one once the links it signed may lapse (or at
once, when it leaked: its links then get the calm "this link does not work" page). Single use
and revocation are kept in the store, not here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TRACK_PURPOSE = "track-referral"
TRACKING_LINK_LIFETIME = timedelta(days=180)
MAX_TOKEN_LENGTH = 600


class BadLink(ValueError):
    """The token is malformed, forged, for another purpose or expired."""


@dataclass(frozen=True)
class LinkKeys:
    """The link secret's values, newest first, from which each purpose's keys are derived."""

    secrets: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("signed links need at least one secret")

    @classmethod
    def from_secrets(cls, values: Iterable[str]) -> LinkKeys:
        """Keys from the secret's values as configured, newest first."""
        return cls(tuple(value.encode() for value in values))

    def for_purpose(self, purpose: str) -> list[bytes]:
        """The keys of ``purpose``, the signing one first."""
        context = f"signed-link:{purpose}".encode()
        return [hmac.new(secret, context, hashlib.sha256).digest() for secret in self.secrets]

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A hash of ``value`` that cannot be reversed by guessing without the secret."""
        key = self.for_purpose(purpose)[0]
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def sign_link(keys: LinkKeys, subject: str, *, purpose: str, expires: datetime) -> str:
    """A token for ``subject``, good for ``purpose`` until ``expires``."""
    claims = json.dumps(
        {"s": subject, "p": purpose, "e": int(expires.timestamp())}, separators=(",", ":")
    ).encode()
    body = _b64(claims)
    return f"{body}.{_mac(keys.for_purpose(purpose)[0], body)}"


def verify_link(keys: LinkKeys, token: str, *, purpose: str, now: datetime) -> str:
    """The subject of a genuine, unexpired ``token`` for ``purpose``; else BadLink."""
    return verify_link_until(keys, token, purpose=purpose, now=now)[0]


def verify_link_until(
    keys: LinkKeys, token: str, *, purpose: str, now: datetime
) -> tuple[str, datetime]:
    """The subject of a genuine, unexpired ``token`` for ``purpose`` and when it expires;
    else BadLink."""
    body, dot, mac = token.partition(".")
    if not dot or len(token) > MAX_TOKEN_LENGTH:
        raise BadLink("not a signed link")
    if not any(
        hmac.compare_digest(_mac(key, body).encode(), mac.encode("utf-8", "surrogateescape"))
        for key in keys.for_purpose(purpose)
    ):
        raise BadLink("the link is not genuine")
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        subject, used_for, expiry = str(claims["s"]), str(claims["p"]), int(claims["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadLink("not a signed link") from exc
    if used_for != purpose:
        raise BadLink("the link is for something else")
    if now.timestamp() >= expiry:
        raise BadLink("the link has expired")
    return subject, datetime.fromtimestamp(expiry, UTC)
