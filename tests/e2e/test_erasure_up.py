"""After a resident withdraws consent through `partnerflow up`, as an auditor would check it:
every payload of every history of the referral, decoded through the codec endpoint with an
admin's and an operations token, and the Temporal database file itself, hold none of the
free text the test wrote."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.e2e.test_referral_up import SUBMISSION, _token
from tests.helpers.stack import Stack

pytestmark = pytest.mark.e2e

NOTES = "Ottoline-notes-9041"
DECLINE = "Ottoline-decline-9042"
WITHDRAW = "Ottoline-withdraw-9043"
EVERY = (NOTES, DECLINE, WITHDRAW, "Edna Pettigrew")


def _payloads(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "metadata" in node and "data" in node and "encoding" in node["metadata"]:
            found.append(node)
        for value in node.values():
            found += _payloads(value)
    elif isinstance(node, list):
        for value in node:
            found += _payloads(value)
    return found


async def _decoded(http: aiohttp.ClientSession, histories: list[str], auth: dict[str, str]) -> str:
    texts = []
    for history in histories:
        body = {"payloads": _payloads(json.loads(history))}
        async with http.post("/codec/decode", json=body, headers=auth) as resp:
            assert resp.status == 200, await resp.text()
            texts += [base64.b64decode(p["data"]).decode() for p in (await resp.json())["payloads"]]
    return "\n".join(texts)


async def test_consent_withdrawn_leaves_nothing_readable_in_temporal(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path / "var")
    process = stack.start()
    try:
        stack.wait_ready(process)
        admin_token = stack.admin_token()
        assert admin_token
        admin = {"Authorization": f"Bearer {admin_token}"}
        async with aiohttp.ClientSession(stack.api) as http:
            referrer = await _token(http, admin_token, {"subject": "ro-1", "role": "referrer"})
            ops = await _token(http, admin_token, {"subject": "ops-1", "role": "operations"})
            agency = await _token(
                http,
                admin_token,
                {"subject": "tdc-intake", "role": "agency", "agency_id": "tdc-housing"},
            )
            submission = json.loads(json.dumps(SUBMISSION))
            submission["needs"][0]["notes"] = NOTES
            async with http.post("/api/referrals", json=submission, headers=referrer) as resp:
                assert resp.status == 201, await resp.text()
                number = (await resp.json())["number"]
            leg = f"{number}-L1"
            async with asyncio.timeout(30):
                while True:
                    async with http.get("/api/agencies/tdc-housing/worklist", headers=agency) as r:
                        if leg in {i["leg_id"] for i in (await r.json())["items"]}:
                            break
                    await asyncio.sleep(0.2)
            declined = {"reason": DECLINE}
            async with http.post(f"/api/legs/{leg}/decline", json=declined, headers=agency) as r:
                assert r.status == 200, await r.text()
            withdrawal = {"reason": WITHDRAW}
            path = f"/api/referrals/{number}/withdraw-consent"
            async with http.post(path, json=withdrawal, headers=referrer) as resp:
                assert resp.status == 200, await resp.text()
            plain = await Client.connect(stack.env["PARTNERFLOW_TEMPORAL_ADDRESS"])
            # The plain client cannot read the result, only see that the workflow ended.
            async with asyncio.timeout(30):
                handle = plain.get_workflow_handle(number)
                while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            async with http.get(f"/api/referrals/{number}", headers=admin) as resp:
                legs = [item["leg_id"] for item in (await resp.json())["legs"]]
            histories = [
                (await plain.get_workflow_handle(w).fetch_history()).to_json()
                for w in (number, *legs)
            ]
            shown = {
                "admin": await _decoded(http, histories, admin),
                "operations": await _decoded(http, histories, ops),
            }
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert "[erased]" in shown["admin"]
    for who, text in shown.items():
        for secret in EVERY:
            assert secret not in text, (who, secret)
    files = [p for p in stack.var_dir.glob("temporal.db*") if p.is_file()]
    assert files
    for secret in EVERY:
        assert not any(secret.encode() in p.read_bytes() for p in files), secret
