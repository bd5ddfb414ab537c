"""The exception family raised by every part of ``crypto``.

Callers catch ``CryptoError`` to handle any failure; the subclasses say what kind.
"""


class CryptoError(Exception):
    """Base class of every error raised by this package."""


class MalformedData(CryptoError):
    """The input is not of the expected structure (not an envelope, bad framing, bad JSON)."""


class DecryptionFailed(CryptoError):
    """An authentication tag did not verify, or the key does not open the data."""


class BadSignature(CryptoError):
    """A signature does not verify against the given public key."""


class ChainBroken(CryptoError):
    """An audit chain does not verify; ``index`` names the first bad event."""

    def __init__(self, message: str, *, index: int):
        super().__init__(message)
        self.index = index


class NotEnoughShares(DecryptionFailed):
    """Fewer distinct shares than the threshold were given to reconstruct a key."""


class VerificationFailed(CryptoError):
    """A commitment, digest or recomputed result does not match the published one."""
