"""Shamir secret sharing: any k shares work, k-1 reveal nothing."""

from __future__ import annotations

import itertools
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import shamir
from crypto.errors import DecryptionFailed, MalformedData, NotEnoughShares


@settings(max_examples=40, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=64),
    kn=st.integers(1, 6).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))),
)
def test_any_k_shares_reconstruct_the_secret(secret, kn):
    k, n = kn
    shares = shamir.split(secret, k, n)
    for subset in itertools.combinations(shares, k):
        assert shamir.combine(subset) == secret
    assert shamir.combine(shares) == secret


def test_secret_with_leading_zero_bytes_keeps_its_length():
    secret = b"\x00\x00\x01"
    assert shamir.combine(shamir.split(secret, 2, 3)[:2]) == secret


def test_k_minus_1_shares_do_not_give_the_secret():
    secret = secrets.token_bytes(32)
    shares = shamir.split(secret, 3, 5)
    try:
        assert shamir.combine(shares[:2]) != secret
    except DecryptionFailed:
        pass  # the usual outcome: the wrong value does not fit in 32 bytes


def test_k_minus_1_shares_of_a_long_secret_give_a_wrong_value():
    """A 64-byte secret leaves little room for the range check to notice."""
    secret = secrets.token_bytes(64)
    shares = shamir.split(secret, 3, 5)
    try:
        assert shamir.combine(shares[:2]) != secret
    except DecryptionFailed:
        pass


def test_k_minus_1_shares_are_consistent_with_every_secret():
    """For any other secret there is a polynomial of degree k-1 that produces
    the same k-1 shares: they carry no information about the secret."""
    secret = secrets.token_bytes(32)
    k = 3
    seen = shamir.split(secret, k, 5)[: k - 1]
    for other in (bytes(32), b"\xff" * 32, secrets.token_bytes(32)):
        points = [(0, int.from_bytes(other, "big"))] + [(s.x, s.y) for s in seen]
        # The interpolating polynomial through (0, other) and the seen shares has
        # degree <= k-1, so it is a valid sharing of ``other``.
        for s in seen:
            assert shamir.interpolate_at(points, s.x) == s.y
        forged = shamir.Share(x=5, y=shamir.interpolate_at(points, 5), length=32)
        assert shamir.combine([*seen, forged]) == other


def test_share_serialisation_round_trips():
    share = shamir.split(b"secret", 2, 3)[1]
    assert shamir.Share.from_bytes(share.to_bytes()) == share
    assert len(share.to_bytes()) == shamir.SHARE_LEN
    assert shamir.Share.from_dict(share.to_dict()) == share


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b[:-1],
        lambda b: b"\x02" + b[1:],  # version
        lambda b: b[:1] + b"\x00" + b[2:],  # x = 0
        lambda b: b[:2] + b"\x41" + b[3:],  # length 65
        lambda b: b[:3] + b"\xff" * shamir.Y_LEN,  # y >= p
    ],
)
def test_malformed_shares_are_refused(mutate):
    raw = shamir.split(b"secret", 2, 3)[0].to_bytes()
    with pytest.raises(MalformedData):
        shamir.Share.from_bytes(mutate(raw))


def test_conflicting_duplicate_shares_are_refused():
    a, b, _ = shamir.split(b"secret", 2, 3)
    with pytest.raises(MalformedData, match="x = 1"):
        shamir.combine([a, shamir.Share(x=1, y=b.y, length=a.length)])
    assert shamir.combine([a, a, b]) == b"secret"


def test_no_shares_is_not_enough():
    with pytest.raises(NotEnoughShares):
        shamir.combine([])


@pytest.mark.parametrize("k,n", [(0, 3), (4, 3), (1, 256)])
def test_bad_parameters_are_refused(k, n):
    with pytest.raises(ValueError):
        shamir.split(b"s", k, n)


def test_threshold_shares_detect_too_few_and_wrong_shares():
    secret = secrets.token_bytes(32)
    shares = shamir.split_threshold(secret, 3, 5)
    assert shamir.combine_threshold(shares[1:4]) == secret
    with pytest.raises(NotEnoughShares, match="need 3 shares, have 2"):
        shamir.combine_threshold(shares[:2])
    bad = shamir.ThresholdShare.wrap(
        shamir.Share(x=shares[0].x, y=shares[0].y + 1, length=32),
        threshold=3,
        commitment=shares[0].commitment,
    )
    with pytest.raises(DecryptionFailed, match="commitment"):
        shamir.combine_threshold([bad, *shares[1:3]])


def test_threshold_share_dict_round_trips():
    share = shamir.split_threshold(b"k" * 32, 2, 3)[0]
    assert shamir.ThresholdShare.from_dict(share.to_dict()) == share


def test_shares_of_different_sharings_are_refused():
    a = shamir.split_threshold(b"a" * 32, 2, 3)
    b = shamir.split_threshold(b"b" * 32, 2, 3)
    with pytest.raises(MalformedData, match="different sharings"):
        shamir.combine_threshold([a[0], b[1]])
