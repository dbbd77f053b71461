"""No personal data is readable in workflow history without the codec; staff decode via the API."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from domain.access import Role
from store.db import Sessions
from tests.conftest import StaticTemporal
from tests.helpers.resident_letter import Resident, ResidentLetter, greet
from workers.codec import EncryptionCodec, Keyring, encrypted_converter

pytestmark = pytest.mark.e2e

NAME, ADDRESS, POSTCODE = "Edna Pettigrew", "14 Marine Parade East", "CO15 6JQ"


@dataclass
class Encrypted:
    client: Client
    codec: EncryptionCodec


@pytest.fixture
def encrypted(dev_env: WorkflowEnvironment) -> Encrypted:
    codec = EncryptionCodec(Keyring.parse(Keyring.new_spec()))
    client = Client(
        dev_env.client.service_client,
        namespace=dev_env.client.namespace,
        data_converter=encrypted_converter(codec),
    )
    return Encrypted(client, codec)


async def _run_letter(encrypted: Encrypted) -> str:
    queue = f"q-{uuid.uuid4()}"
    async with Worker(
        encrypted.client, task_queue=queue, workflows=[ResidentLetter], activities=[greet]
    ):
        handle = await encrypted.client.start_workflow(
            ResidentLetter.run,
            Resident(name=NAME, address=ADDRESS, postcode=POSTCODE),
            id=f"letter-{uuid.uuid4()}",
            task_queue=queue,
        )
        assert await handle.result() == f"Dear {NAME}, of {ADDRESS}"
    return handle.id


async def test_history_holds_no_personal_data_in_clear(
    encrypted: Encrypted, dev_env: WorkflowEnvironment
) -> None:
    workflow_id = await _run_letter(encrypted)
    # Fetched by a client without the codec: exactly what `temporal workflow show` sees.
    raw = (await dev_env.client.get_workflow_handle(workflow_id).fetch_history()).to_json()
    for secret in (NAME, ADDRESS, POSTCODE):
        assert secret not in raw
    assert (
        "binary/encrypted"
        in base64.b64decode(next(iter(_payloads(raw)))["metadata"]["encoding"]).decode()
    )


async def test_codec_endpoint_decodes_for_staff_only(
    encrypted: Encrypted,
    dev_env: WorkflowEnvironment,
    sessions: Sessions,
    bearer: Callable[..., Awaitable[dict[str, str]]],
) -> None:
    workflow_id = await _run_letter(encrypted)
    raw = (await dev_env.client.get_workflow_handle(workflow_id).fetch_history()).to_json()
    payload = next(iter(_payloads(raw)))
    ui = "http://127.0.0.1:8233"
    app = create_app(
        sessions=sessions,
        temporal=StaticTemporal(encrypted.client),
        task_queue="q",
        codec=encrypted.codec,
        cors_origins=[ui],
    )
    async with TestClient(TestServer(app)) as api:
        body = {"payloads": [payload]}
        ok = await api.post(
            "/codec/decode",
            json=body,
            headers={**await bearer(Role.OPERATIONS), "Origin": ui, "X-Namespace": "default"},
        )
        assert ok.status == 200
        assert ok.headers["Access-Control-Allow-Origin"] == ui
        decoded = base64.b64decode((await ok.json())["payloads"][0]["data"]).decode()
        assert NAME in decoded

        denied = await api.post(
            "/codec/decode", json=body, headers=await bearer(Role.AGENCY, "cab")
        )
        assert denied.status == 403
        assert (await api.post("/codec/decode", json=body)).status == 401

        preflight = await api.options(
            "/codec/decode", headers={"Origin": ui, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status == 204
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
        stranger = await api.options("/codec/decode", headers={"Origin": "https://evil.example"})
        assert stranger.status == 403


def _payloads(history_json: str) -> list[dict[str, dict[str, str]]]:
    """Every payload object in a JSON history, in order."""
    found: list[dict[str, dict[str, str]]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "metadata" in node and "data" in node and "encoding" in node["metadata"]:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history_json))
    return found
