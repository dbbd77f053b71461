"""Crypto-shredding: after each kind of erasure no history of the referral reveals what was
erased, through the codec endpoint (admin or operations) or without it, and the erased
history still replays.

Each referral's personal and free-text values are sealed with its own data key; erasure
destroys the key, so the sealed values come back as ``[erased]``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer

from activities.retention import Retention
from api.app import create_app
from api.web.pages import WebConfig
from domain.access import Role
from domain.referral import (
    ACCEPT_UPDATE,
    DECLINE_UPDATE,
    RECORD_OUTCOME_UPDATE,
    WITHDRAW_UPDATE,
    AgencyAction,
    Decline,
    Need,
    Outcome,
    OutcomeCode,
    RecordOutcome,
    ReferralStatus,
    ReferralView,
    Withdrawal,
)
from domain.retention import RetentionBatch
from domain.signed_link import TRACK_PURPOSE, sign_link
from store.audit import read_audit
from store.db import Sessions
from tests.conftest import StaticTemporal
from tests.helpers.find_site import LINK_KEYS, find_config
from tests.helpers.referral_world import World, open_world, submission
from tests.helpers.sinks import SmtpSink, WebhookSink
from workers.codec import EncryptionCodec, Keyring, encrypted_converter
from workers.data_keys import DataKeys
from workers.personal_seal import ERASED, PERSONAL, PayloadSeal, PersonalSeal
from workflows.referral import ReferralWorkflow
from workflows.referral_leg import ReferralLegWorkflow

Bearer = Callable[..., Awaitable[dict[str, str]]]
NOTES = "Zephyrine-notes-5511"
DECLINE = "Zephyrine-decline-5512"
WITHDRAW = "Zephyrine-withdraw-5513"
OUTCOME_NOTE = "Zephyrine-outcome-5514"
EVERY = (NOTES, DECLINE, WITHDRAW, OUTCOME_NOTE)


@pytest_asyncio.fixture
async def sealed(
    time_skipping_env: WorkflowEnvironment,
    sessions: Sessions,
    smtp_sink: SmtpSink,
    webhook_sink: WebhookSink,
) -> AsyncIterator[tuple[World, PayloadSeal]]:
    """A referral world whose client seals payloads with data keys, as every process does."""
    keyring = Keyring.parse(Keyring.new_spec())
    codec = PayloadSeal(
        EncryptionCodec(keyring), PersonalSeal(DataKeys(sessions, keyring, cache_seconds=0))
    )
    client = Client(
        time_skipping_env.client.service_client,
        namespace=time_skipping_env.client.namespace,
        data_converter=encrypted_converter(codec),
    )
    async with open_world(client, sessions, smtp_sink, webhook_sink) as world:
        yield world, codec


async def _declined_then_accepted(world: World) -> str:
    """A referral whose CAB leg was declined with free text and whose charity leg accepted and
    recorded an outcome with a note."""
    handle = await world.submit(submission(Need(category="benefits_debt", notes=NOTES)))
    view = await world.until(handle, lambda v: len(v.legs) == 1)
    cab = world.client.get_workflow_handle(view.legs[0].leg_id)
    await cab.execute_update(
        DECLINE_UPDATE, Decline(agency_id="cab", actor="cab-user", reason=DECLINE)
    )
    view = await world.until(handle, lambda v: len(v.legs) == 2)
    charity = world.client.get_workflow_handle(view.legs[1].leg_id)
    await charity.execute_update(
        ACCEPT_UPDATE, AgencyAction(agency_id="charity", actor="charity-user")
    )
    await charity.execute_update(
        RECORD_OUTCOME_UPDATE,
        RecordOutcome(
            agency_id="charity",
            actor="charity-user",
            outcome=Outcome(code=OutcomeCode.GOT_HELP, note=OUTCOME_NOTE),
        ),
    )
    return handle.id


async def _histories(world: World, number: str) -> list[WorkflowHistory]:
    """The referral's history and every leg's, fetched without any codec (as the CLI shows)."""
    plain = world.client.service_client
    raw = Client(plain, namespace=world.client.namespace)
    view = await world.state(world.client.get_workflow_handle(number))
    ids = [number, *(leg.leg_id for leg in view.legs)]
    return [await raw.get_workflow_handle(i).fetch_history() for i in ids]


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


async def _decode_everything(
    api: TestClient[Any, Any], histories: list[WorkflowHistory], headers: dict[str, str]
) -> str:
    """Every payload of ``histories`` decoded through the codec endpoint, as one text."""
    texts = []
    for history in histories:
        payloads = _payloads(json.loads(history.to_json()))
        resp = await api.post("/codec/decode", json={"payloads": payloads}, headers=headers)
        assert resp.status == 200, await resp.text()
        texts += [base64.b64decode(p["data"]).decode() for p in (await resp.json())["payloads"]]
    return "\n".join(texts)


def _codec_app(world: World, codec: PayloadSeal) -> TestClient[Any, Any]:
    app = create_app(
        sessions=world.sessions,
        temporal=StaticTemporal(world.client),
        task_queue=world.task_queue,
        codec=codec,
        find_config=find_config(),
        web_config=WebConfig(secure_cookies=False),
    )
    return TestClient(TestServer(app))


async def _erase(
    kind: str, world: World, api: TestClient[Any, Any], number: str, bearer: Bearer
) -> None:
    coordinator = await bearer(Role.COORDINATOR)
    handle = world.client.get_workflow_handle(number, result_type=ReferralView)
    if kind == "consent withdrawn":
        resp = await api.post(
            f"/api/referrals/{number}/withdraw-consent",
            json={"reason": WITHDRAW},
            headers=coordinator,
        )
        assert resp.status == 200, await resp.text()
        assert (await handle.result()).status is ReferralStatus.CONSENT_WITHDRAWN
        return
    if kind == "consent withdrawn on the tracking page":
        # As the resident does it: the link from their email, the question, then the answer.
        token = sign_link(
            LINK_KEYS,
            number,
            purpose=TRACK_PURPOSE,
            expires=datetime.now(UTC) + timedelta(days=180),
        )
        question = await api.get(f"/find/track/{token}/withdraw")
        assert question.status == 200, await question.text()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', await question.text())
        assert csrf is not None
        resp = await api.post(
            f"/find/track/{token}/withdraw",
            data={"csrf_token": csrf.group(1)},
            allow_redirects=False,
        )
        assert resp.status == 303, await resp.text()
        assert (await handle.result()).status is ReferralStatus.CONSENT_WITHDRAWN
        return
    await handle.execute_update(WITHDRAW_UPDATE, Withdrawal(actor="reach-out-1", reason=WITHDRAW))
    await handle.result()
    if kind == "erasure request":
        resp = await api.post(
            f"/api/referrals/{number}/erasure",
            json={"reason": "subject access erasure"},
            headers=coordinator,
        )
        assert resp.status == 200, await resp.text()
    else:
        result = await ActivityEnvironment().run(
            Retention(world.sessions).anonymise_closed_referrals,
            RetentionBatch(
                closed_before=datetime.now(UTC) + timedelta(days=3650), limit=10, run_id="t"
            ),
        )
        assert number in result.anonymised


async def test_no_erased_value_survives_in_any_history_after_each_kind_of_erasure(
    sealed: tuple[World, PayloadSeal], bearer: Bearer
) -> None:
    world, codec = sealed
    admin, ops = await bearer(Role.ADMIN), await bearer(Role.OPERATIONS)
    for kind in (
        "consent withdrawn",
        "consent withdrawn on the tracking page",
        "erasure request",
        "retention",
    ):
        number = await _declined_then_accepted(world)
        async with _codec_app(world, codec) as api:
            before = await _histories(world, number)
            # Before erasure: admins read the free text, operations staff only markers.
            shown_to_admin = await _decode_everything(api, before, admin)
            assert DECLINE in shown_to_admin
            assert OUTCOME_NOTE in shown_to_admin
            shown_to_ops = await _decode_everything(api, before, ops)
            assert DECLINE not in shown_to_ops
            assert OUTCOME_NOTE not in shown_to_ops
            assert PERSONAL in shown_to_ops
            await _erase(kind, world, api, number, bearer)
            after = await _histories(world, number)
            for headers in (admin, ops):
                decoded = await _decode_everything(api, after, headers)
                for text in EVERY:
                    assert text not in decoded, (kind, text)
            assert ERASED in await _decode_everything(api, after, admin)
        raw = "\n".join(h.to_json() for h in after)
        for text in EVERY:
            assert text not in raw, (kind, text)
        # Workflow code does not need what was erased to replay the histories.
        replayer = Replayer(
            workflows=[ReferralWorkflow, ReferralLegWorkflow],
            data_converter=encrypted_converter(codec),
        )
        for history in after:
            await replayer.replay_workflow(history)
    # Every decode of payloads carrying sealed values is in the audit trail, with the referral.
    _, events = await read_audit(world.sessions, limit=1000)
    actions = {e.action for e in events}
    assert {"decode_personal_payload", "decode_sealed_payload"} <= actions
    assert any("referral=" in e.path for e in events if e.action == "decode_personal_payload")
