"""Notify partners by email (SMTP) and signed webhooks, at most once per idempotency key.

A key already in the ledger is not sent again, so Temporal's retries and replays never
duplicate a message. An attempt sends only within its own time (a retry may start as soon as
that is up) and, once the message is out, waits out a busy database to write the ledger. The
key also travels with the message (``Message-ID`` and ``Idempotency-Key``) so a receiver can
drop the rare duplicate sent just before a crash.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage as MimeMessage
from typing import Any

import aiohttp
import aiosmtplib
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.attempt_clock import LEDGER_RESERVE, send_window, time_left
from domain.notification import Delivery, EmailMessage, WebhookMessage
from domain.signature import SIGNATURE_HEADER, sign
from domain.text import header_text
from domain.webhook_events import EVENT_HEADER
from store.db import Sessions
from store.notifications import (
    LEDGER_BUSY,
    Claim,
    FailedAttempt,
    LedgerError,
    SentMessage,
    claim_key,
    note_failure,
    record_sent,
    release_key,
)

log = structlog.get_logger(__name__)

# Client errors that will not go away by retrying the same request.
_PERMANENT_HTTP = {400, 401, 403, 404, 405, 410, 413, 422}
# The longest one SMTP conversation may take, and the least time worth starting one with.
_SMTP_TIMEOUT_SECONDS = 30.0
_SHORTEST_SEND_SECONDS = 2.0
# Writing a sent message to the ledger: how often, and the pause between tries.
_LEDGER_TRIES = 10
_LEDGER_PAUSE_SECONDS = 0.5


@dataclass(frozen=True, kw_only=True)
class NotifierConfig:
    """Where and how notifications are sent."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sender: str = "partnerflow@localhost"
    # The webhook secret's values, newest first. None by default: a webhook is then refused
    # rather than signed with a value anyone could know.
    webhook_secrets: tuple[str, ...] = ()
    webhook_timeout_seconds: float = 10.0


