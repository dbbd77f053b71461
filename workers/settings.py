"""The one settings object: every knob partnerflow has, read from ``PARTNERFLOW_*`` and ``.env``."""

from __future__ import annotations

import os
from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import EmailStr, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.accessibility import Compliance
from domain.directory import NeedCategory
from domain.referral import ReferralPolicy

# Settings whose defaults suit only the embedded stack on one machine: every deployment sets
# them (deploy/env.example does; a test checks it).
DEPLOYMENT_REQUIRED: tuple[str, ...] = (
    "temporal_address",
    "temporal_namespace",
    "database_url",
    "encryption_keys",
    "webhook_secret",
    "callback_secret",
    "link_secret",
    "smtp_host",
    "smtp_port",
    "mail_sender",
    "coordinator_email",
    "public_url",
)


def secret_values(secret: SecretStr | None) -> tuple[str, ...]:
    """A secret setting's values, newest first (several only while it is being rotated)."""
    if secret is None:
        return ()
    return tuple(v.strip() for v in secret.get_secret_value().split(",") if v.strip())


class LogFormat(StrEnum):
    """How log lines are rendered."""

    AUTO = "auto"  # console in a terminal, JSON otherwise
    CONSOLE = "console"
    JSON = "json"


class Settings(BaseSettings):
    """Configuration of every partnerflow process.

    The defaults describe the embedded stack on one machine: a Temporal dev server on
    localhost and a SQLite database under ``var/``. Pointing at a Temporal cluster and
    PostgreSQL is a matter of setting ``PARTNERFLOW_TEMPORAL_ADDRESS`` and
    ``PARTNERFLOW_DATABASE_URL``.
    """

    model_config = SettingsConfigDict(
        env_prefix="PARTNERFLOW_", env_file=".env", extra="ignore", frozen=True
    )

    var_dir: Path = Field(default=Path("var"), description="Where the embedded stack keeps data.")

    temporal_address: str = Field(default="127.0.0.1:7233", description="Temporal frontend.")
    temporal_namespace: str = "default"
    temporal_task_queue: str = "partnerflow"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = Field(default=None, description="Client certificate (mTLS).")
    temporal_tls_key: Path | None = Field(default=None, description="Client private key (mTLS).")
    temporal_tls_ca: Path | None = Field(default=None, description="CA bundle of the server.")
    temporal_api_key: SecretStr | None = Field(default=None, description="Temporal Cloud API key.")
    temporal_call_seconds: float = Field(
        default=10,
        gt=0,
        le=300,
        description="How long the API waits for a workflow to answer an Update or a query; "
        "past it the answer is 503 with Retry-After (an Update may still be applied later).",
    )
    temporal_ui_port: int = Field(default=8233, description="Temporal UI port (embedded stack).")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; defaults to SQLite at var/partnerflow.db.",
    )

    worker_metrics_address: str | None = Field(
        default=None,
        description="host:port where a worker serves Prometheus metrics (the Temporal SDK's own "
        "and notification attempts), e.g. 0.0.0.0:9464; unset: not served.",
    )

    worker_max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        description="Workflow runs a worker keeps in memory between tasks; others are replayed "
        "from history when they wake, so memory stays bounded however many are open.",
    )

    worker_processes: int | None = Field(
        default=None,
        ge=1,
        description="Worker processes on this machine: `partnerflow up` runs this many (unset: one "
        "per core), `partnerflow worker` too unless --processes is given (unset: one). Each is its "
        "own OS process with its own Temporal runtime.",
    )
    worker_max_concurrent_workflow_tasks: int | None = Field(
        default=None, ge=2, description="Workflow task slots per worker process (unset: SDK's 100)."
    )
    worker_max_concurrent_activities: int | None = Field(
        default=None, ge=1, description="Activity slots per worker process (unset: SDK's 100)."
    )
    worker_workflow_task_pollers: int | None = Field(
        default=None,
        ge=2,
        description="Fixed number of workflow task pollers per process (unset: SDK's 5); "
        "ignored when worker_poller_autoscaling is on.",
    )
    worker_activity_task_pollers: int | None = Field(
        default=None,
        ge=1,
        description="Fixed number of activity task pollers per process (unset: SDK's 5); "
        "ignored when worker_poller_autoscaling is on.",
    )
    worker_poller_autoscaling: bool = Field(
        default=False,
        description="Let the SDK scale each poller count between 1 and 100 with the backlog, "
        "instead of the fixed counts above.",
    )
    worker_sandbox_passthrough_modules: bool = Field(
        default=True,
        description="Workflow sandbox passes every module through instead of re-importing them "
        "for each run (each run's own globals stay isolated); cuts the per-task cost.",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    public_url: str | None = Field(default=None, description="Base URL shown to users.")

    embedded_mail: bool = Field(
        default=True, description="`partnerflow up` runs a local SMTP sink writing to var/mail/."
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP relay for notifications.")
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_sender: str = "partnerflow@localhost"
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key that signs outgoing webhooks: a long random value, no default. "
        "While rotating, several comma-separated values, newest first: each signs, so partners "
        "verifying either value accept the webhook. `partnerflow up` makes one in var/.",
    )
    callback_secret: SecretStr | None = Field(
        default=None,
        description="Master key each partner agency's callback signing secret is derived from "
        "(HMAC per agency). Not the webhook secret: every agency that receives webhooks holds "
        "that one, and could then work out every other agency's callback secret. While "
        "rotating, comma-separated values newest first: callbacks signed under any verify. "
        "`partnerflow up` makes one in var/.",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="Key of the signed links sent by email (a resident's tracking link). "
        "Comma-separated values newest first: the newest signs, every one verifies, so a new "
        "value can be put in front and the old one dropped once its links may lapse. "
        "`partnerflow up` makes one in var/.",
    )

    referral_number_prefix: str = Field(
        default="TEN",
        pattern=r"^[A-Z]{2,8}$",
        description="Prefix of referral numbers, e.g. TEN for TEN-2026-000123.",
    )
    coordinator_email: EmailStr = Field(
        default="coordinator@partnerflow.example",
        description="The partnership co-ordinator: escalations, unallocated needs and services "
        "withdrawn from the directory are reported here.",
    )
    referral_escalate_after_days: int = Field(
        default=2,
        ge=1,
        description="Working days after a reminder before escalating.",
    )
    referral_outcome_days: int = Field(
        default=20,
        ge=1,
        description="Working days from acceptance to a recorded outcome, for services that have "
        "not agreed their own.",
    )
    referral_offer_defaults: dict[NeedCategory, int] = Field(
        default_factory=dict,
        description="Per need category, how many services a need is offered to at once when "
        'the referrer does not say, as JSON, e.g. {"benefits_debt": 3}.',
    )
    unallocated_remind_after_days: int = Field(
        default=2,
        ge=1,
        description="Working days an unallocated need waits for the co-ordinator before they "
        "are reminded and the wait shows as a breach.",
    )
    referral_follow_up_after_days: int = Field(
        default=20, ge=0, description="Working days after the last outcome to follow up."
    )
    retention_days: int = Field(
        default=730,
        ge=1,
        le=36500,
        description="Days a closed referral keeps the resident's personal data before it is "
        "erased by the nightly retention schedule (the anonymous statistics stay).",
    )
    retention_hour: int = Field(
        default=2, ge=0, le=23, description="UTC hour of the nightly retention run."
    )
    referral_follow_up_wait_days: int = Field(
        default=10, ge=1, description="Working days to wait for the follow-up before closing."
    )

    encryption_keys: SecretStr | None = Field(
        default=None,
        description=(
            "Payload encryption keys, `id=base64(32 bytes)` separated by commas, active first; "
            "unset: a key generated once in var/encryption-keys."
        ),
    )
    data_key_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a worker or API process keeps a referral's data key after reading "
        "it from the database, so a referral step does not read it for every payload. An "
        "erasure reaches other processes' caches within this time; the codec endpoint always "
        "reads afresh.",
    )
    codec_cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the codec endpoint (the embedded UI is added).",
    )

    secure_cookies: bool = Field(
        default=True,
        description="Mark dashboard cookies Secure (browsers still accept them on localhost).",
    )

    directory_feed_url: str | None = Field(
        default=None,
        description="ORUK feed (e.g. https://host/api/services) synced on a Temporal Schedule.",
    )
    directory_sync_minutes: int = Field(
        default=60, ge=5, le=7 * 24 * 60, description="How often the directory feed is synced."
    )

    council_name: str = Field(
        default="Tendring District Council (demonstration)",
        min_length=1,
        max_length=120,
        description="Who runs the public signposting website: shown in its header and emails.",
    )
    council_email: EmailStr = Field(
        default="help@tendring.example",
        description="The council's email for residents: website problems, other formats, privacy.",
    )
    council_phone: str = Field(
        default="01632 960000",
        min_length=3,
        max_length=40,
        description="The council's phone number for residents, shown with its email.",
    )
    council_address: str = Field(
        default="Town Hall, Station Road, Clacton-on-Sea CO15 1SE",
        min_length=3,
        max_length=200,
        description="The council's postal address: the controller's contact in the privacy notice.",
    )
    data_protection_officer_email: EmailStr = Field(
        default="dpo@tendring.example",
        description="How to reach the council's data protection officer (privacy notice).",
    )
    safeguarding_phone: str = Field(
        default="01632 960999",
        min_length=3,
        max_length=40,
        description="Who to call when someone is at risk of harm but not in immediate danger.",
    )
    accessibility_compliance: Compliance = Field(
        default=Compliance.FULL,
        description="How far the public website meets WCAG 2.2 AA: full, partial or not.",
    )
    accessibility_known_issues: list[str] = Field(
        default_factory=list,
        description="What does not meet WCAG yet, in plain words (listed unless fully compliant).",
    )
    accessibility_statement_prepared: date = Field(
        default=date(2026, 6, 1), description="When the accessibility statement was prepared."
    )
    accessibility_statement_reviewed: date = Field(
        default=date(2026, 12, 1), description="When the accessibility statement was last reviewed."
    )
    brand_colour: str = Field(
        default="#005a5b",
        pattern=r"^#[0-9a-fA-F]{6}$",
        description="The council's colour for the public website's header and links.",
    )
    find_submissions_per_hour: int = Field(
        default=5, ge=1, description="Self-referrals one address may send per hour."
    )
    find_emails_per_hour: int = Field(
        default=5,
        ge=1,
        description="Shortlist emails one address, and one recipient, may ask for per hour.",
    )

    log_format: LogFormat = LogFormat.AUTO
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _callback_secret_is_not_the_webhook_secret(self) -> Settings:
        if set(secret_values(self.callback_secret)) & set(secret_values(self.webhook_secret)):
            raise ValueError(
                "PARTNERFLOW_CALLBACK_SECRET must differ from PARTNERFLOW_WEBHOOK_SECRET "
                "(every agency receiving webhooks holds the webhook secret)"
            )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'partnerflow.db').resolve()}"

    def referral_policy(self) -> ReferralPolicy:
        """The SLA ladder and follow-up timings every new referral carries."""
        return ReferralPolicy(
            escalate_after_days=self.referral_escalate_after_days,
            follow_up_after_days=self.referral_follow_up_after_days,
            follow_up_wait_days=self.referral_follow_up_wait_days,
            outcome_days=self.referral_outcome_days,
            unallocated_remind_after_days=self.unallocated_remind_after_days,
            offer_defaults=dict(self.referral_offer_defaults),
        )

    @property
    def embedded_worker_processes(self) -> int:
        """Worker processes `partnerflow up` runs: the setting, else one per core."""
        return self.worker_processes or os.cpu_count() or 1

    @property
    def temporal_port(self) -> int:
        """Port part of the Temporal address (the embedded server listens on it)."""
        return int(self.temporal_address.rsplit(":", 1)[1])

    @property
    def temporal_host(self) -> str:
        """Host part of the Temporal address."""
        return self.temporal_address.rsplit(":", 1)[0]

    @property
    def api_url(self) -> str:
        """Base URL of the HTTP API."""
        return self.public_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def temporal_ui_url(self) -> str:
        """Base URL of the Temporal UI of the embedded server."""
        return f"http://{self.temporal_host}:{self.temporal_ui_port}"
