"""What the referral endpoints share: their route table, numbering and visibility."""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from aiohttp import web

from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS
from domain.access import (
    may_manage_referral,
    may_see_referral,
)
from domain.referral import (
    ReferralPolicy,
)
from store.referrals import (
    StoredReferral,
    get_referral,
)

log = structlog.get_logger(__name__)
routes = RouteTable("referrals")


@dataclass(frozen=True, kw_only=True)
class ReferralConfig:
    """How the API numbers new referrals and which SLA and follow-up timings they carry."""

    number_prefix: str = "TEN"
    policy: ReferralPolicy = field(default_factory=ReferralPolicy)


REFERRAL_CONFIG = web.AppKey("referral_config", ReferralConfig)
NOT_FOUND = "no such referral"


async def visible_referral(call: Call, number: str) -> StoredReferral:
    """The referral, if the caller may see it; 404 otherwise, exactly as if it did not exist."""
    stored = await get_referral(call.request.app[SESSIONS], number)
    if stored is None or not may_see_referral(
        call.user(), referrer=stored.submitted_by, agency_ids={leg.agency_id for leg in stored.legs}
    ):
        raise web.HTTPNotFound(reason=NOT_FOUND)
    return stored


async def managed_referral(call: Call) -> StoredReferral:
    """The path's referral, if the caller may also withdraw it or record its follow-up."""
    stored = await visible_referral(call, call.path("number"))
    if not may_manage_referral(call.user(), referrer=stored.submitted_by):
        raise web.HTTPNotFound(reason=NOT_FOUND)
    return stored
