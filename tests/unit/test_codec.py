import pytest
from temporalio.api.common.v1 import Payload

from workers.codec import ENCODING, KEY_ID, EncryptionCodec, Keyring

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"name":"Edna Clacton"}')


async def test_round_trip_hides_the_plaintext() -> None:
    codec = EncryptionCodec(Keyring.parse(Keyring.new_spec("k1")))
    [sealed] = await codec.encode([PLAIN])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert b"Edna" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [PLAIN]


async def test_rotation_old_payloads_still_decode_new_use_the_new_key() -> None:
    old_spec = Keyring.new_spec("k1")
    old = EncryptionCodec(Keyring.parse(old_spec))
    [sealed_old] = await old.encode([PLAIN])
    rotated = EncryptionCodec(Keyring.parse(f"{Keyring.new_spec('k2')},{old_spec}"))
    [sealed_new] = await rotated.encode([PLAIN])
    assert sealed_new.metadata[KEY_ID] == b"k2"
    assert await rotated.decode([sealed_old, sealed_new]) == [PLAIN, PLAIN]
    with pytest.raises(ValueError, match="unknown key 'k2'"):
        await old.decode([sealed_new])


async def test_tampering_is_detected() -> None:
    codec = EncryptionCodec(Keyring.parse(Keyring.new_spec()))
    [sealed] = await codec.encode([PLAIN])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(ValueError, match="failed authentication"):
        await codec.decode([sealed])


async def test_unencrypted_payloads_pass_through() -> None:
    codec = EncryptionCodec(Keyring.parse(Keyring.new_spec()))
    assert await codec.decode([PLAIN]) == [PLAIN]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [("", "at least one key"), ("k1", "id=base64key"), ("k1=AAAA", "must be 32 bytes")],
)
def test_bad_key_specs_are_refused(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Keyring.parse(spec)
