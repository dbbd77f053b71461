"""The Temporal worker: every workflow and activity of partnerflow on one task queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.notify import Notifier, NotifierConfig
from activities.partnerships import PartnershipRecords
from store.db import Sessions
from workers.settings import Settings
from workflows.partnership import PartnershipWorkflow

WORKFLOWS: Sequence[type] = (PartnershipWorkflow,)


def notifier_config(settings: Settings) -> NotifierConfig:
    """Notification settings taken from the one settings object."""
    return NotifierConfig(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        smtp_starttls=settings.smtp_starttls,
        sender=settings.mail_sender,
        webhook_secret=settings.webhook_secret.get_secret_value(),
    )


def activities(settings: Settings, sessions: Sessions) -> list[Callable[..., Any]]:
    """Every activity, bound to its configuration."""
    notifier = Notifier(notifier_config(settings), sessions)
    records = PartnershipRecords(sessions)
    return [notifier.send_email, notifier.send_webhook, records.record_partnership]


def build_worker(client: Client, settings: Settings, sessions: Sessions) -> Worker:
    """A worker polling the configured task queue with every workflow and activity."""
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(settings, sessions),
    )
