"""Signed partner callbacks over HTTP against real referral workflows (time-skipping server)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from api.app import create_app
from domain.access import Role
from domain.referral import LegState
from domain.signature import SIGNATURE_HEADER, callback_secret, sign
from store.audit import read_audit
from store.db import Sessions
from store.schema import ReferralEventRow
from tests.conftest import UnreachableTemporal
from tests.helpers.referral_server import CALLBACK_MASTER, serve
from tests.helpers.referral_world import World, submission

Bearer = Callable[..., Awaitable[dict[str, str]]]


def signed(
    agency_id: str, payload: dict[str, Any], *, key: str | None = None, age: int = 0
) -> tuple[bytes, dict[str, str]]:
    """A callback body and its headers, signed with ``agency_id``'s secret ``age`` seconds ago."""
    body = json.dumps(payload).encode()
    secret = callback_secret(CALLBACK_MASTER, agency_id)
    return body, {
        SIGNATURE_HEADER: sign(secret, int(time.time()) - age, body),
        "Idempotency-Key": key or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }


async def _sent_leg(world: World) -> str:
    handle = await world.submit(submission())
    view = await world.until(handle, lambda v: any(leg.state is LegState.SENT for leg in v.legs))
    leg = view.legs[0]
    assert leg.agency_id == "cab"
    return leg.leg_id


async def _events(sessions: Sessions, leg_id: str, kind: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ReferralEventRow)
            .where(ReferralEventRow.leg_id == leg_id, ReferralEventRow.kind == kind)
        )
    return int(count or 0)


async def _leg_state(world: World, leg_id: str) -> LegState:
    view = await world.state(world.client.get_workflow_handle(leg_id.rsplit("-", 1)[0]))
    return next(leg.state for leg in view.legs if leg.leg_id == leg_id)


async def test_a_signed_callback_acts_once_and_only_for_its_own_agency(world: World) -> None:
    leg_id = await _sent_leg(world)
    accept = {"event": "leg.accepted", "leg_id": leg_id, "actor": "cab-caseworker-7"}
    async with serve(world) as api:
        # Another agency, signing with its own secret, cannot touch cab's leg.
        data, headers = signed("charity", accept)
        resp = await api.post("/api/callbacks/charity", data=data, headers=headers)
        assert resp.status == 404, await resp.text()
        # Cab's body, signed by cab but sent as another agency, fails the signature.
        data, headers = signed("cab", accept)
        resp = await api.post("/api/callbacks/charity", data=data, headers=headers)
        assert resp.status == 401
        assert "does not match" in (await resp.json())["error"]
        # Signed an hour ago: outside the replay window.
        data, headers = signed("cab", accept, age=3600)
        resp = await api.post("/api/callbacks/cab", data=data, headers=headers)
        assert resp.status == 401
        assert "replay window" in (await resp.json())["error"]
        # No signature at all.
        resp = await api.post("/api/callbacks/cab", data=data, headers={"Idempotency-Key": "x"})
        assert resp.status == 401
        assert SIGNATURE_HEADER in (await resp.json())["error"]
        assert await _leg_state(world, leg_id) is LegState.SENT

        # Signed by cab, fresh: accepted.
        data, headers = signed("cab", accept, key="cab-evt-1")
        resp = await api.post("/api/callbacks/cab", data=data, headers=headers)
        assert resp.status == 200, await resp.text()
        receipt = await resp.json()
        assert receipt["duplicate"] is False
        assert receipt["leg"]["state"] == "accepted"

        # The very same request again (a replay within the window): acknowledged, not acted.
        resp = await api.post("/api/callbacks/cab", data=data, headers=headers)
        assert resp.status == 200
        again = await resp.json()
        assert (again["duplicate"], again["first_status"], again["leg"]) == (True, 200, None)
        # The same key re-signed later (a partner's retry): still not acted on.
        data2, headers2 = signed("cab", accept, key="cab-evt-1")
        assert (await api.post("/api/callbacks/cab", data=data2, headers=headers2)).status == 200
        assert await _events(world.sessions, leg_id, "accepted") == 1

        # The same key for a different action is refused, not mistaken for a repeat.
        start = {"event": "leg.started", "leg_id": leg_id, "actor": "cab-caseworker-7"}
        data, headers = signed("cab", start, key="cab-evt-1")
        assert (await api.post("/api/callbacks/cab", data=data, headers=headers)).status == 422

        # A transition the leg refuses: 409 with the reason; nothing changes.
        close = {"event": "leg.closed", "leg_id": leg_id, "actor": "cab-caseworker-7"}
        close_data, close_headers = signed("cab", close, key="cab-evt-close")
        resp = await api.post("/api/callbacks/cab", data=close_data, headers=close_headers)
        assert resp.status == 409
        assert "accepted" in (await resp.json())["error"]
        assert await _leg_state(world, leg_id) is LegState.ACCEPTED

        # A signed but malformed body: 422, and its key is not used up.
        bad = {"event": "leg.declined", "leg_id": leg_id, "actor": "cab-caseworker-7"}
        data, headers = signed("cab", bad, key="cab-evt-2")
        assert (await api.post("/api/callbacks/cab", data=data, headers=headers)).status == 422
        # A signed body without an Idempotency-Key: 400.
        data, headers = signed("cab", start)
        del headers["Idempotency-Key"]
        assert (await api.post("/api/callbacks/cab", data=data, headers=headers)).status == 400

        # Started, then an outcome, by callback.
        data, headers = signed("cab", start, key="cab-evt-2")
        resp = await api.post("/api/callbacks/cab", data=data, headers=headers)
        assert (await resp.json())["leg"]["state"] == "in_progress", await resp.text()
        outcome = {
            "event": "leg.outcome_recorded",
            "leg_id": leg_id,
            "actor": "cab-caseworker-7",
            "outcome": {"code": "got_help", "value": 1240, "unit": "GBP"},
        }
        data, headers = signed("cab", outcome)
        resp = await api.post("/api/callbacks/cab", data=data, headers=headers)
        assert (await resp.json())["leg"]["state"] == "outcome_recorded", await resp.text()
        # The refused close did not use up its key: the partner's retry of it now acts.
        close_data, close_headers = signed("cab", close, key="cab-evt-close")
        resp = await api.post("/api/callbacks/cab", data=close_data, headers=close_headers)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["leg"]["state"] == "closed"

    _, trail = await read_audit(world.sessions, limit=100)
    mine = [e for e in trail if e.action == "partner_callback"]
    assert {(e.subject, e.role, e.agency_id) for e in mine if e.status == 200} == {
        ("callback:cab", "agency", "cab")
    }
    # Refused signatures are on the trail too, with no one behind them.
    assert {e.status for e in mine if e.subject is None} == {401}


