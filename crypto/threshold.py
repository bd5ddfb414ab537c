"""Threshold opening keys (legacy, envelope format v1): a tender's P-256 key split
k-of-n among custodians.

Superseded by :mod:`crypto.custody` (envelope format v2): there the bidder's own tool
splits each envelope's data key, so no tender opening key exists and nobody -- the
platform included -- ever holds one. This module remains so that bids of tenders
published with a v1 opening key can still be opened; new tenders do not use it.

When a tender is published, :func:`opening_key_create` makes a fresh P-256 key
pair, splits the 32-byte private scalar with :mod:`crypto.shamir`, encrypts
each share to one custodian's P-256 public key and drops the private key. Only
the public key (a recipient of every envelope for the tender) and the encrypted
shares are kept. At the opening, ``k`` custodians decrypt their shares
(:func:`share_decrypt`) and :func:`opening_key_combine` rebuilds the private key,
checking it against the published public key.

Share encryption (wire specification)
-------------------------------------
Each share's 69-byte wire form (:class:`crypto.shamir.Share`) is wrapped as in
:mod:`crypto.wrap` with the label ``ggzy-threshold-share-v1`` and associated
data that binds it to its tender, custodian, position and opening key::

    aad = "ggzy-threshold-share-v1" || 0x00
          || uint16 len || tender_id (UTF-8)
          || uint16 len || custodian_id (UTF-8)
          || x (1 byte) || threshold (1 byte) || count (1 byte)
          || opening public key (65-byte point)

A share handed to the wrong custodian, moved to another tender or relabelled
fails to decrypt. The commitment that lets :func:`opening_key_combine` detect
too few or wrong shares is the opening key's fingerprint (SHA-256 of its
point); anyone can compute it from the public key, and it reveals nothing.

JSON form of an encrypted share (``EncryptedShare.to_dict``)::

    {"v": 1, "tender_id": str, "custodian_id": str, "custodian_key": hex
     fingerprint, "x": int, "threshold": int, "count": int,
     "opening_key": base64 point, "ephemeral_key": base64 point,
     "ciphertext": base64 (69 + 16 bytes)}
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from .errors import DecryptionFailed, MalformedData
from .keys import key_fingerprint, public_key_bytes, public_key_from_bytes
from .shamir import Share, ThresholdShare, combine_threshold, split
from .wrap import P256_ORDER, ephemeral_key, unwrap, wrap

LABEL_SHARE = b"ggzy-threshold-share-v1"
SCALAR_LEN = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError as exc:
        raise MalformedData(f"{what} is not base64") from exc


def share_aad(
    *,
    tender_id: str,
    custodian_id: str,
    x: int,
    threshold: int,
    count: int,
    opening_public_key: bytes,
) -> bytes:
    """The associated data that binds an encrypted share (see module docstring)."""
    tender = tender_id.encode("utf-8")
    custodian = custodian_id.encode("utf-8")
    if len(tender) > 0xFFFF or len(custodian) > 0xFFFF:
        raise ValueError("identifier too long")
    return (
        LABEL_SHARE
        + b"\x00"
        + struct.pack(">H", len(tender))
        + tender
        + struct.pack(">H", len(custodian))
        + custodian
        + bytes([x, threshold, count])
        + bytes(opening_public_key)
    )


@dataclass(frozen=True)
class EncryptedShare:
    """One custodian's share of an opening key, encrypted to the custodian."""

    tender_id: str
    custodian_id: str
    custodian_fingerprint: str
    x: int
    threshold: int
    count: int
    opening_public_key: bytes
    ephemeral_point: bytes
    ciphertext: bytes

    def to_dict(self) -> dict:
        """JSON-friendly form (see module docstring)."""
        return {
            "v": 1,
            "tender_id": self.tender_id,
            "custodian_id": self.custodian_id,
            "custodian_key": self.custodian_fingerprint,
            "x": self.x,
            "threshold": self.threshold,
            "count": self.count,
            "opening_key": _b64(self.opening_public_key),
            "ephemeral_key": _b64(self.ephemeral_point),
            "ciphertext": _b64(self.ciphertext),
        }

    @classmethod
    def from_dict(cls, data: dict) -> EncryptedShare:
        """Inverse of :meth:`to_dict`; ``MalformedData`` on any bad field."""
        try:
            if data["v"] != 1:
                raise MalformedData(f"unsupported encrypted share version {data['v']}")
            return cls(
                tender_id=str(data["tender_id"]),
                custodian_id=str(data["custodian_id"]),
                custodian_fingerprint=str(data["custodian_key"]),
                x=int(data["x"]),
                threshold=int(data["threshold"]),
                count=int(data["count"]),
                opening_public_key=_unb64(data["opening_key"], "opening_key"),
                ephemeral_point=_unb64(data["ephemeral_key"], "ephemeral_key"),
                ciphertext=_unb64(data["ciphertext"], "ciphertext"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedData(f"not an encrypted share object ({exc})") from exc


@dataclass(frozen=True)
class OpeningKey:
    """A tender's opening public key and its encrypted shares; no private key."""

    tender_id: str
    public_key: bytes
    threshold: int
    shares: tuple[EncryptedShare, ...]

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the opening public key's point."""
        return key_fingerprint(self.public_key)

    def to_dict(self) -> dict:
        """JSON-friendly form: public key, threshold and every encrypted share."""
        return {
            "v": 1,
            "tender_id": self.tender_id,
            "public_key": _b64(self.public_key),
            "fingerprint": self.fingerprint,
            "threshold": self.threshold,
            "shares": [s.to_dict() for s in self.shares],
        }

    @classmethod
    def from_dict(cls, data: dict) -> OpeningKey:
        """Inverse of :meth:`to_dict`."""
        try:
            key = cls(
                tender_id=str(data["tender_id"]),
                public_key=_unb64(data["public_key"], "public_key"),
                threshold=int(data["threshold"]),
                shares=tuple(EncryptedShare.from_dict(s) for s in data["shares"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedData(f"not an opening key object ({exc})") from exc
        public_key_from_bytes(key.public_key)
        return key


def opening_key_create(
    *,
    custodians: Sequence[tuple[str, ec.EllipticCurvePublicKey]],
    threshold: int,
    tender_id: str,
    rng: Callable[[int], bytes] | None = None,
) -> OpeningKey:
    """Make a tender's opening key and split it ``threshold``-of-``len(custodians)``.

    ``custodians`` is a list of ``(custodian_id, P-256 public key)``. The
    private key exists only inside this call. ``rng`` fixes all randomness for
    known-answer tests only (the key, the polynomial and the wraps).
    """
    ids = [c for c, _ in custodians]
    if len(set(ids)) != len(ids):
        raise ValueError("custodian ids must be distinct")
    n = len(custodians)
    if not 1 <= threshold <= n <= 255:
        raise ValueError("need 1 <= threshold <= number of custodians <= 255")
    private = ephemeral_key(rng)
    point = public_key_bytes(private.public_key())
    scalar = private.private_numbers().private_value.to_bytes(SCALAR_LEN, "big")
    randbelow = secrets.randbelow if rng is None else _randbelow_from(rng)
    shares = split(scalar, threshold, n, randbelow=randbelow)
    # The private key object goes out of scope here; Python cannot wipe memory,
    # but nothing stores or returns it.
    encrypted = []
    for (custodian_id, pub), share in zip(custodians, shares, strict=True):
        aad = share_aad(
            tender_id=tender_id,
            custodian_id=custodian_id,
            x=share.x,
            threshold=threshold,
            count=n,
            opening_public_key=point,
        )
        eph, ct = wrap(pub, share.to_bytes(), info=LABEL_SHARE, aad=aad, rng=rng)
        encrypted.append(
            EncryptedShare(
                tender_id=tender_id,
                custodian_id=custodian_id,
                custodian_fingerprint=key_fingerprint(pub),
                x=share.x,
                threshold=threshold,
                count=n,
                opening_public_key=point,
                ephemeral_point=eph,
                ciphertext=ct,
            )
        )
    return OpeningKey(
        tender_id=tender_id,
        public_key=point,
        threshold=threshold,
        shares=tuple(encrypted),
    )


def _randbelow_from(rng: Callable[[int], bytes]) -> Callable[[int], int]:
    def randbelow(bound: int) -> int:
        nbytes = (bound.bit_length() + 7) // 8
        mask = (1 << bound.bit_length()) - 1
        while True:
            v = int.from_bytes(rng(nbytes), "big") & mask
            if v < bound:
                return v

    return randbelow


def share_decrypt(
    encrypted_share: EncryptedShare | dict,
    custodian_private_key: ec.EllipticCurvePrivateKey,
    *,
    tender_id: str,
    custodian_id: str,
) -> ThresholdShare:
    """Decrypt one custodian's share, checking it is for this tender and custodian.

    Raises ``MalformedData`` if the share names another tender or custodian and
    ``DecryptionFailed`` for a wrong key or an altered share.
    """
    if isinstance(encrypted_share, dict):
        encrypted_share = EncryptedShare.from_dict(encrypted_share)
    es = encrypted_share
    if not hmac.compare_digest(es.tender_id.encode(), tender_id.encode()):
        raise MalformedData(f"share is for tender {es.tender_id!r}, not {tender_id!r}")
    if not hmac.compare_digest(es.custodian_id.encode(), custodian_id.encode()):
        raise MalformedData(
            f"share is for custodian {es.custodian_id!r}, not {custodian_id!r}"
        )
    aad = share_aad(
        tender_id=tender_id,
        custodian_id=custodian_id,
        x=es.x,
        threshold=es.threshold,
        count=es.count,
        opening_public_key=es.opening_public_key,
    )
    plain = unwrap(
        custodian_private_key,
        es.ephemeral_point,
        es.ciphertext,
        info=LABEL_SHARE,
        aad=aad,
    )
    share = Share.from_bytes(plain)
    if share.x != es.x or share.length != SCALAR_LEN:
        raise DecryptionFailed("decrypted share does not match its envelope")
    return ThresholdShare.wrap(
        share, threshold=es.threshold, commitment=key_fingerprint(es.opening_public_key)
    )


def opening_key_combine(
    shares: Iterable[Share | ThresholdShare],
    *,
    opening_public_key: bytes,
    threshold: int | None = None,
) -> ec.EllipticCurvePrivateKey:
    """Rebuild the opening private key from custodians' shares.

    Checks the result against ``opening_public_key`` (its 65-byte point).
    Raises ``NotEnoughShares`` when fewer shares than the threshold are given
    (the threshold comes from the shares, or from ``threshold`` for plain
    shares) and ``DecryptionFailed`` when the shares are wrong or too few to
    give the published key.
    """
    point = bytes(opening_public_key)
    commitment = key_fingerprint(point)
    wrapped = []
    for s in shares:
        k = getattr(s, "threshold", None) or threshold
        if not k:
            raise MalformedData("the threshold is unknown: pass threshold=")
        c = getattr(s, "commitment", "") or commitment
        if not hmac.compare_digest(c, commitment):
            raise DecryptionFailed("a share belongs to a different opening key")
        wrapped.append(ThresholdShare.wrap(s, threshold=k, commitment=commitment))

    def commitment_of(secret: bytes) -> str:
        d = int.from_bytes(secret, "big")
        if not 1 <= d < P256_ORDER:
            return ""
        key = ec.derive_private_key(d, ec.SECP256R1())
        return key_fingerprint(key)

    scalar = combine_threshold(wrapped, commitment_of=commitment_of)
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
