"""TOTP (RFC 6238) and HOTP (RFC 4226) against the RFCs' own test vectors."""

from __future__ import annotations

import urllib.parse

import pytest

from accounts import totp

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}

# RFC 6238 Appendix B: time, then the 8-digit codes for SHA1, SHA256, SHA512.
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]

# RFC 4226 Appendix D: HOTP values for counters 0..9.
RFC4226 = ["755224", "287082", "359152", "969429", "338314",
           "254676", "287922", "162583", "399871", "520489"]


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238)
def test_rfc6238_vectors(at, sha1, sha256, sha512):
    for algorithm, want in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        assert totp.totp(SEEDS[algorithm], at, digits=8, algorithm=algorithm) == want


def test_rfc4226_vectors():
    assert [totp.hotp(SEEDS["SHA1"], c) for c in range(10)] == RFC4226


def test_a_code_holds_for_its_step_and_one_either_side_only():
    secret = SEEDS["SHA1"]
    at = 1_111_111_111
    step = totp.time_step(at)
    code = totp.totp(secret, at)
    assert totp.matching_step(secret, code, at) == step
    assert totp.matching_step(secret, code, at + 30) == step
    assert totp.matching_step(secret, code, at - 30) == step
    assert totp.matching_step(secret, code, at + 60) is None
    assert totp.matching_step(secret, code, at - 60) is None


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "１２３４５６", None])
def test_malformed_codes_match_nothing(bad):
    assert totp.matching_step(SEEDS["SHA1"], bad, 59) is None


def test_spaces_in_a_typed_code_are_ignored():
    code = totp.totp(SEEDS["SHA1"], 59)
    assert totp.matching_step(SEEDS["SHA1"], f"{code[:3]} {code[3:]}", 59) == 1


def test_the_provisioning_uri_carries_the_base32_secret_and_the_parameters():
    uri = totp.provisioning_uri(SEEDS["SHA1"], account="expert7", issuer="福州 平台")
    parts = urllib.parse.urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    query = urllib.parse.parse_qs(parts.query)
    assert query["secret"] == ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"]
    assert query["issuer"] == ["福州 平台"]
    assert (query["digits"], query["period"], query["algorithm"]) == (["6"], ["30"], ["SHA1"])
    assert urllib.parse.unquote(parts.path) == "/福州 平台:expert7"


def test_new_secrets_are_160_bits_and_differ():
    a, b = totp.new_secret(), totp.new_secret()
    assert len(a) == 20 and a != b


def test_the_command_line_authenticator_prints_the_code_of_the_secret_the_page_shows(capsys):
    import time as _time

    from accounts import totp as t

    secret = t.new_secret()
    shown = t.to_base32(secret)
    spaced = " ".join(shown[i:i + 4] for i in range(0, len(shown), 4)).lower()
    assert t.from_base32(spaced) == secret
    before = t.totp(secret, _time.time())
    assert t.main([shown]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed in {before, t.totp(secret, _time.time())}
    assert t.main(["not base32!"]) == 2 and t.main([]) == 2
