"""Every endpoint and page by every role: allowed or refused, exactly as the policy says.

The table below is written out by hand, independently of ``domain.access.POLICY``: a change
to the policy, or a new endpoint or page without a row here, fails this test.
"""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from api.app import endpoints, pages
from api.web.pages import SESSION_COOKIE
from domain.access import Role
from store.db import Sessions
from store.staff import create_user, sign_in

# The Update names of the actions a person takes (spelled out: a new one needs its row).
PERSON_ACTIONS = (
    "invite_partner",
    "commit_partner",
    "assess_resources",
    "answer_key_questions",
    "approve_by_members",
    "complete_negotiation",
    "agree_element",
    "appoint_coordinator",
    "complete_establishment",
    "record_baseline",
    "record_consultation",
    "add_action_group",
    "add_action",
    "add_outcome",
    "add_funded_project",
    "approve_plan",
    "record_meeting",
    "reply_to_meeting",
    "submit_quarterly_return",
    "complete_action",
    "record_indicator_actual",
    "record_benefit",
    "start_review",
    "record_annual_review",
    "decide",
    "plan_after_funding",
)
A, C, OPS, R, G = Role.ADMIN, Role.COORDINATOR, Role.OPERATIONS, Role.REFERRER, Role.AGENCY
EVERYONE = frozenset(Role)
PUBLIC = "public"

# (method, path) → the roles allowed, or PUBLIC.
EXPECTED_API: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/me"): EVERYONE,
    ("POST", "/api/tokens"): frozenset({A}),
    ("DELETE", "/api/tokens/{token_id}"): frozenset({A}),
    ("POST", "/codec/decode"): frozenset({A, C, OPS}),
    ("POST", "/codec/encode"): frozenset({A, C, OPS}),
    ("GET", "/api/audit"): frozenset({A}),
    ("GET", "/api/audit.csv"): frozenset({A}),
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/directory/services"): PUBLIC,
    ("POST", "/api/directory/import"): frozenset({A, C}),
    ("GET", "/api/directory/mapping"): frozenset({A, C}),
    ("PUT", "/api/directory/mapping"): frozenset({A, C}),
    ("GET", "/api/services/{service_id}/capacity"): PUBLIC,
    ("GET", "/api/directory/service_capacity"): PUBLIC,
    ("PUT", "/api/services/{service_id}/capacity"): frozenset({A, C, G}),
    ("GET", "/oruk/"): PUBLIC,
    ("GET", "/oruk"): PUBLIC,
    ("GET", "/oruk/services"): PUBLIC,
    ("GET", "/oruk/services/{id}"): PUBLIC,
    ("GET", "/oruk/organizations"): PUBLIC,
    ("GET", "/oruk/organizations/{id}"): PUBLIC,
    ("GET", "/oruk/taxonomies"): PUBLIC,
    ("GET", "/oruk/taxonomies/{id}"): PUBLIC,
    ("GET", "/oruk/taxonomy_terms"): PUBLIC,
    ("GET", "/oruk/taxonomy_terms/{id}"): PUBLIC,
    ("GET", "/oruk/service_at_locations"): PUBLIC,
    ("GET", "/oruk/service_at_locations/{id}"): PUBLIC,
    ("POST", "/api/referrals"): frozenset({A, C, R, G}),
    ("POST", "/api/outreach-sessions"): frozenset({A, C, R, G}),
    ("GET", "/api/referrals"): EVERYONE,
    ("GET", "/api/referrals/{number}"): EVERYONE,
    ("GET", "/api/agencies/{agency_id}/worklist"): EVERYONE,
    ("GET", "/api/agencies/stats"): frozenset({A, C, OPS}),
    ("PUT", "/api/agencies/{agency_id}/email-details"): frozenset({A}),
    ("POST", "/api/legs/{leg_id}/accept"): frozenset({A, G}),
    ("POST", "/api/legs/{leg_id}/start"): frozenset({A, G}),
    ("POST", "/api/legs/{leg_id}/decline"): frozenset({A, G}),
    ("POST", "/api/legs/{leg_id}/outcome"): frozenset({A, G}),
    ("POST", "/api/legs/{leg_id}/close"): frozenset({A, G}),
    ("POST", "/api/referrals/{number}/follow-up"): frozenset({A, C, R}),
    ("POST", "/api/referrals/{number}/needs"): frozenset({A, C, R}),
    ("POST", "/api/referrals/{number}/withdraw"): frozenset({A, C, R}),
    ("POST", "/api/referrals/{number}/withdraw-consent"): frozenset({A, C, R}),
    ("GET", "/api/needs/unallocated"): frozenset({A, C}),
    ("POST", "/api/referrals/{number}/needs/{need_id}/assign"): frozenset({A, C}),
    ("POST", "/api/referrals/{number}/needs/{need_id}/signpost"): frozenset({A, C}),
    ("POST", "/api/referrals/{number}/needs/{need_id}/close"): frozenset({A, C}),
    ("POST", "/api/partnerships"): frozenset({A, C}),
    ("GET", "/api/partnerships"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}/timeline"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}/indicators"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}/reminders"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}/review"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}/review.html"): frozenset({A, C, OPS}),
    ("GET", "/api/partnerships/{partnership_id}/review.xlsx"): frozenset({A, C, OPS}),
    ("POST", "/api/partnerships/{partnership_id}/partners"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/resource-assessment"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/key-questions"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/member-approval"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/negotiation/complete"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/support-elements"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/coordinator"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/establishment/complete"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/baseline"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/consultations"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/action-groups"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/actions"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/outcomes"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/projects"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/plan/approve"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/meetings"): frozenset({A, C}),
    # An agency marks done the plan actions it owns (the handler checks it owns them).
    ("POST", "/api/partnerships/{partnership_id}/action-completions"): frozenset({A, C, G}),
    ("POST", "/api/partnerships/{partnership_id}/indicator-actuals"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/benefits"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/review/start"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/annual-reviews"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/decision"): frozenset({A, C}),
    ("POST", "/api/partnerships/{partnership_id}/commitments"): frozenset({A, C, G}),
    ("POST", "/api/partnerships/{partnership_id}/quarterly-returns"): frozenset({A, C, G}),
    ("POST", "/api/partnerships/{partnership_id}/after-funding-plans"): frozenset({A, C, G}),
    ("POST", "/api/partnerships/{partnership_id}/meeting-replies"): frozenset({A, C, G}),
    # Signed by the agency instead of a bearer token (tests/api/test_callbacks.py).
    ("POST", "/api/callbacks/{agency_id}"): PUBLIC,
    ("GET", "/api/callbacks/{agency_id}/secret"): frozenset({A}),
    ("POST", "/api/referrals/{number}/erasure"): frozenset({A, C}),
}

