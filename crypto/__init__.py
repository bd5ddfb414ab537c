"""Cryptography for sealed bids, receipts, audit chains and verifiable randomness.

A plain library: it imports nothing from Django or from the platform's apps, so the
bidder's command-line tool and the tests use it with no database. Every primitive
comes from the ``cryptography`` package.
"""

from .errors import BadSignature, ChainBroken, CryptoError, DecryptionFailed, MalformedData

__all__ = ["BadSignature", "ChainBroken", "CryptoError", "DecryptionFailed", "MalformedData"]
