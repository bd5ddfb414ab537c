"""Shamir secret sharing over the prime field GF(2^521 - 1).

Construction
------------
A secret of 1 .. 64 bytes is read as a big-endian integer ``s`` (so
``s < 2^512 < p`` with ``p = 2^521 - 1``, a Mersenne prime). For a threshold
``k`` and ``n`` shares, ``k - 1`` coefficients ``a_1 .. a_{k-1}`` are drawn
uniformly from ``[0, p)`` with :func:`secrets.randbelow`, and share ``i`` (for
``x = 1 .. n``) is ``y = s + a_1 x + ... + a_{k-1} x^{k-1} mod p``. Any ``k``
shares give ``s`` back by Lagrange interpolation at 0. Any ``k - 1`` shares are
consistent with every possible secret, each for exactly one choice of the
coefficients, so they reveal nothing about it.

Combining fewer than ``k`` plain shares yields a wrong value: a share alone
cannot tell how many are needed. (Because the field is much larger than the
secret, a wrong value almost always exceeds the secret's length, and
:func:`combine` then says so; that is a bonus, not a guarantee.) A
:class:`ThresholdShare` also carries ``k`` and a *commitment* to the secret,
so :func:`combine_threshold` refuses too few shares (``NotEnoughShares``) and
detects wrong ones (``DecryptionFailed``).

Wire form of a share (``Share.to_bytes``), 69 bytes::

    1   version      0x01
    1   x            1 .. 255
    1   length       secret length in bytes, 1 .. 64
    66  y            big-endian, < p
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .errors import DecryptionFailed, MalformedData, NotEnoughShares

PRIME = 2**521 - 1
Y_LEN = 66
MAX_SECRET_LEN = 64
MAX_SHARES = 255
SHARE_VERSION = 1
SHARE_LEN = 3 + Y_LEN
LABEL_COMMIT = b"ggzy-shamir-commit-v1\x00"


@dataclass(frozen=True)
class Share:
    """One point ``(x, y)`` of the sharing polynomial, and the secret's length."""

    x: int
    y: int
    length: int

    def to_bytes(self) -> bytes:
        """The 69-byte wire form (see the module docstring)."""
        return bytes([SHARE_VERSION, self.x, self.length]) + self.y.to_bytes(
            Y_LEN, "big"
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Share:
        """Parse the wire form; ``MalformedData`` if it is not a valid share."""
        data = bytes(data)
        if len(data) != SHARE_LEN or data[0] != SHARE_VERSION:
            raise MalformedData("not a version-1 secret share")
        x, length = data[1], data[2]
        y = int.from_bytes(data[3:], "big")
        if not 1 <= x <= MAX_SHARES or not 1 <= length <= MAX_SECRET_LEN or y >= PRIME:
            raise MalformedData("secret share out of range")
        return cls(x=x, y=y, length=length)

    def to_dict(self) -> dict:
        """JSON-friendly form: ``{"x": int, "share": base64 of to_bytes()}``."""
        return {"x": self.x, "share": base64.b64encode(self.to_bytes()).decode()}

    @classmethod
    def from_dict(cls, data: dict) -> Share:
        """Inverse of :meth:`to_dict`."""
        try:
            share = cls.from_bytes(base64.b64decode(data["share"], validate=True))
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedData("not a secret share object") from exc
        if data.get("x", share.x) != share.x:
            raise MalformedData("share x does not match its bytes")
        return share


@dataclass(frozen=True)
class ThresholdShare(Share):
    """A share that knows the threshold and a commitment to the secret."""

    threshold: int = 0
    commitment: str = ""

    def to_dict(self) -> dict:
        """JSON-friendly form, with ``threshold`` and ``commitment``."""
        return {
            **super().to_dict(),
            "threshold": self.threshold,
            "commitment": self.commitment,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ThresholdShare:
        """Inverse of :meth:`to_dict`."""
        share = Share.from_dict(data)
        try:
            threshold = int(data["threshold"])
            commitment = str(data["commitment"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedData(
                "threshold share lacks threshold or commitment"
            ) from exc
        return cls.wrap(share, threshold=threshold, commitment=commitment)

    @classmethod
    def wrap(cls, share: Share, *, threshold: int, commitment: str) -> ThresholdShare:
        """Attach the threshold and commitment to a plain share."""
        if not 1 <= threshold <= MAX_SHARES:
            raise MalformedData("threshold out of range")
        return cls(
            x=share.x,
            y=share.y,
            length=share.length,
            threshold=threshold,
            commitment=commitment,
        )


def _eval(coeffs: Sequence[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % PRIME
    return acc


def split(
    secret: bytes,
    k: int,
    n: int,
    *,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> list[Share]:
    """Split ``secret`` into ``n`` shares, any ``k`` of which reconstruct it.

    ``1 <= k <= n <= 255``. ``randbelow`` is for known-answer tests only.
    """
    secret = bytes(secret)
    if not 1 <= len(secret) <= MAX_SECRET_LEN:
        raise ValueError(f"secret must be 1 .. {MAX_SECRET_LEN} bytes")
    if not 1 <= k <= n <= MAX_SHARES:
        raise ValueError(f"need 1 <= k <= n <= {MAX_SHARES}")
    coeffs = [int.from_bytes(secret, "big")] + [randbelow(PRIME) for _ in range(k - 1)]
    return [Share(x=x, y=_eval(coeffs, x), length=len(secret)) for x in range(1, n + 1)]


def _distinct(shares: Iterable[Share]) -> list[Share]:
    by_x: dict[int, Share] = {}
    for s in shares:
        seen = by_x.get(s.x)
        if seen is not None and (seen.y != s.y or seen.length != s.length):
            raise MalformedData(f"two different shares have x = {s.x}")
        by_x[s.x] = s
    if not by_x:
        raise NotEnoughShares("no shares given")
    if len({s.length for s in by_x.values()}) != 1:
        raise MalformedData("shares are of secrets of different lengths")
    return list(by_x.values())


def interpolate_at(points: Sequence[tuple[int, int]], x0: int) -> int:
    """Value at ``x0`` of the polynomial through ``points`` (Lagrange, mod p)."""
    total = 0
    for i, (xi, yi) in enumerate(points):
        num, den = 1, 1
        for j, (xj, _) in enumerate(points):
            if i != j:
                num = num * (x0 - xj) % PRIME
                den = den * (xi - xj) % PRIME
        total = (total + yi * num * pow(den, -1, PRIME)) % PRIME
    return total


def combine(shares: Iterable[Share]) -> bytes:
    """Reconstruct the secret from shares (duplicates are ignored).

    With at least ``k`` correct shares the result is the secret. With fewer, or
    with a wrong share, it is some other value; if that value does not fit in the
    secret's length (the usual case) ``DecryptionFailed`` is raised, otherwise it
    is returned. Use :func:`combine_threshold` to have the result checked.
    """
    distinct = _distinct(shares)
    length = distinct[0].length
    value = interpolate_at([(s.x, s.y) for s in distinct], 0)
    if value >= 256**length:
        raise DecryptionFailed("the shares do not reconstruct a secret of this length")
    return value.to_bytes(length, "big")


def secret_commitment(secret: bytes) -> str:
    """Default commitment to a secret: hex SHA-256 of a label and the secret."""
    return hashlib.sha256(LABEL_COMMIT + bytes(secret)).hexdigest()


def split_threshold(
    secret: bytes,
    k: int,
    n: int,
    *,
    commitment: str | None = None,
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> list[ThresholdShare]:
    """Like :func:`split`, returning :class:`ThresholdShare` objects.

    ``commitment`` defaults to :func:`secret_commitment`; a caller may instead
    commit to something derived from the secret, such as a public key.
    """
    if commitment is None:
        commitment = secret_commitment(secret)
    return [
        ThresholdShare.wrap(s, threshold=k, commitment=commitment)
        for s in split(secret, k, n, randbelow=randbelow)
    ]


def combine_threshold(
    shares: Iterable[ThresholdShare],
    *,
    commitment_of: Callable[[bytes], str] = secret_commitment,
) -> bytes:
    """Reconstruct and check a secret from threshold shares.

    Raises ``NotEnoughShares`` if fewer distinct shares than the threshold are
    given, ``MalformedData`` if the shares disagree on threshold or commitment,
    and ``DecryptionFailed`` if the result does not match the commitment (a
    wrong or altered share).
    """
    distinct = _distinct(shares)
    meta = {
        (getattr(s, "threshold", 0), getattr(s, "commitment", "")) for s in distinct
    }
    if len(meta) != 1:
        raise MalformedData("shares belong to different sharings")
    ((threshold, commitment),) = meta
    if not threshold or not commitment:
        raise MalformedData("plain shares carry no threshold; use combine()")
    if len(distinct) < threshold:
        raise NotEnoughShares(f"need {threshold} shares, have {len(distinct)}")
    try:
        secret = combine(distinct)
    except DecryptionFailed as exc:
        raise DecryptionFailed("the shares do not match their commitment") from exc
    if not hmac.compare_digest(commitment_of(secret), commitment):
        raise DecryptionFailed("the shares do not match their commitment")
    return secret
