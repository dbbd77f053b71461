"""One referral through `partnerflow up` as a new user runs it: only ciphertext in history."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from temporalio.client import Client

from tests.helpers.stack import Stack

pytestmark = pytest.mark.e2e

NAME, ADDRESS, POSTCODE = "Edna Pettigrew", "14 Marine Parade East, Clacton", "CO15 6JQ"
SUBMISSION = {
    "source": "reach_out",
    "ward": "pier",
    "resident": {
        "name": NAME,
        "date_of_birth": "1951-03-14",
        "address": ADDRESS,
        "postcode": POSTCODE,
    },
    "needs": [
        {"category": "benefits_debt", "urgency": "urgent", "notes": "Rent arrears since May"}
    ],
    "consent": {
        "agency_ids": ["tdc-housing"],
        "given_at": "2026-11-23T10:00:00Z",
        "method": "verbal",
    },
    "referrer": {"name": "Sam (Reach Out)", "email": "sam@reachout.example"},
}


async def _token(http: aiohttp.ClientSession, admin: str, body: dict[str, Any]) -> dict[str, str]:
    async with http.post(
        "/api/tokens", json=body, headers={"Authorization": f"Bearer {admin}"}
    ) as resp:
        assert resp.status == 201, await resp.text()
        return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def test_referral_through_up_leaves_only_ciphertext_in_history(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path / "var")
    process = stack.start()
    try:
        stack.wait_ready(process)
        admin = stack.admin_token()
        assert admin
        async with aiohttp.ClientSession(stack.api) as http:
            referrer = await _token(http, admin, {"subject": "reach-out-1", "role": "referrer"})
            agency = await _token(
                http,
                admin,
                {"subject": "tdc-intake", "role": "agency", "agency_id": "tdc-housing"},
            )
            async with http.post("/api/referrals", json=SUBMISSION, headers=referrer) as resp:
                assert resp.status == 201, await resp.text()
                number = (await resp.json())["number"]
                submitted_by_request = resp.headers["X-Request-Id"]
            leg = f"{number}-L1"
            async with asyncio.timeout(30):
                while True:
                    async with http.get("/api/agencies/tdc-housing/worklist", headers=agency) as r:
                        if leg in {i["leg_id"] for i in (await r.json())["items"]}:
                            break
                    await asyncio.sleep(0.2)
            async with http.post(f"/api/legs/{leg}/accept", headers=agency) as resp:
                assert resp.status == 200, await resp.text()
                accepted_by_request = resp.headers["X-Request-Id"]
            outcome = {"code": "got_help", "value": 1240, "unit": "GBP"}
            async with http.post(f"/api/legs/{leg}/outcome", json=outcome, headers=agency) as resp:
                assert resp.status == 200, await resp.text()
                assert (await resp.json())["state"] == "outcome_recorded"
        # What `temporal workflow show` sees: a client without the codec.
        plain = await Client.connect(stack.env["PARTNERFLOW_TEMPORAL_ADDRESS"])
        raw = "\n".join(
            [(await plain.get_workflow_handle(w).fetch_history()).to_json() for w in (number, leg)]
        )
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert "YmluYXJ5L2VuY3J5cHRlZA" in raw  # base64 of binary/encrypted
    for secret in (NAME, ADDRESS, POSTCODE, "Rent arrears since May"):
        assert secret not in raw, secret
    mail = " ".join(p.read_text() for p in (tmp_path / "var" / "mail").glob("*.eml"))
    assert number in mail  # the agency was told, by email...
    assert NAME not in mail  # ...with no personal data: the details are behind the link

    # JSON logs tie each API request to the workflow it drove, and activities to workflows.
    logs = [json.loads(line) for line in stack.out.read_text().splitlines() if line.startswith("{")]
    pairs = {(e.get("request_id"), e.get("workflow_id"), e.get("event")) for e in logs}
    assert (submitted_by_request, number, "referral submitted") in pairs
    assert (accepted_by_request, leg, "update sent") in pairs
    assert any(e.get("workflow_id") == leg and e.get("activity") for e in logs)
    assert not any(NAME in line for line in stack.out.read_text().splitlines())