async def test_admins_read_an_agencys_callback_secret(world: World, bearer: Bearer) -> None:
    async with serve(world) as api:
        admin = await bearer(Role.ADMIN)
        resp = await api.get("/api/callbacks/cab/secret", headers=admin)
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
        shown = await resp.json()
        assert shown["secret"] == callback_secret(CALLBACK_MASTER, "cab")
        assert shown["url_path"] == "/api/callbacks/cab"
        assert (await api.get("/api/callbacks/nobody/secret", headers=admin)).status == 404
        agency = await bearer(Role.AGENCY, "cab")
        assert (await api.get("/api/callbacks/cab/secret", headers=agency)).status == 403


async def test_callbacks_are_refused_when_no_secret_is_configured(api: TestClient) -> None:
    resp = await api.post("/api/callbacks/cab", data=b"{}", headers={SIGNATURE_HEADER: "t=1,v1=0"})
    assert resp.status == 401
    assert "not configured" in (await resp.json())["error"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"event":"leg.accepted"}',
        b'{"event":"leg.accepted","leg_id":7,"actor":"u"}',
        b'{"event":"leg.accepted","leg_id":"L1","actor":"' + b"u" * 500 + b'"}',
        b'{"event":"leg.outcome_recorded","leg_id":"L1","actor":"u","outcome":{"code":"won"}}',
        b'{"event":"leg.accepted","leg_id":"L1","actor":"u","extra":1}',
    ],
)
async def test_signed_bad_bodies_are_4xx_and_do_nothing(sessions: Sessions, raw: bytes) -> None:
    app = create_app(
        sessions=sessions,
        temporal=UnreachableTemporal(),
        task_queue="unused",
        callback_secrets=(CALLBACK_MASTER,),
    )
    headers = {
        SIGNATURE_HEADER: sign(callback_secret(CALLBACK_MASTER, "cab"), int(time.time()), raw),
        "Idempotency-Key": "k",
    }
    async with TestClient(TestServer(app)) as api:
        resp = await api.post("/api/callbacks/cab", data=raw, headers=headers)
        assert resp.status in (400, 422), await resp.text()
        # A well-formed callback for a leg nobody sent: 404, and the key stays free.
        good = b'{"event":"leg.accepted","leg_id":"L1","actor":"u"}'
        headers[SIGNATURE_HEADER] = sign(
            callback_secret(CALLBACK_MASTER, "cab"), int(time.time()), good
        )
        assert (await api.post("/api/callbacks/cab", data=good, headers=headers)).status == 404
        assert (await api.post("/api/callbacks/cab", data=good, headers=headers)).status == 404
