"""ECDH-ES key wrapping to a P-256 public key (the ECIES pattern used by age).

Wire specification (one wrap)
-----------------------------
Inputs: the recipient's P-256 public key ``R`` (65-byte uncompressed point), a
purpose label ``info`` (ASCII bytes, distinct for every purpose, see below), the
plaintext (a 32-byte key or a small secret) and associated data ``aad``.

1. Generate a fresh ephemeral P-256 key pair ``(e, E)``; ``E`` is sent as its
   65-byte uncompressed point.
2. ``shared = ECDH(e, R)``: the 32-byte X coordinate (WebCrypto ``deriveBits(...,
   256)``).
3. ``wrap_key = HKDF-SHA256(ikm=shared, salt=E || R, info=info, length=32)``.
   Putting both points in the salt binds the key to this exchange and recipient.
4. ``ciphertext = AES-256-GCM(wrap_key, nonce=12 zero bytes, plaintext, aad)``,
   the 16-byte tag appended. The all-zero nonce is safe because ``wrap_key`` is
   used exactly once: it depends on a fresh ephemeral key.

The recipient computes ``shared = ECDH(r, E)`` and repeats steps 3 and 4 with
decryption. Labels in use (never reuse one for another purpose):

* ``ggzy-envelope-wrap-v1`` -- an envelope's data key to a recipient stanza;
* ``ggzy-envelope-share-v2`` -- a Shamir share of an envelope's data key to custodian
  ``x`` (envelope format v2, :mod:`crypto.custody`; aad binds tender, ``x`` and salt);
* ``ggzy-threshold-share-v1`` -- a Shamir share of a (legacy) opening key to a custodian.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import DecryptionFailed
from .keys import public_key_bytes, public_key_from_bytes

ZERO_NONCE = bytes(12)
TAG_LEN = 16

# Order of the P-256 group, for turning test randomness into a scalar.
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def hkdf_sha256(
    ikm: bytes, *, salt: bytes | None, info: bytes, length: int = 32
) -> bytes:
    """HKDF-SHA256 (RFC 5869). An empty ``salt`` is the same as ``None``."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info
    ).derive(ikm)


def ephemeral_key(
    rng: Callable[[int], bytes] | None = None,
) -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key pair; from ``rng`` bytes only in known-answer tests.

    With ``rng``, 32-byte candidates are drawn until one is a valid scalar in
    ``[1, n-1]`` (rejection sampling, so no bias).
    """
    if rng is None:
        return ec.generate_private_key(ec.SECP256R1())
    while True:
        d = int.from_bytes(rng(32), "big")
        if 1 <= d < P256_ORDER:
            return ec.derive_private_key(d, ec.SECP256R1())


def wrap(
    recipient: ec.EllipticCurvePublicKey,
    plaintext: bytes,
    *,
    info: bytes,
    aad: bytes = b"",
    rng: Callable[[int], bytes] | None = None,
) -> tuple[bytes, bytes]:
    """Wrap ``plaintext`` to ``recipient``; return ``(ephemeral_point, ciphertext)``.

    ``rng`` fixes the ephemeral key for known-answer tests; leave it ``None``.
    """
    eph = ephemeral_key(rng)
    eph_point = public_key_bytes(eph.public_key())
    recipient_point = public_key_bytes(recipient)
    shared = eph.exchange(ec.ECDH(), recipient)
    key = hkdf_sha256(shared, salt=eph_point + recipient_point, info=info)
    return eph_point, AESGCM(key).encrypt(ZERO_NONCE, bytes(plaintext), aad)


def unwrap(
    private_key: ec.EllipticCurvePrivateKey,
    ephemeral_point: bytes,
    ciphertext: bytes,
    *,
    info: bytes,
    aad: bytes = b"",
) -> bytes:
    """Open a :func:`wrap` ciphertext; ``DecryptionFailed`` for a wrong key or data."""
    eph = public_key_from_bytes(ephemeral_point)
    recipient_point = public_key_bytes(private_key.public_key())
    shared = private_key.exchange(ec.ECDH(), eph)
    key = hkdf_sha256(shared, salt=bytes(ephemeral_point) + recipient_point, info=info)
    try:
        return AESGCM(key).decrypt(ZERO_NONCE, bytes(ciphertext), aad)
    except InvalidTag as exc:
        raise DecryptionFailed("the key does not unwrap this data") from exc


def random_bytes(n: int, rng: Callable[[int], bytes] | None = None) -> bytes:
    """``n`` bytes from the OS CSPRNG, or from ``rng`` in known-answer tests."""
    return secrets.token_bytes(n) if rng is None else bytes(rng(n))
