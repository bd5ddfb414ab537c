"""The audit log as a Merkle tree: signed tree heads, inclusion and consistency proofs.

Modelled on Certificate Transparency (RFC 9162 section 2.1); wire specification version 1.

Tree
----
The leaves are the audit events' chain hashes (:mod:`crypto.chain`, 32 bytes each) in
sequence order: leaf ``i`` (0-based) is event ``#i+1``. Hashing is RFC 9162's with a
domain label (``TreeHasher``):

* ``leaf_hash(d)    = SHA-256(0x00 || LABEL || d)``
* ``node_hash(l, r) = SHA-256(0x01 || LABEL || l || r)``
* the root of ``n > 1`` leaves splits at ``k``, the largest power of two below ``n``,
  and hashes the roots of the two sides; the root of one leaf is its leaf hash; the
  root of no leaves is ``SHA-256(LABEL)``.

``LABEL`` is ``"ggzy-audit-log-v1\\x00"`` for the audit log (:data:`AUDIT`), distinct
from the bid tree's (:mod:`crypto.merkle`). :data:`RFC6962` has an empty label, so the
functions reproduce RFC 6962's published test vectors exactly.

Proofs
------
* Inclusion proof of leaf ``i`` in a tree of size ``n``: the audit path of RFC 9162
  section 2.1.3.1, verified with the algorithm of 2.1.3.2.
* Consistency proof between sizes ``m <= n``: RFC 9162 section 2.1.4.1 (``SUBPROOF``),
  verified with the algorithm of 2.1.4.2. It proves that the tree of size ``m`` is a
  prefix of the tree of size ``n``: nothing in the first ``m`` leaves was removed,
  changed or reordered.

Signed tree head (STH)
----------------------
A JSON object::

    {"v": 1, "type": "ggzy-tree-head", "log": "ggzy-audit",
     "size": int, number of leaves,
     "root": 64 hex digits, the root hash,
     "timestamp": ISO 8601 with UTC offset,
     "key": hex SHA-256 of the platform's Ed25519 verify key,
     "signature": base64 Ed25519 signature}

signed over ``"ggzy-tree-head-v1\\x00" || canonical_json(STH without "signature")``
(:data:`crypto.signing.TREE_HEAD`, see :mod:`crypto._signed`).

Witness cosignature
-------------------
A witness that has checked an STH is consistent with the last one it cosigned signs::

    {"v": 1, "type": "ggzy-witness-cosignature",
     "log_key": the STH's "key", "size": int, "root": hex, "sth_timestamp": the STH's,
     "time": when the witness cosigned, "key": the witness key's fingerprint,
     "signature": base64 Ed25519}

over ``"ggzy-witness-cosign-v1\\x00" || canonical_json(without "signature")``
(:data:`crypto.signing.WITNESS_COSIGN`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from . import _fields
from ._signed import sign_statement, verify_statement
from .errors import MalformedData, VerificationFailed
from .signing import TREE_HEAD, WITNESS_COSIGN, SigningKey, VerifyKey

STH_TYPE = "ggzy-tree-head"
COSIGNATURE_TYPE = "ggzy-witness-cosignature"
AUDIT_LOG = "ggzy-audit"


class TreeHasher:
    """RFC 9162 tree hashing under one domain label."""

    def __init__(self, label: bytes) -> None:
        self.label = bytes(label)

    def empty_root(self) -> bytes:
        return hashlib.sha256(self.label).digest()

    def leaf_hash(self, data: bytes) -> bytes:
        return hashlib.sha256(b"\x00" + self.label + bytes(data)).digest()

    def node_hash(self, left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + self.label + left + right).digest()


RFC6962 = TreeHasher(b"")
AUDIT = TreeHasher(b"ggzy-audit-log-v1\x00")


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n >= 2``)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _range_root(hasher: TreeHasher, hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return hasher.node_hash(_range_root(hasher, hashes, lo, lo + k),
                            _range_root(hasher, hashes, lo + k, hi))


def _leaf_hashes(leaves: Sequence[bytes], hasher: TreeHasher) -> list[bytes]:
    return [hasher.leaf_hash(d) for d in leaves]


def tree_root(leaves: Sequence[bytes], hasher: TreeHasher = AUDIT) -> bytes:
    """The root hash of the tree over ``leaves`` (raw leaf data, in order)."""
    if not leaves:
        return hasher.empty_root()
    hashes = _leaf_hashes(leaves, hasher)
    return _range_root(hasher, hashes, 0, len(hashes))


def inclusion_path(
    leaves: Sequence[bytes], index: int, hasher: TreeHasher = AUDIT
) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree over ``leaves`` (RFC 9162 2.1.3.1)."""
    if not 0 <= index < len(leaves):
        raise MalformedData("leaf index outside the tree")
    hashes = _leaf_hashes(leaves, hasher)
    path: list[bytes] = []

    def walk(lo: int, hi: int, i: int) -> None:
        if hi - lo == 1:
            return
        k = _split(hi - lo)
        if i < k:
            walk(lo, lo + k, i)
            path.append(_range_root(hasher, hashes, lo + k, hi))
        else:
            walk(lo + k, hi, i - k)
            path.append(_range_root(hasher, hashes, lo, lo + k))

    walk(0, len(hashes), index)
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes,
    hasher: TreeHasher = AUDIT,
) -> bool:
    """RFC 9162 2.1.3.2: True, or ``VerificationFailed`` saying why."""
    if not 0 <= index < size:
        raise VerificationFailed("leaf index outside the tree")
    fn, sn = index, size - 1
    r = hasher.leaf_hash(leaf)
    for p in path:
        if sn == 0:
            raise VerificationFailed("inclusion proof has extra hashes")
        if fn & 1 or fn == sn:
            r = hasher.node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hasher.node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationFailed("inclusion proof is too short")
    if not hmac.compare_digest(r, root):
        raise VerificationFailed("the inclusion proof does not lead to the root")
    return True


