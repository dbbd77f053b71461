"""Real receivers for what partnerflow sends: an SMTP server and a webhook endpoint."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from domain.signature import SIGNATURE_HEADER, verify

# Made for each run: no secret is written in the code.
WEBHOOK_SECRET = secrets.token_urlsafe(32)


# Subjects of the notices sent to agencies, and the labels of a resident's details.
AGENCY_SUBJECTS = (
    "New referral ",
    "Reminder: referral ",
    "Stop work on referral ",
    "Reminder: record",
)
RESIDENT_LABELS = (
    "Resident:",
    "Date of birth:",
    "Address:",
    "Postcode:",
    "Phone:",
    "Email:",
    "Notes:",
    "Referred by:",
)


class SmtpSink:
    """An SMTP server on a free loopback port collecting parsed messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # Agencies' addresses a test set to receive residents' details for a lawful reason.
        self.details_allowed: set[str] = set()
        self.port = 0
        # A slow mail server: how long it takes to accept each message.
        self.accept_seconds = 0.0
        self._server: asyncio.Server | None = None

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.accept_seconds)
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def agency_emails_with_resident_details(self) -> list[str]:
        """Subjects of agency emails that hold a resident's details (there should be none)."""
        found = []
        for message in self.messages:
            subject, to = str(message["Subject"]), str(message["To"])
            if not subject.startswith(AGENCY_SUBJECTS) or to in self.details_allowed:
                continue
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            if any(line.startswith(RESIDENT_LABELS) for line in text.splitlines()):
                found.append(f"{subject} to {to}")
        return found

    def keys(self) -> list[str]:
        """Idempotency keys of every message received, duplicates included."""
        return [str(m["X-Idempotency-Key"]) for m in self.messages]

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to ``address``."""
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class WebhookSink:
    """An HTTP server that checks each event's signature and can be told to fail."""

    secret: str = WEBHOOK_SECRET
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500
    # Then answer this many requests only after ``hang_seconds`` (a partner that times out).
    hang_next: int = 0
    hang_seconds: float = 0.0
    # Monotonic time of every signed request, answered or not (to see the backoff).
    attempts: list[float] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(
                self.secret, request.headers.get(SIGNATURE_HEADER, ""), body, now=int(time.time())
            )
        except ValueError as exc:
            self.rejected.append(str(exc))
            return web.Response(status=401, text=str(exc))
        self.attempts.append(time.monotonic())
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=self.fail_status, text="partner system down")
        if self.hang_next > 0:
            self.hang_next -= 1
            await asyncio.sleep(self.hang_seconds)
            return web.Response(status=504, text="too late")
        event = await request.json()
        event["idempotency_key"] = request.headers.get("Idempotency-Key")
        self.events.append(event)
        return web.json_response({"received": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def keys(self) -> list[str]:
        return [str(e["idempotency_key"]) for e in self.events]
