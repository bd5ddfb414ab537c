"""The command-line tool: round trips, and exactly one ``error:`` line on refusal."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from crypto import keys, receipts, threshold
from ggzy_bid import cli
from tests.crypto.helpers import det_bytes

ROOT = Path(__file__).resolve().parents[2]
PLAINTEXT = bytes(range(256)) * 1000  # 256,000 bytes


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A directory with a bidder key, an opening key and a bid file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(cli.PASSPHRASE_ENV, "bidder passphrase")
    assert cli.main(["keygen", "bidder"]) == 0
    assert cli.main(["keygen", "opening"]) == 0
    Path("bid.pdf").write_bytes(PLAINTEXT)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, contains: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert contains in lines[0], err
    assert "Traceback" not in err


def _seal(capsys, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "seal",
        "--tender",
        "T-1",
        "--bidder",
        "B-1",
        "--opening-key",
        "opening.pub",
        "--my-key",
        "bidder.pub",
        "bid.pdf",
        "bid.env",
        *extra,
    )


def test_keygen_writes_a_protected_private_key_and_a_public_key(work, capsys):
    key = Path("bidder.key").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in key
    assert os.stat("bidder.key").st_mode & 0o077 == 0
    loaded = keys.private_key_from_pem(key, b"bidder passphrase")
    pub = keys.public_key_from_pem(Path("bidder.pub").read_bytes())
    assert keys.key_fingerprint(loaded) == keys.key_fingerprint(pub)


def test_keygen_refuses_to_overwrite(work, capsys):
    code, _, err = run(capsys, "keygen", "bidder")
    assert code == 1
    assert_one_error_line(err, "exists")


def test_seal_show_unwrap_open_round_trip(work, capsys):
    code, out, err = _seal(capsys)
    assert code == 0, err
    assert "sha256:" in out

    code, out, _ = run(capsys, "show", "bid.env", "--json")
    shown = json.loads(out)
    assert shown["tender_id"] == "T-1" and shown["bidder_id"] == "B-1"
    assert [r["label"] for r in shown["recipients"]] == ["bidder", "opening"]
    assert shown["plaintext_size"] == len(PLAINTEXT)

    code, out, _ = run(capsys, "show", "bid.env")
    assert code == 0 and "recipient:  opening" in out

    code, out, _ = run(capsys, "unwrap", "bid.env", "--key", "bidder.key")
    assert code == 0 and len(out.strip()) == 64
    Path("dk.txt").write_text(out)

    code, _, err = run(
        capsys, "open", "bid.env", "--data-key-file", "dk.txt", "-o", "a"
    )
    assert code == 0, err
    assert Path("a").read_bytes() == PLAINTEXT

    code, _, err = run(
        capsys, "open", "bid.env", "--key", "opening.key", "--tender", "T-1", "-o", "b"
    )
    assert code == 0, err
    assert Path("b").read_bytes() == PLAINTEXT


def test_my_key_may_be_the_private_key_file(work, capsys):
    code, _, err = run(
        capsys,
        "seal",
        "--tender",
        "T-1",
        "--bidder",
        "B-1",
        "--opening-key",
        "opening.pub",
        "--my-key",
        "bidder.key",
        "bid.pdf",
        "bid.env",
    )
    assert code == 0, err
    code, _, _ = run(
        capsys, "unwrap", "bid.env", "--key", "bidder.key", "--label", "bidder"
    )
    assert code == 0


def test_seal_can_sign_the_envelope_digest(work, capsys):
    assert cli.main(["keygen", "--signing", "me"]) == 0
    capsys.readouterr()
    code, _, err = _seal(capsys, "--sign-key", "me.key")
    assert code == 0, err
    statement = json.loads(Path("bid.env.sig.json").read_text())
    assert statement["sha256"] and statement["size"] == os.path.getsize("bid.env")


def test_verify_receipt_checks_signature_and_file(work, capsys):
    _seal(capsys)
    platform = ed25519.Ed25519PrivateKey.from_private_bytes(det_bytes("platform", 32))
    Path("platform.pub").write_bytes(keys.public_key_to_pem(platform.public_key()))
    import hashlib

    blob = Path("bid.env").read_bytes()
    receipt = receipts.receipt_issue(
        platform,
        tender_id="T-1",
        bidder_id="B-1",
        sha256=hashlib.sha256(blob).hexdigest(),
        size=len(blob),
        server_time="2024-05-01T09:30:00+08:00",
    )
    Path("receipt.json").write_text(json.dumps(receipt))
    code, out, err = run(
        capsys,
        "verify-receipt",
        "receipt.json",
        "--platform-key",
        "platform.pub",
        "--file",
        "bid.env",
    )
    assert code == 0, err
    assert "receipt OK" in out and "matches" in out

    Path("other.env").write_bytes(blob[:-1] + b"\x00")
    code, _, err = run(
        capsys,
        "verify-receipt",
        "receipt.json",
        "--platform-key",
        "platform.pub",
        "--file",
        "other.env",
    )
    assert code == 1
    assert_one_error_line(err, "not the envelope this receipt names")

    receipt["size"] += 1
    Path("receipt.json").write_text(json.dumps(receipt))
    code, _, err = run(
        capsys, "verify-receipt", "receipt.json", "--platform-key", "platform.pub"
    )
    assert code == 1
    assert_one_error_line(err, "signature does not verify")


def test_custodian_share_decrypt_and_offline_combine(work, capsys):
    for name in ("centre", "notary"):
        assert cli.main(["keygen", name]) == 0
    capsys.readouterr()
    custodians = [
        (name, keys.p256_public_key_from_pem(Path(f"{name}.pub").read_bytes()))
        for name in ("centre", "notary")
    ]
    ok = threshold.opening_key_create(
        custodians=custodians, threshold=2, tender_id="T-1"
    )
    Path("opening.json").write_text(json.dumps(ok.to_dict()))
    for name in ("centre", "notary"):
        code, _, err = run(
            capsys,
            "share-decrypt",
            "opening.json",
            "--key",
            f"{name}.key",
            "--tender",
            "T-1",
            "--custodian",
            name,
            "-o",
            f"{name}.share",
        )
        assert code == 0, err
    code, _, err = run(
        capsys,
        "opening-combine",
        "centre.share",
        "--opening-key",
        "opening.json",
        "-o",
        "rebuilt.key",
    )
    assert code == 1
    assert_one_error_line(err, "need 2 shares, have 1")
    code, _, err = run(
        capsys,
        "opening-combine",
        "centre.share",
        "notary.share",
        "--opening-key",
        "opening.json",
        "-o",
        "rebuilt.key",
    )
    assert code == 0, err
    rebuilt = keys.private_key_from_pem(
        Path("rebuilt.key").read_bytes(), b"bidder passphrase"
    )
    assert keys.public_key_bytes(rebuilt) == ok.public_key


# -- one clear line on wrong input ----------------------------------------------------


def test_not_an_envelope(work, capsys):
    code, _, err = run(capsys, "show", "bid.pdf")
    assert code == 1
    assert_one_error_line(err, "not a sealed envelope (bad magic)")


def test_missing_file(work, capsys):
    code, _, err = run(capsys, "show", "nope.env")
    assert code == 1
    assert_one_error_line(err, "no such file: nope.env")


def test_wrong_key(work, capsys):
    _seal(capsys)
    assert cli.main(["keygen", "stranger"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "unwrap", "bid.env", "--key", "stranger.key")
    assert code == 1
    assert_one_error_line(err, "not a recipient")


def test_public_key_where_a_private_key_is_needed(work, capsys):
    _seal(capsys)
    code, _, err = run(capsys, "unwrap", "bid.env", "--key", "opening.pub")
    assert code == 1
    assert_one_error_line(err, "not a private key file")


def test_wrong_passphrase(work, capsys, monkeypatch):
    _seal(capsys)
    monkeypatch.setenv(cli.PASSPHRASE_ENV, "guess")
    code, _, err = run(capsys, "unwrap", "bid.env", "--key", "bidder.key")
    assert code == 1
    assert_one_error_line(err, "wrong passphrase")


def test_passphrase_from_a_file(work, capsys, monkeypatch):
    _seal(capsys)
    monkeypatch.delenv(cli.PASSPHRASE_ENV)
    Path("pw.txt").write_text("bidder passphrase\n")
    code, _, err = run(
        capsys,
        "unwrap",
        "bid.env",
        "--key",
        "bidder.key",
        "--passphrase-file",
        "pw.txt",
    )
    assert code == 0, err


def test_no_passphrase_without_a_terminal(work, capsys, monkeypatch):
    _seal(capsys)
    monkeypatch.delenv(cli.PASSPHRASE_ENV)
    code, _, err = run(capsys, "unwrap", "bid.env", "--key", "bidder.key")
    assert code == 1
    assert_one_error_line(err, "a passphrase is needed")


def test_corrupted_envelope_leaves_no_output(work, capsys):
    _seal(capsys)
    blob = bytearray(Path("bid.env").read_bytes())
    blob[-100] ^= 1
    Path("bad.env").write_bytes(bytes(blob))
    code, _, err = run(capsys, "open", "bad.env", "--key", "bidder.key", "-o", "out")
    assert code == 1
    assert_one_error_line(err, "failed authentication")
    assert not Path("out").exists() and not Path("out.part").exists()


def test_truncated_envelope(work, capsys):
    _seal(capsys)
    Path("cut.env").write_bytes(Path("bid.env").read_bytes()[:200])
    code, _, err = run(capsys, "show", "cut.env")
    assert code == 1
    assert_one_error_line(err, "truncated envelope header")


def test_wrong_tender_at_opening(work, capsys):
    _seal(capsys)
    code, _, err = run(
        capsys, "open", "bid.env", "--key", "opening.key", "--tender", "T-9", "-o", "x"
    )
    assert code == 1
    assert_one_error_line(err, "envelope is for tender 'T-1', not 'T-9'")


def test_bad_data_key_file(work, capsys):
    _seal(capsys)
    Path("dk.txt").write_text("zz")
    code, _, err = run(
        capsys, "open", "bid.env", "--data-key-file", "dk.txt", "-o", "x"
    )
    assert code == 1
    assert_one_error_line(err, "hex data key")


def test_existing_output_is_not_overwritten(work, capsys):
    _seal(capsys)
    code, _, err = _seal(capsys)
    assert code == 1
    assert_one_error_line(err, "exists")
    code, _, err = _seal(capsys, "--force")
    assert code == 0, err


def test_bad_usage_exits_2_with_one_line(work, capsys):
    for argv in (["seal"], ["frobnicate"], [], ["seal", "--chunk-size", "1"]):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert_one_error_line(err, "")


def test_opening_key_of_the_wrong_kind(work, capsys):
    assert cli.main(["keygen", "--signing", "signer"]) == 0
    capsys.readouterr()
    code, _, err = run(
        capsys,
        "seal",
        "--tender",
        "T-1",
        "--bidder",
        "B-1",
        "--opening-key",
        "signer.pub",
        "--my-key",
        "bidder.pub",
        "bid.pdf",
        "bid.env",
    )
    assert code == 1
    assert_one_error_line(err, "expected a P-256 public key")


def test_progress_goes_to_stderr_when_asked(work, capsys):
    code, out, err = _seal(capsys, "--progress")
    assert code == 0
    assert "sealing 100%" in err and "%" not in out


def test_python_dash_m_crypto_runs_without_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    (tmp_path / "x.bin").write_bytes(b"not an envelope")
    proc = subprocess.run(
        [sys.executable, "-m", "ggzy_bid", "show", str(tmp_path / "x.bin")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == "error: not a sealed envelope (bad magic)\n"


def test_commands_are_registered_for_extension():
    assert {"keygen", "seal", "show", "verify-receipt", "unwrap", "open"} <= set(
        cli.COMMANDS
    )
    assert all(callable(c.run) and callable(c.configure) for c in cli.COMMANDS.values())


def test_seal_without_digest_writes_the_same_kind_of_envelope(work, capsys):
    code, out, err = _seal(capsys, "--no-digest")
    assert code == 0, err
    assert "not computed" in out
    code, out, _ = run(capsys, "show", "bid.env", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["sha256"] == hashlib.sha256(
        Path("bid.env").read_bytes()
    ).hexdigest()
    code, _, err = run(capsys, "open", "bid.env", "--key", "opening.key", "-o", "x.pdf")
    assert code == 0, err
    assert Path("x.pdf").read_bytes() == PLAINTEXT


def test_seal_no_digest_cannot_sign(work, capsys):
    assert cli.main(["keygen", "--signing", "me"]) == 0
    capsys.readouterr()
    code, _, err = _seal(capsys, "--no-digest", "--sign-key", "me.key")
    assert code == 2
    assert_one_error_line(err, "--no-digest")
    assert not Path("bid.env").exists()


# -- format v2 offline: the custodian set as served, checked against pinned keys -------------


def _custody_files(tmp_path: Path, *, endorse=(1, 2, 3), sign_with=None):
    """custody.json as the platform serves it and the trading centre's trust file."""
    import base64

    from crypto import custody
    from tests.crypto.helpers import p256_key

    enc = {f"c{i}": p256_key(f"cli-enc-{i}") for i in (1, 2, 3)}
    sig = {f"c{i}": p256_key(f"cli-sig-{i}") for i in (1, 2, 3)}
    stmt = custody.statement(
        tender_id="T-1", threshold=2, deadline="2026-12-31T09:30:00Z",
        custodians=[custody.CustodianSeat(i, f"c{i}", keys.key_fingerprint(enc[f"c{i}"]))
                    for i in (1, 2, 3)])
    signers = dict(sig, **(sign_with or {}))
    info = {
        "statement": stmt,
        "endorsements": [{"custodian_id": f"c{i}", "signature": base64.b64encode(
            custody.endorse(signers[f"c{i}"], stmt)).decode()} for i in endorse],
        "custodians": [{"x": i, "id": f"c{i}", "encryption_key": base64.b64encode(
            keys.public_key_bytes(enc[f"c{i}"].public_key())).decode()} for i in (1, 2, 3)],
    }
    (tmp_path / "custody.json").write_text(json.dumps(info))
    (tmp_path / "custodians.json").write_bytes(
        custody.trust_file({c: k.public_key() for c, k in sig.items()}))
    return enc


