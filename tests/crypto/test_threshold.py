"""Threshold opening keys: k custodians open, k-1 cannot, the key is never stored."""

from __future__ import annotations

import json

import pytest

from crypto import envelope, keys, threshold
from crypto.errors import DecryptionFailed, MalformedData, NotEnoughShares

from .helpers import BIDDER, counter_rng, p256_key

CUSTODIANS = [
    (name, p256_key(f"custodian/{name}")) for name in ("centre", "supervisor", "notary")
]
PUBLIC = [(name, key.public_key()) for name, key in CUSTODIANS]


def _create(tender_id="T-1", k=2, rng=None) -> threshold.OpeningKey:
    return threshold.opening_key_create(
        custodians=PUBLIC, threshold=k, tender_id=tender_id, rng=rng
    )


def _decrypt(ok: threshold.OpeningKey, which) -> list:
    out = []
    for i in which:
        name, key = CUSTODIANS[i]
        out.append(
            threshold.share_decrypt(
                ok.shares[i], key, tender_id=ok.tender_id, custodian_id=name
            )
        )
    return out


OK = _create()


def test_any_two_of_three_custodians_rebuild_the_opening_key():
    for which in ((0, 1), (0, 2), (1, 2), (0, 1, 2)):
        key = threshold.opening_key_combine(
            _decrypt(OK, which), opening_public_key=OK.public_key
        )
        assert keys.public_key_bytes(key) == OK.public_key


def test_one_custodian_alone_is_not_enough():
    for which in ((0,), (1,), (2,)):
        with pytest.raises(NotEnoughShares, match="need 2 shares, have 1"):
            threshold.opening_key_combine(
                _decrypt(OK, which), opening_public_key=OK.public_key
            )


def test_k_minus_1_plain_shares_are_detected_against_the_public_key():
    plain = [threshold.Share(x=s.x, y=s.y, length=s.length) for s in _decrypt(OK, (0,))]
    with pytest.raises(NotEnoughShares):
        threshold.opening_key_combine(
            plain, opening_public_key=OK.public_key, threshold=2
        )
    with pytest.raises(DecryptionFailed, match="commitment"):
        # Claiming a threshold of 1 does not help: the result is checked.
        threshold.opening_key_combine(
            plain, opening_public_key=OK.public_key, threshold=1
        )


def test_the_rebuilt_key_opens_a_bid_sealed_to_the_opening_key():
    blob = envelope.seal_bytes(
        b"price: 1,000,000 CNY",
        tender_id="T-1",
        bidder_id="B-1",
        recipients=[
            envelope.Recipient("bidder", BIDDER.public_key()),
            envelope.Recipient("opening", keys.public_key_from_bytes(OK.public_key)),
        ],
    )
    key = threshold.opening_key_combine(
        _decrypt(OK, (1, 2)), opening_public_key=OK.public_key
    )
    assert (
        envelope.open_bytes_with_key(blob, key, label="opening")
        == b"price: 1,000,000 CNY"
    )


def test_the_private_key_is_not_kept():
    text = json.dumps(OK.to_dict())
    assert "private" not in text
    assert set(OK.to_dict()) == {
        "v",
        "tender_id",
        "public_key",
        "fingerprint",
        "threshold",
        "shares",
    }


def test_shares_of_another_opening_key_are_refused():
    other = _create()
    mixed = _decrypt(OK, (0,)) + _decrypt(other, (1,))
    with pytest.raises(DecryptionFailed):
        threshold.opening_key_combine(mixed, opening_public_key=OK.public_key)


def test_a_share_for_another_custodian_is_refused():
    name, key = CUSTODIANS[1]
    with pytest.raises(MalformedData, match="custodian 'centre', not 'supervisor'"):
        threshold.share_decrypt(OK.shares[0], key, tender_id="T-1", custodian_id=name)


def test_a_share_for_another_tender_is_refused():
    name, key = CUSTODIANS[0]
    with pytest.raises(MalformedData, match="tender 'T-1', not 'T-2'"):
        threshold.share_decrypt(OK.shares[0], key, tender_id="T-2", custodian_id=name)


def test_the_wrong_custodian_key_fails_to_decrypt():
    name, _ = CUSTODIANS[0]
    with pytest.raises(DecryptionFailed):
        threshold.share_decrypt(
            OK.shares[0], CUSTODIANS[1][1], tender_id="T-1", custodian_id=name
        )


@pytest.mark.parametrize(
    "field,value",
    [
        ("tender_id", "T-2"),
        ("custodian_id", "supervisor"),
        ("x", 2),
        ("threshold", 1),
        ("count", 4),
    ],
)
def test_relabelled_shares_fail_to_decrypt(field, value):
    """Edit a share's metadata and ask for it under the new labels: AAD binds it."""
    data = OK.shares[0].to_dict()
    data[field] = value
    key = CUSTODIANS[0][1]
    with pytest.raises(DecryptionFailed):
        threshold.share_decrypt(
            data, key, tender_id=data["tender_id"], custodian_id=data["custodian_id"]
        )


def test_opening_key_json_round_trips():
    again = threshold.OpeningKey.from_dict(json.loads(json.dumps(OK.to_dict())))
    assert again == OK
    assert again.fingerprint == keys.key_fingerprint(OK.public_key)


def test_creation_is_deterministic_with_a_test_rng():
    a = _create(rng=counter_rng("ok"))
    b = _create(rng=counter_rng("ok"))
    assert a == b
    assert a.public_key != OK.public_key


@pytest.mark.parametrize("k", [0, 4])
def test_bad_thresholds_are_refused(k):
    with pytest.raises(ValueError):
        _create(k=k)


def test_duplicate_custodians_are_refused():
    with pytest.raises(ValueError, match="distinct"):
        threshold.opening_key_create(
            custodians=[PUBLIC[0], PUBLIC[0]], threshold=1, tender_id="T"
        )


def test_malformed_share_objects_are_refused():
    with pytest.raises(MalformedData):
        threshold.EncryptedShare.from_dict({"v": 1})
    data = OK.shares[0].to_dict()
    data["ciphertext"] = "not base64!"
    with pytest.raises(MalformedData):
        threshold.EncryptedShare.from_dict(data)
