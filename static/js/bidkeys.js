/* The bidder's P-256 bid key in the browser: make it, keep it, back it up.
 *
 * The private key never leaves the browser except as a passphrase-protected backup
 * file (JSON, below; crypto/keybackup.py reads it, so the command-line tool takes it
 * as --key). PEM key files import too, the format `python -m crypto keygen` writes and
 * cryptography's load_pem_private_key reads: encrypted PKCS#8 PEM,
 * "-----BEGIN ENCRYPTED PRIVATE KEY-----", PBES2 with PBKDF2-HMAC-SHA256 and
 * AES-256-CBC, or unencrypted PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
 *
 * API (window.GGZY.bidkeys):
 *   generate()                          -> {privateKey, publicKey} (extractable ECDH P-256)
 *   publicRaw(pair)                     -> Uint8Array(65) uncompressed point
 *   fingerprint(raw)                    -> hex SHA-256 of the raw point
 *   exportEncryptedPem(pair|privateKey, passphrase, {iterations=600000}) -> PEM text
 *   exportBackup(pair, passphrase, {iterations=600000, bidderId}) -> backup file (JSON text)
 *   readBackup(text)                    -> the backup document (no passphrase needed), or null
 *   importBackup(text, passphrase)      -> {privateKey (non-extractable), publicKey}
 *   importPem(text, passphrase?)        -> {privateKey, publicKey}; reads backup files too
 *                                          (alias importKeyFile)
 *   nonExtractable(pair)                -> the same pair, private key no longer exportable
 *   store / load / remove (IndexedDB "ggzy-bid", per bidder id): the browser's key
 *   db                                  -> tiny IndexedDB helper (also used for uploads)
 */