EXPECTED_PAGES: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/referrals"): EVERYONE,
    ("GET", "/referrals/{number}"): EVERYONE,
    ("GET", "/worklist"): frozenset({A, G}),
    ("GET", "/capacity"): frozenset({A, C, G}),
    ("POST", "/capacity/{service_id}"): frozenset({A, C, G}),
    ("GET", "/needs/unallocated"): frozenset({A, C}),
    ("POST", "/needs/{number}/{need_id}/assign"): frozenset({A, C}),
    ("POST", "/needs/{number}/{need_id}/signpost"): frozenset({A, C}),
    ("POST", "/needs/{number}/{need_id}/close"): frozenset({A, C}),
    ("POST", "/worklist/{leg_id}/accept"): frozenset({A, G}),
    ("POST", "/worklist/{leg_id}/decline"): frozenset({A, G}),
    ("POST", "/worklist/{leg_id}/outcome"): frozenset({A, G}),
    ("GET", "/agencies"): frozenset({A, C, OPS}),
    ("GET", "/charts/referrals-by-week.svg"): frozenset({A, C, OPS}),
    ("GET", "/charts/open-referrals.svg"): frozenset({A, C, OPS}),
    ("GET", "/charts/answer-times.svg"): frozenset({A, C, OPS}),
    ("GET", "/partnerships/{partnership_id}/indicators/{indicator_id}.svg"): frozenset({A, C, OPS}),
    ("GET", "/partnerships"): frozenset({A, C, OPS}),
    ("GET", "/partnerships/{partnership_id}"): frozenset({A, C, OPS}),
    ("POST", "/partnerships/{partnership_id}/outcomes"): frozenset({A, C}),
    # Every action's generated page: partner agencies take their own commitments, returns and
    # plan actions; the rest are the co-ordinator's.
    **{
        (method, f"/partnerships/{{partnership_id}}/actions/{update}"): (
            frozenset({A, C, G})
            if update
            in (
                "commit_partner",
                "submit_quarterly_return",
                "complete_action",
                "plan_after_funding",
                "reply_to_meeting",
            )
            else frozenset({A, C})
        )
        for update in PERSON_ACTIONS
        for method in ("GET", "POST")
    },
    ("GET", "/partnerships/{partnership_id}/mine"): frozenset({A, C, G}),
    ("GET", "/partnerships/{partnership_id}/review"): frozenset({A, C, OPS}),
    ("GET", "/partnerships/{partnership_id}/meetings/{number}"): frozenset({A, C, OPS}),
    ("GET", "/partnerships/new"): frozenset({A, C}),
    # A partner's link is its own credential (tests/api/test_partner_links.py).
    ("GET", "/partner/{token}"): PUBLIC,
    ("POST", "/partner/{token}"): PUBLIC,
    # So is an agency's link in a referral notice (tests/api/test_leg_links.py).
    ("GET", "/leg/{token}"): PUBLIC,
    ("POST", "/leg/{token}"): PUBLIC,
    ("POST", "/partnerships/new"): frozenset({A, C}),
    ("GET", "/refer"): frozenset({A, C, R, G}),
    ("POST", "/refer/new"): frozenset({A, C, R, G}),
    **{
        (method, f"/refer/{step}"): frozenset({A, C, R, G})
        for step in ("resident", "needs", "needs/details", "consent", "told", "check")
        for method in ("GET", "POST")
    },
    ("GET", "/refer/done"): frozenset({A, C, R, G}),
    ("GET", "/refer/same-resident"): frozenset({A, C, R, G}),
    ("POST", "/refer/same-resident"): frozenset({A, C, R, G}),
    ("GET", "/refer/mine"): frozenset({A, C, R, G}),
    ("GET", "/refer/app"): frozenset({A, C, R, G}),
    ("GET", "/refer/outreach"): frozenset({A, C, R, G}),
    ("POST", "/refer/outreach"): frozenset({A, C, R, G}),
    ("GET", "/refer/app/key"): frozenset({A, C, R, G}),
    ("POST", "/refer/app/send"): frozenset({A, C, R, G}),
    ("POST", "/refer/app/outreach"): frozenset({A, C, R, G}),
    ("GET", "/refer/sw.js"): PUBLIC,
    ("GET", "/refer/app.js"): PUBLIC,
    ("GET", "/refer/manifest.webmanifest"): PUBLIC,
    ("GET", "/refer/icon-192.png"): PUBLIC,
    ("GET", "/refer/icon-512.png"): PUBLIC,
    ("GET", "/refer/mine/{number}"): frozenset({A, C, R, G}),
    ("POST", "/refer/mine/{number}/follow-up"): frozenset({A, C, R}),
    ("POST", "/refer/mine/{number}/withdraw"): frozenset({A, C, R}),
    ("POST", "/refer/mine/{number}/withdraw-consent"): frozenset({A, C, R}),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "no-such-id", path)


