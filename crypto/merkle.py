"""Merkle tree over the digests of the envelopes accepted by a tender's deadline.

Format (version 1, the construction of RFC 6962 / Certificate Transparency with our
own domain labels):

* The leaves are the envelopes' SHA-256 digests (32 bytes each), **sorted** in
  ascending byte order, so the tree depends only on the set of bids.
* ``leaf_hash(d) = SHA-256(0x00 || "ggzy-merkle-v1" || d)``
* ``node_hash(l, r) = SHA-256(0x01 || "ggzy-merkle-v1" || l || r)``
* The root of ``n`` leaves: for ``n == 1`` the leaf hash; otherwise split at ``k``, the
  largest power of two below ``n``, and hash the roots of the two sides. The root of an
  empty list is ``SHA-256(0x02 || "ggzy-merkle-v1")``.
* An inclusion proof for leaf ``i`` lists the sibling hashes from the leaf up (RFC 6962
  section 2.1.1 audit path). :func:`verify_inclusion` recomputes the root from the leaf,
  its index, the tree size and the path.

The opening record publishes the root and the tree size; each bidder gets the proof for
its own digest, and anyone holding a receipt can check that its bid is in the record,
so no bid can be dropped, added or swapped after the deadline without a proof failing
or the published size changing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import MalformedData, VerificationFailed

LABEL = b"ggzy-merkle-v1"


def leaf_hash(digest: bytes) -> bytes:
    if len(digest) != 32:
        raise MalformedData("a Merkle leaf is a 32-byte SHA-256 digest")
    return hashlib.sha256(b"\x00" + LABEL + digest).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + LABEL + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def sorted_leaves(digests_hex: Sequence[str]) -> list[bytes]:
    """The tree's leaves from hex digests: decoded, de-duplicated, sorted."""
    try:
        raw = {bytes.fromhex(d) for d in digests_hex}
    except ValueError as exc:
        raise MalformedData(f"not a hex digest: {exc}") from exc
    return sorted(raw)


def root(digests_hex: Sequence[str]) -> str:
    """Hex root of the tree over the given envelope digests (any order)."""
    leaves = sorted_leaves(digests_hex)
    if not leaves:
        return hashlib.sha256(b"\x02" + LABEL).hexdigest()
    return _root([leaf_hash(d) for d in leaves]).hex()


@dataclass(frozen=True)
class InclusionProof:
    digest: str
    index: int
    size: int
    path: tuple[str, ...]
    root: str

    def to_dict(self) -> dict:
        return {"v": 1, "type": "ggzy-merkle-inclusion", "digest": self.digest,
                "index": self.index, "size": self.size, "path": list(self.path),
                "root": self.root}

    @classmethod
    def from_dict(cls, data: dict) -> InclusionProof:
        try:
            if data.get("v") != 1 or data.get("type") != "ggzy-merkle-inclusion":
                raise MalformedData("not a version-1 inclusion proof")
            return cls(str(data["digest"]), int(data["index"]), int(data["size"]),
                       tuple(str(p) for p in data["path"]), str(data["root"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedData(f"malformed inclusion proof: {exc}") from exc


def inclusion_proof(digests_hex: Sequence[str], digest_hex: str) -> InclusionProof:
    """The audit path proving ``digest_hex`` is one of the leaves."""
    leaves = sorted_leaves(digests_hex)
    target = bytes.fromhex(digest_hex)
    if target not in leaves:
        raise MalformedData("that digest is not in the tree")
    index = leaves.index(target)
    hashes = [leaf_hash(d) for d in leaves]
    path: list[bytes] = []

    def walk(nodes: list[bytes], i: int) -> None:
        if len(nodes) == 1:
            return
        k = _split(len(nodes))
        if i < k:
            walk(nodes[:k], i)
            path.append(_root(nodes[k:]))
        else:
            walk(nodes[k:], i - k)
            path.append(_root(nodes[:k]))

    walk(hashes, index)
    return InclusionProof(digest_hex.lower(), index, len(leaves), tuple(p.hex() for p in path),
                          _root(hashes).hex())


def verify_inclusion(
    proof: InclusionProof | dict, *, root_hex: str | None = None, size: int | None = None
) -> bool:
    """Recompute the root from the proof; True, or ``VerificationFailed`` saying why.

    ``root_hex`` and ``size`` are the published root and number of bids to check against
    (they default to the proof's own). Always check both: the root commits to the set of
    digests, the size to how many there were."""
    if isinstance(proof, dict):
        proof = InclusionProof.from_dict(proof)
    if size is not None and proof.size != size:
        raise VerificationFailed(f"the proof is for {proof.size} bids, the record says {size}")
    if not 0 <= proof.index < proof.size:
        raise VerificationFailed("leaf index outside the tree")
    try:
        node = leaf_hash(bytes.fromhex(proof.digest))
        path = [bytes.fromhex(p) for p in proof.path]
    except ValueError as exc:
        raise MalformedData(f"not hex: {exc}") from exc

    def climb(i: int, n: int, steps: list[bytes]) -> bytes:
        # Mirrors the recursive split: returns the subtree root containing leaf i.
        if n == 1:
            if steps:
                raise VerificationFailed("proof has extra hashes")
            return node
        k = _split(n)
        if not steps:
            raise VerificationFailed("proof is too short")
        sibling = steps[-1]
        if i < k:
            return node_hash(climb(i, k, steps[:-1]), sibling)
        return node_hash(sibling, climb(i - k, n - k, steps[:-1]))

    computed = climb(proof.index, proof.size, path).hex()
    expected = (root_hex or proof.root).lower()
    if not hmac.compare_digest(computed, expected):
        raise VerificationFailed("the proof does not lead to the published root")
    return True
