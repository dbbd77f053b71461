"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from aiohttp import web
from temporalio.converter import PayloadCodec

from api import (
    agencies,
    audit,
    callbacks,
    codec,
    directory,
    erasure,
    health,
    metrics,
    oruk,
    outreach,
    partnerships,
    referrals,
    tokens,
)
from api.audit import audit_trail
from api.callbacks import CALLBACK_MASTER_SECRETS
from api.codec import CODEC, CORS_ORIGINS, codec_cors
from api.find import add_website
from api.find.site import FIND_CONFIG, FindConfig
from api.health import OPENAPI
from api.http.errors import error_middleware
from api.http.headers import request_context, security_headers
from api.http.openapi import build_openapi
from api.http.routing import Endpoint, RouteTable, wrap
from api.http.state import SESSIONS, TASK_QUEUE, TEMPORAL, TemporalLink
from api.metrics import request_timing
from api.oruk import ORUK_INDEX, OrukCache, oruk_cors, oruk_cors_headers
from api.referrals import REFERRAL_CONFIG, ReferralConfig
from api.web import (
    capacity,
    charts,
    leg_links,
    my_referrals,
    outreach_log,
    overview,
    partner_links,
    partnership_actions,
    partnership_meetings,
    partnership_start,
    refer_app,
    session,
)
from api.web import needs as need_pages
from api.web import partnerships as partnership_pages
from api.web import refer as refer_pages
from api.web import referrals as referral_pages
from api.web.pages import WEB_CONFIG, Page, PageTable, WebConfig, static_file, wrap_page
from clients.temporal import set_call_deadline
from domain.access import Principal
from store.db import Sessions
from store.tokens import principal_for

ROUTE_TABLES: tuple[RouteTable, ...] = (
    health.routes,
    tokens.routes,
    codec.routes,
    audit.routes,
    metrics.routes,
    directory.routes,
    oruk.routes,
    referrals.routes,
    agencies.routes,
    partnerships.routes,
    callbacks.routes,
    erasure.routes,
    outreach.routes,
)
PAGE_TABLES: tuple[PageTable, ...] = (
    session.pages,
    overview.pages,
    referral_pages.pages,
    refer_pages.pages,
    my_referrals.pages,
    refer_app.pages,
    outreach_log.pages,
    need_pages.pages,
    capacity.pages,
    # Before the partnership pages: /partnerships/new is not a partnership's id.
    partnership_start.pages,
    partnership_pages.pages,
    partnership_actions.pages,
    partnership_meetings.pages,
    partner_links.pages,
    leg_links.pages,
    charts.pages,
)
ENDPOINTS = web.AppKey("endpoints", list[Endpoint])
MAX_BODY_BYTES = 1024 * 1024


def endpoints(tables: Iterable[RouteTable] = ROUTE_TABLES) -> list[Endpoint]:
    """Every endpoint of the API."""
    return [ep for table in tables for ep in table.endpoints]


def pages(tables: Iterable[PageTable] = PAGE_TABLES) -> list[Page]:
    """Every dashboard page and form target."""
    return [page for table in tables for page in table.pages]


async def bearer_principal(request: web.Request) -> Principal | None:
    """The principal of the request's bearer token, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await principal_for(request.app[SESSIONS], token.strip())


def create_app(
    *,
    sessions: Sessions,
    temporal: TemporalLink,
    task_queue: str,
    codec: PayloadCodec | None = None,
    cors_origins: Iterable[str] = (),
    web_config: WebConfig | None = None,
    referral_config: ReferralConfig | None = None,
    callback_secrets: Sequence[str] = (),
    find_config: FindConfig | None = None,
    call_deadline: timedelta | None = None,
) -> web.Application:
    """Build the API with its routes, error handling and shared state.

    ``codec`` is the payload codec the codec endpoint serves to the Temporal UI;
    ``cors_origins`` are the browser origins (the Temporal UI) allowed to call it;
    ``referral_config`` numbers new referrals and sets their timings.
    ``callback_secrets`` are the master secret's values (newest first) partner callbacks'
    secrets derive from (without one, callbacks are refused).
    ``find_config`` sets up the public signposting website under ``/find/``.
    ``call_deadline`` is how long an Update or a query waits for the workflow's answer.
    """
    if call_deadline is not None:
        set_call_deadline(call_deadline)
    app = web.Application(
        middlewares=[
            request_context,
            request_timing,
            audit_trail,
            error_middleware,
            codec_cors,
            oruk_cors,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    if codec is not None:
        app[CODEC] = codec
    app[CORS_ORIGINS] = frozenset(cors_origins)
    app[WEB_CONFIG] = web_config or WebConfig()
    app[REFERRAL_CONFIG] = referral_config or ReferralConfig()
    if callback_secrets:
        app[CALLBACK_MASTER_SECRETS] = tuple(callback_secrets)
    app[SESSIONS] = sessions
    app[TEMPORAL] = temporal
    app[TASK_QUEUE] = task_queue
    eps = endpoints()
    app[ENDPOINTS] = eps
    for ep in eps:
        app.router.add_route(
            ep.method, ep.path, wrap(ep, bearer_principal), name=ep.handler.__name__
        )
    for page in pages():
        app.router.add_route(
            page.method, page.path, wrap_page(page), name=f"page.{page.handler.__name__}"
        )
    app.router.add_get("/static/{name}", static_file, name="static")
    app[FIND_CONFIG] = find_config or FindConfig()
    add_website(app)
    app.on_response_prepare.append(security_headers)
    app.on_response_prepare.append(oruk_cors_headers)
    app[ORUK_INDEX] = OrukCache()
    app[OPENAPI] = build_openapi(eps, title="partnerflow API", version="0.1.0")
    return app
