"""The Temporal worker: every workflow and activity of partnerflow on one task queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import (
    Interceptor,
    PollerBehavior,
    PollerBehaviorAutoscaling,
    PollerBehaviorSimpleMaximum,
    Worker,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.attempt_clock import AttemptClock
from activities.directory_sync import DirectorySync
from activities.notify import Notifier, NotifierConfig
from activities.outcome_feed import OutcomeFeeder
from activities.partner_requests import PartnerLinkConfig, PartnerRequests
from activities.partnerships import PartnershipRecords
from activities.referral_notices import NoticeConfig, ReferralNotices
from activities.referral_records import ReferralRecords
from activities.referral_routing import ReferralRouting
from activities.resident_notices import ResidentNoticeConfig, ResidentNotices
from activities.retention import Retention
from domain.signed_link import LinkKeys
from store.db import Sessions
from workers.settings import Settings, secret_values
from workflows.directory_sync import DirectorySyncWorkflow
from workflows.partnership import PartnershipWorkflow
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow
from workflows.resident_notice import ResidentNoticeWorkflow
from workflows.retention import RetentionWorkflow

WORKFLOWS: Sequence[type] = (
    ReferralWorkflow,
    ReferralLegWorkflow,
    DirectorySyncWorkflow,
    RetentionWorkflow,
    PartnershipWorkflow,
    ResidentNoticeWorkflow,
)

# Every activity attempt is timed from its start, so a send stops before a retry may begin.
INTERCEPTORS: Sequence[Interceptor] = (AttemptClock(),)


def notifier_config(settings: Settings) -> NotifierConfig:
    """Notification settings taken from the one settings object."""
    return NotifierConfig(
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_username=settings.smtp_username,
        smtp_password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        smtp_starttls=settings.smtp_starttls,
        sender=settings.mail_sender,
        webhook_secrets=secret_values(settings.webhook_secret),
    )


def referral_activities(
    sessions: Sessions, notifier: Notifier, notices: NoticeConfig
) -> list[Callable[..., Any]]:
    """The activities the referral and leg workflows call."""
    records = ReferralRecords(sessions)
    return [
        records.load_directory,
        ReferralRouting(sessions).route_need,
        records.record_referral,
        records.record_leg,
        records.erase_personal_data,
        records.mark_service_full,
        ReferralNotices(notifier, sessions, notices).notify_referral,
        OutcomeFeeder(sessions).feed_partnerships,
    ]


def activities(settings: Settings, sessions: Sessions) -> list[Callable[..., Any]]:
    """Every activity, bound to its configuration."""
    notifier = Notifier(notifier_config(settings), sessions)
    directory = DirectorySync(sessions, settings.coordinator_email)
    notices = NoticeConfig(
        coordinator_email=str(settings.coordinator_email),
        link_keys=LinkKeys.from_secrets(secret_values(settings.link_secret)),
        public_url=settings.api_url,
    )
    return [
        notifier.send_email,
        notifier.send_webhook,
        *referral_activities(sessions, notifier, notices),
        directory.sync_directory_feed,
        directory.signal_withdrawn_services,
        Retention(sessions).anonymise_closed_referrals,
        PartnershipRecords(sessions).record_partnership,
        ResidentNotices(notifier, sessions, resident_notice_config(settings)).notify_resident,
        PartnerRequests(notifier, partner_link_config(settings)).send_partner_request,
    ]


def _pollers(settings: Settings, fixed: int | None) -> PollerBehavior | None:
    if settings.worker_poller_autoscaling:
        return PollerBehaviorAutoscaling()
    if fixed is not None:
        return PollerBehaviorSimpleMaximum(maximum=fixed)
    return None  # the SDK's default


def workflow_runner(settings: Settings) -> SandboxedWorkflowRunner:
    """The sandbox workflows run in; passing modules through skips re-importing them per run."""
    if not settings.worker_sandbox_passthrough_modules:
        return SandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
    )


def tuning(settings: Settings) -> dict[str, Any]:
    """The Worker keyword arguments the tuning settings give (unset ones keep SDK defaults)."""
    options: dict[str, Any] = {
        "max_cached_workflows": settings.worker_max_cached_workflows,
        "workflow_runner": workflow_runner(settings),
    }
    if settings.worker_max_concurrent_workflow_tasks is not None:
        options["max_concurrent_workflow_tasks"] = settings.worker_max_concurrent_workflow_tasks
    if settings.worker_max_concurrent_activities is not None:
        options["max_concurrent_activities"] = settings.worker_max_concurrent_activities
    workflow_pollers = _pollers(settings, settings.worker_workflow_task_pollers)
    if workflow_pollers is not None:
        options["workflow_task_poller_behavior"] = workflow_pollers
    activity_pollers = _pollers(settings, settings.worker_activity_task_pollers)
    if activity_pollers is not None:
        options["activity_task_poller_behavior"] = activity_pollers
    return options


def resident_notice_config(settings: Settings) -> ResidentNoticeConfig:
    """What residents' emails need: the website's address, the council, the links' key."""
    return ResidentNoticeConfig(
        public_url=settings.api_url,
        council_name=settings.council_name,
        link_keys=LinkKeys.from_secrets(secret_values(settings.link_secret)),
    )


def partner_link_config(settings: Settings) -> PartnerLinkConfig:
    """What partners' links need: the dashboard's address and the key it verifies them with."""
    return PartnerLinkConfig(
        public_url=settings.api_url,
        link_keys=LinkKeys.from_secrets(secret_values(settings.link_secret)),
    )


def build_worker(client: Client, settings: Settings, sessions: Sessions) -> Worker:
    """A worker polling the configured task queue with every workflow and activity."""
    return Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(settings, sessions),
        interceptors=INTERCEPTORS,
        **tuning(settings),
    )
