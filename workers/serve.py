"""Run the worker and the API in this process until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from aiohttp import web
from temporalio.client import Client

from api.app import create_app
from api.find.site import CouncilContacts, FindConfig
from api.http.parser_errors import ApiRunner
from api.referrals import ReferralConfig
from api.web.pages import WebConfig
from domain.signed_link import LinkKeys
from store.db import Sessions
from workers.personal_seal import PayloadSeal
from workers.schedules import ensure_schedules
from workers.settings import Settings, secret_values
from workers.temporal import LazyTemporal
from workers.worker import build_worker

log = structlog.get_logger(__name__)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, so shutdown runs in order instead of by exception."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


@contextlib.asynccontextmanager
async def api_server(
    settings: Settings, sessions: Sessions, temporal: LazyTemporal, codec: PayloadSeal
) -> AsyncIterator[web.AppRunner]:
    """Serve the API on the configured host and port for the duration of the block."""
    ui = settings.temporal_ui_url
    app = create_app(
        sessions=sessions,
        temporal=temporal,
        task_queue=settings.temporal_task_queue,
        codec=codec,
        call_deadline=timedelta(seconds=settings.temporal_call_seconds),
        cors_origins=[*settings.codec_cors_origins, ui, ui.replace("127.0.0.1", "localhost")],
        web_config=WebConfig(
            temporal_ui_url=ui,
            namespace=settings.temporal_namespace,
            secure_cookies=settings.secure_cookies,
        ),
        referral_config=ReferralConfig(
            number_prefix=settings.referral_number_prefix, policy=settings.referral_policy()
        ),
        callback_secrets=secret_values(settings.callback_secret),
        find_config=find_config(settings),
    )
    runner = ApiRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.api_host, settings.api_port)
    await site.start()
    log.info("api listening", url=settings.api_url)
    try:
        yield runner
    finally:
        await runner.cleanup()


def find_config(settings: Settings) -> FindConfig:
    """The public website's settings, taken from the one settings object."""
    return FindConfig(
        council_name=settings.council_name,
        brand_colour=settings.brand_colour,
        contacts=CouncilContacts(
            email=str(settings.council_email),
            phone=settings.council_phone,
            address=settings.council_address,
            dpo_email=str(settings.data_protection_officer_email),
            safeguarding_phone=settings.safeguarding_phone,
            compliance=settings.accessibility_compliance,
            known_issues=tuple(settings.accessibility_known_issues),
            statement_prepared=settings.accessibility_statement_prepared,
            statement_reviewed=settings.accessibility_statement_reviewed,
        ),
        link_keys=LinkKeys.from_secrets(secret_values(settings.link_secret)),
        submissions_per_hour=settings.find_submissions_per_hour,
        emails_per_hour=settings.find_emails_per_hour,
    )


async def run_worker_until(
    client: Client, settings: Settings, sessions: Sessions, stop: asyncio.Event
) -> None:
    """Poll the task queue until ``stop`` is set, then finish running tasks and return."""
    worker = build_worker(client, settings, sessions)
    await ensure_schedules(client, settings)
    async with worker:
        log.info("worker polling", task_queue=settings.temporal_task_queue)
        await stop.wait()
    log.info("worker stopped")
