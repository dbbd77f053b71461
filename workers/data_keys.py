"""Referrals' data keys for the payload codec: made on first use, wrapped by the master key,
cached briefly so a referral step does not read the database for every payload.

A destroyed key (the referral's personal data was erased) is remembered as such: nothing
can be sealed or opened with it again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.data_keys import (
    StoredDataKey,
    data_key,
    data_key_of_referral,
    live_data_keys,
    rewrap_data_key,
)
from store.db import Sessions
from workers.codec import Keyring

_NONCE_BYTES = 12
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DataKey:
    """A referral's data key, unwrapped; ``cipher`` is None once it has been destroyed."""

    key_id: str
    number: str
    cipher: AESGCM | None


def wrap(master: Keyring, key_id: str, key: bytes) -> tuple[str, bytes]:
    """``key`` sealed by the master keyring's active key: (master key id, nonce + ciphertext)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = master.cipher(master.active_id).encrypt(nonce, key, key_id.encode())
    return master.active_id, nonce + sealed


def unwrap(master: Keyring, stored: StoredDataKey) -> bytes:
    """The raw data key of a live stored key; ``ValueError`` if its master key is not here."""
    if stored.wrapped is None or stored.master_key_id is None:
        raise ValueError(f"data key {stored.key_id!r} was destroyed")
    cipher = master.cipher(stored.master_key_id)
    nonce, sealed = stored.wrapped[:_NONCE_BYTES], stored.wrapped[_NONCE_BYTES:]
    try:
        return cipher.decrypt(nonce, sealed, stored.key_id.encode())
    except InvalidTag:
        raise ValueError(f"data key {stored.key_id!r} failed authentication") from None


class DataKeys:
    """The data keys of referrals, read through a short-lived cache."""

    def __init__(
        self,
        sessions: Sessions,
        master: Keyring,
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._master = master
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._by_number: dict[str, tuple[float, DataKey]] = {}
        self._by_id: dict[str, tuple[float, DataKey | None]] = {}
        self._reading: dict[str, asyncio.Future[DataKey]] = {}

    async def of_referral(self, number: str) -> DataKey:
        """The referral's key, made now if it has none; its ``cipher`` is None if destroyed."""
        cached = self._by_number.get(number)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        return await asyncio.shield(self._reading_of(number))

    def prefetch(self, number: str) -> None:
        """Start reading the referral's key unless it is cached: a worker does so when it first
        sees the referral's payloads, so the step that seals values does not wait for it."""
        cached = self._by_number.get(number)
        if cached is None or cached[0] <= self._clock():
            self._reading_of(number)

    def _reading_of(self, number: str) -> asyncio.Future[DataKey]:
        # The payloads of one step are encoded together: one read serves them all.
        pending = self._reading.get(number)
        if pending is None:
            pending = asyncio.ensure_future(self._read(number))
            self._reading[number] = pending
            pending.add_done_callback(lambda done: self._done_reading(number, done))
        return pending

    def _done_reading(self, number: str, done: asyncio.Future[DataKey]) -> None:
        self._reading.pop(number, None)
        if not done.cancelled() and done.exception() is not None:
            # A prefetch nobody awaited: the step that needs the key reads it again.
            log.warning("data key read failed", referral=number, error=repr(done.exception()))

    async def _read(self, number: str) -> DataKey:
        stored = await data_key_of_referral(
            self._sessions, number, new=self.new(number), at=datetime.now(UTC)
        )
        return self._keep(self._opened(stored))

    def new(self, number: str) -> StoredDataKey:
        """A fresh data key for ``number``, wrapped by the master key (not stored yet)."""
        key_id = secrets.token_hex(16)
        master_id, wrapped = wrap(self._master, key_id, AESGCM.generate_key(bit_length=256))
        return StoredDataKey(
            key_id=key_id,
            number=number,
            master_key_id=master_id,
            wrapped=wrapped,
            destroyed_at=None,
        )

    async def by_id(self, key_id: str, *, fresh: bool = False) -> DataKey | None:
        """The key ``key_id`` (None if no such key was ever made); ``fresh`` skips the cache,
        so a destroyed key is seen as destroyed at once."""
        cached = self._by_id.get(key_id)
        if not fresh and cached is not None and cached[0] > self._clock():
            return cached[1]
        stored = await data_key(self._sessions, key_id)
        if stored is None:
            self._by_id[key_id] = (self._clock() + self._cache_seconds, None)
            return None
        return self._keep(self._opened(stored))

    def _opened(self, stored: StoredDataKey) -> DataKey:
        if stored.wrapped is None:
            return DataKey(stored.key_id, stored.number, None)
        return DataKey(stored.key_id, stored.number, AESGCM(unwrap(self._master, stored)))

    def _keep(self, key: DataKey) -> DataKey:
        until = self._clock() + self._cache_seconds
        self._by_number[key.number] = (until, key)
        self._by_id[key.key_id] = (until, key)
        return key


async def rewrap_data_keys(sessions: Sessions, master: Keyring) -> tuple[int, int]:
    """Wrap every live data key with the master keyring's active key; history is untouched.

    Run after putting a new master key first in the keyring (the old one still in it), then
    the old one can go. Returns (re-wrapped, already under the active key).
    """
    rewrapped = current = 0
    for stored in await live_data_keys(sessions):
        if stored.master_key_id == master.active_id:
            current += 1
            continue
        master_id, wrapped = wrap(master, stored.key_id, unwrap(master, stored))
        if await rewrap_data_key(sessions, stored.key_id, master_key_id=master_id, wrapped=wrapped):
            rewrapped += 1
    return rewrapped, current
