"""The at-rest format (crypto.atrest) and the platform's at-rest KEKs (core.platform_keys,
core.at_rest): round trips, tamper refusals, providers and what production refuses."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest

from core import at_rest, platform_keys
from crypto import atrest
from crypto.errors import CryptoError, DecryptionFailed, MalformedData

KEY = bytes(range(32))
CS = 64


def _seal(data: bytes, context: str = "doc:1") -> bytes:
    return atrest.encrypt_bytes(data, KEY, context=context, chunk_size=CS)


@pytest.mark.parametrize("size", [0, 1, CS - 1, CS, CS + 1, 3 * CS, 3 * CS + 5])
def test_round_trip_at_every_chunk_boundary(size):
    data = os.urandom(size)
    blob = _seal(data)
    assert atrest.decrypt_bytes(blob, KEY, context="doc:1") == data
    header = 38 + len("doc:1")
    chunks = max(1, -(-size // CS))
    assert len(blob) == header + size + 16 * chunks


def test_the_writer_streams_and_records_sha256_and_size():
    import hashlib

    out = io.BytesIO()
    w = atrest.EncryptingWriter(out, KEY, context="c", chunk_size=CS)
    for piece in (b"a" * 10, b"b" * 100, b"", b"c" * 64):
        w.write(piece)
    w.close()
    plain = b"a" * 10 + b"b" * 100 + b"c" * 64
    assert w.size == len(plain) and w.sha256.hexdigest() == hashlib.sha256(plain).hexdigest()
    assert atrest.decrypt_bytes(out.getvalue(), KEY, context="c") == plain


def _chunks(blob: bytes, context: str = "doc:1"):
    head = 38 + len(context)
    body = blob[head:]
    return blob[:head], [body[i:i + CS + 16] for i in range(0, len(body), CS + 16)]


def test_reordered_cut_extended_or_flipped_files_are_refused():
    blob = _seal(os.urandom(3 * CS + 5))
    head, chunks = _chunks(blob)
    altered = {
        "swap": head + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "cut a chunk": head + b"".join(chunks[:-1]),
        "cut a byte": blob[:-1],
        "append": blob + chunks[-1],
        "flip body": blob[:-5] + bytes([blob[-5] ^ 1]) + blob[-4:],
        "flip header": blob[:20] + bytes([blob[20] ^ 1]) + blob[21:],
        "no body": head,
    }
    for what, data in altered.items():
        with pytest.raises(CryptoError):
            atrest.decrypt_bytes(data, KEY, context="doc:1")
        assert what


def test_a_wrong_key_or_context_is_refused():
    blob = _seal(b"secret")
    with pytest.raises(DecryptionFailed):
        atrest.decrypt_bytes(blob, bytes(32), context="doc:1")
    with pytest.raises(MalformedData, match="not 'doc:2'"):
        atrest.decrypt_bytes(blob, KEY, context="doc:2")
    with pytest.raises(MalformedData, match="bad magic"):
        atrest.decrypt_bytes(b"GGZYSEAL" + blob[8:], KEY, context="doc:1")


def test_a_wrapped_key_opens_only_with_its_kek_key_id_and_context():
    wrapped = atrest.wrap_secret(KEY, b"k" * 32, key_id="k1", context="doc:1")
    assert atrest.unwrap_secret(KEY, wrapped, key_id="k1", context="doc:1") == b"k" * 32
    for kek, kid, ctx, data in [
        (bytes(32), "k1", "doc:1", wrapped),
        (KEY, "k2", "doc:1", wrapped),
        (KEY, "k1", "doc:2", wrapped),
        (KEY, "k1", "doc:1", wrapped[:-1] + bytes([wrapped[-1] ^ 1])),
    ]:
        with pytest.raises(DecryptionFailed):
            atrest.unwrap_secret(kek, data, key_id=kid, context=ctx)


# --- the KEK providers ---------------------------------------------------------------------


@pytest.fixture
def kek_file(tmp_path, settings):
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "file"
    settings.PLATFORM_AT_REST_KEY_FILE = str(tmp_path / "keys.json")
    return tmp_path / "keys.json"


def test_the_file_provider_creates_a_private_key_file_in_development(kek_file):
    ring = platform_keys.at_rest_keyring()
    assert kek_file.exists() and (kek_file.stat().st_mode & 0o077) == 0
    data = json.loads(kek_file.read_text())
    assert data["current"] == ring.current_key_id
    assert len(base64.b64decode(data["keys"][ring.current_key_id])) == 32


def test_production_refuses_a_missing_or_group_readable_key_file(kek_file, settings):
    settings.GGZY_PRODUCTION = True
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="in production"):
        platform_keys.at_rest_keyring()
    settings.GGZY_PRODUCTION = False
    platform_keys.at_rest_keyring()
    os.chmod(kek_file, 0o644)
    settings.GGZY_PRODUCTION = True
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="chmod 600"):
        platform_keys.at_rest_keyring()


def test_a_short_key_or_an_unlisted_current_key_is_refused(kek_file):
    kek_file.write_text(json.dumps({"current": "a", "keys": {"a": base64.b64encode(
        b"short").decode()}}))
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="not 32"):
        platform_keys.at_rest_keyring()
    kek_file.write_text(json.dumps({"current": "b", "keys": {"a": base64.b64encode(
        bytes(32)).decode()}}))
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="not among"):
        platform_keys.at_rest_keyring()


def test_the_env_provider_reads_several_keys_and_the_first_is_current(settings, monkeypatch):
    settings.PLATFORM_AT_REST_KEY_PROVIDER = None
    new, old = os.urandom(32), os.urandom(32)
    monkeypatch.setenv("PLATFORM_AT_REST_KEYS", f"new:{base64.b64encode(new).decode()},"
                                                f"old:{base64.b64encode(old).decode()}")
    ring = platform_keys.at_rest_keyring()
    assert ring.current_key_id == "new" and ring.key_ids == ["new", "old"]
    wrapped = atrest.wrap_secret(old, b"x" * 32, key_id="old", context="c")
    assert ring.unwrap(wrapped, key_id="old", context="c") == b"x" * 32


def test_a_malformed_env_entry_is_refused(settings, monkeypatch):
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "env"
    monkeypatch.setenv("PLATFORM_AT_REST_KEYS", "nocolon")
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="expected"):
        platform_keys.at_rest_keyring()


class FakeKms:
    """An external key service: keeps its KEK to itself."""

    current_key_id = "kms-1"
    _kek = bytes(range(1, 33))

    def wrap(self, secret, *, key_id, context):
        return atrest.wrap_secret(self._kek, secret, key_id=key_id, context=context)

    def unwrap(self, wrapped, *, key_id, context):
        return atrest.unwrap_secret(self._kek, wrapped, key_id=key_id, context=context)


def test_the_external_provider_wraps_through_the_key_service(settings):
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "external"
    settings.PLATFORM_EXTERNAL_KEK = "tests.core.test_at_rest.FakeKms"
    token = at_rest.secret_seal(b"totp seed", context="totp:1")
    assert at_rest.secret_key_id(token) == "kms-1"
    assert at_rest.secret_open(token, context="totp:1") == b"totp seed"


def test_an_unknown_provider_is_refused(settings):
    settings.PLATFORM_AT_REST_KEY_PROVIDER = "hsm9000"
    with pytest.raises(platform_keys.PlatformKeyUnavailable, match="unknown"):
        platform_keys.at_rest_keyring()


def test_a_secret_token_survives_a_rotation_and_refuses_tampering(kek_file):
    token = at_rest.secret_seal(b"seed", context="totp:7")
    old = at_rest.secret_key_id(token)
    new = platform_keys.at_rest_rotate()
    assert at_rest.secret_open(token, context="totp:7") == b"seed"
    assert at_rest.secret_key_id(at_rest.secret_seal(b"seed", context="totp:7")) == new != old
    prefix, kid, b64 = token.split(":")
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    with pytest.raises(CryptoError):
        at_rest.secret_open(f"{prefix}:{kid}:{base64.b64encode(bytes(raw)).decode()}",
                            context="totp:7")
    with pytest.raises(CryptoError):
        at_rest.secret_open(token, context="totp:8")
    with pytest.raises(MalformedData):
        at_rest.secret_open("plain-secret", context="totp:7")


def test_any_split_of_the_writes_gives_a_file_that_reads_back():
    import random

    rng = random.Random(20261206)
    for _ in range(200):
        data = rng.randbytes(rng.randint(0, 9 * CS))
        out = io.BytesIO()
        w = atrest.EncryptingWriter(out, KEY, context="c", chunk_size=CS)
        pos = 0
        while pos < len(data):
            step = rng.randint(0, 3 * CS)
            w.write(data[pos:pos + step])
            pos += step
        w.close()
        assert atrest.decrypt_bytes(out.getvalue(), KEY, context="c") == data
        assert len(out.getvalue()) == len(atrest.encrypt_bytes(data, KEY, context="c",
                                                               chunk_size=CS))
