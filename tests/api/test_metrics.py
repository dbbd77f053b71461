"""Prometheus metrics: latency per route template, and figures read from the store."""

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from domain.partnership import Stage
from domain.partnership_schedule import PartnershipSummary
from store.db import Sessions
from store.partnerships import save_partnership
from store.schema import NotificationFailure, NotificationRecord, ReferralNeedRow, ReferralRow


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_requests_by_route_and_read_the_store(
    api: TestClient, sessions: Sessions
) -> None:
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        session.add_all(
            [
                NotificationRecord(
                    idempotency_key=f"k{i}", channel="email", recipient="x", sent_at=now
                )
                for i in range(3)
            ]
        )
        session.add(
            NotificationFailure(
                idempotency_key="f1",
                channel="webhook",
                recipient="https://cab.example/hook",
                attempts=4,
                last_error="HTTP 503",
                first_failed_at=now,
                last_failed_at=now,
                gave_up=False,
            )
        )
    before = samples(await (await api.get("/metrics")).text())
    for _ in range(2):
        assert (await api.get("/api/tokens/abc")).status == 405
        assert (await api.get("/api/me")).status == 401
    resp = await api.get("/metrics")
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    after = samples(await resp.text())

    me = ("method", "GET"), ("route", "/api/me"), ("status", "401")
    key = ("partnerflow_api_request_seconds_count", me)
    assert after[key] - before.get(key, 0) == 2
    # Raw paths never become labels: only declared route templates do.
    assert not any("abc" in str(labels) for _, labels in after)
    assert after[("partnerflow_notifications_delivered", (("channel", "email"),))] == 3
    assert after[("partnerflow_notifications_delivered", (("channel", "webhook"),))] == 0
    failing = (("channel", "webhook"), ("gave_up", "false"))
    assert after[("partnerflow_notifications_failing", failing)] == 1


def _referral(number: str, status: str, *, breached: bool, now: datetime) -> ReferralRow:
    return ReferralRow(
        number=number,
        source="front_desk",
        ward="Pier",
        status=status,
        urgency="routine",
        breached=breached,
        submitted_by="test",
        consent={},
        created_at=now,
        updated_at=now,
    )


async def test_metrics_count_referrals_breaches_unallocated_needs_and_partnerships(
    api: TestClient, sessions: Sessions
) -> None:
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        session.add_all(
            [
                _referral("R-1", "open", breached=True, now=now),
                _referral("R-2", "open", breached=False, now=now),
                # A breach on a closed referral is history, not a live SLA breach.
                _referral("R-3", "closed", breached=True, now=now),
                _referral("R-4", "unallocated", breached=False, now=now),
            ]
        )
        await session.flush()
        session.add(
            ReferralNeedRow(
                number="R-4",
                need_id="N1",
                category="housing",
                urgency="routine",
                state="unallocated",
            )
        )
    for pid, stage, overdue in (
        ("p-1", Stage.NEGOTIATE, False),
        ("p-2", Stage.IMPLEMENT, True),
        ("p-3", Stage.IMPLEMENT, False),
    ):
        await save_partnership(
            sessions,
            PartnershipSummary(
                id=pid,
                name=pid,
                parent_id=None,
                strategic=False,
                stage=stage,
                cycle=1,
                next_deadline=now + timedelta(days=1),
                overdue=overdue,
            ),
        )
    got = samples(await (await api.get("/metrics")).text())
    assert got[("partnerflow_referrals", (("status", "open"),))] == 2
    assert got[("partnerflow_referrals", (("status", "closed"),))] == 1
    assert got[("partnerflow_referrals", (("status", "withdrawn"),))] == 0
    assert got[("partnerflow_referrals_breached", ())] == 1
    assert got[("partnerflow_needs_unallocated", ())] == 1
    assert got[("partnerflow_partnerships", (("stage", "implement"),))] == 2
    assert got[("partnerflow_partnerships", (("stage", "negotiate"),))] == 1
    assert got[("partnerflow_partnerships", (("stage", "closed"),))] == 0
    assert got[("partnerflow_partnerships_overdue", ())] == 1
