"""Where the platform's signing key comes from: a file (passphrase-protected when a
passphrase is set), the environment, or an external signer; verifiers pin the public key."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from audit.services import audit_checkpoint, audit_record, audit_verify
from core import platform_keys
from crypto import keys, log

FIXED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


class _Signer:
    """What an HSM adapter returns: the public key, and signatures made elsewhere."""

    def __init__(self, key=FIXED):
        self.key = key

    def public_key(self):
        return self.key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def make_signer():
    return _Signer()


def make_broken_signer():
    class Broken(_Signer):
        def sign(self, data):
            return bytes(64)

    return Broken()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ["PLATFORM_KEY_PASSPHRASE", "PLATFORM_SIGNING_KEY", "PLATFORM_KEY_PROVIDER",
                 "PLATFORM_EXTERNAL_SIGNER"]:
        monkeypatch.delenv(name, raising=False)


def test_with_a_passphrase_the_key_file_is_encrypted(tmp_path, settings, monkeypatch):
    settings.PLATFORM_KEY_FILE = str(tmp_path / "k.pem")
    monkeypatch.setenv("PLATFORM_KEY_PASSPHRASE", "correct horse")
    key = platform_keys.signing_key()
    data = (tmp_path / "k.pem").read_bytes()
    assert b"ENCRYPTED" in data
    with pytest.raises(Exception):  # noqa: B017 - any refusal: the disk alone is not enough
        keys.signing_key_from_pem(data, None)
    assert keys.key_fingerprint(keys.signing_key_from_pem(data, b"correct horse")) == \
        keys.key_fingerprint(key)


def test_a_plain_key_file_is_refused_while_a_passphrase_is_set(tmp_path, settings,
                                                                monkeypatch):
    path = tmp_path / "plain.pem"
    path.write_bytes(keys.signing_key_to_pem(keys.generate_signing_key(), None))
    settings.PLATFORM_KEY_FILE = str(path)
    monkeypatch.setenv("PLATFORM_KEY_PASSPHRASE", "secret")
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="not passphrase-protected"):
        platform_keys.signing_key()


def test_a_wrong_passphrase_is_refused(tmp_path, settings, monkeypatch):
    path = tmp_path / "enc.pem"
    path.write_bytes(keys.signing_key_to_pem(keys.generate_signing_key(), b"right"))
    settings.PLATFORM_KEY_FILE = str(path)
    monkeypatch.setenv("PLATFORM_KEY_PASSPHRASE", "wrong")
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="PLATFORM_KEY_PASSPHRASE"):
        platform_keys.signing_key()


def test_the_key_can_come_from_the_environment(tmp_path, settings, monkeypatch):
    settings.PLATFORM_KEY_FILE = str(tmp_path / "never-written.pem")
    key = keys.generate_signing_key()
    monkeypatch.setenv("PLATFORM_SIGNING_KEY", keys.signing_key_to_pem(key, None).decode())
    assert platform_keys.fingerprint() == keys.key_fingerprint(key)
    assert not (tmp_path / "never-written.pem").exists()


def test_the_env_provider_without_the_variable_is_refused(settings):
    settings.PLATFORM_KEY_PROVIDER = "env"
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="PLATFORM_SIGNING_KEY"):
        platform_keys.signing_key()


@pytest.mark.django_db
def test_an_external_signer_signs_tree_heads_without_the_private_key_here(settings):
    settings.PLATFORM_KEY_PROVIDER = "external"
    settings.PLATFORM_EXTERNAL_SIGNER = "tests.audit.test_platform_key_providers.make_signer"
    key = platform_keys.signing_key()
    assert isinstance(key, platform_keys.ExternalSigningKey)
    with pytest.raises(platform_keys.PlatformKeyUnavailable):
        key.private_bytes_raw()
    audit_record(actor="x", action="test.action")
    item = audit_checkpoint()
    assert log.sth_verify(item.sth, FIXED.public_key())
    assert audit_verify(platform_key=FIXED.public_key()).ok


def test_an_external_signer_that_returns_a_bad_signature_is_caught(settings):
    settings.PLATFORM_KEY_PROVIDER = "external"
    settings.PLATFORM_EXTERNAL_SIGNER = (
        "tests.audit.test_platform_key_providers.make_broken_signer")
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidSignature
        log.sth_sign(platform_keys.signing_key(), size=1, root="ab" * 32,
                     timestamp="2026-12-06T00:00:00+00:00")


def test_external_without_a_signer_path_is_refused(settings):
    settings.PLATFORM_KEY_PROVIDER = "external"
    settings.PLATFORM_EXTERNAL_SIGNER = None
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="PLATFORM_EXTERNAL_SIGNER"):
        platform_keys.signing_key()


def test_an_unknown_provider_is_refused(settings):
    settings.PLATFORM_KEY_PROVIDER = "usb-stick"
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="unknown"):
        platform_keys.signing_key()


def test_the_pinned_key_is_read_from_its_own_file(tmp_path, settings):
    other = keys.generate_signing_key()
    path = tmp_path / "pin.pem"
    path.write_bytes(keys.public_key_to_pem(other.public_key()))
    settings.AUDIT_PINNED_KEY_FILE = str(path)
    assert keys.key_fingerprint(platform_keys.pinned_verify_key()) == keys.key_fingerprint(other)
    settings.AUDIT_PINNED_KEY_FILE = None
    assert platform_keys.pinned_verify_key() is None or "AUDIT_PINNED_KEY_FILE" in __import__(
        "os").environ


def test_production_mode_does_not_invent_a_key(tmp_path, settings):
    settings.GGZY_PRODUCTION = True
    settings.PLATFORM_KEY_FILE = str(tmp_path / "missing.pem")
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="in production"):
        platform_keys.signing_key()
    assert not (tmp_path / "missing.pem").exists()


def test_production_mode_does_not_invent_a_document_certificate(tmp_path, settings):
    settings.GGZY_PRODUCTION = True
    settings.PLATFORM_DOCUMENT_CERT_FILE = str(tmp_path / "missing-cert.pem")
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="in production"):
        platform_keys.document_certificate()
    assert not (tmp_path / "missing-cert.pem").exists()
