"""What each role sees of a referral with two needs sent to two agencies: the JSON API and the
dashboard page give the same share, since both ask the one rule in domain.access."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from api.web.pages import SESSION_COOKIE
from domain.access import Role
from domain.referral import Need
from store.db import Sessions
from store.staff import create_user, sign_in
from tests.helpers.referral_api import ReferralApi, run_api
from tests.helpers.referral_world import RESIDENT_NAME, submission
from tests.helpers.sinks import SmtpSink, WebhookSink

PASSWORD = "a long enough password"
DEBT_NOTE = "Rent arrears since May"
HOUSING_NOTE = "Damp flat, child with asthma"
# (role, subject, agency, the needs' notes they may read, whether they see the resident)
CALLERS = (
    (Role.ADMIN, "ada", None, {"N1": DEBT_NOTE, "N2": HOUSING_NOTE}, True),
    (Role.COORDINATOR, "cora", None, {"N1": DEBT_NOTE, "N2": HOUSING_NOTE}, True),
    (Role.REFERRER, "reach-out-1", None, {"N1": DEBT_NOTE, "N2": HOUSING_NOTE}, True),
    (Role.OPERATIONS, "olu", None, {}, False),
    (Role.AGENCY, "cab-1", "cab", {"N1": DEBT_NOTE}, True),
    (Role.AGENCY, "council-1", "council", {"N2": HOUSING_NOTE}, True),
)


async def _cookie(api: ReferralApi, subject: str, role: Role, agency: str | None) -> dict[str, str]:
    sessions = api.world.sessions
    await create_user(sessions, username=subject, password=PASSWORD, role=role, agency_id=agency)
    signed = await sign_in(sessions, username=subject, password=PASSWORD, remote="t")
    assert signed is not None
    return {SESSION_COOKIE: signed[0]}


@pytest.mark.parametrize(("role", "subject", "agency", "notes", "resident"), CALLERS)
async def test_api_and_dashboard_show_each_role_the_same_share(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
    role: Role,
    subject: str,
    agency: str | None,
    notes: dict[str, str],
    resident: bool,
) -> None:
    async def body(api: ReferralApi) -> None:
        referrer = await api.user(Role.REFERRER, "reach-out-1")
        two = submission(
            Need(category="benefits_debt", notes=DEBT_NOTE),
            Need(category="housing", notes=HOUSING_NOTE),
        )
        number = await api.submit(referrer, two.model_dump(mode="json"))
        await api.until(number, referrer, lambda b: len(b["legs"]) == 2)
        bearer = referrer if role is Role.REFERRER else await api.user(role, subject, agency)
        cookie = await _cookie(api, subject, role, agency)

        seen = await api.referral(number, bearer)
        agencies = {leg["agency_id"] for leg in seen["legs"]}
        assert agencies == ({agency} if agency else {"cab", "council"})
        if resident:
            assert seen["personal"]["need_notes"] == notes
            assert seen["personal"]["resident"]["name"] == RESIDENT_NAME
        else:
            assert seen["personal"] is None

        resp = await api.http.get(f"/referrals/{number}", cookies=cookie)
        page = await resp.text()
        assert resp.status == 200, page
        for note in (DEBT_NOTE, HOUSING_NOTE):
            assert (note in page) == (note in notes.values()), note
        assert (RESIDENT_NAME in page) == resident
        # The page names each service (its id only in the API).
        for other, service in (("cab", "CAB debt advice"), ("council", "Housing options")):
            assert (service in page) == (agency in (None, other)), service

    await run_api(time_skipping_env, sessions, smtp_sink, webhook_sink, body)
