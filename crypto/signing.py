"""Domain-separated signatures: Ed25519, or ECDSA P-256 for browsers.

Wire specification
------------------
A signature is over ``label || message`` where ``label`` is one of the
constants below. Every label is ASCII, ends with one NUL byte and contains no
other, so no label is a prefix of another and a signature made for one purpose
never verifies for another.

* With an Ed25519 key: a 64-byte RFC 8032 signature.
* With a P-256 key: ECDSA with SHA-256, written as the 64-byte ``r || s``
  (IEEE P1363), the form WebCrypto's ``sign({name: "ECDSA", hash: "SHA-256"})``
  returns, so a bidder's browser can sign its bid digest.

Messages built here (:func:`bid_digest_message`) are canonical JSON (sorted
keys, no spaces, UTF-8; see :func:`crypto.chain.canonical_json`).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .chain import canonical_json
from .errors import BadSignature, MalformedData

RECEIPT = b"ggzy-receipt-v1\x00"
CHECKPOINT = b"ggzy-checkpoint-v1\x00"
BID_DIGEST = b"ggzy-bid-digest-v1\x00"
RECORD = b"ggzy-record-v1\x00"
OPENING_KEY = b"ggzy-opening-key-v1\x00"
DRAW = b"ggzy-draw-v1\x00"
# A custodian vouches for a tender's custodian set (crypto.custody.statement).
CUSTODIAN_SET = b"ggzy-custodian-set-v1\x00"
# The audit log's signed tree heads (crypto.log), and a witness's cosignature of one.
TREE_HEAD = b"ggzy-tree-head-v1\x00"
WITNESS_COSIGN = b"ggzy-witness-cosign-v1\x00"
# An evaluation committee member signs the evaluation report (Reg 53): the message is
# bidding.evaluation.services.report_message (canonical JSON: tender, report SHA-256).
REPORT = b"ggzy-evaluation-report-v1\x00"
# Both parties sign a contract and each later amendment (bidding.award.contract, which
# uses it as CONTRACT_LABEL).
CONTRACT = b"ggzy-contract-v1\x00"

LABELS = frozenset({RECEIPT, CHECKPOINT, BID_DIGEST, RECORD, OPENING_KEY, DRAW, TREE_HEAD,
                    WITNESS_COSIGN, CUSTODIAN_SET, REPORT, CONTRACT})

SigningKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
VerifyKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def _check_label(label: bytes) -> bytes:
    label = bytes(label)
    if not label.endswith(b"\x00") or label.count(b"\x00") != 1 or len(label) < 2:
        raise ValueError("a signature label ends with one NUL byte and has no other")
    return label


def sign(signing_key: SigningKey, label: bytes, message: bytes) -> bytes:
    """Sign ``label || message``; 64 bytes for Ed25519 and for P-256 (r || s)."""
    data = _check_label(label) + bytes(message)
    if isinstance(signing_key, ed25519.Ed25519PrivateKey):
        return signing_key.sign(data)
    if isinstance(signing_key, ec.EllipticCurvePrivateKey) and isinstance(
        signing_key.curve, ec.SECP256R1
    ):
        r, s = decode_dss_signature(signing_key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    raise MalformedData("signing needs an Ed25519 or P-256 private key")


def verify(
    verify_key: VerifyKey, label: bytes, message: bytes, signature: bytes
) -> None:
    """Check a :func:`sign` signature; raise ``BadSignature`` if it does not verify."""
    data = _check_label(label) + bytes(message)
    signature = bytes(signature)
    try:
        if isinstance(verify_key, ed25519.Ed25519PublicKey):
            verify_key.verify(signature, data)
            return
        if isinstance(verify_key, ec.EllipticCurvePublicKey) and isinstance(
            verify_key.curve, ec.SECP256R1
        ):
            if len(signature) != 64:
                raise BadSignature("a P-256 signature is 64 bytes (r || s)")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"),
                int.from_bytes(signature[32:], "big"),
            )
            verify_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature as exc:
        raise BadSignature("signature does not verify") from exc
    raise MalformedData("verifying needs an Ed25519 or P-256 public key")


def bid_digest_message(
    *, tender_id: str, bidder_id: str, sha256: str, size: int
) -> bytes:
    """What a bidder signs to own an envelope: canonical JSON of its identity.

    ``{"bidder_id": .., "sha256": <hex of the whole envelope>, "size": ..,
    "tender_id": .., "v": 1}``, signed under :data:`BID_DIGEST`.
    """
    if not isinstance(size, int) or size < 0:
        raise ValueError("size must be a non-negative integer")
    digest = str(sha256).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("sha256 must be 64 hex digits")
    return canonical_json(
        {
            "v": 1,
            "tender_id": tender_id,
            "bidder_id": bidder_id,
            "sha256": digest,
            "size": size,
        }
    )


def bid_digest_sign(
    signing_key: SigningKey, *, tender_id: str, bidder_id: str, sha256: str, size: int
) -> bytes:
    """A bidder's signature over its envelope's digest (:func:`bid_digest_message`)."""
    message = bid_digest_message(
        tender_id=tender_id, bidder_id=bidder_id, sha256=sha256, size=size
    )
    return sign(signing_key, BID_DIGEST, message)


def bid_digest_verify(
    verify_key: VerifyKey,
    signature: bytes,
    *,
    tender_id: str,
    bidder_id: str,
    sha256: str,
    size: int,
) -> None:
    """Check a bidder's envelope signature; raise ``BadSignature`` if it fails."""
    message = bid_digest_message(
        tender_id=tender_id, bidder_id=bidder_id, sha256=sha256, size=size
    )
    verify(verify_key, BID_DIGEST, message, signature)