class Notifier:
    """The notification activities, bound to their configuration and the ledger."""

    def __init__(self, config: NotifierConfig, sessions: Sessions) -> None:
        self._config = config
        self._sessions = sessions

    @activity.defn(name="send_email")
    async def send_email(self, message: EmailMessage) -> Delivery:
        """Send one email unless its idempotency key was delivered before."""
        mime = MimeMessage()
        mime["From"] = self._config.sender
        # Headers from stored values: a line break in a name must not make a notice unsendable.
        mime["To"] = ", ".join(header_text(str(address)) for address in message.to)
        mime["Subject"] = header_text(message.subject)
        mime["Message-ID"] = f"<{message.idempotency_key}@partnerflow>"
        mime["X-Idempotency-Key"] = message.idempotency_key
        mime.set_content(message.text)
        if message.html:
            mime.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            mime.add_attachment(
                attachment.content.encode(),
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=header_text(attachment.filename),
            )

        async def send(window: float) -> None:
            try:
                async with asyncio.timeout(window):
                    await aiosmtplib.send(
                        mime,
                        hostname=self._config.smtp_host,
                        port=self._config.smtp_port,
                        username=self._config.smtp_username,
                        password=self._config.smtp_password,
                        start_tls=self._config.smtp_starttls,
                        timeout=window,
                    )
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise ApplicationError(
                    f"mail server refused or unreachable: {exc!r}", type="SmtpFailed"
                ) from exc

        sent = await self._deliver(
            _Send(
                key=message.idempotency_key,
                channel="email",
                recipient=", ".join(message.to),
                ref=message.subject_ref,
                summary=message.subject,
                longest=_SMTP_TIMEOUT_SECONDS,
            ),
            send,
        )
        if sent:
            _logger().info("email sent", to=len(message.to), key=message.idempotency_key)
        return Delivery(idempotency_key=message.idempotency_key, channel="email", sent=sent)

    @activity.defn(name="send_webhook")
    async def send_webhook(self, message: WebhookMessage) -> Delivery:
        """POST one signed JSON event unless its idempotency key was delivered before."""
        body = json.dumps(
            {"event": message.event, "id": message.idempotency_key, "data": message.payload},
            separators=(",", ":"),
            default=str,
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            EVENT_HEADER: message.event,
            SIGNATURE_HEADER: sign(self._config.webhook_secrets, int(time.time()), body),
        }

        async def send(window: float) -> None:
            await self._post(str(message.url), body, headers, window)

        sent = await self._deliver(
            _Send(
                key=message.idempotency_key,
                channel="webhook",
                recipient=str(message.url),
                ref=message.subject_ref,
                summary=message.event,
                longest=self._config.webhook_timeout_seconds,
            ),
            send,
        )
        if sent:
            _logger().info(
                "webhook delivered", webhook_event=message.event, key=message.idempotency_key
            )
        return Delivery(idempotency_key=message.idempotency_key, channel="webhook", sent=sent)

    async def _deliver(self, what: _Send, send: Callable[[float], Awaitable[None]]) -> bool:
        """Claim the key, send within this attempt's time, write the ledger. False when the
        ledger already has the key; an error (retried by Temporal) when another execution of
        the notice holds its claim, or the send failed."""
        if not await self._claim(what.key, what.longest):
            return False
        try:
            await send(_window(what.longest))
        except ApplicationError as error:
            await self._failed(what, error)
            raise
        except Exception as exc:
            # Whatever else broke the send (a refused address, a bug) fails the notice too:
            # staff see it with the rest, not only mail-server and partner errors.
            await self._failed(
                what, ApplicationError(f"{type(exc).__name__}: {exc}", type=type(exc).__name__)
            )
            raise
        except BaseException:
            # Cancelled mid-send: whether it arrived is unknown, so the next attempt sends.
            await self._release(what.key)
            raise
        await self._record(what)
        return True

    async def _release(self, key: str) -> None:
        try:
            await release_key(self._sessions, key)
        except LedgerError:
            _logger().exception("could not give up the claim; it lapses on its own", key=key)

    async def _post(self, url: str, body: bytes, headers: dict[str, str], window: float) -> None:
        timeout = aiohttp.ClientTimeout(total=window)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(url, data=body, headers=headers) as response,
            ):
                status = response.status
                reason = (await response.text())[:200]
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ApplicationError(
                f"webhook unreachable: {exc!r}", type="WebhookUnreachable"
            ) from exc
        if status in _PERMANENT_HTTP:
            raise ApplicationError(
                f"webhook refused the event: HTTP {status} {reason}",
                type="WebhookRefused",
                non_retryable=True,
            )
        if status >= 300:
            raise ApplicationError(f"webhook failed: HTTP {status} {reason}", type="WebhookFailed")

    async def _claim(self, key: str, longest: float) -> bool:
        """Hold the key for this attempt: False when the ledger has it already; an error while
        another execution holds it. A claim lapses when its holder's attempt is out of time,
        so a worker that died holding it delays the notice, never loses it."""
        now = datetime.now(UTC)
        hold = longest + LEDGER_RESERVE.total_seconds()
        left = time_left()
        until = now + timedelta(seconds=hold if left is None else min(hold, left))
        claim = await claim_key(self._sessions, key, now=now, until=until)
        if claim is Claim.HELD:
            raise _being_sent(key)
        return claim is Claim.CLAIMED

    async def _failed(self, what: _Send, error: ApplicationError) -> None:
        """Note the failure where staff can see it and give up the claim, so the next attempt
        need not wait for it to lapse; never let the note hide the error."""
        info = activity.info()
        now = datetime.now(UTC)
        gave_up = error.non_retryable or _last_attempt(info, now)
        activity.metric_meter().create_counter(
            "partnerflow_notification_failures", "Failed notification attempts."
        ).add(1, {"channel": what.channel})
        _logger().warning(
            "notification failed", channel=what.channel, key=what.key, error=error.message
        )
        failed = FailedAttempt(
            key=what.key,
            channel=what.channel,
            recipient=what.recipient,
            ref=what.ref,
            workflow_id=info.workflow_id or "",
            attempt=info.attempt,
            error=error.message,
            at=now,
            gave_up=gave_up,
        )
        try:
            await note_failure(self._sessions, failed)
        except LedgerError:
            _logger().exception("could not note the notification failure", key=what.key)

    async def _record(self, what: _Send) -> None:
        """Write a sent message to the ledger in place of its claim. The message is out: a
        database briefly locked or busy is waited out while the attempt has time, since
        failing here would make the next attempt send it again."""
        activity.metric_meter().create_counter(
            "partnerflow_notifications_sent", "Notifications delivered."
        ).add(1, {"channel": what.channel})
        for tries in range(1, _LEDGER_TRIES + 1):
            try:
                # False: an execution that outlived its claim recorded the key first.
                await record_sent(
                    self._sessions,
                    SentMessage(
                        key=what.key,
                        channel=what.channel,
                        recipient=what.recipient,
                        ref=what.ref,
                        summary=what.summary,
                        sent_at=datetime.now(UTC),
                    ),
                )
                return
            except LEDGER_BUSY as exc:
                left = time_left()
                if tries == _LEDGER_TRIES or (left is not None and left < _LEDGER_PAUSE_SECONDS):
                    _logger().error(
                        "sent but not recorded; the next attempt sends it again", key=what.key
                    )
                    raise
                _logger().warning("ledger busy, writing again", key=what.key, error=str(exc)[:200])
                await asyncio.sleep(_LEDGER_PAUSE_SECONDS)


@dataclass(frozen=True, kw_only=True)
class _Send:
    """One message to send under its idempotency key, as the ledger will record it."""

    key: str
    channel: str
    recipient: str
    ref: str
    summary: str
    longest: float  # seconds the send itself may take at most


def _being_sent(key: str) -> ApplicationError:
    _logger().info("notice being sent by another execution", key=key)
    return ApplicationError(
        "another execution of this notice is sending it now; this one tries again later",
        type="NoticeBeingSent",
    )


def _window(longest: float) -> float:
    """The seconds this attempt may spend sending, refused when too few: a retry may start as
    soon as the attempt's time is up, and must not overlap a send still under way."""
    window = send_window(longest)
    if window < min(longest, _SHORTEST_SEND_SECONDS):
        _logger().warning("attempt out of time before sending", seconds_left=round(window, 1))
        raise ApplicationError(
            "this attempt ran out of time before sending; the next attempt sends",
            type="AttemptOutOfTime",
        )
    return window


def _last_attempt(info: activity.Info, now: datetime) -> bool:
    """Whether Temporal will not try again: attempts used up, or the next try would start
    after the activity's schedule-to-close deadline."""
    policy = info.retry_policy
    if policy is None:
        return False
    if policy.maximum_attempts > 0 and info.attempt >= policy.maximum_attempts:
        return True
    if info.schedule_to_close_timeout is None:
        return False
    backoff = policy.initial_interval * policy.backoff_coefficient ** (info.attempt - 1)
    if policy.maximum_interval is not None:
        backoff = min(backoff, policy.maximum_interval)
    return now + backoff >= info.scheduled_time + info.schedule_to_close_timeout


def _logger() -> Any:
    info = activity.info()
    return log.bind(
        workflow_id=info.workflow_id, run_id=info.workflow_run_id, activity=info.activity_type
    )
