"""Personal and free-text values in a referral's payloads, sealed with the referral's data key.

The payload converter writes JSON; before the master-key codec seals the whole payload, the
values that identify or describe the resident (their details, needs' notes, decline, close and
withdrawal reasons, free-text event details) are replaced by ``[sealed]`` in its data, and the
payload as written is sealed in one AES-GCM operation with the referral's data key, whatever
the number of values; opening it with the key is then one decryption. The sealed payload, the
key id and where the values were travel in the payload's metadata. Which referral a payload belongs
to comes from Temporal's serialization context (the workflow id is the referral number, or a
leg id ending in ``-L<n>``).

Opening a payload with a destroyed key (the data was erased) gives ``[erased]`` in place of
each value, never an error, so workflows replay and the Temporal UI shows what is gone.
Operations staff decoding history get ``[personal]`` markers instead of the values.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import structlog
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from domain.access import FREE_TEXT_EVENTS
from store.data_keys import StoredDataKey
from workers.codec import EncryptionCodec
from workers.data_keys import DataKeys

log = structlog.get_logger(__name__)

SEALED_FIELDS = frozenset(
    {
        "resident",
        "referrer",
        "notes",
        "note",
        "decline_reason",
        "withdraw_reason",
        "status_reason",
    }
)
"""JSON fields, at any depth, whose values are personal data or someone's free text."""
REASON, DETAIL = "reason", "detail"
SYSTEM_REASON_BESIDE = frozenset({"service", "tried_service_ids"})
"""A ``reason`` is someone's free text (a decline, a withdrawal, a co-ordinator's close)
unless it sits beside one of these: a route choice's or a need's reason, which the system
wrote from the directory. An event's ``detail`` is free text for the kinds
:data:`domain.access.FREE_TEXT_EVENTS` names. Sealing only what is personal keeps a plain
referral's steps (routing, records, notices) from needing its data key at all."""

SEALED = "[sealed]"
ERASED = "[erased]"
PERSONAL = "[personal]"

DATA_KEY = "partnerflow-data-key"
REFERRAL = "partnerflow-referral"
SEALED_PATHS = "partnerflow-sealed-paths"
SEALED_VALUES = "partnerflow-sealed-values"

_JSON = b"json/plain"
_NONCE_BYTES = 12
_REFERRAL_ID = re.compile(r"^(?P<number>[A-Z]{2,8}-\d{4}-\d{6,})(?:-L\d+)?$")
# A cheap look before parsing: most payloads (ids, states, timings) hold none of these fields
# with a value, and are passed on without being parsed at all.
_HAS_SEALED = re.compile(
    rb'"(?:'
    + b"|".join(f.encode() for f in sorted({*SEALED_FIELDS, REASON, DETAIL}))
    + rb')":(?!null|""|\[\]|\{\})'
)

Path = list[str | int]


class Reveal(StrEnum):
    """What an opened payload shows in place of its sealed values."""

    VALUES = "values"  # workers, and admins at the codec endpoint
    MARKERS = "markers"  # operations staff: the shape, not the personal data


def referral_of(workflow_id: str | None) -> str | None:
    """The referral number a workflow id belongs to (a referral's or one of its legs')."""
    if not workflow_id:
        return None
    match = _REFERRAL_ID.fullmatch(workflow_id)
    return match["number"] if match else None


def _is_sealed(node: dict[str, Any], key: str) -> bool:
    if key in SEALED_FIELDS:
        return True
    if key == REASON:
        return SYSTEM_REASON_BESIDE.isdisjoint(node)
    return key == DETAIL and node.get("kind") in FREE_TEXT_EVENTS


def _take(node: Any, path: Path, found: list[tuple[Path, Any]]) -> None:
    """Move every sealed field's value of ``node`` into ``found``, leaving a placeholder."""
    if isinstance(node, dict):
        for key, value in node.items():
            if value not in (None, "", [], {}) and _is_sealed(node, key):
                found.append(([*path, key], value))
                node[key] = SEALED if isinstance(value, str) else type(value)()
            elif isinstance(value, dict | list):
                _take(value, [*path, key], found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict | list):
                _take(value, [*path, index], found)


def _put(root: Any, path: Path, value: Any) -> None:
    node = root
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


@dataclass(frozen=True)
class Opened:
    """Payloads opened for staff, and the referrals whose sealed values they carried."""

    payloads: list[Payload]
    referrals: set[str] = field(default_factory=set)


