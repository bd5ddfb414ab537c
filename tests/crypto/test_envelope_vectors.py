"""Known-answer vectors for envelope format v1 and its key wrap.

The vectors live in ``vectors/envelope-v1.json`` so that the browser
implementation can be tested against the very same bytes. One test rebuilds the
envelope from the written specification with bare primitives, to keep the
module docstring honest.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import envelope, keys, wrap

from .helpers import VECTORS, scripted_rng

V = VECTORS


def _key(scalar_hex: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(scalar_hex, 16), ec.SECP256R1())


BIDDER = _key(V["recipients"][0]["private_scalar"])
OPENING = _key(V["recipients"][1]["private_scalar"])


def _seal(plaintext: bytes) -> bytes:
    rng = scripted_rng(
        bytes.fromhex(V["data_key"]),
        bytes.fromhex(V["salt"]),
        bytes.fromhex(V["nonce_prefix"]),
        *(bytes.fromhex(e) for e in V["ephemeral_scalars"]),
    )
    return envelope.seal_bytes(
        plaintext,
        tender_id=V["tender_id"],
        bidder_id=V["bidder_id"],
        recipients=[
            envelope.Recipient("bidder", BIDDER.public_key()),
            envelope.Recipient("opening", OPENING.public_key()),
        ],
        chunk_size=V["chunk_size"],
        rng=rng,
    )


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(ikm)


def test_recipient_keys_match_the_vectors():
    for key, rec in zip((BIDDER, OPENING), V["recipients"], strict=True):
        assert keys.public_key_bytes(key).hex() == rec["public_point"]
        assert keys.key_fingerprint(key) == rec["fingerprint"]


def test_seal_is_byte_exact_with_fixed_randomness():
    blob = _seal(bytes.fromhex(V["plaintext_hex"]))
    assert blob.hex() == V["envelope_hex"]
    assert hashlib.sha256(blob).hexdigest() == V["envelope_sha256"]


def test_empty_plaintext_is_byte_exact():
    assert _seal(b"").hex() == V["empty_envelope_hex"]


def test_threads_do_not_change_the_output():
    plaintext = bytes.fromhex(V["plaintext_hex"])
    out = io.BytesIO()
    envelope.seal(
        io.BytesIO(plaintext),
        out,
        tender_id=V["tender_id"],
        bidder_id=V["bidder_id"],
        recipients=[
            envelope.Recipient("bidder", BIDDER.public_key()),
            envelope.Recipient("opening", OPENING.public_key()),
        ],
        chunk_size=V["chunk_size"],
        rng=scripted_rng(
            bytes.fromhex(V["data_key"]),
            bytes.fromhex(V["salt"]),
            bytes.fromhex(V["nonce_prefix"]),
            *(bytes.fromhex(e) for e in V["ephemeral_scalars"]),
        ),
        threads=True,
    )
    assert out.getvalue().hex() == V["envelope_hex"]


def test_vector_opens_with_both_recipients_and_the_data_key():
    blob = bytes.fromhex(V["envelope_hex"])
    plaintext = bytes.fromhex(V["plaintext_hex"])
    for key, label in ((BIDDER, "bidder"), (OPENING, "opening")):
        data_key = envelope.unwrap_data_key(blob, key, label=label)
        assert data_key.hex() == V["data_key"]
    assert envelope.open_bytes(blob, bytes.fromhex(V["data_key"])) == plaintext


def test_derived_keys_match_the_vectors():
    payload, mac = envelope.derive_keys(
        bytes.fromhex(V["data_key"]), bytes.fromhex(V["salt"])
    )
    assert payload.hex() == V["payload_key"]
    assert mac.hex() == V["mac_key"]


def test_key_wrap_vector():
    w = V["wrap"]
    point, ct = wrap.wrap(
        OPENING.public_key(),
        bytes.fromhex(w["plaintext"]),
        info=w["info"].encode(),
        rng=scripted_rng(bytes.fromhex(w["ephemeral_scalar"])),
    )
    assert point.hex() == w["ephemeral_point"]
    assert ct.hex() == w["ciphertext"]
    eph = _key(w["ephemeral_scalar"])
    assert eph.exchange(ec.ECDH(), OPENING.public_key()).hex() == w["ecdh_shared"]
    opened = wrap.unwrap(OPENING, point, ct, info=w["info"].encode())
    assert opened.hex() == w["plaintext"]


def test_envelope_matches_the_written_specification():
    """Rebuild the vector envelope step by step from the module docstring."""
    plaintext = bytes.fromhex(V["plaintext_hex"])
    data_key = bytes.fromhex(V["data_key"])
    salt = bytes.fromhex(V["salt"])
    prefix = bytes.fromhex(V["nonce_prefix"])
    cs = V["chunk_size"]
    tender = V["tender_id"].encode()
    bidder = V["bidder_id"].encode()

    stanzas = b""
    for rec, eph_hex, key in zip(
        V["recipients"], V["ephemeral_scalars"], (BIDDER, OPENING), strict=True
    ):
        eph = _key(eph_hex)
        eph_point = keys.public_key_bytes(eph)
        r_point = bytes.fromhex(rec["public_point"])
        shared = eph.exchange(ec.ECDH(), key.public_key())
        wrap_key = _hkdf(shared, eph_point + r_point, b"ggzy-envelope-wrap-v1")
        wrapped = AESGCM(wrap_key).encrypt(bytes(12), data_key, b"")
        label = rec["label"].encode()
        stanzas += (
            bytes([len(label)])
            + label
            + hashlib.sha256(r_point).digest()
            + eph_point
            + wrapped
        )
    before_mac = (
        b"GGZYSEAL"
        + bytes([1, 1])
        + b"\x00\x00"
        + struct.pack(">I", cs)
        + salt
        + prefix
        + struct.pack(">H", len(tender))
        + tender
        + struct.pack(">H", len(bidder))
        + bidder
        + bytes([2])
        + stanzas
    )
    mac_key = _hkdf(data_key, salt, b"ggzy-envelope-header-mac-v1")
    header = before_mac + hmac.new(mac_key, before_mac, hashlib.sha256).digest()
    aad = hashlib.sha256(header).digest()
    aead = AESGCM(_hkdf(data_key, salt, b"ggzy-envelope-payload-v1"))
    pieces = [plaintext[i : i + cs] for i in range(0, len(plaintext), cs)] or [b""]
    body = b""
    for i, piece in enumerate(pieces):
        last = b"\x01" if i == len(pieces) - 1 else b"\x00"
        body += aead.encrypt(prefix + struct.pack(">I", i) + last, piece, aad)

    assert header.hex() == V["header_hex"]
    assert (header + body).hex() == V["envelope_hex"]


def test_header_fields_parse_from_the_vector():
    header = envelope.read_header(io.BytesIO(bytes.fromhex(V["envelope_hex"])))
    assert header.version == 1
    assert header.suite == envelope.SUITE_P256_AES256GCM
    assert header.chunk_size == V["chunk_size"]
    assert header.tender_id == V["tender_id"]
    assert header.bidder_id == V["bidder_id"]
    assert [s.label for s in header.stanzas] == ["bidder", "opening"]
    assert header.hash.hex() == V["header_sha256"]
    assert (
        header.to_dict()["recipients"][1]["fingerprint"]
        == (V["recipients"][1]["fingerprint"])
    )
