"""Domain-separated signatures, receipts and audit checkpoints."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from crypto import chain, checkpoint, keys, receipts, signing
from crypto.errors import BadSignature, ChainBroken, MalformedData

from .helpers import det_bytes, p256_key

PLATFORM = ed25519.Ed25519PrivateKey.from_private_bytes(det_bytes("platform", 32))
OTHER = ed25519.Ed25519PrivateKey.from_private_bytes(det_bytes("other-platform", 32))
VERIFY = PLATFORM.public_key()

RECEIPT_ARGS = dict(
    tender_id="GGZY-2024-0001",
    bidder_id="91310000MA1FL0000X",
    sha256="ab" * 32,
    size=611,
    server_time="2024-05-01T09:30:00+08:00",
    extra={"bid": 7},
)
RECEIPT_SIGNATURE = (
    "opncXLVmanFWswtK0KXFCONFa+y2X6fnuIvtnosMoOMijCkWFatBcapqR2zNevP82L6U52gc"
    "ei5+5iqlgcrwAQ=="
)
CHECKPOINT_SIGNATURE = (
    "fL4tK7/vozESHj0iOO/Oq6323GpHtW2dgHAp2JDEhzEQvKq9IFWDLKAKvdNdLciuzHnF9/fJ"
    "4hCkGAunPEzLAg=="
)


# -- signing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", [PLATFORM, p256_key("bidder-sign")], ids=["ed25519", "p256"]
)
def test_signatures_verify_under_their_own_label_only(key):
    sig = signing.sign(key, signing.RECEIPT, b"message")
    assert len(sig) == 64
    signing.verify(key.public_key(), signing.RECEIPT, b"message", sig)
    for label in signing.LABELS - {signing.RECEIPT}:
        with pytest.raises(BadSignature):
            signing.verify(key.public_key(), label, b"message", sig)


@pytest.mark.parametrize(
    "key", [PLATFORM, p256_key("bidder-sign")], ids=["ed25519", "p256"]
)
def test_altered_message_signature_or_key_fails(key):
    sig = signing.sign(key, signing.RECORD, b"message")
    with pytest.raises(BadSignature):
        signing.verify(key.public_key(), signing.RECORD, b"messagf", sig)
    with pytest.raises(BadSignature):
        signing.verify(key.public_key(), signing.RECORD, b"message", sig[:-1] + b"\x00")
    other = OTHER if isinstance(key, ed25519.Ed25519PrivateKey) else p256_key("x")
    with pytest.raises(BadSignature):
        signing.verify(other.public_key(), signing.RECORD, b"message", sig)


def test_labels_are_distinct_and_prefix_free():
    labels = sorted(signing.LABELS)
    # receipts … draws, tree heads, witness cosignatures, custodian sets, evaluation
    # reports, contracts
    assert len(labels) == 11
    for a in labels:
        assert a.endswith(b"\x00") and a.count(b"\x00") == 1
        for b in labels:
            assert a == b or not b.startswith(a)


def test_a_label_without_terminator_is_refused():
    with pytest.raises(ValueError):
        signing.sign(PLATFORM, b"ggzy-receipt-v1", b"m")


def test_bid_digest_signature_binds_every_field():
    args = dict(tender_id="T-1", bidder_id="B-1", sha256="0f" * 32, size=10)
    key = p256_key("bidder-sign")
    sig = signing.bid_digest_sign(key, **args)
    signing.bid_digest_verify(key.public_key(), sig, **args)
    for field, value in (
        ("tender_id", "T-2"),
        ("bidder_id", "B-2"),
        ("sha256", "0e" * 32),
        ("size", 11),
    ):
        with pytest.raises(BadSignature):
            signing.bid_digest_verify(key.public_key(), sig, **{**args, field: value})
    assert signing.bid_digest_message(**args) == (
        b'{"bidder_id":"B-1","sha256":"' + b"0f" * 32 + b'","size":10,'
        b'"tender_id":"T-1","v":1}'
    )


# -- receipts -----------------------------------------------------------------------


def test_receipt_known_answer():
    receipt = receipts.receipt_issue(PLATFORM, **RECEIPT_ARGS)
    assert receipt["signature"] == RECEIPT_SIGNATURE
    assert receipt["key"] == keys.key_fingerprint(VERIFY)


def test_receipt_round_trips_through_json():
    receipt = json.loads(json.dumps(receipts.receipt_issue(PLATFORM, **RECEIPT_ARGS)))
    body = receipts.receipt_verify(receipt, VERIFY)
    assert body["sha256"] == "ab" * 32
    assert body["size"] == 611
    assert "signature" not in body


@pytest.mark.parametrize(
    "field,value",
    [
        ("tender_id", "GGZY-2024-0002"),
        ("bidder_id", "someone else"),
        ("sha256", "ac" * 32),
        ("size", 612),
        ("server_time", "2024-05-01T09:29:59+08:00"),
        ("extra", {"bid": 8}),
    ],
)
def test_any_altered_receipt_field_fails(field, value):
    receipt = receipts.receipt_issue(PLATFORM, **RECEIPT_ARGS)
    receipt[field] = value
    with pytest.raises(BadSignature):
        receipts.receipt_verify(receipt, VERIFY)


def test_an_added_field_fails():
    receipt = receipts.receipt_issue(PLATFORM, **RECEIPT_ARGS)
    receipt["note"] = "late"
    with pytest.raises(BadSignature):
        receipts.receipt_verify(receipt, VERIFY)


def test_receipt_from_another_key_fails():
    receipt = receipts.receipt_issue(OTHER, **RECEIPT_ARGS)
    with pytest.raises(BadSignature, match="different key"):
        receipts.receipt_verify(receipt, VERIFY)
    receipt["key"] = keys.key_fingerprint(VERIFY)
    with pytest.raises(BadSignature):
        receipts.receipt_verify(receipt, VERIFY)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("signature"),
        lambda r: r.update(signature="***"),
        lambda r: r.update(v=2),
        lambda r: r.update(sha256="xyz"),
        lambda r: r.update(size=-1),
        lambda r: r.update(size=True),
        lambda r: r.update(server_time="yesterday"),
        lambda r: r.update(server_time="2024-05-01T09:30:00"),
        lambda r: r.update(extra=[1]),
    ],
)
def test_malformed_receipts_are_refused(mutate):
    receipt = receipts.receipt_issue(PLATFORM, **RECEIPT_ARGS)
    mutate(receipt)
    with pytest.raises(MalformedData):
        receipts.receipt_verify(receipt, VERIFY)


def test_receipt_needs_a_zoned_time_when_issued():
    with pytest.raises(MalformedData, match="UTC offset"):
        receipts.receipt_issue(
            PLATFORM, **{**RECEIPT_ARGS, "server_time": "2024-05-01T09:30:00"}
        )


def test_a_receipt_signature_is_not_a_checkpoint_signature():
    receipt = receipts.receipt_issue(PLATFORM, **RECEIPT_ARGS)
    body = {k: v for k, v in receipt.items() if k != "signature"}
    with pytest.raises(BadSignature):
        signing.verify(
            VERIFY,
            signing.CHECKPOINT,
            chain.canonical_json(body),
            base64.b64decode(receipt["signature"]),
        )


# -- checkpoints --------------------------------------------------------------------


def _chain(n: int) -> list[tuple[dict, str, str]]:
    events, prev = [], chain.GENESIS_HASH
    for i in range(n):
        fields = {"seq": i, "action": "bid_submit", "payload": chain.payload_digest(i)}
        h = chain.link_hash(prev, chain.event_digest(fields))
        events.append((fields, prev, h))
        prev = h
    return events


def test_checkpoint_known_answer_and_round_trip():
    cp = checkpoint.checkpoint_sign(
        PLATFORM, index=41, head_hash="cd" * 32, time="2024-05-01T10:00:00+08:00"
    )
    assert cp["signature"] == CHECKPOINT_SIGNATURE
    assert (
        checkpoint.checkpoint_verify(json.loads(json.dumps(cp)), VERIFY)["index"] == 41
    )


def test_checkpoint_vouches_for_the_chain_prefix():
    events = _chain(10)
    cp = checkpoint.checkpoint_sign(
        PLATFORM, index=6, head_hash=events[6][2], time="2024-05-01T10:00:00Z"
    )
    assert checkpoint.checkpoint_verify_chain(cp, events, VERIFY)["index"] == 6


def test_edited_event_under_a_checkpoint_is_found():
    events = _chain(10)
    cp = checkpoint.checkpoint_sign(
        PLATFORM, index=6, head_hash=events[6][2], time="2024-05-01T10:00:00Z"
    )
    edited = copy.deepcopy(events)
    edited[3][0]["action"] = "bid_withdraw"
    with pytest.raises(ChainBroken) as caught:
        checkpoint.checkpoint_verify_chain(cp, edited, VERIFY)
    assert caught.value.index == 3


def test_a_rewritten_chain_does_not_match_the_signed_head():
    events = _chain(10)
    cp = checkpoint.checkpoint_sign(
        PLATFORM, index=6, head_hash=events[6][2], time="2024-05-01T10:00:00Z"
    )
    rewritten = _chain(7)
    rewritten[2][0]["seq"] = 99
    # Rebuild the links so the chain is internally consistent, but different.
    prev, rebuilt = chain.GENESIS_HASH, []
    for fields, _, _ in rewritten:
        h = chain.link_hash(prev, chain.event_digest(fields))
        rebuilt.append((fields, prev, h))
        prev = h
    with pytest.raises(ChainBroken, match="head differs"):
        checkpoint.checkpoint_verify_chain(cp, rebuilt, VERIFY)


def test_a_chain_shorter_than_the_checkpoint_is_found():
    events = _chain(10)
    cp = checkpoint.checkpoint_sign(
        PLATFORM, index=8, head_hash=events[8][2], time="2024-05-01T10:00:00Z"
    )
    with pytest.raises(ChainBroken, match="covers 9 events"):
        checkpoint.checkpoint_verify_chain(cp, events[:5], VERIFY)


def test_altered_checkpoint_fails():
    cp = checkpoint.checkpoint_sign(
        PLATFORM, index=1, head_hash="cd" * 32, time="2024-05-01T10:00:00Z"
    )
    for field, value in (
        ("index", 2),
        ("head_hash", "ce" * 32),
        ("time", "2024-05-01T10:00:01Z"),
    ):
        with pytest.raises(BadSignature):
            checkpoint.checkpoint_verify({**cp, field: value}, VERIFY)
    with pytest.raises(MalformedData):
        checkpoint.checkpoint_verify({**cp, "index": -1}, VERIFY)
