"""Two agencies accept the same offered need at the same instant, through the API on the real
dev server: every time, exactly one is accepted (200) and the other refused (409 with the
reason), and the loser's offer is withdrawn."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from domain.directory import NeedCategory
from domain.offers import Offer
from domain.referral import Need
from store.db import Sessions
from tests.helpers.referral_api import ReferralApi, run_api
from tests.helpers.referral_world import submission
from tests.helpers.sinks import SmtpSink, WebhookSink

pytestmark = pytest.mark.e2e

ROUNDS = 20
OFFERED = submission(
    Need(category=NeedCategory.BENEFITS_DEBT, offer=Offer(max_services=2))
).model_dump(mode="json")


async def test_concurrent_accepts_of_an_offer_have_exactly_one_winner(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(api: ReferralApi) -> None:
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        agencies = {a: await api.user(Role.AGENCY, f"{a}-user", a) for a in ("cab", "charity")}
        numbers = [await api.submit(referrer, OFFERED) for _ in range(ROUNDS)]
        winners: dict[str, int] = {"cab": 0, "charity": 0}
        for number in numbers:
            view = await api.until(
                number,
                referrer,
                lambda b: len(b["legs"]) == 2 and all(leg["offered"] for leg in b["legs"]),
                within=60,
            )
            legs = {leg["agency_id"]: leg["leg_id"] for leg in view["legs"]}
            start = asyncio.Event()

            async def accept(agency: str, legs: Any = legs, start: Any = start) -> tuple[int, Any]:
                await start.wait()
                resp = await api.http.post(
                    f"/api/legs/{legs[agency]}/accept", headers=agencies[agency]
                )
                return resp.status, await resp.json()

            both = asyncio.gather(accept("cab"), accept("charity"))
            start.set()
            (cab, cab_body), (charity, charity_body) = await both
            assert sorted([cab, charity]) == [200, 409], (cab_body, charity_body)
            won, lost = ("cab", charity_body) if cab == 200 else ("charity", cab_body)
            winners[won] += 1
            assert "another service has taken this referral" in lost["error"]
            settled = await api.until(
                number,
                referrer,
                lambda b: sorted(leg["state"] for leg in b["legs"]) == ["accepted", "withdrawn"],
                within=60,
            )
            lost_leg = next(leg for leg in settled["legs"] if leg["state"] == "withdrawn")
            assert lost_leg["offer_lost"] is True
        assert sum(winners.values()) == ROUNDS

    await run_api(dev_env, sessions, smtp_sink, webhook_sink, body)
