"""Cryptography for sealed bids, receipts, audit chains and verifiable randomness.

A plain library: it imports nothing from Django or from the platform's apps, so the
bidder's command-line tool and the tests use it with no database. Every primitive
comes from the ``cryptography`` package.

Modules: :mod:`~crypto.keys` (P-256 and Ed25519 keys, PEM), :mod:`~crypto.envelope`
(sealed-bid format v1), :mod:`~crypto.wrap` (ECDH-ES key wrap),
:mod:`~crypto.shamir` and :mod:`~crypto.threshold` (k-of-n opening keys),
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
