"""The one place that builds a Temporal client."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.service import TLSConfig

from workers.codec import EncryptionCodec, encrypted_converter, keyring_from_settings
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


def payload_codec(settings: Settings) -> EncryptionCodec:
    """The payload codec every client and the codec endpoint share."""
    return EncryptionCodec(keyring_from_settings(settings))


async def connect(settings: Settings, codec: EncryptionCodec | None = None) -> Client:
    """Connect with the pydantic data converter, payload encryption and the configured TLS."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=encrypted_converter(codec or payload_codec(settings)),
        tls=_tls(settings),
        api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
    )


class LazyTemporal:
    """Connects on first use and keeps the client; lets the API start before Temporal answers."""

    def __init__(
        self, settings: Settings, codec: EncryptionCodec, client: Client | None = None
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
