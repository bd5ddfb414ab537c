"""The Merkle tree over accepted envelopes: proofs verify, and every tampering fails."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import merkle
from crypto.errors import CryptoError, VerificationFailed


def _digests(n):
    return [hashlib.sha256(f"bid {i}".encode()).hexdigest() for i in range(n)]


def test_known_answer_root_of_three():
    # Recomputed by hand from the docstring's definitions.
    ds = sorted(bytes.fromhex(d) for d in _digests(3))
    leaf = [hashlib.sha256(b"\x00ggzy-merkle-v1" + d).digest() for d in ds]
    left = hashlib.sha256(b"\x01ggzy-merkle-v1" + leaf[0] + leaf[1]).digest()
    want = hashlib.sha256(b"\x01ggzy-merkle-v1" + left + leaf[2]).hexdigest()
    assert merkle.root(_digests(3)) == want


def test_the_root_does_not_depend_on_order():
    ds = _digests(7)
    assert merkle.root(ds) == merkle.root(list(reversed(ds)))


@given(st.integers(min_value=1, max_value=40))
def test_every_leaf_has_a_proof_to_the_root(n):
    ds = _digests(n)
    root = merkle.root(ds)
    for d in ds:
        proof = merkle.inclusion_proof(ds, d)
        assert merkle.verify_inclusion(proof.to_dict(), root_hex=root)


def test_a_dropped_added_or_swapped_bid_changes_the_root():
    ds = _digests(5)
    root = merkle.root(ds)
    assert merkle.root(ds[:-1]) != root
    assert merkle.root(ds + [hashlib.sha256(b"late").hexdigest()]) != root
    assert merkle.root(ds[:-1] + [hashlib.sha256(b"swap").hexdigest()]) != root


def test_a_proof_for_another_digest_index_size_or_root_fails():
    ds = _digests(6)
    root = merkle.root(ds)
    proof = merkle.inclusion_proof(ds, ds[2])
    other = hashlib.sha256(b"not a bid").hexdigest()
    for bad in (
        merkle.InclusionProof(other, proof.index, proof.size, proof.path, root),
        merkle.InclusionProof(proof.digest, (proof.index + 1) % 6, proof.size, proof.path, root),
        merkle.InclusionProof(proof.digest, proof.index, proof.size + 1, proof.path, root),
        merkle.InclusionProof(proof.digest, proof.index, proof.size, proof.path[:-1], root),
        merkle.InclusionProof(proof.digest, proof.index, proof.size,
                              (*proof.path[:-1], "00" * 32), root),
    ):
        with pytest.raises(CryptoError):
            merkle.verify_inclusion(bad, root_hex=root, size=6)
    with pytest.raises(VerificationFailed):
        merkle.verify_inclusion(proof, root_hex=merkle.root(ds[:-1]))


def test_a_digest_not_in_the_tree_has_no_proof():
    with pytest.raises(CryptoError):
        merkle.inclusion_proof(_digests(3), hashlib.sha256(b"x").hexdigest())


def test_malformed_proofs_are_refused():
    with pytest.raises(CryptoError):
        merkle.verify_inclusion({"v": 2})
    with pytest.raises(CryptoError):
        merkle.verify_inclusion({"v": 1, "type": "ggzy-merkle-inclusion", "digest": "zz",
                                 "index": 0, "size": 1, "path": [], "root": "00"})
