import csv
import io
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.access import Role
from store.db import Sessions
from store.tokens import issue_token

Bearer = Callable[..., Awaitable[dict[str, str]]]


async def test_every_authenticated_request_is_recorded(
    api: TestClient, bearer: Bearer, sessions: Sessions
) -> None:
    agency = await bearer(Role.AGENCY, "tendring-cab")
    admin = await bearer(Role.ADMIN)
    await api.get("/api/me", headers={**agency, "X-Request-Id": "req-123"})
    await api.post("/api/tokens", json={"subject": "x", "role": "admin"}, headers=agency)  # 403
    await api.get("/api/me")  # 401, no subject
    await api.get("/healthz")  # public: not audited

    resp = await api.get("/api/audit", params={"subject": "test-agency"}, headers=admin)
    assert resp.status == 200
    page = await resp.json()
    assert page["total"] == 2
    denied, read = page["items"]  # newest first
    assert (read["action"], read["status"], read["request_id"]) == ("whoami", 200, "req-123")
    assert (read["role"], read["agency_id"], read["remote"]) == (
        "agency",
        "tendring-cab",
        "127.0.0.1",
    )
    assert (denied["action"], denied["status"]) == ("create_token", 403)

    everything = await (await api.get("/api/audit", headers=admin)).json()
    assert {(i["action"], i["status"], i["subject"]) for i in everything["items"]} >= {
        ("whoami", 401, None)
    }


async def test_audit_exports_csv_for_admins_only(api: TestClient, bearer: Bearer) -> None:
    admin = await bearer(Role.ADMIN)
    await api.get("/api/me", headers=admin)
    resp = await api.get("/api/audit.csv", headers=admin)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert rows[0]["action"] == "whoami"
    assert rows[0]["subject"] == "test-admin"
    assert (await api.get("/api/audit.csv", headers=await bearer(Role.OPERATIONS))).status == 403


async def test_audit_csv_writes_a_formula_like_subject_as_text(
    api: TestClient, bearer: Bearer, sessions: Sessions
) -> None:
    subject = '=HYPERLINK("http://evil.example","x")'
    _, token = await issue_token(sessions, subject=subject, role=Role.ADMIN)
    await api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    await api.get("/api/me?-2+3", headers={"Authorization": f"Bearer {token}"})
    resp = await api.get("/api/audit.csv", headers=await bearer(Role.ADMIN))
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    mine = [r for r in rows if r["subject"].endswith(subject)]
    assert len(mine) == 2
    assert all(r["subject"] == "'" + subject for r in mine)
    cells = [cell for r in rows for cell in r.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


async def test_audit_trail_is_append_only(
    api: TestClient, bearer: Bearer, sessions: Sessions
) -> None:
    await api.get("/api/me", headers=await bearer(Role.ADMIN))
    async with sessions() as session:
        for statement in ("UPDATE audit_events SET subject = 'nobody'", "DELETE FROM audit_events"):
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()


async def test_responses_carry_request_id_and_security_headers(api: TestClient) -> None:
    resp = await api.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert len(resp.headers["X-Request-Id"]) == 32  # replaced, not echoed
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
