/* Sealed-bid envelopes, formats v1 and v2, in the browser (WebCrypto + BigInt).
 *
 * Byte-compatible with crypto/envelope.py (see its module docstring for the wire
 * format). Everything here is P-256 ECDH, HKDF-SHA256, AES-256-GCM, SHA-256 and
 * HMAC-SHA256 through crypto.subtle, so it needs a secure context (https, or
 * http://localhost / 127.0.0.1).
 *
 * API (window.GGZY.envelope):
 *   prepare(opts)                      -> {header, dataKey}   the header and its data key
 *   headerSize(opts)                   -> bytes of the header opts would make
 *   envelopeSize(plainLen, headerLen, chunkSize) -> bytes of the whole envelope
 *   sealStream(blob, opts, state?)     -> async iterator of Uint8Array pieces
 *       state = {header, dataKey, startChunk | startOffset}: regenerate the same
 *       envelope from a stored header and data key, from plaintext chunk startChunk
 *       (the header is yielded only when starting at 0) or from envelope byte
 *       startOffset (the first piece is cut to start exactly there).
 *   sealBytes(bytes, opts)             -> Promise<Uint8Array>   a whole small envelope
 *   parseHeader(bytes)                 -> parsed header (framing checks, no key)
 *   unwrapDataKey(headerBytes, key, label?) -> Promise<Uint8Array(32)>
 *       key: a CryptoKeyPair {privateKey, publicKey}, or an extractable private key.
 *   openBytes(envelopeBytes, dataKey)  -> Promise<Uint8Array> plaintext
 *
 *   unwrapShare(headerBytes, key)      -> Promise<{x, share}>  a custodian's own share
 *       of a v2 envelope (crypto.custody.unwrap_share), checked against its commitment.
 *   shamir: {split(secret, k, n, coeffs?), combine(shares)}  GF(2^521 - 1), as crypto/shamir.py
 *
 * opts = {tenderId, bidderId, recipients: [{label, publicKeyRaw}], chunkSize = 1 MiB,
 *         custody?: {threshold, custodians: [publicKeyRaw, ...]}}.
 * With opts.custody the envelope is format v2 (crypto/envelope.py "the custody block"):
 * the data key is split threshold-of-n with Shamir and share x is wrapped to custodian x;
 * recipients then holds only the bidder's own key.
 * Only for known-answer tests, opts.inject = {dataKey, salt, noncePrefix,
 * ephemeral: [{d, point}], coefficients: [Uint8Array(66)], custodianEphemeral: [{d, point}]}
 * replaces the randomness.
 */
