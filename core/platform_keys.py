"""The platform's own Ed25519 signing key: receipts, audit tree heads, records.

Where the private key lives is a *key provider*, chosen by ``settings.PLATFORM_KEY_PROVIDER``
(or the environment variable of the same name):

``file`` (the default)
    ``settings.PLATFORM_KEY_FILE`` (default ``var/platform_signing_key.pem``), created on
    first use when missing (never in production mode, ``core.deploy``). When the
    environment variable ``PLATFORM_KEY_PASSPHRASE`` is set the file is passphrase-protected
    PKCS#8 (``crypto.keys``, PBES2 with AES-256): a copy of the disk alone does not
    yield the key. A plain file is refused while a passphrase is set, so nobody runs
    unprotected by mistake.
``env``
    the PEM in the environment variable ``PLATFORM_SIGNING_KEY`` (a secret injected by the
    orchestrator; ``PLATFORM_KEY_PASSPHRASE`` applies too). Nothing is written to disk.
    Chosen automatically when that variable is set and no provider is named.
``external``
    an external signer (an HSM, a KMS, a signing service):
    ``settings.PLATFORM_EXTERNAL_SIGNER`` is the dotted path of a callable taking no
    arguments and returning an object with ``public_key() -> Ed25519PublicKey`` and
    ``sign(data: bytes) -> bytes`` (a raw 64-byte Ed25519 signature over ``data``, which
    already carries the domain label). The private key never enters this process.

Every web and worker process must use the same key. The key signs; it decrypts nothing: no
bid can be opened with anything the server holds. Verifiers (``manage.py verify_audit``)
pin the *public* key (``settings.AUDIT_PINNED_KEY_FILE``) instead of trusting whatever key
the provider yields today.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.utils.module_loading import import_string

from crypto import keys
from crypto.errors import CryptoError

_lock = threading.Lock()
_cache: dict[str, object] = {}


class PlatformKeyUnavailable(RuntimeError):
    """The configured provider cannot give the platform key; the message says what to fix."""


def _path() -> Path:
    return Path(settings.PLATFORM_KEY_FILE)


def _passphrase() -> bytes | None:
    value = os.environ.get("PLATFORM_KEY_PASSPHRASE")
    return value.encode("utf-8") if value else None


def _production() -> bool:
    try:
        from core import deploy
    except ImportError:  # pragma: no cover - older trees without production mode
        return False
    return deploy.is_production()


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


class ExternalSigningKey(ed25519.Ed25519PrivateKey):
    """Adapts an external signer to the Ed25519 private-key interface ``crypto`` signs with.

    Only ``sign`` and ``public_key`` work; the private bytes are not here to export."""

    def __init__(self, signer) -> None:
        self._signer = signer
        self._public = signer.public_key()
        if not isinstance(self._public, ed25519.Ed25519PublicKey):
            raise PlatformKeyUnavailable("the external signer's public key is not Ed25519")

    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        signature = bytes(self._signer.sign(bytes(data)))
        # A signer that misbehaves must not hand out statements nobody can verify.
        self._public.verify(signature, bytes(data))
        return signature

    def private_bytes(self, *args, **kwargs):
        raise PlatformKeyUnavailable("an external signer does not export its private key")

    def private_bytes_raw(self) -> bytes:
        raise PlatformKeyUnavailable("an external signer does not export its private key")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _provider_name() -> str:
    name = getattr(settings, "PLATFORM_KEY_PROVIDER", None) or os.environ.get(
        "PLATFORM_KEY_PROVIDER")
    if name:
        return name
    return "env" if os.environ.get("PLATFORM_SIGNING_KEY") else "file"


def _load_pem(data: bytes, where: str):
    passphrase = _passphrase()
    try:
        return keys.signing_key_from_pem(data, passphrase)
    except (CryptoError, ValueError, TypeError) as exc:
        raise PlatformKeyUnavailable(
            f"cannot load the platform signing key from {where}: {exc} (is "
            "PLATFORM_KEY_PASSPHRASE right, and is the key encrypted when it is set?)") from exc


def _from_file():
    path = _path()
    if not path.exists():
        if _production():
            raise PlatformKeyUnavailable(
                f"no platform signing key at {path}: in production the key is provided, "
                "not invented (set PLATFORM_KEY_FILE, PLATFORM_SIGNING_KEY or "
                "PLATFORM_KEY_PROVIDER=external)")
        key = keys.generate_signing_key()
        _create_once(path, keys.signing_key_to_pem(key, _passphrase()))
    data = path.read_bytes()
    if _passphrase() and b"ENCRYPTED" not in data:
        raise PlatformKeyUnavailable(
            f"{path} is not passphrase-protected but PLATFORM_KEY_PASSPHRASE is set; "
            "re-write it encrypted (crypto.keys.signing_key_to_pem(key, passphrase)) "
            "or unset the passphrase")
    return _load_pem(data, str(path))


def _from_env():
    pem = os.environ.get("PLATFORM_SIGNING_KEY")
    if not pem:
        raise PlatformKeyUnavailable("PLATFORM_KEY_PROVIDER=env but PLATFORM_SIGNING_KEY is unset")
    return _load_pem(pem.encode("utf-8"), "the PLATFORM_SIGNING_KEY environment variable")


def _from_external():
    path = getattr(settings, "PLATFORM_EXTERNAL_SIGNER", None) or os.environ.get(
        "PLATFORM_EXTERNAL_SIGNER")
    if not path:
        raise PlatformKeyUnavailable(
            "PLATFORM_KEY_PROVIDER=external needs PLATFORM_EXTERNAL_SIGNER, the dotted path "
            "of a callable returning an object with public_key() and sign(data)")
    return ExternalSigningKey(import_string(path)())


PROVIDERS = {"file": _from_file, "env": _from_env, "external": _from_external}


def _provider_detail(name: str) -> str:
    """What identifies the key within a provider, so a changed setting loads anew."""
    if name == "file":
        return str(_path())
    if name == "env":
        return hashlib.sha256(os.environ.get("PLATFORM_SIGNING_KEY", "").encode()).hexdigest()
    return str(getattr(settings, "PLATFORM_EXTERNAL_SIGNER", None)
               or os.environ.get("PLATFORM_EXTERNAL_SIGNER"))


def signing_key():
    """The platform's private signing key from the configured provider (once per process)."""
    name = _provider_name()
    cache_key = f"signing:{name}:{_provider_detail(name)}"
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    if name not in PROVIDERS:
        raise PlatformKeyUnavailable(
            f"unknown PLATFORM_KEY_PROVIDER {name!r}; use one of {', '.join(PROVIDERS)}")
    with _lock:
        key = PROVIDERS[name]()
        _cache[cache_key] = key
        return key


