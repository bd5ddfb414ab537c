"""Envelope format v2 and custody without a trusted dealer: known answers, per-share
checks naming the culprit, the bidder-fault proof, tampering, and endorsements
verified against pinned custodian keys."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
from pathlib import Path

import pytest

from crypto import custody, envelope, keys, shamir, signing
from crypto.errors import (
    BadSignature,
    DecryptionFailed,
    MalformedData,
    NotEnoughShares,
    VerificationFailed,
)

from .helpers import BIDDER, OTHER, counter_rng, p256_key

V2 = json.loads((Path(__file__).parent / "vectors" / "envelope-v2.json").read_text("utf-8"))
CUSTODIANS = [p256_key(tag) for tag in V2["custodian_key_tags"]]
PLAN = envelope.Custody(2, tuple(c.public_key() for c in CUSTODIANS))
TENDER = V2["tender_id"]


def seal(plaintext: bytes = b"sealed bid" * 20, plan=PLAN, **kw) -> bytes:
    return envelope.seal_bytes(
        plaintext, tender_id=TENDER, bidder_id="B-1", chunk_size=64,
        recipients=[envelope.Recipient("bidder", BIDDER.public_key())], custody=plan, **kw)


def header(blob: bytes) -> envelope.EnvelopeHeader:
    return envelope.read_header(io.BytesIO(blob))


def shares_of(blob: bytes, which=(1, 2, 3)) -> dict[int, bytes]:
    out = {}
    for c in CUSTODIANS:
        x, share = custody.unwrap_share(blob, c)
        if x in which:
            out[x] = share
    return out


# -- known answers ------------------------------------------------------------------


def test_v2_seal_is_byte_exact_with_fixed_randomness():
    blob = envelope.seal_bytes(
        bytes.fromhex(V2["plaintext_hex"]), tender_id=V2["tender_id"],
        bidder_id=V2["bidder_id"], chunk_size=V2["chunk_size"],
        recipients=[envelope.Recipient("bidder", BIDDER.public_key())],
        rng=counter_rng(V2["rng_tag"]), custody=PLAN)
    assert blob.hex() == V2["envelope_hex"]
    assert hashlib.sha256(blob).hexdigest() == V2["envelope_sha256"]
    assert [keys.public_key_bytes(c.public_key()).hex() for c in CUSTODIANS] == V2[
        "custodian_points"]


def test_v2_vector_header_fields_and_shares():
    blob = bytes.fromhex(V2["envelope_hex"])
    h = header(blob)
    assert h.raw.hex() == V2["header_hex"]
    assert (h.version, h.threshold, len(h.custodians)) == (2, 2, 3)
    assert [c.commitment.hex() for c in h.custodians] == V2["commitments"]
    assert h.custodian_fingerprints == [keys.key_fingerprint(c) for c in CUSTODIANS]
    assert [s.label for s in h.stanzas] == ["bidder"]
    for x, share in V2["shares"].items():
        assert envelope.share_commitment(V2["tender_id"], int(x), bytes.fromhex(share)).hex() \
            == V2["commitments"][int(x) - 1]
    assert shares_of(blob) == {int(x): bytes.fromhex(s) for x, s in V2["shares"].items()}
    key = custody.combine(blob, {int(x): bytes.fromhex(s) for x, s in V2["shares"].items()})
    assert key.hex() == V2["data_key"]
    assert envelope.open_bytes(blob, key) == bytes.fromhex(V2["plaintext_hex"])


def test_the_written_layout_of_the_custody_block():
    """Offsets as the module docstring states them, computed by hand."""
    h = header(bytes.fromhex(V2["envelope_hex"]))
    raw = h.raw
    at = 39 + 2 + len(TENDER) + 2 + len(V2["bidder_id"]) + 1
    at += 1 + len("bidder") + 32 + 65 + 48
    assert raw[at:at + 2] == bytes([2, 3])
    entry = raw[at + 2:at + 2 + 214]
    c = h.custodians[0]
    assert entry == c.fingerprint + c.commitment + c.ephemeral_point + c.wrapped_share
    assert len(raw) == at + 2 + 3 * 214 + 32


def test_v1_envelopes_still_parse_and_have_no_custody():
    from .helpers import small_envelope

    h = header(small_envelope())
    assert h.version == 1 and h.threshold == 0 and h.custodians == ()
    with pytest.raises(MalformedData, match="not a version-2 envelope"):
        custody.combine(h, {})


# -- combining and the verdict ------------------------------------------------------------


def test_any_k_shares_rebuild_the_data_key_and_the_bidders_key_agrees():
    blob = seal()
    own = envelope.unwrap_data_key(blob, BIDDER, label="bidder")
    for pair in itertools.combinations((1, 2, 3), 2):
        assert custody.combine(blob, shares_of(blob, pair)) == own


def test_fewer_than_k_shares_are_not_enough():
    blob = seal()
    with pytest.raises(NotEnoughShares):
        custody.combine(blob, shares_of(blob, (2,)))


def test_a_bad_share_is_refused_and_names_its_custodian():
    blob = seal()
    shares = shares_of(blob)
    forged = bytearray(shares[2])
    forged[-1] ^= 1
    shares[2] = bytes(forged)
    with pytest.raises(custody.BadShare) as exc:
        custody.combine(blob, shares)
    assert exc.value.x == 2
    assert exc.value.fingerprint == keys.key_fingerprint(CUSTODIANS[1])
    with pytest.raises(custody.BadShare):
        custody.check_share(blob, 2, bytes(forged))


def test_a_custodians_share_handed_in_as_anothers_is_refused():
    blob = seal()
    shares = shares_of(blob)
    with pytest.raises(custody.BadShare) as exc:
        custody.check_share(blob, 3, shares[1])
    assert exc.value.x == 3


def test_shares_are_bound_to_their_envelope():
    one, two = seal(), seal()
    with pytest.raises(custody.BadShare):
        custody.combine(two, shares_of(one, (1, 2)))


def test_a_non_custodian_key_unwraps_no_share():
    with pytest.raises(DecryptionFailed, match="not a custodian"):
        custody.unwrap_share(seal(), OTHER)


def _faulty(monkeypatch, mode: str) -> bytes:
    """A bidder's tool gone rogue: the committed shares are of another secret, or
    shares of different polynomials mixed."""
    real_split = shamir.split

    def split(secret, k, n, *, randbelow):
        if mode == "other_key":
            return real_split(bytes(32), k, n, randbelow=randbelow)
        good = real_split(secret, k, n, randbelow=randbelow)
        bad = real_split(bytes(32), k, n, randbelow=randbelow)
        return good[:2] + bad[2:]

    monkeypatch.setattr(shamir, "split", split)
    blob = seal()
    monkeypatch.setattr(shamir, "split", real_split)
    return blob


def test_matching_shares_that_do_not_open_prove_the_bidder_at_fault(monkeypatch):
    blob = _faulty(monkeypatch, "other_key")
    assert envelope.open_bytes_with_key(blob, BIDDER)  # the bidder itself can open it
    with pytest.raises(custody.BidderFault) as exc:
        custody.combine(blob, shares_of(blob, (1, 3)), envelope_sha256="ab" * 32)
    proof = exc.value.proof
    assert proof.envelope_sha256 == "ab" * 32
    assert [x for x, _ in proof.shares] == [1, 3]
    again = custody.FaultProof.from_dict(json.loads(json.dumps(proof.to_dict())))
    assert custody.verify_fault_proof(again).raw == header(blob).raw


def test_inconsistent_shares_are_the_bidders_fault_whichever_k_arrive(monkeypatch):
    blob = _faulty(monkeypatch, "mixed")
    key = custody.combine(blob, shares_of(blob, (1, 2)))  # these two happen to work
    assert envelope.open_bytes(blob, key)
    with pytest.raises(custody.BidderFault):
        custody.combine(blob, shares_of(blob, (1, 3)))


def test_only_the_k_lowest_shares_decide():
    blob = seal()
    assert custody.combine(blob, shares_of(blob)) == custody.combine(blob,
                                                                      shares_of(blob, (1, 2)))


def test_a_fault_proof_of_an_honest_envelope_does_not_verify():
    blob = seal()
    proof = custody.FaultProof(header(blob).raw, tuple(shares_of(blob, (1, 2)).items()), "x")
    with pytest.raises(VerificationFailed, match="not at fault"):
        custody.verify_fault_proof(proof)
    with pytest.raises(VerificationFailed):
        custody.verify_fault_proof(custody.FaultProof(header(blob).raw,
                                                      tuple(shares_of(blob, (1,)).items()), ""))
    with pytest.raises(MalformedData):
        custody.FaultProof.from_dict({"header": "!!"})


# -- tampering ------------------------------------------------------------------------------


def _custody_offset(h: envelope.EnvelopeHeader) -> int:
    return h.size - 32 - 2 - 214 * len(h.custodians)


@pytest.mark.parametrize("where", ["threshold", "commitment", "fingerprint", "wrapped"])
def test_a_changed_custody_block_fails_the_header_mac(where):
    blob = bytearray(seal())
    h = header(bytes(blob))
    at = _custody_offset(h)
    pos = {"threshold": at, "fingerprint": at + 2, "commitment": at + 2 + 32,
           "wrapped": at + 2 + 32 + 32 + 65}[where]
    blob[pos] ^= 1 if where != "threshold" else 3  # threshold 2 -> 1
    with pytest.raises(DecryptionFailed):
        envelope.open_bytes_with_key(bytes(blob), BIDDER)


def test_a_threshold_above_the_count_is_malformed():
    blob = bytearray(seal())
    blob[_custody_offset(header(bytes(blob)))] = 4
    with pytest.raises(MalformedData, match="threshold 4 of 3"):
        header(bytes(blob))


def test_a_custody_block_naming_one_key_twice_is_refused():
    with pytest.raises(ValueError, match="twice"):
        seal(plan=envelope.Custody(2, (CUSTODIANS[0].public_key(),) * 2))


def test_a_truncated_custody_block_is_malformed():
    raw = header(seal()).raw
    with pytest.raises(MalformedData, match="truncated"):
        envelope.read_header(io.BytesIO(raw[:-100]))


# -- endorsements -------------------------------------------------------------------------

SIGNERS = {f"c{i}": p256_key(f"signer-{i}") for i in (1, 2, 3)}


def _statement() -> dict:
    return custody.statement(
        tender_id=TENDER, threshold=2, deadline="2026-12-31T09:30:00Z",
        custodians=[custody.CustodianSeat(i, f"c{i}", keys.key_fingerprint(c))
                    for i, c in enumerate(CUSTODIANS, 1)])


def _endorsements(stmt, signers=SIGNERS) -> list[dict]:
    return [{"custodian_id": cid, "signature": base64.b64encode(custody.endorse(k, stmt)).decode()}
            for cid, k in signers.items()]


PINNED = custody.load_trust_file(custody.trust_file(
    {cid: k.public_key() for cid, k in SIGNERS.items()}))


def test_endorsements_by_every_pinned_custodian_verify():
    stmt = _statement()
    seats = custody.verify_endorsements(stmt, _endorsements(stmt), PINNED)
    assert [s.id for s in seats] == ["c1", "c2", "c3"]
    public = custody.check_custodian_keys(
        seats, {f"c{i}": keys.public_key_bytes(c.public_key())
                for i, c in enumerate(CUSTODIANS, 1)})
    assert [keys.key_fingerprint(p) for p in public] == [s.key for s in seats]


def test_a_missing_endorsement_is_refused_naming_the_custodian():
    stmt = _statement()
    with pytest.raises(BadSignature, match="'c2' has not endorsed"):
        custody.verify_endorsements(stmt, _endorsements(stmt)[::2], PINNED)


def test_an_endorsement_by_an_unpinned_key_is_refused():
    stmt = _statement()
    rogue = dict(SIGNERS, c3=p256_key("platform"))
    with pytest.raises(BadSignature, match="'c3'.*does not verify with its pinned key"):
        custody.verify_endorsements(stmt, _endorsements(stmt, rogue), PINNED)


def test_a_changed_statement_no_longer_verifies():
    stmt = _statement()
    sigs = _endorsements(stmt)
    for change in ({"threshold": 1}, {"deadline": "2027-01-01T00:00:00Z"},
                   {"tender_id": "GGZY-OTHER"}):
        with pytest.raises(BadSignature):
            custody.verify_endorsements({**stmt, **change}, sigs, PINNED)
    swapped = json.loads(json.dumps(stmt))
    swapped["custodians"][0]["key"] = keys.key_fingerprint(OTHER)
    with pytest.raises(BadSignature):
        custody.verify_endorsements(swapped, sigs, PINNED)


def test_a_custodian_not_pinned_is_refused():
    stmt = _statement()
    pinned = {k: v for k, v in PINNED.items() if k != "c1"}
    with pytest.raises(BadSignature, match="'c1' is not in your pinned"):
        custody.verify_endorsements(stmt, _endorsements(stmt), pinned)


def test_a_swapped_encryption_key_is_refused():
    seats = custody.seats_of(_statement())
    points = {f"c{i}": keys.public_key_bytes(c.public_key()) for i, c in enumerate(CUSTODIANS, 1)}
    points["c2"] = keys.public_key_bytes(OTHER.public_key())
    with pytest.raises(BadSignature, match="'c2'.*not the one it endorsed"):
        custody.check_custodian_keys(seats, points)


def test_an_endorsement_signature_is_not_valid_for_another_purpose():
    stmt = _statement()
    sig = custody.endorse(SIGNERS["c1"], stmt)
    with pytest.raises(BadSignature):
        signing.verify(SIGNERS["c1"].public_key(), signing.RECEIPT,
                       custody.statement_bytes(stmt), sig)


def test_trust_files_accept_pem_and_refuse_junk():
    pem = keys.public_key_to_pem(SIGNERS["c1"].public_key()).decode()
    assert set(custody.load_trust_file(json.dumps(
        {"v": 1, "custodians": [{"id": "c1", "signing_key": pem}]}))) == {"c1"}
    for junk in ("{}", '{"v": 2, "custodians": []}', '{"v": 1, "custodians": []}', "nope",
                 '{"v": 1, "custodians": [{"id": "x", "signing_key": "!!"}]}'):
        with pytest.raises(MalformedData):
            custody.load_trust_file(junk)


def test_a_malformed_statement_is_refused():
    stmt = _statement()
    for bad in ({**stmt, "v": 9}, {**stmt, "threshold": 4}, {k: v for k, v in stmt.items()
                                                              if k != "custodians"}):
        with pytest.raises(MalformedData):
            custody.seats_of(bad)