(function (root) {
  "use strict";

  const subtle = root.crypto && root.crypto.subtle;
  const enc = new TextEncoder();

  const MAGIC = enc.encode("GGZYSEAL");
  const VERSION = 1;
  const SUITE = 1;
  const TAG_LEN = 16;
  const KEY_LEN = 32;
  const SALT_LEN = 16;
  const PREFIX_LEN = 7;
  const MAC_LEN = 32;
  const FP_LEN = 32;
  const POINT_LEN = 65;
  const WRAPPED_LEN = KEY_LEN + TAG_LEN;
  const FIXED_LEN = 39;
  const MIN_CHUNK = 64;
  const MAX_CHUNK = 16 * 1024 * 1024;
  const DEFAULT_CHUNK = 1024 * 1024;
  const MAX_STANZAS = 16;
  const MAX_ID = 256;
  const LABEL_WRAP = enc.encode("ggzy-envelope-wrap-v1");
  const LABEL_PAYLOAD = enc.encode("ggzy-envelope-payload-v1");
  const LABEL_MAC = enc.encode("ggzy-envelope-header-mac-v1");
  const LABEL_SHARE_WRAP = enc.encode("ggzy-envelope-share-v2");
  const LABEL_SHARE_COMMIT = concat([enc.encode("ggzy-envelope-share-commit-v2"), new Uint8Array([0])]);
  const VERSION_CUSTODY = 2;
  const MAX_CUSTODIANS = 16;
  const SHARE_LEN = 69;
  const SHARE_WRAPPED_LEN = SHARE_LEN + TAG_LEN;
  const ENTRY_LEN = FP_LEN + 32 + POINT_LEN + SHARE_WRAPPED_LEN;
  const PRIME = (1n << 521n) - 1n;
  const LABEL_RE = /^[a-z0-9_-]{1,32}$/;
  const CONTROL_RE = /[\x00-\x1f\x7f-\x9f]/;
  const EC = { name: "ECDH", namedCurve: "P-256" };

  class EnvelopeError extends Error {
    constructor(message) { super(message); this.name = "EnvelopeError"; }
  }

  // -- small helpers ---------------------------------------------------------------

  function u8(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError("expected bytes");
  }

  function concat(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function be16(n) { return new Uint8Array([(n >>> 8) & 255, n & 255]); }
  function be32(n) { return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]); }

  function random(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) root.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
    return out;
  }

  function hex(bytes) {
    return Array.from(u8(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  async function sha256(data) { return new Uint8Array(await subtle.digest("SHA-256", data)); }

  async function hkdf(ikm, salt, info) {
    const base = await subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: salt, info: info }, base, 256));
  }

  async function aesKey(raw, usages) {
    return subtle.importKey("raw", raw, { name: "AES-GCM" }, false, usages);
  }

  async function hmac(keyBytes, data) {
    const key = await subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await subtle.sign("HMAC", key, data));
  }

  function checkId(value, what) {
    if (typeof value !== "string") throw new TypeError(what + " must be a string");
    const bytes = enc.encode(value);
    if (bytes.length < 1 || bytes.length > MAX_ID || CONTROL_RE.test(value)) {
      throw new EnvelopeError(what + " must be 1.." + MAX_ID + " UTF-8 bytes without control characters");
    }
    return bytes;
  }

  function checkChunkSize(cs) {
    if (!Number.isInteger(cs) || cs < MIN_CHUNK || cs > MAX_CHUNK) {
      throw new EnvelopeError("chunk size must be " + MIN_CHUNK + " .. " + MAX_CHUNK + " bytes");
    }
  }

  function checkRecipients(recipients) {
    if (!Array.isArray(recipients) || recipients.length < 1 || recipients.length > MAX_STANZAS) {
      throw new EnvelopeError("an envelope needs 1 .. " + MAX_STANZAS + " recipients");
    }
    for (const r of recipients) {
      if (!LABEL_RE.test(r.label)) throw new EnvelopeError("recipient label " + r.label + " must match [a-z0-9_-]{1,32}");
      const raw = u8(r.publicKeyRaw);
      if (raw.length !== POINT_LEN || raw[0] !== 4) throw new EnvelopeError("a recipient key is a 65-byte uncompressed P-256 point");
    }
  }

  function nonce(prefix, counter, last) {
    const n = new Uint8Array(12);
    n.set(prefix, 0);
    n.set(be32(counter), PREFIX_LEN);
    n[11] = last ? 1 : 0;
    return n;
  }

  // -- sizes -------------------------------------------------------------------------

  function chunkCount(plainLen, chunkSize) {
    return plainLen === 0 ? 1 : Math.ceil(plainLen / chunkSize);
  }

  function envelopeSize(plainLen, headerLen, chunkSize) {
    return headerLen + plainLen + TAG_LEN * chunkCount(plainLen, chunkSize);
  }

  function headerSize(opts) {
    let n = FIXED_LEN + 2 + checkId(String(opts.tenderId), "tender id").length +
      2 + checkId(String(opts.bidderId), "bidder id").length + 1 + MAC_LEN;
    for (const r of opts.recipients) n += 1 + r.label.length + FP_LEN + POINT_LEN + WRAPPED_LEN;
    if (opts.custody) n += 2 + ENTRY_LEN * opts.custody.custodians.length;
    return n;
  }

  // -- Shamir over GF(2^521 - 1) (crypto/shamir.py) ---------------------------------------

  function toBig(bytes) {
    let v = 0n;
    for (const b of u8(bytes)) v = (v << 8n) | BigInt(b);
    return v;
  }

  function fromBig(v, n) {
    const out = new Uint8Array(n);
    for (let i = n - 1; i >= 0; i--) { out[i] = Number(v & 255n); v >>= 8n; }
    if (v) throw new EnvelopeError("value does not fit in " + n + " bytes");
    return out;
  }

  function mod(a) { const r = a % PRIME; return r < 0n ? r + PRIME : r; }

  function inverse(a) {
    let [r0, r1, s0, s1] = [PRIME, mod(a), 0n, 1n];
    while (r1) { const q = r0 / r1; [r0, r1] = [r1, r0 - q * r1]; [s0, s1] = [s1, s0 - q * s1]; }
    return mod(s0);
  }

  /** A uniform coefficient below p: 66 random bytes masked to 521 bits, rejection-sampled
   * (as crypto.envelope's rng path does), or the injected 66-byte candidate. */
  function coefficient(injected) {
    for (;;) {
      const v = toBig(injected || random(66)) & PRIME;
      if (v < PRIME) return v;
      if (injected) throw new EnvelopeError("injected coefficient is not below p");
    }
  }

  /** Split ``secret`` k-of-n; share x is its 69-byte wire form [1, x, len, y (66)]. */
  function shamirSplit(secret, k, n, coeffs) {
    secret = u8(secret);
    if (!(k >= 1 && k <= n && n <= 255)) throw new EnvelopeError("need 1 <= k <= n <= 255");
    const poly = [toBig(secret)];
    for (let i = 1; i < k; i++) poly.push(coefficient(coeffs ? u8(coeffs[i - 1]) : null));
    const out = [];
    for (let x = 1; x <= n; x++) {
      let acc = 0n;
      for (let j = poly.length - 1; j >= 0; j--) acc = mod(acc * BigInt(x) + poly[j]);
      out.push({ x: x, share: concat([new Uint8Array([1, x, secret.length]), fromBig(acc, 66)]) });
    }
    return out;
  }

  /** Lagrange at 0 of wire-form shares [{x, share}]; returns the secret bytes. */
  function shamirCombine(shares) {
    const pts = shares.map((s) => ({ x: BigInt(s.share[1]), y: toBig(s.share.subarray(3)) }));
    const len = shares[0].share[2];
    let total = 0n;
    for (let i = 0; i < pts.length; i++) {
      let num = 1n;
      let den = 1n;
      for (let j = 0; j < pts.length; j++) {
        if (i === j) continue;
        num = mod(num * -pts[j].x);
        den = mod(den * (pts[i].x - pts[j].x));
      }
      total = mod(total + pts[i].y * num * inverse(den));
    }
    return fromBig(total, len);
  }

  async function shareCommitment(tender, x, share) {
    return sha256(concat([LABEL_SHARE_COMMIT, be16(tender.length), tender, new Uint8Array([x]), share]));
  }

  function shareAad(tender, x, salt) {
    return concat([be16(tender.length), tender, new Uint8Array([x]), salt]);
  }

  // -- wrapping (crypto/wrap.py) -------------------------------------------------------

  async function ephemeralPair(injected) {
    if (!injected) {
      const pair = await subtle.generateKey(EC, false, ["deriveBits"]);
      return { privateKey: pair.privateKey, point: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)) };
    }
    const point = u8(injected.point);
    const b64u = (b) => btoa(String.fromCharCode.apply(null, Array.from(b)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const jwk = { kty: "EC", crv: "P-256", d: b64u(u8(injected.d)), x: b64u(point.subarray(1, 33)),
      y: b64u(point.subarray(33, 65)), ext: false };
    return { privateKey: await subtle.importKey("jwk", jwk, EC, false, ["deriveBits"]), point: point };
  }

  async function wrap(recipientRaw, plaintext, injected, info, aad) {
    const recipient = await subtle.importKey("raw", recipientRaw, EC, false, []);
    const eph = await ephemeralPair(injected);
    const shared = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: recipient }, eph.privateKey, 256));
    const key = await aesKey(await hkdf(shared, concat([eph.point, recipientRaw]), info || LABEL_WRAP), ["encrypt"]);
    const ct = await subtle.encrypt({ name: "AES-GCM", iv: new Uint8Array(12), additionalData: aad || new Uint8Array(0) },
      key, plaintext);
    return { point: eph.point, wrapped: new Uint8Array(ct) };
  }

  async function unwrap(privateKey, ownRaw, ephPoint, wrapped, info, aad) {
    const eph = await subtle.importKey("raw", ephPoint, EC, false, []);
    const shared = new Uint8Array(await subtle.deriveBits({ name: "ECDH", public: eph }, privateKey, 256));
    const key = await aesKey(await hkdf(shared, concat([ephPoint, ownRaw]), info || LABEL_WRAP), ["decrypt"]);
    return new Uint8Array(await subtle.decrypt(
      { name: "AES-GCM", iv: new Uint8Array(12), additionalData: aad || new Uint8Array(0) }, key, wrapped));
  }

  async function deriveKeys(dataKey, salt) {
    return { payload: await hkdf(dataKey, salt, LABEL_PAYLOAD), mac: await hkdf(dataKey, salt, LABEL_MAC) };
  }

  // -- header ------------------------------------------------------------------------

  /** Make a fresh header and data key for ``opts``: {header, dataKey} (Uint8Arrays). */
  async function prepare(opts) {
    const tender = checkId(String(opts.tenderId), "tender id");
    const bidder = checkId(String(opts.bidderId), "bidder id");
    const chunkSize = opts.chunkSize || DEFAULT_CHUNK;
    checkChunkSize(chunkSize);
    checkRecipients(opts.recipients);
    const inj = opts.inject || null;
    const dataKey = inj ? u8(inj.dataKey) : random(KEY_LEN);
    const salt = inj ? u8(inj.salt) : random(SALT_LEN);
    const prefix = inj ? u8(inj.noncePrefix) : random(PREFIX_LEN);
    if (dataKey.length !== KEY_LEN || salt.length !== SALT_LEN || prefix.length !== PREFIX_LEN) {
      throw new EnvelopeError("injected randomness has the wrong lengths");
    }
    const custody = opts.custody || null;
    const parts = [MAGIC, new Uint8Array([custody ? VERSION_CUSTODY : VERSION, SUITE, 0, 0]), be32(chunkSize), salt, prefix,
      be16(tender.length), tender, be16(bidder.length), bidder, new Uint8Array([opts.recipients.length])];
    for (let i = 0; i < opts.recipients.length; i++) {
      const r = opts.recipients[i];
      const raw = u8(r.publicKeyRaw);
      const w = await wrap(raw, dataKey, inj ? inj.ephemeral[i] : null);
      parts.push(new Uint8Array([r.label.length]), enc.encode(r.label), await sha256(raw), w.point, w.wrapped);
    }
    if (custody) {
      const keysRaw = custody.custodians.map(u8);
      const n = keysRaw.length;
      const k = custody.threshold;
      if (!(k >= 1 && k <= n && n <= MAX_CUSTODIANS)) {
        throw new EnvelopeError("need 1 <= threshold <= custodians <= " + MAX_CUSTODIANS);
      }
      const fps = [];
      for (const raw of keysRaw) {
        if (raw.length !== POINT_LEN || raw[0] !== 4) throw new EnvelopeError("a custodian key is a 65-byte uncompressed P-256 point");
        fps.push(hex(await sha256(raw)));
      }
      if (new Set(fps).size !== n) throw new EnvelopeError("the custodian set names a key twice");
      parts.push(new Uint8Array([k, n]));
      const shares = shamirSplit(dataKey, k, n, inj ? inj.coefficients : null);
      for (let i = 0; i < n; i++) {
        const { x, share } = shares[i];
        const w = await wrap(keysRaw[i], share, inj ? inj.custodianEphemeral[i] : null,
          LABEL_SHARE_WRAP, shareAad(tender, x, salt));
        parts.push(await sha256(keysRaw[i]), await shareCommitment(tender, x, share), w.point, w.wrapped);
      }
    }
    const body = concat(parts);
    const keys = await deriveKeys(dataKey, salt);
    const header = concat([body, await hmac(keys.mac, body)]);
    return { header: header, dataKey: dataKey };
  }

  /** Parse and frame-check a header (no key). Accepts the header or a whole envelope. */
  function parseHeader(bytes) {
    const b = u8(bytes);
    let at = 0;
    const take = (n, what) => {
      if (at + n > b.length) throw new EnvelopeError("truncated envelope header (" + what + ")");
      const out = b.subarray(at, at + n);
      at += n;
      return out;
    };
    if (b.length < MAGIC.length || !equal(b.subarray(0, MAGIC.length), MAGIC)) {
      throw new EnvelopeError("not a sealed envelope (bad magic)");
    }
    take(FIXED_LEN, "fixed fields");
    if (b[8] !== VERSION && b[8] !== VERSION_CUSTODY) throw new EnvelopeError("unsupported envelope version " + b[8]);
    if (b[9] !== SUITE) throw new EnvelopeError("unsupported envelope suite " + b[9]);
    if (b[10] || b[11]) throw new EnvelopeError("reserved header flags are set");
    const chunkSize = ((b[12] << 24) >>> 0) + (b[13] << 16) + (b[14] << 8) + b[15];
    if (chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) throw new EnvelopeError("chunk size " + chunkSize + " out of range");
    const dec = new TextDecoder("utf-8", { fatal: true });
    const text = (what) => {
      const l = take(2, what + " length");
      const n = (l[0] << 8) + l[1];
      if (n < 1 || n > MAX_ID) throw new EnvelopeError(what + " length " + n + " out of range");
      const v = dec.decode(take(n, what));
      if (CONTROL_RE.test(v)) throw new EnvelopeError(what + " contains control characters");
      return v;
    };
    const tenderId = text("tender id");
    const bidderId = text("bidder id");
    const count = take(1, "stanza count")[0];
    if (count < 1 || count > MAX_STANZAS) throw new EnvelopeError("recipient stanza count " + count + " out of range");
    const stanzas = [];
    for (let i = 0; i < count; i++) {
      const n = take(1, "label length")[0];
      const label = String.fromCharCode.apply(null, Array.from(take(n, "label")));
      if (!LABEL_RE.test(label)) throw new EnvelopeError("stanza " + i + " has an invalid label");
      const fingerprint = take(FP_LEN, "fingerprint");
      const point = take(POINT_LEN, "ephemeral key");
      if (point[0] !== 4) throw new EnvelopeError("stanza " + i + " ephemeral key is not an uncompressed point");
      const wrapped = take(WRAPPED_LEN, "wrapped key");
      stanzas.push({ label: label, fingerprint: fingerprint, ephemeralPoint: point, wrappedKey: wrapped });
    }
    let threshold = 0;
    const custodians = [];
    if (b[8] === VERSION_CUSTODY) {
      const kn = take(2, "custody threshold and count");
      threshold = kn[0];
      if (kn[1] < 1 || kn[1] > MAX_CUSTODIANS || threshold < 1 || threshold > kn[1]) {
        throw new EnvelopeError("custody threshold " + threshold + " of " + kn[1] + " out of range");
      }
      for (let x = 1; x <= kn[1]; x++) {
        const fingerprint = take(FP_LEN, "custodian fingerprint");
        const commitment = take(32, "custodian commitment");
        const point = take(POINT_LEN, "custodian ephemeral key");
        if (point[0] !== 4) throw new EnvelopeError("custodian " + x + " ephemeral key is not an uncompressed point");
        const wrapped = take(SHARE_WRAPPED_LEN, "custodian wrapped share");
        custodians.push({ x: x, fingerprint: fingerprint, commitment: commitment, ephemeralPoint: point, wrappedShare: wrapped });
      }
      if (new Set(custodians.map((c) => hex(c.fingerprint))).size !== custodians.length) {
        throw new EnvelopeError("the custodian set names a key twice");
      }
    }
    const mac = take(MAC_LEN, "header MAC");
    return {
      version: b[8], suite: b[9], chunkSize: chunkSize, salt: b.slice(16, 32), noncePrefix: b.slice(32, 39),
      tenderId: tenderId, bidderId: bidderId, stanzas: stanzas, threshold: threshold, custodians: custodians,
      mac: mac.slice(), raw: b.slice(0, at), size: at,
    };
  }

  async function checkHeaderMac(h, dataKey) {
    const keys = await deriveKeys(dataKey, h.salt);
    const want = await hmac(keys.mac, h.raw.subarray(0, h.size - MAC_LEN));
    if (!equal(want, h.mac)) throw new EnvelopeError("the data key does not open this envelope (or its header was altered)");
    return keys.payload;
  }

  async function ownPoint(key) {
    if (key && key.publicKey) return new Uint8Array(await subtle.exportKey("raw", key.publicKey));
    const jwk = await subtle.exportKey("jwk", key);  // needs an extractable private key
    const pub = await subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true }, EC, true, []);
    return new Uint8Array(await subtle.exportKey("raw", pub));
  }

  /** Recover the data key with a recipient's private key; checks the header MAC. */
  async function unwrapDataKey(headerBytes, key, label) {
    const h = parseHeader(headerBytes);
    const priv = key && key.privateKey ? key.privateKey : key;
    const own = await ownPoint(key);
    const fp = await sha256(own);
    const candidates = h.stanzas.filter((s) => equal(s.fingerprint, fp) && (!label || s.label === label));
    if (!candidates.length) {
      throw new EnvelopeError("this key is not a recipient of the envelope" + (label ? " (label " + label + ")" : ""));
    }
    for (const s of candidates) {
      let dataKey;
      try {
        dataKey = await unwrap(priv, own, s.ephemeralPoint, s.wrappedKey);
      } catch (e) {
        continue;
      }
      await checkHeaderMac(h, dataKey);
      return dataKey;
    }
    throw new EnvelopeError("the key does not unwrap the envelope's data key");
  }

  /** A custodian's own share of a v2 envelope, checked against the bidder's commitment. */
  async function unwrapShare(headerBytes, key) {
    const h = parseHeader(headerBytes);
    if (h.version !== VERSION_CUSTODY) throw new EnvelopeError("not a version-2 envelope: it has no custodian shares");
    const priv = key && key.privateKey ? key.privateKey : key;
    const own = await ownPoint(key);
    const fp = await sha256(own);
    const tender = enc.encode(h.tenderId);
    for (const c of h.custodians) {
      if (!equal(c.fingerprint, fp)) continue;
      let share;
      try {
        share = await unwrap(priv, own, c.ephemeralPoint, c.wrappedShare, LABEL_SHARE_WRAP, shareAad(tender, c.x, h.salt));
      } catch (e) {
        throw new EnvelopeError("your share of this envelope does not decrypt");
      }
      if (!equal(await shareCommitment(tender, c.x, share), c.commitment)) {
        throw new EnvelopeError("the bidder wrapped you a share that does not match its commitment (x = " + c.x + ")");
      }
      return { x: c.x, share: share };
    }
    throw new EnvelopeError("this key is not a custodian of the envelope");
  }

  // -- body --------------------------------------------------------------------------

  async function readSlice(blob, start, end) {
    if (blob instanceof Uint8Array) return blob.subarray(start, end);
    return new Uint8Array(await blob.slice(start, end).arrayBuffer());
  }

  /**
   * The envelope of ``blob`` as an async iterator of pieces (header, then one
   * ciphertext chunk per piece). Memory: one plaintext and one ciphertext chunk,
   * plus one chunk read ahead.
   */
  async function* sealStream(blob, opts, state) {
    state = state || {};
    let header = state.header ? u8(state.header) : null;
    let dataKey = state.dataKey ? u8(state.dataKey) : null;
    if (!header || !dataKey) {
      const made = await prepare(opts);
      header = made.header;
      dataKey = made.dataKey;
    }
    const h = parseHeader(header);
    const payloadKey = await checkHeaderMac(h, dataKey);
    const key = await aesKey(payloadKey, ["encrypt"]);
    const aad = await sha256(h.raw);
    const cs = h.chunkSize;
    const total = blob instanceof Uint8Array ? blob.length : blob.size;
    const n = chunkCount(total, cs);
    const full = cs + TAG_LEN;

    let first = 0;
    let cut = 0;  // bytes to drop from the first piece
    if (state.startOffset !== undefined && state.startOffset !== null) {
      const off = state.startOffset;
      if (off < 0 || off > envelopeSize(total, h.size, cs)) throw new EnvelopeError("start offset out of range");
      if (off < h.size) {
        yield header.subarray(off);
      } else {
        first = Math.floor((off - h.size) / full);
        cut = off - h.size - first * full;
      }
    } else {
      first = state.startChunk || 0;
      if (first === 0) yield header;
    }
    if (first >= n) return;

    let next = readSlice(blob, first * cs, Math.min(total, (first + 1) * cs));
    for (let i = first; i < n; i++) {
      const plain = await next;
      if (i + 1 < n) next = readSlice(blob, (i + 1) * cs, Math.min(total, (i + 2) * cs));
      const ct = new Uint8Array(await subtle.encrypt(
        { name: "AES-GCM", iv: nonce(h.noncePrefix, i, i === n - 1), additionalData: aad }, key, plain));
      if (cut) {
        const piece = ct.subarray(cut);
        cut = 0;
        if (piece.length) yield piece;
      } else {
        yield ct;
      }
    }
  }

  /** Seal a small in-memory payload; returns the whole envelope. */
  async function sealBytes(bytes, opts) {
    const parts = [];
    for await (const piece of sealStream(u8(bytes), opts)) parts.push(piece);
    return concat(parts);
  }

  /** Decrypt a small in-memory envelope with its data key; returns the plaintext. */
  async function openBytes(envelope, dataKey) {
    const b = u8(envelope);
    const h = parseHeader(b);
    const payloadKey = await checkHeaderMac(h, u8(dataKey));
    const key = await aesKey(payloadKey, ["decrypt"]);
    const aad = await sha256(h.raw);
    const full = h.chunkSize + TAG_LEN;
    const body = b.subarray(h.size);
    if (body.length < TAG_LEN) throw new EnvelopeError("envelope has no body (truncated)");
    const n = Math.ceil(body.length / full);
    const parts = [];
    for (let i = 0; i < n; i++) {
      const ct = body.subarray(i * full, Math.min(body.length, (i + 1) * full));
      if (ct.length < TAG_LEN) throw new EnvelopeError("envelope body does not end on a chunk boundary");
      try {
        parts.push(new Uint8Array(await subtle.decrypt(
          { name: "AES-GCM", iv: nonce(h.noncePrefix, i, i === n - 1), additionalData: aad }, key, ct)));
      } catch (e) {
        throw new EnvelopeError("chunk " + i + " failed authentication (the envelope was altered, cut or extended)");
      }
    }
    return concat(parts);
  }

  const GGZY = root.GGZY = root.GGZY || {};
  GGZY.envelope = {
    prepare: prepare,
    headerSize: headerSize,
    envelopeSize: envelopeSize,
    chunkCount: chunkCount,
    sealStream: sealStream,
    sealBytes: sealBytes,
    parseHeader: parseHeader,
    unwrapDataKey: unwrapDataKey,
    unwrapShare: unwrapShare,
    openBytes: openBytes,
    shamir: { split: shamirSplit, combine: shamirCombine },
    VERSION_CUSTODY: VERSION_CUSTODY,
    EnvelopeError: EnvelopeError,
    DEFAULT_CHUNK_SIZE: DEFAULT_CHUNK,
    TAG_LEN: TAG_LEN,
    util: { concat: concat, hex: hex, sha256: sha256, random: random, u8: u8, equal: equal },
  };
})(typeof window !== "undefined" ? window : self);
