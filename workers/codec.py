"""Encryption of workflow payloads (AES-256-GCM), so personal data never lies in clear in history.

Every payload the SDK writes (workflow inputs, results, Update arguments, queries, activity
arguments) passes through this codec. Each encrypted payload names its key id in metadata,
so keys can be rotated: new payloads use the first (active) key, old ones still decode with
any key in the keyring. Search attributes and workflow ids are never encrypted, which is why
they must never carry personal data.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Sequence
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from workers.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12


class Keyring:
    """Named 256-bit keys; the first is the one new payloads are encrypted with."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("the keyring needs at least one key")
        for key_id, key in keys:
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes (256 bits), not {len(key)}")
        self.active_id = keys[0][0]
        self._keys: dict[str, AESGCM] = {key_id: AESGCM(key) for key_id, key in keys}

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Read ``id=base64key,...`` (first is active), as in PARTNERFLOW_ENCRYPTION_KEYS."""
        keys: list[tuple[str, bytes]] = []
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key_id, sep, encoded = item.partition("=")
            if not sep or not key_id:
                raise ValueError("encryption keys are written id=base64key, separated by commas")
            keys.append((key_id, base64.b64decode(encoded + "=" * (-len(encoded) % 4))))
        return cls(keys)

    @staticmethod
    def new_spec(key_id: str = "k1") -> str:
        """A fresh one-key spec."""
        return f"{key_id}={base64.b64encode(secrets.token_bytes(32)).decode()}"

    def cipher(self, key_id: str) -> AESGCM:
        """The cipher for ``key_id``; unknown ids are refused with the id named."""
        try:
            return self._keys[key_id]
        except KeyError:
            raise ValueError(f"payload was encrypted with unknown key {key_id!r}") from None

    @property
    def key_ids(self) -> list[str]:
        """Every key id, active first."""
        return list(self._keys)


class EncryptionCodec(PayloadCodec):
    """AES-GCM payload codec with the key id in metadata; unencrypted payloads pass through."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload with the active key."""
        key_id = self.keyring.active_id
        cipher = self.keyring.cipher(key_id)
        out = []
        for payload in payloads:
            nonce = os.urandom(_NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt payloads this codec encrypted; leave others as they are."""
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                out.append(payload)
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            cipher = self.keyring.cipher(key_id)
            nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
            try:
                plain = cipher.decrypt(nonce, sealed, key_id.encode())
            except InvalidTag:
                raise ValueError("payload failed authentication: tampered or wrong key") from None
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


def keyring_from_settings(settings: Settings) -> Keyring:
    """The configured keyring, or the one `partnerflow up` keeps in ``var/encryption-keys``.

    Clusters set PARTNERFLOW_ENCRYPTION_KEYS on every worker and API process; nothing here
    makes a key, so two processes can never end up with different ones.
    """
    if settings.encryption_keys is not None:
        return Keyring.parse(settings.encryption_keys.get_secret_value())
    path = settings.var_dir / "encryption-keys"
    if not path.exists():
        raise ValueError(
            "PARTNERFLOW_ENCRYPTION_KEYS is not set (and no var/encryption-keys from "
            "`partnerflow up`): set it to `k1=` and 32 random bytes in base64"
        )
    return Keyring.parse(path.read_text().strip())


def encrypted_converter(codec: PayloadCodec) -> DataConverter:
    """The pydantic data converter with ``codec`` applied to every payload."""
    return replace(pydantic_data_converter, payload_codec=codec)
