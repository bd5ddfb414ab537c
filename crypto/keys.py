"""Key pairs: P-256 for encryption (ECDH), Ed25519 for signatures.

Wire forms
----------
* A P-256 public key travels as its 65-byte uncompressed SEC1 point
  ``0x04 || X (32 bytes) || Y (32 bytes)``. This is WebCrypto's ``raw`` format
  for ECDH keys and ``PublicFormat.UncompressedPoint`` in ``cryptography``.
* An Ed25519 verify key travels as its 32 raw bytes (RFC 8032).
* A *fingerprint* is the lowercase hex SHA-256 of those raw bytes (64 hex digits);
  :func:`fingerprint_display` shortens it to groups for people to compare.

Files
-----
Private keys are PKCS#8 PEM, encrypted with the best scheme the ``cryptography``
package offers (``BestAvailableEncryption``) when a passphrase is given. Public
keys are SubjectPublicKeyInfo PEM. The loaders accept both P-256 and Ed25519 and
say which they expected when handed the other kind.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .errors import DecryptionFailed, MalformedData

P256_POINT_LEN = 65
ED25519_KEY_LEN = 32

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


# -- P-256 (encryption) ---------------------------------------------------------


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """Generate a fresh P-256 private key for receiving sealed data."""
    return ec.generate_private_key(ec.SECP256R1())


def public_key_bytes(
    pub: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey,
) -> bytes:
    """The 65-byte uncompressed point of a P-256 public key (or of a private key's)."""
    if isinstance(pub, ec.EllipticCurvePrivateKey):
        pub = pub.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey) or not isinstance(
        pub.curve, ec.SECP256R1
    ):
        raise MalformedData("not a P-256 public key")
    return pub.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def public_key_from_bytes(data: bytes) -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key from its 65-byte uncompressed point.

    Raises ``MalformedData`` unless ``data`` is exactly an uncompressed point on
    the curve (compressed points and the point at infinity are refused).
    """
    data = bytes(data)
    if len(data) != P256_POINT_LEN or data[0] != 0x04:
        raise MalformedData("not a 65-byte uncompressed P-256 public key")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    except ValueError as exc:
        raise MalformedData("not a point on P-256") from exc


def key_fingerprint(pub: PublicKey | PrivateKey | bytes) -> str:
    """Lowercase hex SHA-256 of a public key's raw bytes (65-byte point or 32 bytes).

    Accepts a P-256 or Ed25519 public or private key, or raw public key bytes.
    """
    return hashlib.sha256(_raw_public(pub)).hexdigest()


def fingerprint_display(fingerprint: str) -> str:
    """A short form for people: the first 16 hex digits in groups of four."""
    head = fingerprint[:16].upper()
    return ":".join(head[i : i + 4] for i in range(0, 16, 4))


def _raw_public(pub: PublicKey | PrivateKey | bytes) -> bytes:
    if isinstance(pub, bytes | bytearray | memoryview):
        return bytes(pub)
    if isinstance(pub, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return public_key_bytes(pub)
    if isinstance(pub, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return verify_key_bytes(pub)
    raise MalformedData(f"unsupported key type {type(pub).__name__}")


# -- Ed25519 (signatures) -------------------------------------------------------


def generate_signing_key() -> ed25519.Ed25519PrivateKey:
    """Generate a fresh Ed25519 signing key."""
    return ed25519.Ed25519PrivateKey.generate()


def verify_key_bytes(
    key: ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey,
) -> bytes:
    """The 32 raw bytes of an Ed25519 verify key (or of a signing key's)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise MalformedData("not an Ed25519 key")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify_key_from_bytes(data: bytes) -> ed25519.Ed25519PublicKey:
    """Load an Ed25519 verify key from 32 raw bytes; ``MalformedData`` otherwise."""
    data = bytes(data)
    if len(data) != ED25519_KEY_LEN:
        raise MalformedData("not a 32-byte Ed25519 verify key")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(data)
    except ValueError as exc:
        raise MalformedData("not an Ed25519 verify key") from exc


# -- PEM files --------------------------------------------------------------------


def private_key_to_pem(key: PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM of a P-256 or Ed25519 private key, encrypted if ``passphrase``.

    An empty passphrase is refused: pass ``None`` to write an unencrypted file
    deliberately (the platform's own keys live in a secrets store).
    """
    _check_private(key)
    if passphrase is not None and not passphrase:
        raise ValueError("empty passphrase; pass None for an unencrypted key file")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def private_key_from_pem(data: bytes, passphrase: bytes | None) -> PrivateKey:
    """Load a P-256 or Ed25519 private key from PEM.

    Raises ``DecryptionFailed`` for a wrong or missing passphrase and
    ``MalformedData`` for anything that is not such a key.
    """
    try:
        key = serialization.load_pem_private_key(bytes(data), password=passphrase)
    except TypeError as exc:
        # Raised both for "password needed" and "password given, file not encrypted".
        if passphrase is None:
            raise DecryptionFailed("the private key file needs a passphrase") from exc
        raise MalformedData("the private key file is not encrypted") from exc
    except ValueError as exc:
        if passphrase is not None and b"ENCRYPTED" in bytes(data):
            raise DecryptionFailed("wrong passphrase for the private key") from exc
        raise MalformedData("not a PEM private key") from exc
    except UnsupportedAlgorithm as exc:
        raise MalformedData("unsupported private key algorithm") from exc
    _check_private(key)
    return key


def public_key_to_pem(pub: PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of a P-256 or Ed25519 public key."""
    if isinstance(pub, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        pub = pub.public_key()
    _raw_public(pub)  # type check
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_from_pem(data: bytes) -> PublicKey:
    """Load a P-256 or Ed25519 public key from SubjectPublicKeyInfo PEM."""
    try:
        pub = serialization.load_pem_public_key(bytes(data))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise MalformedData("not a PEM public key") from exc
    if isinstance(pub, ec.EllipticCurvePublicKey):
        if not isinstance(pub.curve, ec.SECP256R1):
            raise MalformedData("EC public key is not on P-256")
        return pub
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return pub
    raise MalformedData("public key is neither P-256 nor Ed25519")


def signing_key_to_pem(
    key: ed25519.Ed25519PrivateKey, passphrase: bytes | None
) -> bytes:
    """PKCS#8 PEM of an Ed25519 signing key (see :func:`private_key_to_pem`)."""
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise MalformedData("not an Ed25519 signing key")
    return private_key_to_pem(key, passphrase)


def signing_key_from_pem(
    data: bytes, passphrase: bytes | None
) -> ed25519.Ed25519PrivateKey:
    """Load an Ed25519 signing key from PEM; ``MalformedData`` for any other kind."""
    key = private_key_from_pem(data, passphrase)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise MalformedData("expected an Ed25519 signing key, got a P-256 key")
    return key


def p256_private_key_from_pem(
    data: bytes, passphrase: bytes | None
) -> ec.EllipticCurvePrivateKey:
    """Load a P-256 private key from PEM; ``MalformedData`` for any other kind."""
    key = private_key_from_pem(data, passphrase)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise MalformedData("expected a P-256 private key, got an Ed25519 key")
    return key


def p256_public_key_from_pem(data: bytes) -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key from PEM; ``MalformedData`` for any other kind."""
    pub = public_key_from_pem(data)
    if not isinstance(pub, ec.EllipticCurvePublicKey):
        raise MalformedData("expected a P-256 public key, got an Ed25519 key")
    return pub


def verify_key_from_pem(data: bytes) -> ed25519.Ed25519PublicKey:
    """Load an Ed25519 verify key from PEM; ``MalformedData`` for any other kind."""
    pub = public_key_from_pem(data)
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise MalformedData("expected an Ed25519 verify key, got a P-256 key")
    return pub


def _check_private(key: object) -> None:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise MalformedData("EC private key is not on P-256")
        return
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return
    raise MalformedData("private key is neither P-256 nor Ed25519")
