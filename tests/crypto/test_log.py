"""The audit log's Merkle tree: RFC 6962 vectors, proofs for every pair of sizes, tampering."""

import hashlib
from datetime import UTC, datetime

import pytest

from crypto import keys, log
from crypto.errors import BadSignature, CryptoError, MalformedData, VerificationFailed

# RFC 6962's reference leaves and results (certificate-transparency merkle_tree_test.cc).
CT_LEAVES = [bytes.fromhex(x) for x in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"]]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
CT_CONSISTENCY = {
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}
N = 13


def _events(n):
    return [hashlib.sha256(f"event {i}".encode()).digest() for i in range(n)]


@pytest.mark.parametrize("size", sorted(CT_ROOTS))
def test_roots_match_the_rfc6962_reference_vectors(size):
    assert log.tree_root(CT_LEAVES[:size], log.RFC6962).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("first", "second"), sorted(CT_CONSISTENCY))
def test_consistency_proofs_match_the_rfc6962_reference_vectors(first, second):
    proof = log.consistency_proof(CT_LEAVES[:second], first, log.RFC6962)
    assert [p.hex() for p in proof] == CT_CONSISTENCY[(first, second)]
    assert log.verify_consistency(first, second, bytes.fromhex(CT_ROOTS[first]),
                                  bytes.fromhex(CT_ROOTS[second]), proof, log.RFC6962)


def test_the_audit_tree_uses_its_own_label():
    leaves = _events(3)
    h = lambda b: hashlib.sha256(b).digest()  # noqa: E731
    label = b"ggzy-audit-log-v1\x00"
    lf = [h(b"\x00" + label + d) for d in leaves]
    want = h(b"\x01" + label + h(b"\x01" + label + lf[0] + lf[1]) + lf[2])
    assert log.tree_root(leaves) == want
    assert log.tree_root(leaves) != log.tree_root(leaves, log.RFC6962)


def test_consistency_proofs_verify_for_every_pair_of_sizes():
    leaves = _events(N)
    roots = {n: log.tree_root(leaves[:n]) for n in range(0, N + 1)}
    for second in range(1, N + 1):
        for first in range(1, second + 1):
            proof = log.consistency_proof(leaves[:second], first)
            assert log.verify_consistency(first, second, roots[first], roots[second], proof)


def test_every_altered_node_of_a_consistency_proof_fails():
    leaves = _events(N)
    roots = {n: log.tree_root(leaves[:n]) for n in range(1, N + 1)}
    for second in range(2, N + 1):
        for first in range(1, second):
            proof = log.consistency_proof(leaves[:second], first)
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
                with pytest.raises(VerificationFailed):
                    log.verify_consistency(first, second, roots[first], roots[second], bad)
            # Cut, appended and swapped proofs fail too.
            with pytest.raises(VerificationFailed):
                log.verify_consistency(first, second, roots[first], roots[second], proof[:-1])
            with pytest.raises(VerificationFailed):
                log.verify_consistency(first, second, roots[first], roots[second],
                                       proof + [roots[1]])
            if len(proof) > 1 and proof[0] != proof[1]:
                swapped = [proof[1], proof[0], *proof[2:]]
                with pytest.raises(VerificationFailed):
                    log.verify_consistency(first, second, roots[first], roots[second],
                                           swapped)


def test_a_rewritten_or_reordered_prefix_is_not_consistent():
    leaves = _events(9)
    old_root = log.tree_root(leaves[:5])
    rewritten = list(leaves)
    rewritten[2] = hashlib.sha256(b"forged").digest()
    reordered = list(leaves)
    reordered[1], reordered[3] = reordered[3], reordered[1]
    for other in (rewritten, reordered):
        proof = log.consistency_proof(other, 5)
        with pytest.raises(VerificationFailed):
            log.verify_consistency(5, 9, old_root, log.tree_root(other), proof)


def test_a_shrunk_log_is_not_consistent():
    leaves = _events(6)
    with pytest.raises(VerificationFailed, match="shrank"):
        log.verify_consistency(6, 4, log.tree_root(leaves), log.tree_root(leaves[:4]), [])


def test_inclusion_proofs_verify_for_every_leaf_and_size_and_fail_when_altered():
    leaves = _events(N)
    for size in range(1, N + 1):
        root = log.tree_root(leaves[:size])
        for i in range(size):
            path = log.inclusion_path(leaves[:size], i)
            assert log.verify_inclusion(leaves[i], i, size, path, root)
            for j in range(len(path)):
                bad = list(path)
                bad[j] = bytes(32)
                with pytest.raises(VerificationFailed):
                    log.verify_inclusion(leaves[i], i, size, bad, root)
            with pytest.raises(VerificationFailed):
                log.verify_inclusion(b"other", i, size, path, root)


def _now():
    return datetime.now(UTC).isoformat(timespec="microseconds")


def test_a_signed_tree_head_verifies_and_refuses_tampering():
    key = keys.generate_signing_key()
    sth = log.sth_sign(key, size=5, root="ab" * 32, timestamp=_now())
    assert log.sth_verify(sth, key.public_key())["size"] == 5
    with pytest.raises(BadSignature):
        log.sth_verify(dict(sth, size=6), key.public_key())
    with pytest.raises(BadSignature):
        log.sth_verify(sth, keys.generate_signing_key().public_key())
    with pytest.raises(MalformedData):
        log.sth_verify(dict(sth, root="zz"), key.public_key())


def test_a_cosignature_binds_the_witness_to_one_tree_head():
    platform, witness = keys.generate_signing_key(), keys.generate_signing_key()
    sth = log.sth_sign(platform, size=3, root="cd" * 32, timestamp=_now())
    other = log.sth_sign(platform, size=4, root="ef" * 32, timestamp=_now())
    cosig = log.cosign(witness, sth, time=_now())
    assert log.cosignature_verify(cosig, sth, witness.public_key())["size"] == 3
    with pytest.raises(VerificationFailed):
        log.cosignature_verify(cosig, other, witness.public_key())
    with pytest.raises(CryptoError):
        log.cosignature_verify(cosig, sth, platform.public_key())
