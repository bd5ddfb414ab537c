"""The platform's own Ed25519 signing key: receipts, audit checkpoints, records.

The key file is ``settings.PLATFORM_KEY_FILE`` (default ``var/platform_signing_key.pem``);
it is created on first use when missing. In production point the setting at a secret
mounted into every web and worker process (all must share one key). The key signs;
it decrypts nothing: no bid can be opened with anything the server holds.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from pathlib import Path

from django.conf import settings

from crypto import keys

_lock = threading.Lock()
_cache: dict[str, object] = {}


def _path() -> Path:
    return Path(settings.PLATFORM_KEY_FILE)


def _create_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` unless it exists, atomically: the content goes to a
    private temporary file that is then hard-linked into place, so a process that races
    to create the same key either wins or reads the winner's complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def signing_key():
    """The platform's private signing key (loaded once per process)."""
    path = _path()
    cached = _cache.get(str(path))
    if cached is not None:
        return cached
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = keys.generate_signing_key()
            _create_once(path, keys.signing_key_to_pem(key, None))
        key = keys.signing_key_from_pem(path.read_bytes(), None)
        _cache[str(path)] = key
        return key


def verify_key():
    return signing_key().public_key()


def verify_key_b64() -> str:
    return base64.b64encode(keys.verify_key_bytes(verify_key())).decode("ascii")


def verify_key_pem() -> str:
    return keys.public_key_to_pem(verify_key()).decode("ascii")


def fingerprint() -> str:
    return keys.key_fingerprint(verify_key())


def document_certificate():
    """The platform's document-signing key and self-issued X.509 certificate (RSA-3072),
    used to sign PDF records (pyHanko). Created on first use at
    ``settings.PLATFORM_DOCUMENT_CERT_FILE``; every process must share the file."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    path = Path(settings.PLATFORM_DOCUMENT_CERT_FILE)
    cached = _cache.get(str(path))
    if cached is not None:
        return cached
    with _lock:
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
            name = x509.Name([
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.PLATFORM_NAME),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{settings.PLATFORM_NAME} 文档签名"),
            ])
            now = datetime.datetime.now(datetime.UTC)
            cert = (
                x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                # Back-dated a year so records signed by a clock that runs a little
                # behind (or tests that travel in time) still validate.
                .not_valid_before(now - datetime.timedelta(days=365))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=True, content_commitment=True, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA256())
            )
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            pem += cert.public_bytes(serialization.Encoding.PEM)
            _create_once(path, pem)
        data = path.read_bytes()
        key = serialization.load_pem_private_key(data, None)
        cert = x509.load_pem_x509_certificate(data[data.index(b"-----BEGIN CERTIFICATE"):])
        _cache[str(path)] = (key, cert)
        return key, cert


def document_certificate_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    return document_certificate()[1].public_bytes(serialization.Encoding.PEM).decode("ascii")