class PersonalSeal:
    """Seals and opens the sealed fields of referral payloads with the referral's data key."""

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    async def seal(self, payloads: Sequence[Payload], number: str) -> list[Payload]:
        """Seal the personal values of ``number``'s payloads; others pass unchanged."""
        return [await self._seal_one(p, number) for p in payloads]

    async def _seal_one(self, payload: Payload, number: str) -> Payload:
        if payload.metadata.get("encoding") != _JSON or not _HAS_SEALED.search(payload.data):
            return payload
        document = json.loads(payload.data)
        found: list[tuple[Path, Any]] = []
        _take(document, [], found)
        if not found:
            return payload
        key = await self.keys.of_referral(number)
        metadata = dict(payload.metadata)
        paths = [path for path, _ in found]
        if key.cipher is None:
            # Erased already: what arrives now (a withdrawal's reason) is never kept.
            for path, value in found:
                if isinstance(value, str):
                    _put(document, path, ERASED)
        else:
            nonce = os.urandom(_NONCE_BYTES)
            # One AES operation for all of a payload's values, whatever their number: the
            # payload as written, so opening it with the key is a decryption and no more.
            sealed = key.cipher.encrypt(nonce, payload.data, key.key_id.encode())
            metadata[DATA_KEY] = key.key_id.encode()
            metadata[SEALED_PATHS] = json.dumps(paths, separators=(",", ":")).encode()
            metadata[SEALED_VALUES] = nonce + sealed
        metadata[REFERRAL] = number.encode()
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        return Payload(metadata=metadata, data=data)

    async def open(
        self, payloads: Sequence[Payload], reveal: Reveal = Reveal.VALUES, *, fresh: bool = False
    ) -> Opened:
        """Put sealed values back (or ``[personal]``/``[erased]`` markers in their place)."""
        opened = Opened([])
        for payload in payloads:
            if DATA_KEY not in payload.metadata:
                opened.payloads.append(payload)
                continue
            opened.referrals.add(payload.metadata.get(REFERRAL, b"").decode())
            opened.payloads.append(await self._open_one(payload, reveal, fresh))
        return opened

    async def _open_one(self, payload: Payload, reveal: Reveal, fresh: bool) -> Payload:
        key_id = payload.metadata[DATA_KEY].decode()
        metadata = {
            k: v for k, v in payload.metadata.items() if k not in (SEALED_PATHS, SEALED_VALUES)
        }
        if reveal is Reveal.VALUES:
            key = await self.keys.by_id(key_id, fresh=fresh)
            if key is not None and key.cipher is not None:
                blob = payload.metadata[SEALED_VALUES]
                try:
                    plain = key.cipher.decrypt(
                        blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], key_id.encode()
                    )
                except InvalidTag:
                    raise ValueError("sealed values failed authentication") from None
                return Payload(metadata=metadata, data=plain)
            if key is None:
                log.warning("payload names an unknown data key", data_key=key_id)
        # No values to show: a marker where each was, in the payload's own shape.
        paths: list[Path] = json.loads(payload.metadata[SEALED_PATHS])
        document = json.loads(payload.data)
        marker = PERSONAL if reveal is Reveal.MARKERS else ERASED
        for path in paths:
            if _placeholder_is_text(document, path):
                _put(document, path, marker)
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        return Payload(metadata=metadata, data=data)


def _placeholder_is_text(document: Any, path: Path) -> bool:
    node = document
    for step in path:
        node = node[step]
    return isinstance(node, str)


class PayloadSeal(PayloadCodec, WithSerializationContext):
    """The codec of every client: a referral's personal values sealed with its data key, then
    the whole payload sealed with the master key (as before data keys)."""

    def __init__(
        self, master: EncryptionCodec, personal: PersonalSeal | None, number: str | None = None
    ) -> None:
        self.master = master
        self.personal = personal
        self.number = number

    def with_context(self, context: SerializationContext) -> PayloadSeal:
        """This codec bound to the referral the payloads belong to (from the workflow id)."""
        workflow_id = (
            context.workflow_id
            if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext)
            else None
        )
        return PayloadSeal(self.master, self.personal, referral_of(workflow_id))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Seal personal values (when the payloads are a referral's), then the whole payload."""
        if self.personal is not None and self.number is not None:
            payloads = await self.personal.seal(payloads, self.number)
        return await self.master.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Open the whole payload, then its personal values (``[erased]`` once erased)."""
        plain = await self.master.decode(payloads)
        if self.personal is None:
            return plain
        if self.number is not None:
            self.personal.keys.prefetch(self.number)
        return (await self.personal.open(plain)).payloads

    def new_data_key(self, number: str) -> StoredDataKey | None:
        """A fresh wrapped data key for a new referral, to store with its intake (None when
        this codec seals with the master key only)."""
        return None if self.personal is None else self.personal.keys.new(number)

    async def decode_for_staff(
        self, payloads: Sequence[Payload], *, reveal_values: bool
    ) -> tuple[list[Payload], set[str]]:
        """Open payloads for the codec endpoint, reading data keys afresh: the values (or
        ``[personal]`` markers), and the referrals whose sealed values they carried."""
        plain = await self.master.decode(payloads)
        if self.personal is None:
            return plain, set()
        reveal = Reveal.VALUES if reveal_values else Reveal.MARKERS
        opened = await self.personal.open(plain, reveal, fresh=True)
        return opened.payloads, opened.referrals
