"""The bid page's key backup file (crypto/keybackup.py, the format bidkeys.js writes):
it round-trips, refuses a wrong passphrase and a tampered file, and the bidder's
command-line tool takes it as its key file. (The browser half: tests/browser/
test_key_backup_browser.py.)"""

from __future__ import annotations

import argparse
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from crypto import keybackup, keys
from crypto.errors import DecryptionFailed, MalformedData
from ggzy_bid import cli

PASS = "备份 passphrase 2026".encode()
# The minimum iterations keep each derivation here well under a second.
ITER = keybackup.ITERATIONS


@pytest.fixture(scope="module")
def key_and_file():
    key = ec.generate_private_key(ec.SECP256R1())
    return key, keybackup.dump(key, PASS, bidder_id="91350100MA0000001X")


def test_the_backup_file_names_its_format_kdf_cipher_and_fingerprint(key_and_file):
    key, data = key_and_file
    doc = json.loads(data)
    assert doc["format"] == "ggzy-bid-key-backup" and doc["version"] == 1
    assert doc["kdf"] == "PBKDF2-HMAC-SHA256" and doc["iterations"] >= 600_000
    assert doc["cipher"] == "AES-256-GCM"
    assert {"salt", "iv", "ciphertext", "public_key"} <= set(doc)
    assert doc["fingerprint"] == keys.key_fingerprint(key) == keybackup.fingerprint_of(data)
    assert keybackup.is_backup(data) and not keybackup.is_backup(b"-----BEGIN PRIVATE KEY")


def test_the_backup_file_gives_back_the_same_key(key_and_file):
    key, data = key_and_file
    back = keybackup.load(data, PASS)
    assert keys.key_fingerprint(back) == keys.key_fingerprint(key)
    assert back.private_numbers().private_value == key.private_numbers().private_value


def test_a_wrong_or_missing_passphrase_is_refused(key_and_file):
    _, data = key_and_file
    with pytest.raises(DecryptionFailed, match="wrong passphrase"):
        keybackup.load(data, b"not the passphrase")
    with pytest.raises(DecryptionFailed, match="needs its passphrase"):
        keybackup.load(data, None)


def test_a_backup_naming_another_key_is_refused(key_and_file):
    _, data = key_and_file
    other = ec.generate_private_key(ec.SECP256R1())
    doc = json.loads(data)
    doc["fingerprint"] = keys.key_fingerprint(other)
    with pytest.raises(MalformedData, match="does not match"):
        keybackup.load(json.dumps(doc).encode(), PASS)


@pytest.mark.parametrize("change", [
    {"version": 2}, {"cipher": "AES-256-CBC"}, {"iterations": 0}, {"iterations": True},
    {"salt": "not base64!"}, {"ciphertext": ""},
])
def test_a_damaged_or_unknown_backup_is_refused(key_and_file, change):
    _, data = key_and_file
    doc = json.loads(data) | change
    with pytest.raises(MalformedData):
        keybackup.load(json.dumps(doc).encode(), PASS)


def test_an_altered_ciphertext_reads_as_a_wrong_passphrase(key_and_file):
    _, data = key_and_file
    doc = json.loads(data)
    doc["iterations"] = doc["iterations"] + 1  # another wrapping key: the GCM tag fails
    with pytest.raises(DecryptionFailed):
        keybackup.load(json.dumps(doc).encode(), PASS)


def test_writing_refuses_weak_settings():
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError):
        keybackup.dump(key, b"")
    with pytest.raises(ValueError):
        keybackup.dump(key, PASS, iterations=ITER - 1)


def test_the_command_line_tool_takes_a_backup_file_as_its_key(key_and_file, tmp_path):
    key, data = key_and_file
    (tmp_path / "bid-key.json").write_bytes(data)
    (tmp_path / "pass").write_bytes(PASS + b"\n")
    args = argparse.Namespace(passphrase_file=str(tmp_path / "pass"))
    loaded = cli._load_p256_private(args, str(tmp_path / "bid-key.json"))
    assert keys.key_fingerprint(loaded) == keys.key_fingerprint(key)
    (tmp_path / "wrong").write_bytes(b"wrong passphrase\n")
    with pytest.raises(DecryptionFailed):
        cli._load_p256_private(argparse.Namespace(passphrase_file=str(tmp_path / "wrong")),
                               str(tmp_path / "bid-key.json"))