def verify_key():
    return signing_key().public_key()


def verify_key_b64() -> str:
    return base64.b64encode(keys.verify_key_bytes(verify_key())).decode("ascii")


def verify_key_pem() -> str:
    return keys.public_key_to_pem(verify_key()).decode("ascii")


def fingerprint() -> str:
    return keys.key_fingerprint(verify_key())


def pinned_verify_key(path: str | os.PathLike | None = None):
    """The platform verify key a verifier trusts: the PEM at ``path``, else at
    ``settings.AUDIT_PINNED_KEY_FILE``; None when neither is given. Never derived from
    the private key on this machine: whoever can replace that file could re-sign."""
    path = path or getattr(settings, "AUDIT_PINNED_KEY_FILE", None) or os.environ.get(
        "AUDIT_PINNED_KEY_FILE")
    if not path:
        return None
    return keys.verify_key_from_pem(Path(path).read_bytes())


def document_certificate():
    """The platform's document-signing key and self-issued X.509 certificate (RSA-3072),
    used to sign PDF records (pyHanko). Created on first use at
    ``settings.PLATFORM_DOCUMENT_CERT_FILE``; every process must share the file."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    path = Path(settings.PLATFORM_DOCUMENT_CERT_FILE)
    cached = _cache.get(str(path))
    if cached is not None:
        return cached
    with _lock:
        if not path.exists():
            if _production():
                raise PlatformKeyUnavailable(
                    f"no document certificate at {path}: in production it is provided, not "
                    "invented (set PLATFORM_DOCUMENT_CERT_FILE to the certificate and key)")
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
    return document_certificate()[1].public_bytes(serialization.Encoding.PEM).decode("ascii")


# --- the at-rest key-encryption keys (KEKs) -----------------------------------------------
#
# Documents the platform keeps after the opening (decrypted bids) and small secrets (TOTP
# seeds) are encrypted under per-item data keys that these KEKs wrap (``crypto.atrest``,
# ``core.at_rest``). A KEK has a key id so it can rotate: new items use the current KEK,
# old ones stay readable while their KEK is still listed. The provider is chosen by
# ``PLATFORM_AT_REST_KEY_PROVIDER`` (setting or environment):
#
# ``file`` (the default)
#     ``PLATFORM_AT_REST_KEY_FILE`` (default ``platform_at_rest_keys.json`` beside the
#     signing key): ``{"current": "<id>", "keys": {"<id>": "<base64 of 32 bytes>", ...}}``,
#     created with one fresh key on first use in development; in production a missing
#     file, or one that group or others may read, is refused.
# ``env``
#     ``PLATFORM_AT_REST_KEYS="<id>:<base64>,<older id>:<base64>,..."``: the first is the
#     current one. Chosen automatically when that variable is set and no provider is named.
# ``external``
#     ``PLATFORM_EXTERNAL_KEK``: dotted path of a callable returning an object with
#     ``current_key_id`` and ``wrap(secret, *, key_id, context) -> bytes`` /
#     ``unwrap(wrapped, *, key_id, context) -> bytes`` (a KMS; the KEK never enters here).


class AtRestKeyring:
    """KEKs by key id, and which one is current. Wraps and unwraps data keys."""

    def __init__(self, keys_: dict[str, bytes], current: str, where: str) -> None:
        from crypto import atrest

        if not keys_:
            raise PlatformKeyUnavailable(f"no at-rest key-encryption key in {where}")
        for kid, key in keys_.items():
            try:
                atrest.check_key_id(kid)
            except ValueError as exc:
                raise PlatformKeyUnavailable(f"at-rest key id {kid!r} in {where}: {exc}") from exc
            if len(key) != 32:
                raise PlatformKeyUnavailable(
                    f"at-rest key {kid!r} in {where} is {len(key)} bytes, not 32")
        if current not in keys_:
            raise PlatformKeyUnavailable(
                f"the current at-rest key {current!r} is not among the keys in {where}")
        self._keys = dict(keys_)
        self.current_key_id = current
        self.where = where

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def wrap(self, secret: bytes, *, key_id: str, context: str) -> bytes:
        from crypto import atrest

        return atrest.wrap_secret(self._kek(key_id), secret, key_id=key_id, context=context)

    def unwrap(self, wrapped: bytes, *, key_id: str, context: str) -> bytes:
        from crypto import atrest

        return atrest.unwrap_secret(self._kek(key_id), wrapped, key_id=key_id, context=context)

    def _kek(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise PlatformKeyUnavailable(
                f"the at-rest key-encryption key {key_id!r} is not available from "
                f"{self.where} (keep retired keys listed until every item they wrap is "
                "re-wrapped)") from None


def _at_rest_provider_name() -> str:
    name = getattr(settings, "PLATFORM_AT_REST_KEY_PROVIDER", None) or os.environ.get(
        "PLATFORM_AT_REST_KEY_PROVIDER")
    if name:
        return name
    if os.environ.get("PLATFORM_AT_REST_KEYS"):
        return "env"
    if getattr(settings, "PLATFORM_EXTERNAL_KEK", None) or os.environ.get(
            "PLATFORM_EXTERNAL_KEK"):
        return "external"
    return "file"


def at_rest_key_path() -> Path:
    value = getattr(settings, "PLATFORM_AT_REST_KEY_FILE", None) or os.environ.get(
        "PLATFORM_AT_REST_KEY_FILE")
    return Path(value) if value else _path().with_name("platform_at_rest_keys.json")


def _new_key_id() -> str:
    import datetime

    return f"k{datetime.datetime.now(datetime.UTC):%Y%m%d}-{secrets.token_hex(4)}"


def _keyring_json(current: str, keys_: dict[str, bytes]) -> bytes:
    import json

    return json.dumps({
        "current": current,
        "keys": {k: base64.b64encode(v).decode("ascii") for k, v in keys_.items()},
    }, indent=2).encode("utf-8")


def _at_rest_from_file() -> AtRestKeyring:
    import json

    path = at_rest_key_path()
    if not path.exists():
        if _production():
            raise PlatformKeyUnavailable(
                f"no at-rest key file at {path}: in production the key-encryption keys are "
                "provided, not invented (set PLATFORM_AT_REST_KEY_FILE, PLATFORM_AT_REST_KEYS "
                "or PLATFORM_AT_REST_KEY_PROVIDER=external)")
        kid = _new_key_id()
        _create_once(path, _keyring_json(kid, {kid: secrets.token_bytes(32)}))
    if _production() and path.stat().st_mode & 0o077:
        raise PlatformKeyUnavailable(
            f"{path} may be read by group or others: chmod 600 it (production mode)")
    try:
        data = json.loads(path.read_bytes())
        keys_ = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
        current = str(data["current"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PlatformKeyUnavailable(f"cannot read the at-rest keys in {path}: {exc}") from exc
    return AtRestKeyring(keys_, current, str(path))


def _at_rest_from_env() -> AtRestKeyring:
    value = os.environ.get("PLATFORM_AT_REST_KEYS", "").strip()
    where = "the PLATFORM_AT_REST_KEYS environment variable"
    if not value:
        raise PlatformKeyUnavailable(
            "PLATFORM_AT_REST_KEY_PROVIDER=env but PLATFORM_AT_REST_KEYS is unset")
    keys_: dict[str, bytes] = {}
    for item in value.split(","):
        kid, sep, b64 = item.strip().partition(":")
        try:
            if not sep:
                raise ValueError("expected <id>:<base64>")
            keys_[kid] = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise PlatformKeyUnavailable(f"{where}: entry {kid!r}: {exc}") from exc
    return AtRestKeyring(keys_, next(iter(keys_)), where)


class _ExternalKeyring:
    def __init__(self, kms) -> None:
        self._kms = kms
        self.current_key_id = str(kms.current_key_id)
        self.where = "the external key service"

    def wrap(self, secret: bytes, *, key_id: str, context: str) -> bytes:
        return bytes(self._kms.wrap(bytes(secret), key_id=key_id, context=context))

    def unwrap(self, wrapped: bytes, *, key_id: str, context: str) -> bytes:
        return bytes(self._kms.unwrap(bytes(wrapped), key_id=key_id, context=context))


def _at_rest_from_external():
    path = getattr(settings, "PLATFORM_EXTERNAL_KEK", None) or os.environ.get(
        "PLATFORM_EXTERNAL_KEK")
    if not path:
        raise PlatformKeyUnavailable(
            "PLATFORM_AT_REST_KEY_PROVIDER=external needs PLATFORM_EXTERNAL_KEK, the dotted "
            "path of a callable returning an object with current_key_id, wrap() and unwrap()")
    return _ExternalKeyring(import_string(path)())


AT_REST_PROVIDERS = {"file": _at_rest_from_file, "env": _at_rest_from_env,
                     "external": _at_rest_from_external}


def _at_rest_detail(name: str) -> str:
    if name == "file":
        path = at_rest_key_path()
        try:
            st = path.stat()
        except FileNotFoundError:
            return f"{path}:missing"
        # A rotation rewrites the file: other processes load the new ring on their next use.
        return f"{path}:{st.st_mtime_ns}:{st.st_size}"
    if name == "env":
        return hashlib.sha256(os.environ.get("PLATFORM_AT_REST_KEYS", "").encode()).hexdigest()
    return str(getattr(settings, "PLATFORM_EXTERNAL_KEK", None)
               or os.environ.get("PLATFORM_EXTERNAL_KEK"))


def at_rest_keyring():
    """The at-rest KEKs from the configured provider: ``current_key_id``, ``wrap`` and
    ``unwrap``. Raises ``PlatformKeyUnavailable`` saying what to fix."""
    name = _at_rest_provider_name()
    if name not in AT_REST_PROVIDERS:
        raise PlatformKeyUnavailable(
            f"unknown PLATFORM_AT_REST_KEY_PROVIDER {name!r}; use one of "
            f"{', '.join(AT_REST_PROVIDERS)}")
    cache_key = f"at-rest:{name}:{_at_rest_detail(name)}"
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    with _lock:
        ring = AT_REST_PROVIDERS[name]()
        _cache[cache_key] = ring
        return ring


def at_rest_rotate() -> str:
    """File provider: add a fresh KEK, make it current, keep the old ones (so what they
    wrapped stays readable); returns the new key id. Other providers rotate where the
    keys live (the environment, the key service)."""
    if _at_rest_provider_name() != "file":
        raise PlatformKeyUnavailable("rotate the at-rest keys where the provider keeps them")
    ring = at_rest_keyring()
    keys_ = {kid: ring._kek(kid) for kid in ring.key_ids}
    kid = _new_key_id()
    keys_[kid] = secrets.token_bytes(32)
    path = at_rest_key_path()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_keyring_json(kid, keys_))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return kid
