"""A message to a partner agency or a co-ordinator, and its idempotency key."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl


def idempotency_key(*parts: str) -> str:
    """A stable key for one notification: the same parts always give the same key.

    Built from the workflow id, the leg or subject and the step, so a retried activity
    (or a replayed workflow) asks for the same key and the notifier can refuse to send twice.
    """
    joined = "\x1f".join(parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


class Attachment(BaseModel):
    """A file sent with an email (e.g. an iCalendar invitation)."""

    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str
    content: str


class EmailMessage(BaseModel):
    """An email to send, with a plain-text body and an optional HTML body."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str = Field(min_length=8, max_length=128)
    to: list[EmailStr] = Field(min_length=1)
    subject: str = Field(min_length=1, max_length=300)
    text: str
    html: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    subject_ref: str = Field(default="", description="What it is about, e.g. a referral number.")


class WebhookMessage(BaseModel):
    """A JSON event posted to a partner's webhook URL, signed with HMAC-SHA256."""

    model_config = ConfigDict(frozen=True)

    idempotency_key: str = Field(min_length=8, max_length=128)
    url: HttpUrl
    event: str
    payload: dict[str, object]
    subject_ref: str = ""


class Delivery(BaseModel):
    """What happened to one notification."""

    idempotency_key: str
    channel: str
    sent: bool = Field(description="False when the key had already been delivered before.")