def consistency_proof(
    leaves: Sequence[bytes], first: int, hasher: TreeHasher = AUDIT
) -> list[bytes]:
    """RFC 9162 2.1.4.1: proof that the first ``first`` leaves are a prefix of all of
    ``leaves``. Empty when ``first`` is 0 or equals the size."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise MalformedData("the first size must be between 0 and the tree size")
    if first == 0 or first == n:
        return []
    hashes = _leaf_hashes(leaves, hasher)
    proof: list[bytes] = []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> None:
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(_range_root(hasher, hashes, lo, hi))
            return
        k = _split(n)
        if m <= k:
            subproof(m, lo, lo + k, complete)
            proof.append(_range_root(hasher, hashes, lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            proof.append(_range_root(hasher, hashes, lo, lo + k))

    subproof(first, 0, n, True)
    return proof


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes,
    proof: Sequence[bytes], hasher: TreeHasher = AUDIT,
) -> bool:
    """RFC 9162 2.1.4.2: True if the tree of size ``first`` with ``first_root`` is a
    prefix of the tree of size ``second`` with ``second_root``; else
    ``VerificationFailed`` saying why."""
    if first < 0 or second < 0:
        raise VerificationFailed("tree sizes are non-negative")
    if first > second:
        raise VerificationFailed(
            f"the log shrank: a tree of {first} leaves cannot be a prefix of {second}")
    proof = list(proof)
    if first == second:
        if proof:
            raise VerificationFailed("a proof between equal sizes is empty")
        if not hmac.compare_digest(first_root, second_root):
            raise VerificationFailed("two different roots for the same tree size")
        return True
    if first == 0:
        if proof:
            raise VerificationFailed("a proof from the empty tree is empty")
        return True
    if first & (first - 1) == 0:  # an exact power of two: its root is a node of the path
        proof.insert(0, first_root)
    if not proof:
        raise VerificationFailed("the consistency proof is empty")
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise VerificationFailed("the consistency proof has extra hashes")
        if fn & 1 or fn == sn:
            fr = hasher.node_hash(c, fr)
            sr = hasher.node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hasher.node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationFailed("the consistency proof is too short")
    if not hmac.compare_digest(fr, first_root):
        raise VerificationFailed(
            f"the proof does not lead to the old root of size {first}")
    if not hmac.compare_digest(sr, second_root):
        raise VerificationFailed(
            f"the proof does not lead to the new root of size {second}")
    return True


def hex_list(values: Sequence[Any], what: str = "proof") -> list[bytes]:
    """Decode a JSON list of 64-digit hex hashes; ``MalformedData`` otherwise."""
    if not isinstance(values, list | tuple):
        raise MalformedData(f"{what} must be a list of hex hashes")
    return [bytes.fromhex(_fields.hex_digest(v, what)) for v in values]


# -- signed tree heads and cosignatures ------------------------------------------


def _sth_body(sth: Mapping[str, Any]) -> dict:
    if not isinstance(sth, Mapping):
        raise MalformedData("a tree head is a JSON object")
    if sth.get("v") != 1 or sth.get("type") != STH_TYPE:
        raise MalformedData("not a version-1 signed tree head")
    _fields.text(sth.get("log"), "log")
    _fields.non_negative_int(sth.get("size"), "size")
    _fields.hex_digest(sth.get("root"), "root")
    _fields.iso_time(sth.get("timestamp"), "timestamp")
    return dict(sth)


def sth_sign(signing_key: SigningKey, *, size: int, root: str, timestamp: str,
             log: str = AUDIT_LOG) -> dict:
    """Sign a tree head: ``size`` leaves with root ``root`` (hex) at ``timestamp``."""
    body = _sth_body({"v": 1, "type": STH_TYPE, "log": log, "size": size,
                      "root": root, "timestamp": timestamp})
    return sign_statement(signing_key, TREE_HEAD, body)


def sth_verify(sth: Mapping[str, Any], verify_key: VerifyKey) -> dict:
    """Check a tree head's form and signature; return its fields.

    Raises ``MalformedData`` or ``BadSignature`` (another key signed it, or it was
    altered)."""
    _sth_body(sth)
    return verify_statement(sth, verify_key, TREE_HEAD)


def sth_parse(sth: Mapping[str, Any]) -> dict:
    """A tree head's fields, checked for form only (no signature check)."""
    return _sth_body(sth)


