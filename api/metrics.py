"""Prometheus metrics: API latency, and the state of the work read from the store at scrape time.

Counts come from the store, not from in-process counters, so every API replica reports the
same truth and a restart loses nothing. Worker-side metrics (the Temporal SDK's own, and
notification attempts) are served by the worker: see ``Settings.worker_metrics_address``.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from api.http.routing import ENDPOINT, Call, RouteTable
from api.http.state import SESSIONS
from domain.partnership import Stage
from domain.referral import ReferralStatus
from store.work_figures import WorkFigures, work_figures

routes = RouteTable("monitoring")

REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "partnerflow_api_request_seconds",
    "API request latency by endpoint and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _gauge(registry: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, list(labels), registry=registry)


def work_gauges(figures: WorkFigures, registry: CollectorRegistry) -> None:
    """The store's figures as a scrape's gauges; every known label shows, at 0 if none."""
    sent = _gauge(
        registry,
        "partnerflow_notifications_delivered",
        "Notifications delivered, by channel.",
        ("channel",),
    )
    for channel in ("email", "webhook"):
        sent.labels(channel).set(0)
    for channel, count in figures.delivered_by_channel.items():
        sent.labels(channel).set(count)
    failing = _gauge(
        registry,
        "partnerflow_notifications_failing",
        "Notifications failing now, by channel and whether retries were given up.",
        ("channel", "gave_up"),
    )
    for channel, gave_up, count in figures.failing:
        failing.labels(channel, str(gave_up).lower()).set(count)
    by_status = _gauge(registry, "partnerflow_referrals", "Referrals, by status.", ("status",))
    for status in ReferralStatus:
        by_status.labels(status.value).set(0)
    for name, count in figures.referrals_by_status.items():
        by_status.labels(name).set(count)
    _gauge(
        registry,
        "partnerflow_referrals_breached",
        "Open referrals past an agency's response deadline (SLA breaches).",
    ).set(figures.referrals_breached)
    _gauge(
        registry,
        "partnerflow_needs_unallocated",
        "Needs no service could take, waiting on a co-ordinator.",
    ).set(figures.needs_unallocated)
    by_stage = _gauge(registry, "partnerflow_partnerships", "Partnerships, by stage.", ("stage",))
    for stage in Stage:
        by_stage.labels(stage.value).set(0)
    for name, count in figures.partnerships_by_stage.items():
        by_stage.labels(name).set(count)
    _gauge(
        registry,
        "partnerflow_partnerships_overdue",
        "Partnerships waiting on an action, return or commitment past its deadline.",
    ).set(figures.partnerships_overdue)


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
    work_gauges(await work_figures(call.request.app[SESSIONS]), scrape)
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
