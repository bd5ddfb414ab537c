"""Cryptography for sealed bids, receipts, audit chains and verifiable randomness.

A plain library: it imports nothing from Django or from the platform's apps, so the
bidder's command-line tool and the tests use it with no database. Every primitive
comes from the ``cryptography`` package.

Modules: :mod:`~crypto.keys` (P-256 and Ed25519 keys, PEM), :mod:`~crypto.envelope`
(sealed-bid formats v1 and v2), :mod:`~crypto.wrap` (ECDH-ES key wrap),
:mod:`~crypto.shamir`, :mod:`~crypto.custody` (v2: each data key split k-of-n among
custodians by the bidder, per-share checks, the bidder-fault proof, custodians'
endorsements) and :mod:`~crypto.threshold` (legacy v1 opening keys),
:mod:`~crypto.signing`, :mod:`~crypto.receipts`, :mod:`~crypto.chain` and
:mod:`~crypto.checkpoint` (audit trail), :mod:`~crypto.randomness` (verifiable
draws), :mod:`~crypto.merkle` and :mod:`~crypto.evidence`. This package is the wire
specification; the bidder's command-line tool that uses it is :mod:`ggzy_bid`
(``python -m ggzy_bid``).
"""

from .errors import (
    BadSignature,
    ChainBroken,
    CryptoError,
    DecryptionFailed,
    MalformedData,
    NotEnoughShares,
    VerificationFailed,
)

__all__ = [
    "BadSignature",
    "ChainBroken",
    "CryptoError",
    "DecryptionFailed",
    "MalformedData",
    "NotEnoughShares",
    "VerificationFailed",
]
