"""Verifiable draws: commit, select without bias, recompute from the revealed secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct

import pytest

from crypto import randomness as R
from crypto.errors import MalformedData, VerificationFailed

from .helpers import det_bytes

SECRET = det_bytes("draw", 32)
CANDIDATES = [f"专家{i:02d}" for i in range(20)]
PARAMS = {"purpose": "expert-draw", "tender_id": "GGZY-2024-0001", "m": 5}
PUBLIC_INPUT = "2024-05-01 lottery 3 7 1 9 4"
DIGEST = R.candidates_digest(CANDIDATES)


def _select(secret=SECRET, candidates=CANDIDATES, m=5, public_input=PUBLIC_INPUT):
    return R.select(
        secret=secret,
        params=PARAMS,
        candidates_digest=R.candidates_digest(candidates),
        public_input=public_input,
        candidates=candidates,
        m=m,
    )


def test_known_answer():
    assert R.commitment_of(SECRET) == (
        "359c96e81a46cd91a8c8a90dc7342ff8ba20c2d3d6d6b73c149fdb87024a9bc3"
    )
    assert DIGEST == "455da066df271aa846d09faae311f43a7c5ebdda726ce3b50a066c0d05ca68e3"
    assert _select() == ["专家16", "专家17", "专家01", "专家08", "专家10"]


def test_selection_matches_the_written_algorithm():
    """Recompute the draw from the module docstring with bare hashlib/hmac."""
    pool = sorted(CANDIDATES, key=lambda c: c.encode())
    h = hashlib.sha256(b"ggzy-random-candidates-v1\x00")
    for c in pool:
        h.update(struct.pack(">I", len(c.encode())) + c.encode())
    assert h.hexdigest() == DIGEST
    p = json.dumps(PARAMS, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    p = p.encode()
    i = PUBLIC_INPUT.encode()
    seed = hmac.new(
        SECRET,
        b"ggzy-random-seed-v1\x00"
        + struct.pack(">I", len(p))
        + p
        + h.digest()
        + struct.pack(">I", len(i))
        + i,
        hashlib.sha256,
    ).digest()
    stream = b""
    for j in range(4):
        stream += hmac.new(
            seed, b"ggzy-random-stream-v1\x00" + struct.pack(">Q", j), hashlib.sha256
        ).digest()
    values = iter(struct.unpack(f">{len(stream) // 8}Q", stream))
    for k in range(5):
        n = len(pool) - k
        while True:
            v = next(values)
            if v < 2**64 - (2**64 % n):
                break
        r = k + v % n
        pool[k], pool[r] = pool[r], pool[k]
    assert pool[:5] == _select()


def test_commit_gives_a_fresh_secret_and_its_commitment():
    secret, commitment = R.commit()
    assert len(secret) == 32
    assert commitment == R.commitment_of(secret)
    assert R.commit()[0] != secret


def test_selection_is_deterministic_and_distinct():
    first = _select(m=20)
    assert first == _select(m=20)
    assert sorted(first) == sorted(CANDIDATES)


def test_candidate_order_does_not_matter():
    assert _select(candidates=list(reversed(CANDIDATES))) == _select()
    assert R.candidates_digest(reversed(CANDIDATES)) == DIGEST


def test_drawing_more_extends_the_draw():
    assert _select(m=8)[:5] == _select(m=5)


def test_a_different_secret_or_public_input_changes_the_draw():
    assert _select(secret=det_bytes("draw-2", 32)) != _select()
    assert _select(public_input="2024-05-01 lottery 3 7 1 9 5") != _select()


def test_every_candidate_can_come_first():
    """Over 200 fixed secrets each of 5 candidates is drawn first at least once.

    The secrets are fixed, so this cannot flake; with a biased or broken
    sampler some candidate would never lead.
    """
    cands = ["a", "b", "c", "d", "e"]
    firsts = {
        _select(secret=det_bytes(f"s{i}", 32), candidates=cands, m=1)[0]
        for i in range(200)
    }
    assert firsts == set(cands)


def test_uniform_rejects_values_in_the_biased_tail():
    n = 3
    limit = 2**64 - (2**64 % n)
    values = iter([limit, 2**64 - 1, limit - 1, 5])
    assert R._uniform(values, n) == (limit - 1) % n
    assert R._uniform(values, n) == 5 % n


def test_verify_accepts_the_published_draw():
    assert R.verify_selection(
        commitment=R.commitment_of(SECRET),
        secret=SECRET,
        params=PARAMS,
        candidates_digest=DIGEST,
        public_input=PUBLIC_INPUT,
        candidates=CANDIDATES,
        m=5,
        expected=_select(),
    )


@pytest.mark.parametrize(
    "change,message",
    [
        ({"secret": det_bytes("other", 32)}, "commitment"),
        ({"commitment": "00" * 32}, "commitment"),
        ({"expected": ["专家16", "专家17", "专家01", "专家10", "专家08"]}, "differs"),
        ({"candidates": CANDIDATES[:-1]}, "digest"),
        ({"public_input": "another input"}, "differs"),
        ({"params": {**PARAMS, "m": 6}}, "differs"),
    ],
)
def test_verify_rejects_any_change(change, message):
    args = dict(
        commitment=R.commitment_of(SECRET),
        secret=SECRET,
        params=PARAMS,
        candidates_digest=DIGEST,
        public_input=PUBLIC_INPUT,
        candidates=CANDIDATES,
        m=5,
        expected=_select(),
    )
    args.update(change)
    with pytest.raises(VerificationFailed, match=message):
        R.verify_selection(**args)


def test_duplicates_and_empty_candidates_are_refused():
    with pytest.raises(MalformedData, match="twice"):
        R.candidates_digest(["a", "b", "a"])
    with pytest.raises(MalformedData):
        R.candidates_digest(["a", ""])


def test_m_larger_than_the_list_is_refused():
    with pytest.raises(ValueError):
        _select(m=21)


def test_short_secrets_are_refused():
    with pytest.raises(MalformedData):
        R.commitment_of(b"short")
