"""Referrals with and without per-referral data keys, in the same run.

Both halves run the referrals of `bench/referrals.py` (submit → accept → outcome, notices
sent) through the master-key payload codec; one half also seals each referral's personal and
free-text values with the referral's own data key (read through the key cache). The halves
alternate (without, with, with, without) so drift in the shared machine's load falls on both.
Target: the referrals with data keys take at most 5 % longer.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import WorkflowSerializationContext
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.common import AGENCY, bench_stack, dev_server, report, submission
from bench.referrals import (
    CONCURRENCY,
    N,
    _notices_sent,
    _timed,
    _until_notices_sent,
    _update_when_ready,
)
from clients.temporal import start_referral
from domain.referral import (
    AgencyAction,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    leg_id,
    referral_input,
)
from store.db import Sessions, create_engine, sessionmaker
from store.referrals import next_referral_number, save_referral
from workers.codec import encrypted_converter
from workers.personal_seal import PayloadSeal
from workers.settings import Settings
from workers.temporal import payload_codec
from workers.worker import WORKFLOWS, activities, workflow_runner
from workflows.referral_leg import ReferralLegWorkflow


async def _referral(
    client: Client, codec: PayloadSeal, sessions: Sessions, queue: str, prefix: str, i: int
) -> None:
    """One referral as `bench/referrals.py` runs it, stored with its data key as the API does."""
    sub = submission(i)
    number = await next_referral_number(sessions, prefix, 2026)
    now = datetime.now(UTC)
    await save_referral(
        sessions,
        number,
        sub,
        submitted_by="bench",
        at=now,
        data_key=codec.new_data_key(number),
    )
    await start_referral(
        client,
        referral_input(number, sub, submitted_by="bench", today=now.date()),
        task_queue=queue,
        since=now,
    )
    leg = leg_id(number, 1)
    action = AgencyAction(agency_id=AGENCY, actor="bench-agency")
    await _update_when_ready(client, leg, ReferralLegWorkflow.accept, action)
    outcome = RecordOutcome(
        **action.model_dump(), outcome=Outcome(code=OutcomeCode.GOT_HELP, value=100, unit="GBP")
    )
    await _update_when_ready(client, leg, ReferralLegWorkflow.record_outcome, outcome)


async def _half(
    env: WorkflowEnvironment, sessions: Sessions, settings: Settings, keys: bool, prefix: str
) -> float:
    """Seconds for N referrals through a client whose codec seals with data keys, or not."""
    # As the worker and API processes do: the data keys read through an engine of their own.
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    engine = create_engine(url) if keys else None
    codec = payload_codec(settings, sessionmaker(engine) if engine else None)
    client = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=encrypted_converter(codec),
    )
    queue = f"bench-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=activities(settings, sessions),
        max_concurrent_activities=CONCURRENCY * 4,
        workflow_runner=workflow_runner(settings),
    ):
        before = await _notices_sent(sessions)
        await _referral(client, codec, sessions, queue, f"W{prefix}", 0)
        await _until_notices_sent(sessions, before + 1)
        await asyncio.sleep(0.5)
        per_referral = await _notices_sent(sessions) - before
        start = await _notices_sent(sessions)
        try:
            return await _timed(
                N,
                lambda i: _referral(client, codec, sessions, queue, prefix, i),
                lambda: _until_notices_sent(sessions, start + per_referral * N),
            )
        finally:
            if engine is not None:
                await engine.dispose()


async def _per_payload(sessions: Sessions, settings: Settings, keys: bool) -> float:
    """Microseconds to encode and decode one declined leg's view (free text in it)."""
    codec = payload_codec(settings, sessions if keys else None).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="PAYLOAD-2026-000001-L1")
    )
    view = {
        "leg_id": "PAYLOAD-2026-000001-L1",
        "state": "declined",
        "decline_reason": "The resident is already a client of ours; we have called her.",
        "events": [{"kind": "declined", "detail": "already a client", "actor": "cab-1"}],
        "route_reason": "CAB debt advice: serves Pier ward, has capacity",
    }
    payload = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(view).encode())
    await codec.decode(await codec.encode([payload]))  # the data key made and cached
    rounds = 2000
    started = time.perf_counter()
    for _ in range(rounds):
        await codec.decode(await codec.encode([payload]))
    return (time.perf_counter() - started) / rounds * 1e6


async def main() -> bool:
    """Run the halves and print the ratio of their times."""
    async with bench_stack() as (sessions, settings), dev_server() as env:
        without = await _half(env, sessions, settings, False, "PLAINA")
        with_keys = await _half(env, sessions, settings, True, "KEYSA")
        with_keys += await _half(env, sessions, settings, True, "KEYSB")
        without += await _half(env, sessions, settings, False, "PLAINB")
        master_us = await _per_payload(sessions, settings, False)
        sealed_us = await _per_payload(sessions, settings, True)
    return report(
        f"{2 * N} referrals with per-referral data keys next to {2 * N} without (dev server)",
        {
            "referrals, master key only": f"{2 * N / without:.1f}/s ({without:.1f} s)",
            "referrals, data keys too": f"{2 * N / with_keys:.1f}/s ({with_keys:.1f} s)",
            "data key cache (seconds)": f"{settings.data_key_cache_seconds:g}",
            "one declined leg's view encoded and decoded, master key only | data key too": (
                f"{master_us:.0f} µs | {sealed_us:.0f} µs"
            ),
            "concurrency": str(CONCURRENCY),
        },
        {"time with data keys / time without": (with_keys / without, "<= 1.05")},
    )


if __name__ == "__main__":
    asyncio.run(main())
