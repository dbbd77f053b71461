"""Fixtures for tests of referrals: a running referral world, and the API served over it.

Each test package's conftest imports them, so a test asks for ``world``, ``referral_api``
or ``site_world``.
"""

from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from store.db import Sessions
from tests.helpers.find_site import open_site_world
from tests.helpers.referral_api import ReferralApi, open_api
from tests.helpers.referral_world import World, open_world
from tests.helpers.sinks import SmtpSink, WebhookSink


@pytest_asyncio.fixture
async def world(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> AsyncIterator[World]:
    """The small borough with a running referral worker on the time-skipping server."""
    async with open_world(time_skipping_env.client, sessions, smtp_sink, webhook_sink) as world:
        yield world


@pytest_asyncio.fixture
async def referral_api(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> AsyncIterator[ReferralApi]:
    """The referral API served over a running referral world on the time-skipping server."""
    async with open_api(time_skipping_env, sessions, smtp_sink, webhook_sink) as api:
        yield api


@pytest_asyncio.fixture
async def site_world(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> AsyncIterator[World]:
    """The demo borough with a worker that also sends residents' emails, on the dev server."""
    async with open_site_world(dev_env.client, sessions, smtp_sink, webhook_sink) as world:
        yield world
