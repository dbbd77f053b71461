"""Data keys: sealing a referral's personal values, shredding the key, re-wrapping on rotation."""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Payload

from store.db import Sessions
from store.referrals import erase_personal_data
from workers.codec import EncryptionCodec, Keyring
from workers.data_keys import DataKeys, rewrap_data_keys
from workers.personal_seal import ERASED, PERSONAL, SEALED, PayloadSeal, PersonalSeal

NUMBER = "TEN-2026-000042"
REASON = "Mrs Quibble moved to her sister's"


def _json(document: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(document).encode())


def _codec(sessions: Sessions, keyring: Keyring) -> PayloadSeal:
    keys = DataKeys(sessions, keyring, cache_seconds=60)
    return PayloadSeal(EncryptionCodec(keyring), PersonalSeal(keys), NUMBER)


async def test_sealed_values_open_for_workers_and_admins_and_show_markers_to_operations(
    sessions: Sessions,
) -> None:
    keyring = Keyring.parse(Keyring.new_spec())
    codec = _codec(sessions, keyring)
    view = {"number": NUMBER, "legs": [{"decline_reason": REASON, "withdraw_reason": None}]}
    plain_ids = _json({"number": NUMBER, "state": "sent"})
    encoded = await codec.encode([_json(view), plain_ids])
    inner = await codec.master.decode(encoded)
    assert REASON.encode() not in inner[0].data
    assert json.loads(inner[0].data)["legs"][0]["decline_reason"] == SEALED
    assert inner[1].data == plain_ids.data  # nothing to seal: passed on untouched
    assert json.loads((await codec.decode(encoded))[0].data) == view
    admin, referrals = await codec.decode_for_staff(encoded, reveal_values=True)
    assert json.loads(admin[0].data) == view
    assert referrals == {NUMBER}
    ops, _ = await codec.decode_for_staff(encoded, reveal_values=False)
    assert json.loads(ops[0].data)["legs"][0]["decline_reason"] == PERSONAL


async def test_a_shredded_key_gives_erased_markers_never_an_error(sessions: Sessions) -> None:
    keyring = Keyring.parse(Keyring.new_spec())
    codec = _codec(sessions, keyring)
    encoded = await codec.encode([_json({"reason": REASON, "number": NUMBER})])
    await erase_personal_data(sessions, NUMBER)
    # The codec endpoint reads keys afresh: the shredded key is seen at once.
    opened, _ = await codec.decode_for_staff(encoded, reveal_values=True)
    assert json.loads(opened[0].data)["reason"] == ERASED
    # A worker that never held the key (another process, a replay) gets the marker too.
    fresh = _codec(sessions, keyring)
    assert json.loads((await fresh.decode(encoded))[0].data)["reason"] == ERASED
    # What arrives after erasure is not kept at all.
    later = await fresh.master.decode(await fresh.encode([_json({"reason": REASON})]))
    assert REASON.encode() not in later[0].data


async def test_master_key_rotation_rewraps_data_keys_and_old_history_still_opens(
    sessions: Sessions,
) -> None:
    old_spec, new_spec = Keyring.new_spec("k1"), Keyring.new_spec("k2")
    encoded = await _codec(sessions, Keyring.parse(old_spec)).encode([_json({"reason": REASON})])
    # The new master key goes first, the old one stays while the data keys are re-wrapped.
    both = Keyring.parse(f"{new_spec},{old_spec}")
    assert await rewrap_data_keys(sessions, both) == (1, 0)
    assert await rewrap_data_keys(sessions, both) == (0, 1)
    # The data key now opens with the new master key alone: history's sealed values are
    # untouched and still open.
    keys = DataKeys(sessions, Keyring.parse(new_spec), cache_seconds=0)
    inner = await EncryptionCodec(both).decode(encoded)
    opened = await PersonalSeal(keys).open(inner)
    assert json.loads(opened.payloads[0].data)["reason"] == REASON


async def test_a_referral_erased_before_it_had_a_key_never_gets_one(sessions: Sessions) -> None:
    keyring = Keyring.parse(Keyring.new_spec())
    await erase_personal_data(sessions, NUMBER)
    codec = _codec(sessions, keyring)
    sealed = await codec.master.decode(await codec.encode([_json({"reason": REASON})]))
    assert json.loads(sealed[0].data)["reason"] == ERASED
