/* A person's P-256 signing key in the browser (ECDSA with SHA-256): make it, save it to
 * a passphrase-protected key file, load it back from the file and sign with it.
 *
 * The key file format is bidkeys.js's (encrypted PKCS#8 PEM, the format
 * `python -m ggzy_bid keygen` writes), so the same file works in the command line tool.
 * Signatures follow crypto/signing.py: ECDSA P-256 / SHA-256 over `label || message`,
 * the 64-byte r || s WebCrypto returns, base64 on the wire. The private key is used
 * here and never sent anywhere.
 *
 * API (window.GGZY.signing), needs bidkeys.js loaded first:
 *   generate()                          -> {privateKey, publicKey} (extractable, ECDSA P-256)
 *   publicB64(pair)                     -> base64 of the 65-byte uncompressed point
 *   keyFile(pair, passphrase)           -> encrypted PKCS#8 PEM text
 *   loadKeyFile(file|text, passphrase)  -> {privateKey (non-extractable, "sign"), publicRaw}
 *   sign(privateKey, label, messageB64) -> base64 signature of label || message
 *   signWithKeyFile(file, passphrase, label, messageB64) -> {signature, fingerprint}
 *   download(text, filename)            -> saves a text file through the browser
 *   labelBytes(label)                   -> the label's bytes; "ggzy-contract-v1" and
 *                                          "ggzy-contract-v1\u0000" give the same bytes
 */
(function (root) {
  "use strict";

  const subtle = root.crypto && root.crypto.subtle;
  const ECDSA = { name: "ECDSA", namedCurve: "P-256" };

  function K() {
    const k = root.GGZY && root.GGZY.bidkeys;
    if (!k) throw new Error("bidkeys.js must be loaded before signing.js");
    return k;
  }

  function labelBytes(label) {
    const text = String(label).replace(/\u0000$/, "");
    return new TextEncoder().encode(text + "\u0000");
  }

  async function generate() {
    return subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  }

  async function publicB64(pair) {
    return K().util.b64(new Uint8Array(await subtle.exportKey("raw", pair.publicKey)));
  }

  async function keyFile(pair, passphrase) {
    return K().exportEncryptedPem(pair, passphrase);
  }

  /** The key file's private key for ECDSA signing. bidkeys.importPem reads the file (any
   *  P-256 PKCS#8 key); the key is carried over as a JWK into a non-extractable ECDSA
   *  signing key, and the JWK's private scalar is wiped afterwards. */
  async function loadKeyFile(source, passphrase) {
    const text = typeof source === "string" ? source : await source.text();
    const pair = await K().importPem(text, passphrase);
    const jwk = await subtle.exportKey("jwk", pair.privateKey);
    try {
      const privateKey = await subtle.importKey(
        "jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d }, ECDSA, false, ["sign"]);
      const publicRaw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
      return { privateKey: privateKey, publicRaw: publicRaw };
    } finally {
      jwk.d = "";
    }
  }

  async function sign(privateKey, label, messageB64) {
    const util = K().util;
    const message = util.unb64(messageB64);
    const lab = labelBytes(label);
    const data = new Uint8Array(lab.length + message.length);
    data.set(lab, 0);
    data.set(message, lab.length);
    const sig = new Uint8Array(await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, data));
    return util.b64(sig);
  }

  async function signWithKeyFile(file, passphrase, label, messageB64) {
    const key = await loadKeyFile(file, passphrase);
    return {
      signature: await sign(key.privateKey, label, messageB64),
      fingerprint: await K().fingerprint(key.publicRaw),
    };
  }

  function download(text, filename) {
    const url = URL.createObjectURL(new Blob([text], { type: "application/x-pem-file" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  const GGZY = root.GGZY = root.GGZY || {};
  GGZY.signing = {
    generate: generate,
    publicB64: publicB64,
    keyFile: keyFile,
    loadKeyFile: loadKeyFile,
    sign: sign,
    signWithKeyFile: signWithKeyFile,
    download: download,
    labelBytes: labelBytes,
  };
})(typeof window !== "undefined" ? window : self);