def _seal_v2(capsys):
    return run(capsys, "seal", "--tender", "T-1", "--bidder", "B-1", "--custody", "custody.json",
               "--custodians", "custodians.json", "--my-key", "bidder.pub", "bid.pdf", "bid.env")


def test_seal_v2_offline_splits_the_key_among_the_endorsed_custodians(work, capsys):
    from crypto import custody, envelope

    enc = _custody_files(work)
    code, out, err = _seal_v2(capsys)
    assert code == 0, err
    blob = Path("bid.env").read_bytes()
    shares = dict(custody.unwrap_share(blob, enc[c]) for c in ("c1", "c3"))
    assert envelope.open_bytes(blob, custody.combine(blob, shares)) == PLAINTEXT
    code, out, _ = run(capsys, "show", "bid.env")
    assert "format v2" in out and "data key split 2 of 3" in out


def test_seal_v2_refuses_a_missing_endorsement_in_one_line(work, capsys):
    _custody_files(work, endorse=(1, 3))
    code, _, err = _seal_v2(capsys)
    assert code == 1
    assert_one_error_line(err, "'c2' has not endorsed")
    assert not Path("bid.env").exists()


def test_seal_v2_refuses_an_endorsement_by_another_key(work, capsys):
    from tests.crypto.helpers import p256_key

    _custody_files(work, sign_with={"c1": p256_key("the platform")})
    code, _, err = _seal_v2(capsys)
    assert code == 1
    assert_one_error_line(err, "does not verify with its pinned key")


def test_seal_needs_exactly_one_kind_of_custody(work, capsys):
    _custody_files(work)
    code, _, err = run(capsys, "seal", "--tender", "T-1", "--bidder", "B-1", "--my-key",
                       "bidder.pub", "bid.pdf", "bid.env")
    assert code == 2
    assert_one_error_line(err, "--custody")
    code, _, err = _seal(capsys, "--custody", "custody.json")
    assert code == 2


def test_pinning_a_trust_file_keeps_it_beside_the_token(work, capsys, monkeypatch):
    _custody_files(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(work / "config"))
    code, out, err = run(capsys, "pin-custodians", "custodians.json")
    assert code == 0, err
    pinned = work / "config" / "ggzy" / "custodians.json"
    assert pinned.read_bytes() == Path("custodians.json").read_bytes()
    assert pinned.stat().st_mode & 0o077 == 0
    code, _, err = run(capsys, "seal", "--tender", "T-1", "--bidder", "B-1", "--custody",
                       "custody.json", "--my-key", "bidder.pub", "bid.pdf", "bid.env")
    assert code == 0, err