(function (root) {
  "use strict";

  const subtle = root.crypto && root.crypto.subtle;
  const EC = { name: "ECDH", namedCurve: "P-256" };
  const DEFAULT_ITERATIONS = 600000;

  class KeyFileError extends Error {
    constructor(message, code) { super(message); this.name = "KeyFileError"; this.code = code; }
  }

  function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""); }

  function b64(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + 0x8000)));
    return btoa(s);
  }

  function unb64(text) {
    const s = atob(text.replace(/\s+/g, ""));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  // -- minimal DER ------------------------------------------------------------------

  function derLen(n) {
    if (n < 0x80) return [n];
    const bytes = [];
    while (n > 0) { bytes.unshift(n & 255); n = Math.floor(n / 256); }
    return [0x80 | bytes.length].concat(bytes);
  }

  function tlv(tag, content) {
    const head = [tag].concat(derLen(content.length));
    const out = new Uint8Array(head.length + content.length);
    out.set(head, 0);
    out.set(content, head.length);
    return out;
  }

  function cat(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  const seq = (...parts) => tlv(0x30, cat(parts));
  const octets = (bytes) => tlv(0x04, bytes);
  const nul = () => new Uint8Array([0x05, 0x00]);

  function integer(n) {
    const bytes = [];
    do { bytes.unshift(n & 255); n = Math.floor(n / 256); } while (n > 0);
    if (bytes[0] & 0x80) bytes.unshift(0);
    return tlv(0x02, new Uint8Array(bytes));
  }

  function oidBytes(dotted) {
    const arcs = dotted.split(".").map(Number);
    const out = [40 * arcs[0] + arcs[1]];
    for (const arc of arcs.slice(2)) {
      const b = [arc & 0x7f];
      let v = Math.floor(arc / 128);
      while (v > 0) { b.unshift((v & 0x7f) | 0x80); v = Math.floor(v / 128); }
      out.push(...b);
    }
    return new Uint8Array(out);
  }

  function oidString(bytes) {
    const arcs = [Math.floor(bytes[0] / 40), bytes[0] % 40];
    let v = 0;
    for (const b of bytes.subarray(1)) {
      v = v * 128 + (b & 0x7f);
      if (!(b & 0x80)) { arcs.push(v); v = 0; }
    }
    return arcs.join(".");
  }

  const oid = (dotted) => tlv(0x06, oidBytes(dotted));

  /** Parse one DER element at ``at``: {tag, content, end, children()} */
  function parse(bytes, at) {
    at = at || 0;
    if (at + 2 > bytes.length) throw new KeyFileError("truncated DER", "malformed");
    const tag = bytes[at];
    let len = bytes[at + 1];
    let p = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 4 || p + n > bytes.length) throw new KeyFileError("bad DER length", "malformed");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + bytes[p + i];
      p += n;
    }
    if (p + len > bytes.length) throw new KeyFileError("truncated DER", "malformed");
    const content = bytes.subarray(p, p + len);
    return {
      tag: tag, content: content, end: p + len,
      children() {
        const out = [];
        let q = 0;
        while (q < content.length) { const c = parse(content, q); out.push(c); q = c.end; }
        return out;
      },
    };
  }

  function expect(el, tag, what) {
    if (!el || el.tag !== tag) throw new KeyFileError("unexpected key file structure (" + what + ")", "malformed");
    return el;
  }

  function uint(el) {
    let n = 0;
    for (const b of el.content) n = n * 256 + b;
    return n;
  }

  const OID = {
    PBES2: "1.2.840.113549.1.5.13",
    PBKDF2: "1.2.840.113549.1.5.12",
    HMAC_SHA1: "1.2.840.113549.2.7",
    HMAC_SHA256: "1.2.840.113549.2.9",
    HMAC_SHA384: "1.2.840.113549.2.10",
    HMAC_SHA512: "1.2.840.113549.2.11",
    AES128_CBC: "2.16.840.1.101.3.4.1.2",
    AES256_CBC: "2.16.840.1.101.3.4.1.42",
  };
  const PRF_HASH = {
    [OID.HMAC_SHA1]: "SHA-1", [OID.HMAC_SHA256]: "SHA-256",
    [OID.HMAC_SHA384]: "SHA-384", [OID.HMAC_SHA512]: "SHA-512",
  };
  const CIPHER_BITS = { [OID.AES128_CBC]: 128, [OID.AES256_CBC]: 256 };

  // -- PEM ----------------------------------------------------------------------------

  function pem(label, der) {
    const body = b64(der).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
    return "-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n";
  }

  function unpem(text) {
    const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
    if (!m) throw new KeyFileError("not a PEM key file", "malformed");
    let der;
    try {
      der = unb64(m[2]);
    } catch (e) {
      throw new KeyFileError("the PEM body is not base64", "malformed");
    }
    return { label: m[1], der: der };
  }

  // -- PBES2 --------------------------------------------------------------------------

  async function pbkdf2Key(passphrase, salt, iterations, hash, bits, usage) {
    const base = await subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
    return subtle.deriveKey({ name: "PBKDF2", salt: salt, iterations: iterations, hash: hash },
      base, { name: "AES-CBC", length: bits }, false, [usage]);
  }

  async function encryptPkcs8(pkcs8, passphrase, iterations) {
    const salt = root.crypto.getRandomValues(new Uint8Array(16));
    const iv = root.crypto.getRandomValues(new Uint8Array(16));
    const key = await pbkdf2Key(passphrase, salt, iterations, "SHA-256", 256, "encrypt");
    const ct = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv: iv }, key, pkcs8));
    return seq(
      seq(oid(OID.PBES2), seq(
        seq(oid(OID.PBKDF2), seq(octets(salt), integer(iterations), seq(oid(OID.HMAC_SHA256), nul()))),
        seq(oid(OID.AES256_CBC), octets(iv)))),
      octets(ct));
  }

  async function decryptPkcs8(der, passphrase) {
    const top = expect(parse(der), 0x30, "EncryptedPrivateKeyInfo").children();
    const alg = expect(top[0], 0x30, "algorithm").children();
    if (oidString(expect(alg[0], 0x06, "algorithm").content) !== OID.PBES2) {
      throw new KeyFileError("the key file is encrypted with an unsupported scheme (PBES2 is needed)", "unsupported");
    }
    const params = expect(alg[1], 0x30, "PBES2 parameters").children();
    const kdf = expect(params[0], 0x30, "key derivation").children();
    if (oidString(expect(kdf[0], 0x06, "kdf").content) !== OID.PBKDF2) {
      throw new KeyFileError("the key file uses an unsupported key derivation (PBKDF2 is needed)", "unsupported");
    }
    const kp = expect(kdf[1], 0x30, "PBKDF2 parameters").children();
    const salt = expect(kp[0], 0x04, "salt").content;
    const iterations = uint(expect(kp[1], 0x02, "iterations"));
    let hash = "SHA-1";  // the PKCS#5 default PRF
    for (const el of kp.slice(2)) {
      if (el.tag === 0x30) {
        const prf = oidString(expect(el.children()[0], 0x06, "prf").content);
        hash = PRF_HASH[prf];
        if (!hash) throw new KeyFileError("unsupported PBKDF2 hash " + prf, "unsupported");
      }
    }
    const scheme = expect(params[1], 0x30, "encryption scheme").children();
    const cipher = oidString(expect(scheme[0], 0x06, "cipher").content);
    const bits = CIPHER_BITS[cipher];
    if (!bits) throw new KeyFileError("unsupported key file cipher " + cipher + " (AES-CBC is needed)", "unsupported");
    const iv = expect(scheme[1], 0x04, "iv").content;
    const ct = expect(top[1], 0x04, "encrypted data").content;
    const key = await pbkdf2Key(passphrase, salt, iterations, hash, bits, "decrypt");
    try {
      return new Uint8Array(await subtle.decrypt({ name: "AES-CBC", iv: iv }, key, ct));
    } catch (e) {
      throw new KeyFileError("wrong passphrase for the key file", "passphrase");
    }
  }

  // -- keys ---------------------------------------------------------------------------

  async function generate() {
    return subtle.generateKey(EC, true, ["deriveBits"]);
  }

  async function publicRaw(pair) {
    return new Uint8Array(await subtle.exportKey("raw", pair.publicKey || pair));
  }

  async function fingerprint(raw) {
    return hex(new Uint8Array(await subtle.digest("SHA-256", raw)));
  }

  async function pairFromPkcs8(pkcs8) {
    let privateKey;
    try {
      privateKey = await subtle.importKey("pkcs8", pkcs8, EC, true, ["deriveBits"]);
    } catch (e) {
      throw new KeyFileError("the key file does not hold a P-256 private key", "malformed");
    }
    const jwk = await subtle.exportKey("jwk", privateKey);
    const publicKey = await subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true },
      EC, true, []);
    return { privateKey: privateKey, publicKey: publicKey };
  }

  /** The pair with its private key re-imported as non-extractable: once the key is backed
   *  up (or came from a file), nothing running in this page, not even our own code, can
   *  read the private key out of the browser again; it can only derive (ECDH). */
  async function nonExtractable(pair) {
    if (!pair.privateKey.extractable) return pair;
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
    try {
      const privateKey = await subtle.importKey("pkcs8", pkcs8, EC, false, ["deriveBits"]);
      return Object.assign({}, pair, { privateKey: privateKey });
    } finally {
      pkcs8.fill(0);
    }
  }

  /** Encrypted PKCS#8 PEM of the private key (600,000 PBKDF2-SHA256 rounds by default). */
  async function exportEncryptedPem(key, passphrase, options) {
    if (!passphrase) throw new KeyFileError("a passphrase is needed", "passphrase");
    const iterations = (options && options.iterations) || DEFAULT_ITERATIONS;
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", key.privateKey || key));
    return pem("ENCRYPTED PRIVATE KEY", await encryptPkcs8(pkcs8, passphrase, iterations));
  }

  /** Load a key file: a backup file (JSON, comes back non-extractable) or a PEM key file
   *  (encrypted or not PKCS#8, comes back extractable). */
  async function importPem(text, passphrase) {
    if (readBackup(text)) return importBackup(text, passphrase);  // a backup file from the bid page
    const { label, der } = unpem(String(text));
    if (label === "ENCRYPTED PRIVATE KEY") {
      if (!passphrase) throw new KeyFileError("the key file needs its passphrase", "passphrase");
      return pairFromPkcs8(await decryptPkcs8(der, passphrase));
    }
    if (label === "PRIVATE KEY") return pairFromPkcs8(der);
    throw new KeyFileError("unsupported key file (" + label + "); use a PKCS#8 private key file", "unsupported");
  }

  // -- backup file (JSON, "ggzy-bid-key-backup" version 1) ---------------------------------
  //
  // {"format": "ggzy-bid-key-backup", "version": 1,
  //  "kdf": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": <b64 16 bytes>,
  //  "cipher": "AES-256-GCM", "iv": <b64 12 bytes>,
  //  "ciphertext": <b64 AES-GCM(PKCS#8 of the P-256 private key) with its 16-byte tag>,
  //  "public_key": <b64 65-byte point>, "fingerprint": <hex SHA-256 of the point>,
  //  "bidder_id": ..., "created_at": ...}
  // The wrapping key is PBKDF2(passphrase, salt, iterations, SHA-256) -> AES-256-GCM key;
  // a wrong passphrase fails the GCM tag. crypto/keybackup.py reads and writes the same.

  const BACKUP_FORMAT = "ggzy-bid-key-backup";
  const BACKUP_VERSION = 1;
  const MAX_ITERATIONS = 10000000;

  async function backupWrappingKey(passphrase, salt, iterations, usage) {
    const base = await subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveKey"]);
    return subtle.deriveKey({ name: "PBKDF2", salt: salt, iterations: iterations, hash: "SHA-256" },
      base, { name: "AES-GCM", length: 256 }, false, [usage]);
  }

  /** The backup file (JSON text) of a key whose private half is still extractable. */
  async function exportBackup(key, passphrase, options) {
    if (!passphrase) throw new KeyFileError("a passphrase is needed", "passphrase");
    const privateKey = key.privateKey || key;
    if (!privateKey.extractable) {
      throw new KeyFileError("this key is locked in the browser: its backup file was made when it was created", "locked");
    }
    const iterations = (options && options.iterations) || DEFAULT_ITERATIONS;
    const salt = root.crypto.getRandomValues(new Uint8Array(16));
    const iv = root.crypto.getRandomValues(new Uint8Array(12));
    const wrapping = await backupWrappingKey(passphrase, salt, iterations, "wrapKey");
    const ct = new Uint8Array(await subtle.wrapKey("pkcs8", privateKey, wrapping, { name: "AES-GCM", iv: iv }));
    const raw = key.publicRaw || await publicRaw(key);
    return JSON.stringify({
      format: BACKUP_FORMAT, version: BACKUP_VERSION,
      kdf: "PBKDF2-HMAC-SHA256", iterations: iterations, salt: b64(salt),
      cipher: "AES-256-GCM", iv: b64(iv), ciphertext: b64(ct),
      public_key: b64(raw), fingerprint: await fingerprint(raw),
      bidder_id: (options && options.bidderId) || "", created_at: new Date().toISOString(),
    }, null, 2) + "\n";
  }

  /** The backup document if ``text`` is a backup file (no passphrase needed), else null. */
  function readBackup(text) {
    let doc;
    try { doc = JSON.parse(String(text)); } catch (e) { return null; }
    if (!doc || typeof doc !== "object" || doc.format !== BACKUP_FORMAT) return null;
    return doc;
  }

  function checkBackup(doc) {
    if (doc.version !== BACKUP_VERSION) throw new KeyFileError("backup file version " + doc.version + " is not supported", "unsupported");
    if (doc.kdf !== "PBKDF2-HMAC-SHA256" || doc.cipher !== "AES-256-GCM") {
      throw new KeyFileError("the backup file uses an unsupported scheme", "unsupported");
    }
    if (!Number.isInteger(doc.iterations) || doc.iterations < 1 || doc.iterations > MAX_ITERATIONS) {
      throw new KeyFileError("the backup file's iteration count is out of range", "malformed");
    }
    for (const f of ["salt", "iv", "ciphertext", "public_key", "fingerprint"]) {
      if (typeof doc[f] !== "string" || !doc[f]) throw new KeyFileError("the backup file has no " + f, "malformed");
    }
  }

  /** Load a backup file: the private key comes back non-extractable, never readable by the page. */
  async function importBackup(text, passphrase) {
    const doc = readBackup(text);
    if (!doc) throw new KeyFileError("not a bid key backup file", "malformed");
    checkBackup(doc);
    if (!passphrase) throw new KeyFileError("the backup file needs its passphrase", "passphrase");
    let raw, salt, iv, ct;
    try {
      raw = unb64(doc.public_key); salt = unb64(doc.salt); iv = unb64(doc.iv); ct = unb64(doc.ciphertext);
    } catch (e) {
      throw new KeyFileError("the backup file is damaged (bad base64)", "malformed");
    }
    if (raw.length !== 65 || raw[0] !== 4 || await fingerprint(raw) !== String(doc.fingerprint).toLowerCase()) {
      throw new KeyFileError("the backup file is damaged (its public key does not match its fingerprint)", "malformed");
    }
    const unwrapping = await backupWrappingKey(passphrase, salt, doc.iterations, "unwrapKey");
    let privateKey;
    try {
      privateKey = await subtle.unwrapKey("pkcs8", ct, unwrapping, { name: "AES-GCM", iv: iv }, EC, false, ["deriveBits"]);
    } catch (e) {
      // AES-GCM's tag fails (OperationError) for a wrong passphrase or an altered file.
      if (e && e.name === "OperationError") throw new KeyFileError("wrong passphrase for the backup file", "passphrase");
      throw new KeyFileError("the backup file does not hold a P-256 private key", "malformed");
    }
    let publicKey;
    try {
      publicKey = await subtle.importKey("raw", raw, EC, true, []);
    } catch (e) {
      throw new KeyFileError("the backup file's public key is not a P-256 point", "malformed");
    }
    // The private key must be the public key's: one ECDH with a throwaway key, both ways.
    const probe = await subtle.generateKey(EC, false, ["deriveBits"]);
    const a = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: publicKey }, probe.privateKey, 256));
    const b = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: probe.publicKey }, privateKey, 256));
    if (hex(a) !== hex(b)) throw new KeyFileError("the backup file's private key does not match its public key", "malformed");
    return { privateKey: privateKey, publicKey: publicKey };
  }

  // -- IndexedDB ------------------------------------------------------------------------

  const DB_NAME = "ggzy-bid";
  const STORES = ["keys", "uploads"];

  function openDb() {
    return new Promise((resolve, reject) => {
      const req = root.indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        for (const s of STORES) if (!req.result.objectStoreNames.contains(s)) req.result.createObjectStore(s);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function dbOp(store, mode, fn) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const req = fn(tx.objectStore(store));
        tx.oncomplete = () => resolve(req ? req.result : undefined);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  }

  const db = {
    get: (store, id) => dbOp(store, "readonly", (s) => s.get(id)),
    put: (store, id, value) => dbOp(store, "readwrite", (s) => s.put(value, id)),
    del: (store, id) => dbOp(store, "readwrite", (s) => s.delete(id)),
  };

  /** Keep a key for a bidder id: {privateKey, publicKey, fingerprint, publicRaw, createdAt, backedUp}. */
  async function store(bidderId, pair, extra) {
    // A key that is already backed up is kept non-extractable.
    if (extra && extra.backedUp) pair = await nonExtractable(pair);
    const raw = await publicRaw(pair);
    const record = Object.assign({
      privateKey: pair.privateKey, publicKey: pair.publicKey, publicRaw: raw,
      fingerprint: await fingerprint(raw), createdAt: new Date().toISOString(), backedUp: false,
    }, extra || {});
    await db.put("keys", "bidder:" + bidderId, record);
    return record;
  }

  const load = (bidderId) => db.get("keys", "bidder:" + bidderId);
  const remove = (bidderId) => db.del("keys", "bidder:" + bidderId);

  const GGZY = root.GGZY = root.GGZY || {};
  GGZY.bidkeys = {
    generate: generate,
    publicRaw: publicRaw,
    fingerprint: fingerprint,
    exportEncryptedPem: exportEncryptedPem,
    importPem: importPem,
    importKeyFile: importPem,
    exportBackup: exportBackup,
    importBackup: importBackup,
    readBackup: readBackup,
    nonExtractable: nonExtractable,
    store: store,
    load: load,
    remove: remove,
    db: db,
    KeyFileError: KeyFileError,
    DEFAULT_ITERATIONS: DEFAULT_ITERATIONS,
    util: { b64: b64, unb64: unb64, hex: hex, parseDer: parse, oidString: oidString },
  };
})(typeof window !== "undefined" ? window : self);