def test_every_endpoint_and_page_has_a_row() -> None:
    declared_api = {(ep.method, ep.path) for ep in endpoints()}
    declared_pages = {(p.method, p.path) for p in pages()}
    assert declared_api == set(EXPECTED_API), "add each new endpoint to EXPECTED_API"
    assert declared_pages == set(EXPECTED_PAGES), "add each new page to EXPECTED_PAGES"


def test_public_in_the_table_means_public_in_the_code() -> None:
    for ep in endpoints():
        assert ep.public == (EXPECTED_API[(ep.method, ep.path)] == PUBLIC), ep.path
    for page in pages():
        assert page.public == (EXPECTED_PAGES[(page.method, page.path)] == PUBLIC), page.path


def test_every_protected_endpoint_and_page_names_its_action() -> None:
    assert [ep.path for ep in endpoints() if not ep.public and ep.action is None] == []
    assert [p.path for p in pages() if not p.public and p.action is None] == []


@pytest.mark.parametrize("role", list(Role))
async def test_api_allows_and_refuses_by_role(role: Role, api: TestClient, bearer: object) -> None:
    headers = await bearer(role, "cab" if role is Role.AGENCY else None)  # type: ignore[operator]
    wrong: list[str] = []
    for ep in endpoints():
        expected = EXPECTED_API[(ep.method, ep.path)]
        if expected == PUBLIC:
            continue
        resp = await api.request(ep.method, _concrete(ep.path), headers=headers)
        assert resp.status != 401, ep.path
        # Temporal is unreachable here: 503 is an honest answer, 500 never is.
        assert resp.status < 500 or resp.status == 503, (ep.path, await resp.text())
        allowed = role in expected
        if (resp.status == 403) == allowed:
            wrong.append(f"{ep.method} {ep.path}: {resp.status} for {role}")
    assert wrong == []


async def test_api_refuses_everything_protected_without_a_token(api: TestClient) -> None:
    for ep in endpoints():
        if EXPECTED_API[(ep.method, ep.path)] != PUBLIC:
            resp = await api.request(ep.method, _concrete(ep.path))
            assert resp.status == 401, ep.path


@pytest.mark.parametrize("role", list(Role))
async def test_pages_allow_and_refuse_by_role(
    role: Role, api: TestClient, sessions: Sessions
) -> None:
    await create_user(
        sessions,
        username=f"u-{role}",
        password="a long enough password",
        role=role,
        agency_id="cab" if role is Role.AGENCY else None,
    )
    signed = await sign_in(
        sessions, username=f"u-{role}", password="a long enough password", remote="t"
    )
    assert signed is not None
    cookie, user = signed
    wrong: list[str] = []
    # Signing out ends the session the other pages need: do it last.
    for page in sorted(pages(), key=lambda p: p.path == "/logout"):
        expected = EXPECTED_PAGES[(page.method, page.path)]
        if expected == PUBLIC:
            continue
        data = {"csrf_token": user.csrf_token} if page.method == "POST" else None
        resp = await api.request(
            page.method,
            _concrete(page.path),
            cookies={SESSION_COOKIE: cookie},
            data=data,
            allow_redirects=False,
        )
        assert resp.status < 500, (page.path, await resp.text())
        allowed = role in expected
        if (resp.status == 403) == allowed:
            wrong.append(f"{page.method} {page.path}: {resp.status} for {role}")
    assert wrong == []
