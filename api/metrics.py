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


def _counts(gauge: Gauge, known: list[str], counts: dict[str, int]) -> None:
    # Every known label shows, at 0 when the store has none of it.
    for label in known:
        gauge.labels(label).set(0)
    for label, count in counts.items():
        gauge.labels(label).set(count)


def work_gauges(figures: WorkFigures, registry: CollectorRegistry) -> None:
    """The store's figures as a scrape's gauges; every known label shows, at 0 if none."""
    sent = _gauge(
        registry,
        "partnerflow_notifications_delivered",
        "Notifications delivered, by channel.",
        ("channel",),
    )
    _counts(sent, ["email", "webhook"], figures.delivered_by_channel)
    failing = _gauge(
        registry,
        "partnerflow_notifications_failing",
        "Notifications failing now, by channel and whether retries were given up.",
        ("channel", "gave_up"),
    )
    for channel, gave_up, count in figures.failing:
        failing.labels(channel, str(gave_up).lower()).set(count)
    _counts(
        _gauge(registry, "partnerflow_referrals", "Referrals, by status.", ("status",)),
        [status.value for status in ReferralStatus],
        figures.referrals_by_status,
    )
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
    _counts(
        _gauge(registry, "partnerflow_partnerships", "Partnerships, by stage.", ("stage",)),
        [stage.value for stage in Stage],
        figures.partnerships_by_stage,
    )
    _gauge(
        registry,
        "partnerflow_partnerships_overdue",
        "Partnerships waiting on an action, return or commitment past its deadline.",
    ).set(figures.partnerships_overdue)
    _gauge(
        registry,
        "partnerflow_sign_ins_failed",
        "Dashboard sign-ins refused (wrong name or password) in the last 24 hours.",
    ).set(figures.failed_sign_ins)


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
