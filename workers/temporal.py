"""The one place that builds a Temporal client."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from store.db import Sessions, create_engine
from workers.codec import EncryptionCodec, encrypted_converter, keyring_from_settings
from workers.data_keys import DataKeys
from workers.personal_seal import PayloadSeal, PersonalSeal
from workers.settings import Settings


def _tls(settings: Settings) -> TLSConfig | bool:
    if not settings.temporal_tls:
        return False
    return TLSConfig(
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes()
        if settings.temporal_tls_ca
        else None,
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes()
        if settings.temporal_tls_key
        else None,
    )


def payload_codec(settings: Settings, sessions: Sessions | None = None) -> PayloadSeal:
    """The payload codec every client and the codec endpoint share.

    With ``sessions`` (the app database, where the data keys are) a referral's personal values
    are sealed with its own data key too; without, only with the master key. Give the codec
    sessions of its own engine (:func:`data_key_engine`): on SQLite a process has one
    connection, and a workflow task must not wait behind every activity's writes to read a key.
    """
    keyring = keyring_from_settings(settings)
    personal = None
    if sessions is not None:
        keys = DataKeys(sessions, keyring, cache_seconds=settings.data_key_cache_seconds)
        personal = PersonalSeal(keys)
    return PayloadSeal(EncryptionCodec(keyring), personal)


def data_key_engine(settings: Settings) -> AsyncEngine:
    """An engine of the app database for the codec's data key reads alone."""
    return create_engine(settings.resolved_database_url)


_runtimes: dict[str, Runtime] = {}


def metrics_runtime(address: str) -> Runtime:
    """A runtime serving SDK metrics to Prometheus at ``address`` (one per process, address)."""
    if address not in _runtimes:
        _runtimes[address] = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=address, durations_as_seconds=True),
                global_tags={"service": "partnerflow"},
            )
        )
    return _runtimes[address]


async def connect(
    settings: Settings, codec: PayloadSeal | None = None, *, worker: bool = False
) -> Client:
    """Connect with the pydantic data converter, payload encryption and the configured TLS.

    A ``worker`` client exports the SDK's metrics when ``worker_metrics_address`` is set.
    """
    runtime = None
    if worker and settings.worker_metrics_address:
        runtime = metrics_runtime(settings.worker_metrics_address)
    return await Client.connect(
        settings.temporal_address,
        runtime=runtime,
        namespace=settings.temporal_namespace,
        data_converter=encrypted_converter(codec or payload_codec(settings)),
        tls=_tls(settings),
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
    )


class LazyTemporal:
    """Connects on first use and keeps the client; lets the API start before Temporal answers."""

    def __init__(
        self, settings: Settings, codec: PayloadSeal, client: Client | None = None
    ) -> None:
        self._settings = settings
        self._codec = codec
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The shared client, connecting now if need be."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self._settings, self._codec)
        return self._client
