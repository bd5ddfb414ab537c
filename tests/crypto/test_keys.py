"""Key generation, raw encodings, fingerprints and PEM files."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from crypto import keys
from crypto.errors import DecryptionFailed, MalformedData

from .helpers import OPENING


def test_p256_public_key_round_trips_through_65_raw_bytes():
    key = keys.generate_private_key()
    raw = keys.public_key_bytes(key.public_key())
    assert len(raw) == 65 and raw[0] == 4
    assert keys.public_key_bytes(keys.public_key_from_bytes(raw)) == raw
    assert keys.public_key_bytes(key) == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x04" + bytes(64),  # not on the curve
        b"\x02" + bytes(64),  # wrong prefix
        keys.public_key_bytes(OPENING)[:33],  # compressed length
        keys.public_key_bytes(OPENING) + b"\x00",
    ],
)
def test_bad_raw_public_keys_are_malformed(raw):
    with pytest.raises(MalformedData):
        keys.public_key_from_bytes(raw)


def test_fingerprint_is_sha256_hex_of_the_raw_point():
    import hashlib

    raw = keys.public_key_bytes(OPENING)
    assert keys.key_fingerprint(OPENING) == hashlib.sha256(raw).hexdigest()
    assert keys.key_fingerprint(OPENING.public_key()) == keys.key_fingerprint(raw)
    display = keys.fingerprint_display(keys.key_fingerprint(OPENING))
    assert len(display) == 19 and display.count(":") == 3


def test_private_key_pem_round_trips_with_a_passphrase():
    key = keys.generate_private_key()
    pem = keys.private_key_to_pem(key, b"correct horse")
    assert b"ENCRYPTED" in pem
    loaded = keys.private_key_from_pem(pem, b"correct horse")
    assert keys.key_fingerprint(loaded) == keys.key_fingerprint(key)


def test_wrong_or_missing_passphrase_fails_to_decrypt():
    pem = keys.private_key_to_pem(keys.generate_private_key(), b"right")
    with pytest.raises(DecryptionFailed, match="wrong passphrase"):
        keys.private_key_from_pem(pem, b"wrong")
    with pytest.raises(DecryptionFailed, match="needs a passphrase"):
        keys.private_key_from_pem(pem, None)


def test_empty_passphrase_is_refused():
    with pytest.raises(ValueError):
        keys.private_key_to_pem(keys.generate_private_key(), b"")


def test_unencrypted_pem_loads_without_passphrase_only():
    pem = keys.private_key_to_pem(keys.generate_signing_key(), None)
    assert isinstance(keys.private_key_from_pem(pem, None), ed25519.Ed25519PrivateKey)
    with pytest.raises(MalformedData, match="not encrypted"):
        keys.private_key_from_pem(pem, b"pw")


def test_garbage_is_not_a_pem_key():
    with pytest.raises(MalformedData):
        keys.private_key_from_pem(b"hello", None)
    with pytest.raises(MalformedData):
        keys.public_key_from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n")


def test_other_curves_are_refused():
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(MalformedData):
        keys.private_key_to_pem(p384, None)
    with pytest.raises(MalformedData):
        keys.public_key_bytes(p384.public_key())


def test_signing_key_helpers_round_trip_and_refuse_the_other_kind():
    sk = keys.generate_signing_key()
    pem = keys.signing_key_to_pem(sk, b"pw")
    assert keys.verify_key_bytes(keys.signing_key_from_pem(pem, b"pw")) == (
        keys.verify_key_bytes(sk)
    )
    raw = keys.verify_key_bytes(sk.public_key())
    assert keys.verify_key_bytes(keys.verify_key_from_bytes(raw)) == raw
    with pytest.raises(MalformedData):
        keys.verify_key_from_bytes(raw[:31])
    p256_pem = keys.private_key_to_pem(keys.generate_private_key(), b"pw")
    with pytest.raises(MalformedData, match="Ed25519"):
        keys.signing_key_from_pem(p256_pem, b"pw")
    with pytest.raises(MalformedData, match="P-256"):
        keys.p256_private_key_from_pem(pem, b"pw")


def test_public_key_pem_round_trips_for_both_kinds():
    for key in (keys.generate_private_key(), keys.generate_signing_key()):
        pem = keys.public_key_to_pem(key.public_key())
        loaded = keys.public_key_from_pem(pem)
        assert keys.key_fingerprint(loaded) == keys.key_fingerprint(key)
    ed_pem = keys.public_key_to_pem(keys.generate_signing_key())
    with pytest.raises(MalformedData):
        keys.p256_public_key_from_pem(ed_pem)
    assert isinstance(keys.verify_key_from_pem(ed_pem), ed25519.Ed25519PublicKey)