def cosign(witness_key: SigningKey, sth: Mapping[str, Any], *, time: str) -> dict:
    """A witness's cosignature over ``sth`` (whose form the caller has checked)."""
    body = _sth_body(sth)
    _fields.iso_time(time, "time")
    statement = {"v": 1, "type": COSIGNATURE_TYPE, "log_key": body.get("key", ""),
                 "size": body["size"], "root": body["root"],
                 "sth_timestamp": body["timestamp"], "time": time}
    return sign_statement(witness_key, WITNESS_COSIGN, statement)


def cosignature_verify(cosignature: Mapping[str, Any], sth: Mapping[str, Any],
                       witness_key: VerifyKey) -> dict:
    """Check that ``cosignature`` is the witness's signature over this very ``sth``.

    Raises ``MalformedData``, ``BadSignature`` or ``VerificationFailed``."""
    if not isinstance(cosignature, Mapping):
        raise MalformedData("a cosignature is a JSON object")
    if cosignature.get("v") != 1 or cosignature.get("type") != COSIGNATURE_TYPE:
        raise MalformedData("not a version-1 witness cosignature")
    body = verify_statement(cosignature, witness_key, WITNESS_COSIGN)
    head = _sth_body(sth)
    if (body.get("size") != head["size"] or body.get("root") != head["root"]
            or body.get("sth_timestamp") != head["timestamp"]
            or body.get("log_key") != head.get("key")):
        raise VerificationFailed("the cosignature is for another tree head")
    return body
