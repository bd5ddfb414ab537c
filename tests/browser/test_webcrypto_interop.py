"""The browser's sealing code (static/js/envelope.js, static/js/bidkeys.js) and the
Python reference (crypto/) read and write the same bytes: envelopes, data keys and
passphrase-protected key files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from crypto import envelope, keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VECTORS = Path(__file__).resolve().parents[1] / "crypto" / "vectors" / "envelope-v1.json"

# JS helpers: hex in and out, so nothing large crosses page.evaluate.
HELPERS = """
window.T = {
  fromHex: (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16))),
  hex: (b) => GGZY.envelope.util.hex(b),
  utf8: (s) => new TextEncoder().encode(s),
};
"""


@pytest.fixture
def page(browser, live_server):
    page = browser.new_page()
    # Any page of the site is a secure context on localhost; load the two scripts there.
    page.goto(live_server.url.replace("127.0.0.1", "localhost") + "/")
    page.add_script_tag(url="/static/js/envelope.js")
    page.add_script_tag(url="/static/js/bidkeys.js")
    # Evaluated, not injected as an inline <script>: the site's CSP forbids inline script.
    page.evaluate(HELPERS)
    assert page.evaluate("window.isSecureContext && !!(GGZY.envelope && GGZY.bidkeys)")
    return page


def _point(private: ec.EllipticCurvePrivateKey) -> str:
    return keys.public_key_bytes(private.public_key()).hex()


def test_js_reproduces_the_known_answer_vector(page):
    v = json.loads(VECTORS.read_text())
    ephemeral = []
    for scalar in v["ephemeral_scalars"]:
        eph = ec.derive_private_key(int(scalar, 16), ec.SECP256R1())
        ephemeral.append({"d": scalar, "point": _point(eph)})
    args = {
        "tender": v["tender_id"], "bidder": v["bidder_id"], "chunk": v["chunk_size"],
        "recipients": [{"label": r["label"], "point": r["public_point"]} for r in v["recipients"]],
        "plaintext": v["plaintext_hex"], "data_key": v["data_key"], "salt": v["salt"],
        "prefix": v["nonce_prefix"], "ephemeral": ephemeral,
    }
    out = page.evaluate("""async (a) => {
      const opts = {
        tenderId: a.tender, bidderId: a.bidder, chunkSize: a.chunk,
        recipients: a.recipients.map(
          (r) => ({label: r.label, publicKeyRaw: T.fromHex(r.point)})),
        inject: {dataKey: T.fromHex(a.data_key), salt: T.fromHex(a.salt),
                 noncePrefix: T.fromHex(a.prefix),
                 ephemeral: a.ephemeral.map(
                   (e) => ({d: T.fromHex(e.d), point: T.fromHex(e.point)}))},
      };
      const sealed = await GGZY.envelope.sealBytes(T.fromHex(a.plaintext), opts);
      const hsize = GGZY.envelope.headerSize(opts);
      return {envelope: T.hex(sealed), headerSize: hsize,
              predicted: GGZY.envelope.envelopeSize(a.plaintext.length / 2, hsize, a.chunk)};
    }""", args)
    assert out["envelope"][: len(v["header_hex"])] == v["header_hex"]
    assert out["envelope"] == v["envelope_hex"]
    assert out["headerSize"] == len(v["header_hex"]) // 2
    assert out["predicted"] == len(v["envelope_hex"]) // 2


def _seal_in_js(page, plaintext: bytes, recipients, *, tender="GGZY-2025-0042",
                bidder="91350100MA0000001X", chunk=64) -> bytes:
    hexed = page.evaluate("""async (a) => {
      const opts = {tenderId: a.tender, bidderId: a.bidder, chunkSize: a.chunk,
        recipients: a.recipients.map((r) => ({label: r[0], publicKeyRaw: T.fromHex(r[1])}))};
      return T.hex(await GGZY.envelope.sealBytes(T.fromHex(a.plaintext), opts));
    }""", {"tender": tender, "bidder": bidder, "chunk": chunk, "plaintext": plaintext.hex(),
           "recipients": [[label, _point(k)] for label, k in recipients]})
    return bytes.fromhex(hexed)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000, 4096])
def test_js_envelopes_open_in_python(page, size):
    bidder_key = keys.generate_private_key()
    opening_key = keys.generate_private_key()
    plaintext = ("标书 " * 800).encode()[:size]
    blob = _seal_in_js(page, plaintext, [("bidder", bidder_key), ("opening", opening_key)])
    import io

    info = envelope.check_structure(io.BytesIO(blob), tender_id="GGZY-2025-0042",
                                    bidder_id="91350100MA0000001X")
    assert info.plaintext_size == size
    for key, label in ((bidder_key, "bidder"), (opening_key, "opening")):
        data_key = envelope.unwrap_data_key(blob, key, label=label)
        assert envelope.open_bytes(blob, data_key, tender_id="GGZY-2025-0042") == plaintext


def test_js_streams_resume_to_identical_bytes(page):
    """sealStream from a stored header and data key regenerates the same envelope from
    any plaintext chunk or envelope byte offset, and the Python side opens it."""
    bidder_key = keys.generate_private_key()
    out = page.evaluate("""async (a) => {
      const E = GGZY.envelope;
      const plain = new Uint8Array(5000);
      for (let i = 0; i < plain.length; i++) plain[i] = (i * 7 + 3) & 255;
      const blob = new Blob([plain]);
      const opts = {tenderId: "T-1", bidderId: "B-1", chunkSize: 256,
                    recipients: [{label: "bidder", publicKeyRaw: T.fromHex(a.point)}]};
      const {header, dataKey} = await E.prepare(opts);
      const collect = async (state) => {
        const parts = [];
        for await (const p of E.sealStream(blob, opts, state)) parts.push(p);
        return E.util.concat(parts);
      };
      const whole = await collect({header, dataKey});
      const results = {whole: T.hex(whole), plain: T.hex(plain),
                       size: E.envelopeSize(plain.length, header.length, 256), mismatches: []};
      const h = header.length;
      for (const off of [0, 1, h - 1, h, h + 5, h + 272, h + 273,
                         whole.length - 17, whole.length - 1, whole.length]) {
        const tail = await collect({header, dataKey, startOffset: off});
        if (T.hex(tail) !== T.hex(whole.subarray(off))) results.mismatches.push(off);
      }
      const fromChunk3 = await collect({header, dataKey, startChunk: 3});
      results.chunk3 = T.hex(fromChunk3) === T.hex(whole.subarray(header.length + 3 * 272));
      return results;
    }""", {"point": _point(bidder_key)})
    assert out["mismatches"] == []
    assert out["chunk3"]
    blob = bytes.fromhex(out["whole"])
    assert len(blob) == out["size"]
    data_key = envelope.unwrap_data_key(blob, bidder_key, label="bidder")
    assert envelope.open_bytes(blob, data_key) == bytes.fromhex(out["plain"])


def test_js_unwraps_the_same_data_key_as_python(page):
    v = json.loads(VECTORS.read_text())
    blob = bytes.fromhex(v["envelope_hex"])
    for r in v["recipients"]:
        private = ec.derive_private_key(int(r["private_scalar"], 16), ec.SECP256R1())
        pem = keys.private_key_to_pem(private, None).decode()
        got = page.evaluate("""async (a) => {
          const pair = await GGZY.bidkeys.importPem(a.pem);
          const k = await GGZY.envelope.unwrapDataKey(T.fromHex(a.header), pair, a.label);
          const plain = await GGZY.envelope.openBytes(T.fromHex(a.envelope), k);
          return {key: T.hex(k), plain: T.hex(plain)};
        }""", {"pem": pem, "header": v["header_hex"], "label": r["label"],
               "envelope": v["envelope_hex"]})
        assert got["key"] == envelope.unwrap_data_key(blob, private, label=r["label"]).hex()
        assert got["key"] == v["data_key"]
        assert got["plain"] == v["plaintext_hex"]
    # And an envelope Python seals now, with fresh randomness.
    mine = keys.generate_private_key()
    blob = envelope.seal_bytes(b"python sealed", tender_id="T", bidder_id="B",
                               recipients=[envelope.Recipient("bidder", mine.public_key())])
    got = page.evaluate("""async (a) => {
      const pair = await GGZY.bidkeys.importPem(a.pem, a.pass);
      const k = await GGZY.envelope.unwrapDataKey(T.fromHex(a.blob), pair);
      return T.hex(k);
    }""", {"pem": keys.private_key_to_pem(mine, "pässwörd".encode()).decode(),
           "pass": "pässwörd", "blob": blob.hex()})
    assert got == envelope.unwrap_data_key(blob, mine).hex()
    # A key that is not a recipient is told so.
    err = page.evaluate("""async (a) => {
      const pair = await GGZY.bidkeys.generate();
      try { await GGZY.envelope.unwrapDataKey(T.fromHex(a.blob), pair); return "opened"; }
      catch (e) { return e.message; }
    }""", {"blob": blob.hex()})
    assert "not a recipient" in err


def test_python_key_file_imports_in_js(page, tmp_path):
    """A key file written by `python -m ggzy_bid keygen` imports in the browser with its
    passphrase, and a wrong passphrase is reported as such."""
    import os
    import sys

    passphrase = "正确 马 电池 订书钉"
    env = dict(os.environ, GGZY_PASSPHRASE=passphrase)
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-m", "ggzy_bid", "keygen", str(tmp_path / "bidder")],
                   check=True, cwd=root, env=env, capture_output=True)
    pem = (tmp_path / "bidder.key").read_text()
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    private = keys.p256_private_key_from_pem(pem.encode(), passphrase.encode())
    got = page.evaluate("""async (a) => {
      const B = GGZY.bidkeys;
      const pair = await B.importPem(a.pem, a.pass);
      const raw = await B.publicRaw(pair);
      let wrong = null;
      try { await B.importPem(a.pem, "not the passphrase"); } catch (e) { wrong = e.code; }
      return {point: T.hex(raw), fp: await B.fingerprint(raw), wrong};
    }""", {"pem": pem, "pass": passphrase})
    assert got["point"] == _point(private)
    assert got["fp"] == keys.key_fingerprint(private)
    assert got["wrong"] == "passphrase"


def test_js_key_file_loads_in_python_and_openssl(page, tmp_path):
    got = page.evaluate("""async (a) => {
      const B = GGZY.bidkeys;
      const pair = await B.generate();
      const pem = await B.exportEncryptedPem(pair, a.pass);
      const raw = await B.publicRaw(pair);
      const plain = await B.importPem(pem, a.pass);  // and back
      return {pem, point: T.hex(raw), again: T.hex(await B.publicRaw(plain)),
              fp: await B.fingerprint(raw)};
    }""", {"pass": "浏览器 backup 口令"})
    pem = got["pem"]
    assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert got["again"] == got["point"]
    loaded = serialization.load_pem_private_key(pem.encode(), "浏览器 backup 口令".encode())
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert _point(loaded) == got["point"]
    assert keys.key_fingerprint(loaded) == got["fp"]
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem.encode(), b"wrong")
    # The structure: PBES2, PBKDF2 with HMAC-SHA256 and 600,000 rounds, AES-256-CBC.
    path = tmp_path / "browser.key"
    path.write_text(pem)
    dump = subprocess.run(["openssl", "asn1parse", "-in", str(path)], check=True,
                          capture_output=True, text=True).stdout
    for needle in ("PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc", ":0927C0"):
        assert needle in dump, needle
    # A key sealed to in Python opens with the JS key's exported file.
    blob = envelope.seal_bytes(b"to the browser key", tender_id="T", bidder_id="B",
                               recipients=[envelope.Recipient("bidder", loaded.public_key())])
    data_key = envelope.unwrap_data_key(blob, loaded)
    assert envelope.open_bytes(blob, data_key) == b"to the browser key"


def test_unencrypted_pkcs8_imports_and_bad_files_are_refused(page):
    private = keys.generate_private_key()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    sec1 = private.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption()).decode()
    ed = keys.private_key_to_pem(keys.generate_signing_key(), None).decode()
    got = page.evaluate("""async (a) => {
      const B = GGZY.bidkeys;
      const out = {point: T.hex(await B.publicRaw(await B.importPem(a.pem)))};
      for (const [name, text] of [["sec1", a.sec1], ["ed", a.ed], ["junk", "hello"]]) {
        try { await B.importPem(text); out[name] = "imported"; } catch (e) { out[name] = e.code; }
      }
      return out;
    }""", {"pem": pem, "sec1": sec1, "ed": ed})
    assert got["point"] == _point(private)
    assert got["sec1"] == "unsupported"
    assert got["ed"] == "malformed"
    assert got["junk"] == "malformed"


# -- format v2: the data key split among custodians ----------------------------------------

V2_VECTORS = Path(__file__).resolve().parents[1] / "crypto" / "vectors" / "envelope-v2.json"


def _v2_injected():
    """Randomness for a byte-exact v2 seal, fed to Python as a scripted RNG in order."""
    from crypto.wrap import P256_ORDER
    from tests.crypto.helpers import det_bytes

    def scalar(tag):
        value = det_bytes(tag, 32)
        assert 1 <= int.from_bytes(value, "big") < P256_ORDER
        return value

    coefficient = bytearray(det_bytes("coef-1", 66))
    coefficient[0] &= 0x01  # below 2^521 - 1, so the first candidate is taken
    return {"data_key": det_bytes("dk", 32), "salt": det_bytes("salt", 16),
            "prefix": det_bytes("prefix", 7), "ephemeral": [scalar("eph-bidder")],
            "coefficients": [bytes(coefficient)],
            "custodian_ephemeral": [scalar(f"eph-c{i}") for i in (1, 2, 3)]}


def test_js_seals_v2_byte_for_byte_as_python(page):
    from tests.crypto.helpers import BIDDER, p256_key, scripted_rng

    custodians = [p256_key(f"custodian-{i}") for i in (1, 2, 3)]
    inj = _v2_injected()
    rng = scripted_rng(inj["data_key"], inj["salt"], inj["prefix"], *inj["ephemeral"],
                       *inj["coefficients"], *inj["custodian_ephemeral"])
    plan = envelope.Custody(2, tuple(c.public_key() for c in custodians))
    python = envelope.seal_bytes(bytes(range(150)), tender_id="GGZY-2026-000001", bidder_id="B-1",
                                 recipients=[envelope.Recipient("bidder", BIDDER.public_key())],
                                 chunk_size=64, rng=rng, custody=plan)

    def pair(d: bytes) -> dict:
        eph = ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())
        return {"d": d.hex(), "point": _point(eph)}

    out = page.evaluate("""async (a) => {
      const opts = {tenderId: "GGZY-2026-000001", bidderId: "B-1", chunkSize: 64,
        recipients: [{label: "bidder", publicKeyRaw: T.fromHex(a.bidder)}],
        custody: {threshold: 2, custodians: a.custodians.map(T.fromHex)},
        inject: {dataKey: T.fromHex(a.dk), salt: T.fromHex(a.salt),
          noncePrefix: T.fromHex(a.prefix),
          ephemeral: a.eph.map((e) => ({d: T.fromHex(e.d), point: T.fromHex(e.point)})),
          coefficients: a.coef.map(T.fromHex),
          custodianEphemeral: a.ceph.map((e) => ({d: T.fromHex(e.d), point: T.fromHex(e.point)}))}};
      const sealed = await GGZY.envelope.sealBytes(new Uint8Array(150).map((_, i) => i), opts);
      return {blob: T.hex(sealed), headerSize: GGZY.envelope.headerSize(opts)};
    }""", {"bidder": _point(BIDDER), "custodians": [_point(c) for c in custodians],
           "dk": inj["data_key"].hex(), "salt": inj["salt"].hex(), "prefix": inj["prefix"].hex(),
           "eph": [pair(d) for d in inj["ephemeral"]],
           "coef": [c.hex() for c in inj["coefficients"]],
           "ceph": [pair(d) for d in inj["custodian_ephemeral"]]})
    assert out["blob"] == python.hex()
    import io

    assert out["headerSize"] == envelope.read_header(io.BytesIO(python)).size


def test_js_v2_envelopes_open_with_any_k_custodian_shares_in_python(page):
    from crypto import custody

    bidder_key = keys.generate_private_key()
    custodians = [keys.generate_private_key() for _ in range(3)]
    hexed = page.evaluate("""async (a) => {
      const opts = {tenderId: "T-9", bidderId: "B-9", chunkSize: 64,
        recipients: [{label: "bidder", publicKeyRaw: T.fromHex(a.bidder)}],
        custody: {threshold: 2, custodians: a.custodians.map(T.fromHex)}};
      return T.hex(await GGZY.envelope.sealBytes(T.utf8("标书 v2 ".repeat(40)), opts));
    }""", {"bidder": _point(bidder_key), "custodians": [_point(c) for c in custodians]})
    blob = bytes.fromhex(hexed)
    plain = ("标书 v2 " * 40).encode()
    shares = dict(custody.unwrap_share(blob, c) for c in custodians)
    for pair in ((1, 2), (1, 3), (2, 3)):
        key = custody.combine(blob, {x: shares[x] for x in pair})
        assert envelope.open_bytes(blob, key) == plain
    assert envelope.open_bytes_with_key(blob, bidder_key, label="bidder") == plain


def test_js_custodian_unwraps_its_share_of_a_python_v2_envelope(page):
    v = json.loads(V2_VECTORS.read_text())
    from tests.crypto.helpers import p256_key

    for i, tag in enumerate(v["custodian_key_tags"], 1):
        pem = keys.private_key_to_pem(p256_key(tag), None).decode()
        got = page.evaluate("""async (a) => {
          const pair = await GGZY.bidkeys.importPem(a.pem);
          const s = await GGZY.envelope.unwrapShare(T.fromHex(a.header), pair);
          return {x: s.x, share: T.hex(s.share)};
        }""", {"pem": pem, "header": v["header_hex"]})
        assert got == {"x": i, "share": v["shares"][str(i)]}
    got = page.evaluate("""(a) => {
      const E = GGZY.envelope;
      const shares = [2, 3].map((x) => ({x: x, share: T.fromHex(a.shares[String(x)])}));
      return T.hex(E.shamir.combine(shares));
    }""", {"shares": v["shares"]})
    assert got == v["data_key"]
    err = page.evaluate("""async (a) => {
      const pair = await GGZY.bidkeys.generate();
      try { await GGZY.envelope.unwrapShare(T.fromHex(a.header), pair); return "opened"; }
      catch (e) { return e.message; }
    }""", {"header": v["header_hex"]})
    assert "not a custodian" in err
