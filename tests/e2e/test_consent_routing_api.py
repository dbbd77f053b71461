"""The demo directory's consent cases through the API on the real dev server: a resident who
consented only to Citizens Advice is referred there, not signposted to the council."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.access import Role
from store.db import Sessions
from store.demo import demo_directory
from tests.helpers.referral_api import ReferralApi, run_api
from tests.helpers.sinks import SmtpSink, WebhookSink

pytestmark = pytest.mark.e2e


def referral(ward: str, category: str, consent: list[str]) -> dict[str, Any]:
    return {
        "source": "reach_out",
        "ward": ward,
        "resident": {"name": "A"},
        "needs": [{"category": category}],
        "consent": {"agency_ids": consent},
        "referrer": {"name": "T"},
    }


async def test_consent_to_citizens_advice_only_sends_the_need_there(
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> None:
    async def body(api: ReferralApi) -> None:
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        for ward, category, service in (
            ("pier", "benefits_debt", "cab-benefits-debt"),
            ("frinton", "housing", "cab-housing-advice"),
        ):
            number = await api.submit(referrer, referral(ward, category, ["tendring-cab"]))
            view = await api.until(
                number, referrer, lambda b: bool(b["legs"]) and b["needs"][0]["state"] != "routing"
            )
            (need,) = view["needs"]
            assert need["state"] == "referred", need
            assert [(leg["service_id"], leg["agency_id"]) for leg in view["legs"]] == [
                (service, "tendring-cab")
            ]
            assert "(tdc-housing): no consent" in need["reason"]
            assert "(tendring-cab): chosen" in need["reason"]

        # Consent to an agency with no debt service: signposted to the best few, with details.
        number = await api.submit(referrer, referral("pier", "benefits_debt", ["essex-police"]))
        view = await api.until(number, referrer, lambda b: b["needs"][0]["state"] != "routing")
        (need,) = view["needs"]
        assert need["state"] == "signposted"
        assert view["legs"] == []
        live = view["live"]["needs"][0]
        assert live["signposted_service_ids"] == [
            "tdc-tenancy-support",
            "cab-benefits-debt",
            "jcp-work-support",
        ]

    await run_api(dev_env, sessions, smtp_sink, webhook_sink, body, borough=demo_directory())
