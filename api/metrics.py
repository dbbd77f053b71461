"""Prometheus metrics: API latency, and the state of the work read from the store at scrape time.

Counts come from the store, not from in-process counters, so every API replica reports the
same truth and a restart loses nothing. Worker-side metrics (the Temporal SDK's own, and
notification attempts) are served by the worker: see ``Settings.worker_metrics_address``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.routing import ENDPOINT, Call, RouteTable
from api.state import SESSIONS
from domain.partnership import Stage
from domain.referral import FINAL_REFERRAL_STATUSES, NeedState, ReferralStatus
from store.overview import SIGN_IN_WINDOW
from store.schema import (
    NotificationFailure,
    NotificationRecord,
    PartnershipRow,
    ReferralNeedRow,
    ReferralRow,
)
from store.staff import failed_sign_ins

routes = RouteTable("monitoring")

REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "partnerflow_api_request_seconds",
    "API request latency by endpoint and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

StoreGauge = Callable[[AsyncSession, CollectorRegistry], Awaitable[None]]
"""Reads one family of figures from the store into a scrape's registry."""


async def notification_gauges(session: AsyncSession, registry: CollectorRegistry) -> None:
    """Notifications delivered, and those failing now (given up or still retrying)."""
    sent = Gauge(
        "partnerflow_notifications_delivered",
        "Notifications delivered, by channel.",
        ["channel"],
        registry=registry,
    )
    for channel in ("email", "webhook"):
        sent.labels(channel).set(0)
    rows = await session.execute(
        select(NotificationRecord.channel, func.count()).group_by(NotificationRecord.channel)
    )
    for channel, count in rows.all():
        sent.labels(channel).set(count)
    failing = Gauge(
        "partnerflow_notifications_failing",
        "Notifications failing now, by channel and whether retries were given up.",
        ["channel", "gave_up"],
        registry=registry,
    )
    failures = await session.execute(
        select(NotificationFailure.channel, NotificationFailure.gave_up, func.count()).group_by(
            NotificationFailure.channel, NotificationFailure.gave_up
        )
    )
    for channel, gave_up, count in failures.all():
        failing.labels(channel, str(bool(gave_up)).lower()).set(count)


async def referral_gauges(session: AsyncSession, registry: CollectorRegistry) -> None:
    """Referrals by status, open referrals past a response deadline, unallocated needs."""
    by_status = Gauge(
        "partnerflow_referrals", "Referrals, by status.", ["status"], registry=registry
    )
    for status in ReferralStatus:
        by_status.labels(status.value).set(0)
    rows = await session.execute(
        select(ReferralRow.status, func.count()).group_by(ReferralRow.status)
    )
    for name, count in rows.all():
        by_status.labels(name).set(count)
    breached = Gauge(
        "partnerflow_referrals_breached",
        "Open referrals past an agency's response deadline (SLA breaches).",
        registry=registry,
    )
    breached.set(
        await session.scalar(
            select(func.count())
            .select_from(ReferralRow)
            .where(
                ReferralRow.breached.is_(True),
                ReferralRow.status.not_in([s.value for s in FINAL_REFERRAL_STATUSES]),
            )
        )
        or 0
    )
    unallocated = Gauge(
        "partnerflow_needs_unallocated",
        "Needs no service could take, waiting on a co-ordinator.",
        registry=registry,
    )
    unallocated.set(
        await session.scalar(
            select(func.count())
            .select_from(ReferralNeedRow)
            .where(ReferralNeedRow.state == NeedState.UNALLOCATED.value)
        )
        or 0
    )


async def partnership_gauges(session: AsyncSession, registry: CollectorRegistry) -> None:
    """Partnerships by stage, and those with an action, return or commitment overdue."""
    by_stage = Gauge(
        "partnerflow_partnerships", "Partnerships, by stage.", ["stage"], registry=registry
    )
    for stage in Stage:
        by_stage.labels(stage.value).set(0)
    rows = await session.execute(
        select(PartnershipRow.stage, func.count()).group_by(PartnershipRow.stage)
    )
    for name, count in rows.all():
        by_stage.labels(name).set(count)
    overdue = Gauge(
        "partnerflow_partnerships_overdue",
        "Partnerships waiting on an action, return or commitment past its deadline.",
        registry=registry,
    )
    overdue.set(
        await session.scalar(
            select(func.count()).select_from(PartnershipRow).where(PartnershipRow.overdue)
        )
        or 0
    )


async def sign_in_gauges(session: AsyncSession, registry: CollectorRegistry) -> None:
    """Dashboard sign-ins refused in the last 24 hours (guessing shows here first)."""
    Gauge(
        "partnerflow_sign_ins_failed",
        "Dashboard sign-ins refused (wrong name or password) in the last 24 hours.",
        registry=registry,
    ).set(await failed_sign_ins(session, since=datetime.now(UTC) - SIGN_IN_WINDOW))


STORE_GAUGES: list[StoreGauge] = [
    notification_gauges,
    referral_gauges,
    partnership_gauges,
    sign_in_gauges,
]


@routes.route(
    "GET",
    "/metrics",
    summary="Prometheus metrics",
    public=True,
    content_type=CONTENT_TYPE_LATEST,
)
async def metrics(call: Call) -> web.Response:
    """Latency histograms and the current figures of the work, in the Prometheus text format."""
    scrape = CollectorRegistry(auto_describe=True)
    async with call.request.app[SESSIONS]() as session:
        for gauge in STORE_GAUGES:
            await gauge(session, scrape)
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


@web.middleware
async def request_timing(request: web.Request, handler: Any) -> web.StreamResponse:
    """Observe each API request's latency under its route template (never the raw path)."""
    started = time.perf_counter()
    status = 500
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        endpoint = request.get(ENDPOINT)
        if endpoint is not None:
            REQUEST_SECONDS.labels(endpoint.method, endpoint.path, str(status)).observe(
                time.perf_counter() - started
            )
