"""The bid page's key backup file (``ggzy-bid-key-backup``, version 1), read and written.

The browser (``static/js/bidkeys.js``: ``exportBackup`` / ``importBackup``) writes it when
a bid key is made on the bid page; the bidder's command-line tool reads it wherever it
takes ``--key``. A JSON document::

    {"format": "ggzy-bid-key-backup", "version": 1,
     "kdf": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": "<base64, 16 bytes>",
     "cipher": "AES-256-GCM", "iv": "<base64, 12 bytes>",
     "ciphertext": "<base64: AES-256-GCM of the PKCS#8 DER private key, 16-byte tag appended>",
     "public_key": "<base64 of the 65-byte uncompressed P-256 point>",
     "fingerprint": "<hex SHA-256 of that point>", "bidder_id": "...", "created_at": "..."}

The AES key is PBKDF2-HMAC-SHA256(passphrase as UTF-8, salt, iterations), 32 bytes; no
associated data. A wrong passphrase (or an altered file) fails the GCM tag. The private
key must match ``public_key`` and ``fingerprint``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from . import keys
from .errors import DecryptionFailed, MalformedData

FORMAT = "ggzy-bid-key-backup"
VERSION = 1
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256; files are written with at least this many.
ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000


def is_backup(data: bytes) -> bool:
    """``data`` looks like a backup file (a JSON object naming this format)."""
    head = bytes(data).lstrip()[:1]
    if head != b"{":
        return False
    try:
        return json.loads(bytes(data)).get("format") == FORMAT
    except (ValueError, AttributeError):
        return False


def _wrapping_key(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    return PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt,
                      iterations=iterations).derive(passphrase)


def dump(private_key: ec.EllipticCurvePrivateKey, passphrase: bytes, *,
         iterations: int = ITERATIONS, bidder_id: str = "") -> bytes:
    """The backup file of a P-256 private key."""
    if not passphrase:
        raise ValueError("a backup file needs a passphrase")
    if iterations < ITERATIONS:
        raise ValueError(f"at least {ITERATIONS} PBKDF2 iterations")
    salt, iv = os.urandom(16), os.urandom(12)
    pkcs8 = private_key.private_bytes(serialization.Encoding.DER,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    ct = AESGCM(_wrapping_key(passphrase, salt, iterations)).encrypt(iv, pkcs8, None)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    doc = {
        "format": FORMAT, "version": VERSION,
        "kdf": "PBKDF2-HMAC-SHA256", "iterations": iterations, "salt": b64(salt),
        "cipher": "AES-256-GCM", "iv": b64(iv), "ciphertext": b64(ct),
        "public_key": b64(keys.public_key_bytes(private_key.public_key())),
        "fingerprint": keys.key_fingerprint(private_key),
        "bidder_id": bidder_id, "created_at": datetime.now(UTC).isoformat(),
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def _field(doc: dict, name: str) -> bytes:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedData(f"the backup file has no {name}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedData(f"the backup file's {name} is not base64") from exc


def fingerprint_of(data: bytes) -> str:
    """The fingerprint a backup file names (no passphrase needed)."""
    try:
        doc = json.loads(bytes(data))
    except ValueError as exc:
        raise MalformedData("not a JSON backup file") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise MalformedData("not a bid key backup file")
    return str(doc.get("fingerprint", "")).lower()


def load(data: bytes, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of a backup file. ``DecryptionFailed`` for a wrong or missing
    passphrase, ``MalformedData`` for anything else wrong with the file."""
    try:
        doc = json.loads(bytes(data))
    except ValueError as exc:
        raise MalformedData("not a JSON backup file") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise MalformedData("not a bid key backup file")
    if doc.get("version") != VERSION:
        raise MalformedData(f"backup file version {doc.get('version')!r} is not supported")
    if doc.get("kdf") != "PBKDF2-HMAC-SHA256" or doc.get("cipher") != "AES-256-GCM":
        raise MalformedData("the backup file uses an unsupported scheme")
    iterations = doc.get("iterations")
    if not isinstance(iterations, int) or isinstance(iterations, bool) \
            or not 1 <= iterations <= MAX_ITERATIONS:
        raise MalformedData("the backup file's iteration count is out of range")
    salt, iv, ct = _field(doc, "salt"), _field(doc, "iv"), _field(doc, "ciphertext")
    point = _field(doc, "public_key")
    if not passphrase:
        raise DecryptionFailed("the backup file needs its passphrase")
    try:
        pkcs8 = AESGCM(_wrapping_key(passphrase, salt, iterations)).decrypt(iv, ct, None)
    except InvalidTag as exc:
        raise DecryptionFailed("wrong passphrase for the backup file") from exc
    except ValueError as exc:  # e.g. an iv of a length AES-GCM refuses
        raise MalformedData(f"the backup file is damaged: {exc}") from exc
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
    except ValueError as exc:
        raise MalformedData("the backup file does not hold a private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise MalformedData("the backup file does not hold a P-256 private key")
    fingerprint = keys.key_fingerprint(key)
    if keys.public_key_bytes(key.public_key()) != point \
            or fingerprint != str(doc.get("fingerprint", "")).lower():
        raise MalformedData("the backup file's private key does not match its public key")
    return key
