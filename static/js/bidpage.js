/* The bid page: bid key, price sheet, sealing in the browser, resumable upload,
 * receipt, withdrawal. Needs envelope.js and bidkeys.js (loaded before this).
 *
 * Upload protocol: bidding/bids_api.py. The upload's state (upload id, header,
 * data key, file identity) is kept in IndexedDB before the first chunk is sent, so
 * after a reload the page regenerates the identical envelope from the chunk the
 * server expects next.
 */
(function () {
  "use strict";
  // A moment as people read it (core/timefmt.py), through countdown.js's formatter.
  const oneFormat = (iso) => (window.platformTime ? window.platformTime.human(iso, true) : iso);

  const app = document.getElementById("bid-app");
  if (!app || !window.GGZY) return;
  const E = GGZY.envelope;
  const K = GGZY.bidkeys;
  const $ = (id) => document.getElementById(id);

  const tenderPk = app.dataset.tender;
  const tenderRef = app.dataset.tenderRef;
  const bidderId = app.dataset.bidder;
  const active = app.dataset.biddingOpen === "1" && app.dataset.obtained === "1";
  const ENVELOPE_CHUNK = E.DEFAULT_CHUNK_SIZE;  // 1 MiB of plaintext per sealed chunk
  const RETRY_DELAYS = [500, 1500, 4000, 8000, 15000];
  const uploadKey = "bidder:" + bidderId + ":tender:" + tenderPk;

  // -- text -----------------------------------------------------------------------

  const strings = {};
  document.querySelectorAll("#bid-strings [data-s]").forEach((el) => { strings[el.dataset.s] = el.textContent.trim(); });
  // Texts this script adds before the template carries them (the lead regenerates locale/).
  const FALLBACK = {
    custodyIncomplete: "The tender's custodians have not all endorsed its custodian set yet: sealing is refused until they have.",
    custodyUnpinned: "Import the custodians' trust file (custodians.json from the trading centre) first: custodian %(id)s is not pinned in this browser.",
    custodyBadSignature: "Custodian %(id)s's endorsement does not verify with the key pinned in this browser: sealing is refused.",
    custodyBadKey: "Custodian %(id)s's encryption key is not the one it endorsed: sealing is refused.",
    trustLabel: "Custodians' trust file (custodians.json, from the trading centre)",
    trustPinned: "Pinned custodian signing keys: %(ids)s",
    trustBad: "This is not a custodian trust file:",
  };
  function t(key, params) {
    let s = strings[key] || FALLBACK[key] || key;
    for (const [k, v] of Object.entries(params || {})) s = s.split("%(" + k + ")s").join(String(v));
    return s;
  }

  function show(el, on) { if (el) el.hidden = !on; }

  function say(el, text, kind) {
    if (!el) return;
    el.textContent = text;
    if (kind) el.className = "msg msg-" + kind;
    el.hidden = !text;
  }

  function bytesText(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i ? v.toFixed(1) : String(v)) + " " + units[i];
  }

  /** "2026-12-07 09:30" in this computer's clock (the backup was saved here, not on the server). */
  function dayTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  }

  function fpShort(fp) { return fp.slice(0, 16).toUpperCase().match(/.{4}/g).join(":"); }

  // -- HTTP ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      const err = (body && body.error) || {};
      super(err.message || t("networkError"));
      this.status = status;
      this.code = err.code || (status ? "http_" + status : "network");
      this.fields = err.fields || {};
    }
  }

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function api(method, url, body, headers) {
    const init = { method: method, credentials: "same-origin", headers: Object.assign({
      "Accept": "application/json", "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" }, headers || {}) };
    if (body instanceof Uint8Array) {
      init.body = body;
      init.headers["Content-Type"] = "application/octet-stream";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    let resp;
    try {
      resp = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, null);  // network error: the caller may retry
    }
    let data = null;
    if (resp.status !== 204) {
      try { data = await resp.json(); } catch (e) { data = null; }
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  function nextIndexOf(err) {
    let v = err.fields && err.fields.next_index;
    if (Array.isArray(v)) v = v[0];
    return Number.isInteger(v) ? v : null;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // -- step 1: the bid key -----------------------------------------------------------------

  let keyRecord = null;

  // The organisation's bids not opened yet, each with the fingerprint of the key it was
  // sealed to (the server's record): a new key cannot open them.
  let sealedBids = [];
  try { sealedBids = JSON.parse(($("sealed-bids") || {}).textContent || "[]") || []; } catch (e) { sealedBids = []; }

  function sealedBidLine(b) {
    const here = !!keyRecord && keyRecord.fingerprint === b.fingerprint;
    const opening = b.opening_text || b.opening;  // the server's one time format
    return t(here ? "sealedBidHere" : "sealedBid", { tender: b.tender, title: b.title, opening: opening,
      key: fpShort(b.fingerprint) }) + " " + t(b.fallback === "custodians" ? "fallbackCustodians" : "fallbackRevoked");
  }

  function showNewKeyWarning(onAnyway) {
    const box = $("key-new-warning");
    const list = $("key-new-warning-bids");
    list.textContent = "";
    for (const b of sealedBids) {
      const li = document.createElement("li");
      li.textContent = sealedBidLine(b);
      list.appendChild(li);
    }
    show(box, true);
    box.scrollIntoView({ block: "center" });
    $("key-new-cancel").focus();
    newKeyAnyway = onAnyway;
  }
  let newKeyAnyway = null;

  function renderSealBackup() {
    const box = $("seal-backup");
    if (!box) return;
    show(box, keyReady());
    if (!keyRecord) return;
    $("seal-key").textContent = fpShort(keyRecord.fingerprint);
    let when = t("backupUnknown");
    if (keyRecord.origin === "imported") when = t("backupLoaded");
    else if (keyRecord.backupAt) when = t("backupSavedOn", { when: dayTime(keyRecord.backupAt) });
    $("seal-backup-when").textContent = when;
    // Only a key still extractable can be written to a backup file.
    show($("seal-backup-save"), keyRecord.privateKey.extractable !== false);
  }

  function registeredFingerprints() {
    return new Set(Array.from(document.querySelectorAll("#registered-keys [data-fingerprint]"),
      (li) => li.dataset.fingerprint));
  }

  function keyReady() {
    return !!(keyRecord && keyRecord.backedUp && registeredFingerprints().has(keyRecord.fingerprint));
  }

  function renderKey() {
    const status = $("key-status");
    const registered = registeredFingerprints();
    document.querySelectorAll("#registered-keys [data-fingerprint]").forEach((li) => {
      li.classList.toggle("mine", !!keyRecord && li.dataset.fingerprint === keyRecord.fingerprint);
    });
    show($("key-none"), !keyRecord);
    show($("key-facts"), !!keyRecord);
    show($("key-more"), !!keyRecord);
    // A non-extractable key cannot be written to another backup: the file made before is it.
    show($("key-backup-again"), !!keyRecord && keyRecord.privateKey.extractable !== false);
    show($("key-backup"), !!keyRecord && !keyRecord.backedUp);
    show($("key-register"), !!keyRecord && keyRecord.backedUp && !registered.has(keyRecord.fingerprint));
    if (!keyRecord) {
      say(status, registered.size ? t("noKeyButRegistered") : t("noKey"), registered.size ? "warning" : "info");
      return;
    }
    $("key-fingerprint").textContent = keyRecord.fingerprint;
    $("key-fingerprint").title = fpShort(keyRecord.fingerprint);
    $("key-registered").textContent = registered.has(keyRecord.fingerprint) ? t("yes") : t("no");
    if (!keyRecord.backedUp) say(status, t("needBackup"), "warning");
    else if (!registered.has(keyRecord.fingerprint)) say(status, t("needRegister"), "warning");
    else say(status, t("ready"), "success");
  }

  /** Tick a checklist item done without a reload (key registered, bid received). */
  function markDone(key) {
    const li = $("check-" + key);
    if (!li) return;
    li.dataset.state = "done";
    const badge = li.querySelector(".badge");
    if (badge) { badge.className = "badge badge-published"; badge.textContent = "✓"; }
    const status = li.querySelector(".check-status");
    if (status) status.textContent = t("checkDone");
    const action = li.querySelector(".check-action");
    if (action) action.remove();  // its "set up" / "seal and submit" is done
  }

  function renderKeyAndSealing() {
    renderKey();
    renderSealBackup();
    // The checklist says "registered" from the server; sealing also needs the key here.
    const li = $("check-key");
    if (li && !keyReady() && registeredFingerprints().size) {
      li.dataset.state = "missing";
      const badge = li.querySelector(".badge");
      if (badge) { badge.className = "badge badge-failed"; badge.textContent = "✗"; }
      const status = li.querySelector(".check-status");
      if (status) status.textContent = t("keyNotHere");
    } else if (li && keyReady()) {
      markDone("key");
    }
  }

  async function busy(button, fn) {
    const label = button.textContent;
    button.disabled = true;
    button.textContent = t("working");
    try {
      return await fn();
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  function keyError(e, isBackup) {
    if (e instanceof K.KeyFileError) {
      if (e.code === "passphrase") return isBackup ? t("wrongPassBackup") : t("wrongPass");
      return t("badKeyFile") + " " + e.message;
    }
    return e.message || String(e);
  }

  function setupKeyStep() {
    const makeKey = async () => {
      const pair = await K.generate();
      keyRecord = await K.store(bidderId, pair, { backedUp: false, origin: "generated" });
      renderKeyAndSealing();
      $("backup-pass").focus();
    };
    $("key-generate").addEventListener("click", (ev) => {
      // A bid sealed to another key is not opened by a new one: say so and ask first.
      const others = sealedBids.filter((b) => !keyRecord || b.fingerprint !== keyRecord.fingerprint);
      if (others.length) { showNewKeyWarning(makeKey); return; }
      busy(ev.currentTarget, makeKey);
    });
    $("key-new-cancel").addEventListener("click", () => {
      show($("key-new-warning"), false);
      newKeyAnyway = null;
      $("key-file").focus();
    });
    $("key-new-anyway").addEventListener("click", (ev) => {
      const go = newKeyAnyway;
      newKeyAnyway = null;
      show($("key-new-warning"), false);
      if (go) busy(ev.currentTarget, go);
    });

    $("key-import").addEventListener("click", (ev) => busy(ev.currentTarget, async () => {
      const file = $("key-file").files[0];
      if (!file) { say($("key-status"), t("chooseKeyFile"), "error"); return; }
      let text = "";
      try {
        text = await file.text();
        const pair = await K.importKeyFile(text, $("key-import-pass").value);
        keyRecord = await K.store(bidderId, pair, { backedUp: true, origin: "imported" });
        $("key-import-pass").value = "";
        show($("key-new-warning"), false);
        renderKeyAndSealing();
      } catch (e) {
        say($("key-status"), keyError(e, !!K.readBackup(text)), "error");
      }
    }));

    const download = async (ev) => busy(ev.currentTarget, async () => {
      const pass = $("backup-pass").value;
      if (pass.length < 10) { say($("key-status"), t("passShort"), "error"); return; }
      if (pass !== $("backup-pass2").value) { say($("key-status"), t("passDiffer"), "error"); return; }
      const backup = await K.exportBackup(keyRecord, pass, { bidderId: bidderId });
      const url = URL.createObjectURL(new Blob([backup], { type: "application/json" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = "bid-key-" + bidderId + "-" + keyRecord.fingerprint.slice(0, 8) + ".json";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      $("backup-pass").value = "";
      $("backup-pass2").value = "";
      keyRecord.backedUp = true;
      keyRecord.backupAt = new Date().toISOString();
      // Backed up: from now on the browser keeps the private key non-extractable.
      keyRecord.privateKey = (await K.nonExtractable(keyRecord)).privateKey;
      await K.db.put("keys", "bidder:" + bidderId, keyRecord);
      renderKeyAndSealing();
    });
    $("key-download").addEventListener("click", download);
    $("key-backup-again").addEventListener("click", () => {
      show($("key-backup"), true);
      $("backup-pass").focus();
    });

    $("key-register-btn").addEventListener("click", (ev) => busy(ev.currentTarget, async () => {
      try {
        const out = await api("POST", "/api/keys/", { public_key: K.util.b64(keyRecord.publicRaw), purpose: "bid" });
        const li = document.createElement("li");
        li.dataset.fingerprint = out.fingerprint;
        const span = document.createElement("span");
        span.className = "mono";
        span.textContent = out.fingerprint;
        li.appendChild(span);
        const none = $("no-registered");
        if (none) none.remove();
        $("registered-keys").appendChild(li);
        markDone("key");
        renderKeyAndSealing();
      } catch (e) {
        say($("key-status"), e.message, "error");
      }
    }));

    $("key-remove").addEventListener("click", async () => {
      const mine = sealedBids.filter((b) => keyRecord && b.fingerprint === keyRecord.fingerprint);
      let text = t("removeConfirm");
      if (mine.length) text = t("removeSealed", { list: mine.map((b) => b.tender).join(", ") }) + "\n\n" + text;
      if (!window.confirm(text)) return;
      await K.remove(bidderId);
      keyRecord = null;
      renderKeyAndSealing();
    });

    const sealBackupBtn = $("seal-backup-btn");
    if (sealBackupBtn) sealBackupBtn.addEventListener("click", () => {
      show($("key-backup"), true);
      $("step-key").scrollIntoView({ block: "start" });
      $("backup-pass").focus();
    });
    const sealBackupFile = $("seal-backup-file");
    if (sealBackupFile) sealBackupFile.addEventListener("change", async () => {
      const out = $("seal-backup-check");
      const file = sealBackupFile.files[0];
      if (!file || !keyRecord) { say(out, "", null); return; }
      const doc = K.readBackup(await file.text());
      if (!doc) say(out, t("notBackup"), "error");
      else if (String(doc.fingerprint).toLowerCase() === keyRecord.fingerprint) say(out, t("backupMatches"), "success");
      else say(out, t("backupOther", { key: fpShort(String(doc.fingerprint)) }), "error");
    });
  }

  // -- step 2: the price sheet ----------------------------------------------------------------

  function priceSheet() {
    const form = $("price-form");
    const err = $("price-error");
    const sheet = {};
    const items = {};
    let missing = false;
    form.querySelectorAll("input").forEach((input) => {
      const value = input.value.trim();
      input.closest(".field").classList.toggle("has-error", !value);
      if (!value) missing = true;
      if (input.dataset.item !== undefined) items[input.dataset.item] = value;
      else sheet[input.name] = value;
    });
    let problem = missing ? t("priceMissing") : "";
    if (!problem && !/^\d+(\.\d{1,2})?$/.test(sheet.total_price.replace(/,/g, ""))) problem = t("priceNumber");
    if (!problem && sheet.duration_days !== undefined && !/^\d+$/.test(sheet.duration_days)) problem = t("daysNumber");
    err.textContent = problem;
    err.hidden = !problem;
    if (problem) return null;
    sheet.total_price = sheet.total_price.replace(/,/g, "");
    sheet.items = items;
    return sheet;
  }

  // -- evidence (claims) ------------------------------------------------------------------

  async function machineFingerprint() {
    const n = navigator;
    const s = window.screen || {};
    const parts = [n.userAgent, n.language, (n.languages || []).join(","), n.platform, n.hardwareConcurrency,
      n.deviceMemory, s.width, s.height, s.colorDepth, window.devicePixelRatio,
      Intl.DateTimeFormat().resolvedOptions().timeZone];
    return E.util.hex(await E.util.sha256(new TextEncoder().encode(JSON.stringify(parts))));
  }

  function pdfString(text, at) {
    // A PDF literal string "(...)" with escapes and nested parentheses, or "<hex>".
    while (text[at] === " " || text[at] === "\r" || text[at] === "\n") at++;
    let bytes = [];
    if (text[at] === "(") {
      let depth = 1;
      for (let i = at + 1; i < text.length && i < at + 2000; i++) {
        const c = text[i];
        if (c === "\\") {
          const d = text[++i];
          const map = { n: 10, r: 13, t: 9, b: 8, f: 12 };
          if (d in map) bytes.push(map[d]);
          else if (/[0-7]/.test(d)) {
            let o = d;
            while (o.length < 3 && /[0-7]/.test(text[i + 1])) o += text[++i];
            bytes.push(parseInt(o, 8) & 255);
          } else if (d === "\r" || d === "\n") { if (d === "\r" && text[i + 1] === "\n") i++; }
          else bytes.push(d.charCodeAt(0));
          continue;
        }
        if (c === "(") depth++;
        if (c === ")" && --depth === 0) break;
        bytes.push(c.charCodeAt(0) & 255);
      }
    } else if (text[at] === "<") {
      const end = text.indexOf(">", at);
      if (end < 0) return "";
      let h = text.slice(at + 1, end).replace(/\s+/g, "");
      if (h.length % 2) h += "0";
      bytes = (h.match(/../g) || []).map((x) => parseInt(x, 16));
    } else {
      return "";
    }
    const u = new Uint8Array(bytes);
    if (u[0] === 0xfe && u[1] === 0xff) return new TextDecoder("utf-16be").decode(u.subarray(2));
    if (u[0] === 0xef && u[1] === 0xbb && u[2] === 0xbf) return new TextDecoder("utf-8").decode(u.subarray(3));
    return String.fromCharCode.apply(null, Array.from(u));  // PDFDocEncoding, near enough latin-1
  }

  async function pdfMetadata(file) {
    const out = { author: "", creator: "" };
    const head = new Uint8Array(await file.slice(0, 5).arrayBuffer());
    if (String.fromCharCode.apply(null, Array.from(head)) !== "%PDF-") return out;
    const span = 64 * 1024;
    const parts = [file.slice(0, span)];
    if (file.size > span) parts.push(file.slice(Math.max(span, file.size - span)));
    for (const part of parts.reverse()) {  // the last Info dictionary wins (incremental updates)
      const text = new TextDecoder("latin1").decode(await part.arrayBuffer());
      for (const [key, name] of [["author", "/Author"], ["creator", "/Creator"]]) {
        if (out[key]) continue;
        const i = text.lastIndexOf(name);
        if (i >= 0) out[key] = pdfString(text, i + name.length).trim().slice(0, 300);
      }
    }
    return out;
  }

  async function claimsFor(file) {
    const meta = await pdfMetadata(file).catch(() => ({ author: "", creator: "" }));
    return { machine_fingerprint: await machineFingerprint(), file_author: meta.author,
      file_creator: meta.creator, tool: "browser" };
  }

  async function showClaims(file) {
    const c = await claimsFor(file);
    $("claim-machine").textContent = c.machine_fingerprint;
    $("claim-author").textContent = c.file_author || "—";
    $("claim-creator").textContent = c.file_creator || "—";
    show($("claims"), true);
  }

  // -- step 3: seal and upload ----------------------------------------------------------------

  // Format v2 (crypto/custody.py): no tender opening key. The data key is split among
  // the tender's custodians, after checking that every one of them endorsed the custodian
  // set with the signing key pinned in this browser (from the trading centre's trust file,
  // kept in localStorage). Residual trust: this page's JavaScript comes from the platform,
  // so a platform that serves other JavaScript could skip this check; the command-line
  // tool (python -m ggzy_bid) does not have that weakness.
  const PINS = "ggzy.custodianPins";
  const CUSTODIAN_SET_LABEL = new TextEncoder().encode("ggzy-custodian-set-v1\0");

  function pins() {
    try { return JSON.parse(window.localStorage.getItem(PINS) || "{}"); } catch (e) { return {}; }
  }

  async function pointOf(value) {
    value = String(value).trim();
    if (!value.startsWith("-----BEGIN")) return K.util.unb64(value);
    const der = K.util.unb64(value.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
    const key = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
    return new Uint8Array(await crypto.subtle.exportKey("raw", key));
  }

  async function importTrustFile(file) {
    const doc = JSON.parse(await file.text());
    if (!doc || doc.v !== 1 || !Array.isArray(doc.custodians) || !doc.custodians.length) {
      throw new Error("not version 1, or no custodians");
    }
    const out = {};
    for (const c of doc.custodians) {
      const raw = await pointOf(c.signing_key);
      if (raw.length !== 65 || raw[0] !== 4) throw new Error("custodian " + c.id + ": not a P-256 key");
      out[String(c.id)] = K.util.b64(raw);
    }
    window.localStorage.setItem(PINS, JSON.stringify(out));
    return Object.keys(out);
  }

  function setupTrustFile() {
    const anchor = $("seal-submit");
    if (!anchor || $("custodian-trust-file")) return;
    const box = document.createElement("div");
    box.className = "field";
    const label = document.createElement("label");
    label.htmlFor = "custodian-trust-file";
    label.textContent = t("trustLabel");
    const input = document.createElement("input");
    input.type = "file";
    input.id = "custodian-trust-file";
    input.accept = "application/json,.json";
    const status = document.createElement("p");
    status.id = "custodian-trust-status";
    const pinned = Object.keys(pins());
    say(status, pinned.length ? t("trustPinned", { ids: pinned.join(", ") }) : "", "info");
    input.addEventListener("change", async () => {
      try {
        const ids = await importTrustFile(input.files[0]);
        say(status, t("trustPinned", { ids: ids.join(", ") }), "success");
      } catch (e) {
        say(status, t("trustBad") + " " + (e.message || e), "error");
      }
    });
    box.append(label, input, status);
    anchor.parentNode.insertBefore(box, anchor);
  }

  async function custodyPlan() {
    const info = await api("GET", "/api/tenders/" + tenderPk + "/custody/");
    if (!info.complete) throw new Error(t("custodyIncomplete"));
    const bytes = K.util.unb64(info.statement_b64);
    const stmt = JSON.parse(new TextDecoder().decode(bytes));
    if (stmt.tender_id !== tenderRef) throw new Error(t("custodyIncomplete"));
    const pinned = pins();
    const message = E.util.concat([CUSTODIAN_SET_LABEL, bytes]);
    const keysById = {};
    for (const c of info.custodians) keysById[c.id] = K.util.unb64(c.encryption_key);
    const custodians = [];
    for (const seat of stmt.custodians) {
      if (!pinned[seat.id]) throw new Error(t("custodyUnpinned", { id: seat.id }));
      const key = await crypto.subtle.importKey("raw", K.util.unb64(pinned[seat.id]),
        { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
      let ok = false;
      for (const e of info.endorsements.filter((x) => x.custodian_id === seat.id)) {
        ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key,
          K.util.unb64(e.signature), message);
        if (ok) break;
      }
      if (!ok) throw new Error(t("custodyBadSignature", { id: seat.id }));
      const raw = keysById[seat.id];
      if (!raw || E.util.hex(await E.util.sha256(raw)) !== seat.key) {
        throw new Error(t("custodyBadKey", { id: seat.id }));
      }
      custodians.push(raw);
    }
    return { threshold: stmt.threshold, custodians: custodians };
  }

  async function sealOptions() {
    return {
      tenderId: tenderRef, bidderId: bidderId, chunkSize: ENVELOPE_CHUNK,
      recipients: [{ label: "bidder", publicKeyRaw: keyRecord.publicRaw }],
      custody: await custodyPlan(),
    };
  }

  let running = false;

  function progress(done, total, index, count) {
    show($("upload-box"), true);
    $("upload-progress").max = total;
    $("upload-progress").value = done;
    $("upload-status").textContent = t("progress", { done: bytesText(done), total: bytesText(total),
      i: Math.min(index + 1, count), n: count });
  }

  /** Upload-sized pieces of the envelope from byte ``offset`` (exactly ``size`` bytes, the last the rest). */
  async function* uploadPieces(file, record, offset) {
    const size = record.uploadChunkSize;
    let remaining = record.size - offset;
    const stream = E.sealStream(file, null, { header: record.header, dataKey: record.dataKey, startOffset: offset });
    let buf = new Uint8Array(Math.min(size, remaining));
    let fill = 0;
    for await (let piece of stream) {
      while (piece.length && remaining > 0) {
        const n = Math.min(piece.length, buf.length - fill);
        buf.set(piece.subarray(0, n), fill);
        fill += n;
        piece = piece.subarray(n);
        if (fill === buf.length) {
          remaining -= buf.length;
          yield buf;
          if (remaining <= 0) return;
          buf = new Uint8Array(Math.min(size, remaining));
          fill = 0;
        }
      }
    }
    if (remaining > 0) throw new Error("the sealed file is shorter than announced (" + remaining + " bytes missing)");
  }

  async function putChunk(record, index, bytes) {
    const digest = E.util.hex(await E.util.sha256(bytes));
    const url = "/api/bids/uploads/" + record.uploadId + "/chunks/" + index + "/";
    for (let attempt = 0; ; attempt++) {
      try {
        return { state: await api("PUT", url, bytes, { "X-Chunk-SHA256": digest }) };
      } catch (e) {
        if (e.status === 409 && (e.code === "chunk_duplicate" || e.code === "chunk_out_of_order")) {
          return { next: nextIndexOf(e) };
        }
        const transient = e.status === 0 || e.status >= 500 || e.code === "chunk_incomplete" || e.status === 429;
        if (!transient || attempt >= RETRY_DELAYS.length) throw e;
        $("upload-status").textContent = t("retrying", { i: index + 1 });
        await sleep(RETRY_DELAYS[attempt]);
      }
    }
  }

  /** Send chunks from ``index`` to the end, then complete; resumes at the server's next_index on conflicts. */
  async function pump(record, file, index) {
    const count = Math.ceil(record.size / record.uploadChunkSize);
    restart:
    for (;;) {
      if (index >= count) break;
      const it = uploadPieces(file, record, index * record.uploadChunkSize);
      let pending = it.next();
      while (index < count) {
        const { value, done } = await pending;
        if (done) break;
        pending = it.next();  // seal the next chunk while this one is on the wire
        progress(index * record.uploadChunkSize, record.size, index, count);
        const res = await putChunk(record, index, value);
        if (res.next !== undefined) {
          if (res.next === null) throw new Error("the server did not say which chunk comes next");
          await it.return();
          index = res.next;
          continue restart;
        }
        const expected = index + 1;
        index = res.state.next_index;
        progress(res.state.received_bytes, record.size, index, count);
        if (index !== expected) { await it.return(); continue restart; }
      }
      await it.return();
      break;
    }
    progress(record.size, record.size, count - 1, count);
    $("upload-status").textContent = t("completing");
    return api("POST", "/api/bids/uploads/" + record.uploadId + "/complete/");
  }

  function showReceipt(bid) {
    const r = bid.receipt || {};
    $("rc-version").textContent = bid.version;
    $("rc-sha256").textContent = bid.sha256;
    $("rc-size").textContent = bytesText(bid.size) + " (" + bid.size.toLocaleString() + " B)";
    $("rc-time").textContent = oneFormat(r.server_time || bid.submitted_at);
    show($("receipt"), true);
    show($("upload-box"), false);
    $("cur-version").textContent = bid.version;
    $("cur-sha256").textContent = bid.sha256;
    $("cur-size").textContent = bytesText(bid.size) + " (" + bid.size.toLocaleString() + " B)";
    $("cur-time").textContent = oneFormat(r.server_time || bid.submitted_at);
    show($("current-none"), false);
    show($("current-some"), true);
    ["price_sheet", "bid", "receipt"].forEach(markDone);
    $("receipt").scrollIntoView({ behavior: "smooth", block: "center" });
  }

  async function finish(record, file, startIndex) {
    running = true;
    say($("upload-error"), "", null);
    show($("receipt"), false);
    try {
      const bid = await pump(record, file, startIndex);
      await K.db.del("uploads", uploadKey);
      show($("resume-panel"), false);
      show($("new-upload"), true);
      showReceipt(bid);
    } catch (e) {
      show($("upload-box"), false);
      if (e.status === 0) say($("upload-error"), t("interrupted"), "error");
      else say($("upload-error"), e.message || String(e), "error");
      if (e.code === "upload_closed" || e.status === 404) await K.db.del("uploads", uploadKey);
      else await checkPending().catch(() => {});  // offer to continue without a reload
    } finally {
      running = false;
    }
  }

  async function submitNew(button) {
    if (running) return;
    say($("upload-error"), "", null);
    if (!keyReady()) { say($("upload-error"), t("keyFirst"), "error"); $("step-key").scrollIntoView(); return; }
    const sheet = priceSheet();
    if (!sheet) { $("step-price").scrollIntoView(); return; }
    const file = $("bid-file").files[0];
    if (!file) { say($("upload-error"), t("chooseFile"), "error"); return; }
    await busy(button, async () => {
      try {
        show($("upload-box"), true);
        $("upload-status").textContent = t("sealingSheet");
        const opts = await sealOptions();
        const sealedSheet = await E.sealBytes(new TextEncoder().encode(JSON.stringify(sheet)), opts);
        const { header, dataKey } = await E.prepare(opts);
        const size = E.envelopeSize(file.size, header.length, opts.chunkSize);
        $("upload-status").textContent = t("starting");
        const state = await api("POST", "/api/tenders/" + tenderPk + "/bids/uploads/",
          { size: size, price_sheet: K.util.b64(sealedSheet), claims: await claimsFor(file) });
        const record = {
          uploadId: state.upload_id, tender: tenderPk, tenderRef: tenderRef, header: header, dataKey: dataKey,
          envelopeChunkSize: opts.chunkSize, uploadChunkSize: state.chunk_size, size: size,
          fileName: file.name, fileSize: file.size, fileLastModified: file.lastModified,
          startedAt: new Date().toISOString(),
        };
        await K.db.put("uploads", uploadKey, record);  // before the first chunk: resumable from here on
        await finish(record, file, state.next_index);
      } catch (e) {
        show($("upload-box"), false);
        say($("upload-error"), e.message || String(e), "error");
      }
    });
  }

  // -- step 4: resume after a reload --------------------------------------------------------

  let pendingRecord = null;

  async function checkPending() {
    const record = await K.db.get("uploads", uploadKey);
    if (!record) { pendingRecord = null; return; }
    let state;
    try {
      state = await api("GET", "/api/bids/uploads/" + record.uploadId + "/");
    } catch (e) {
      if (e.status === 404) await K.db.del("uploads", uploadKey);
      else if (!$("upload-error").textContent) say($("upload-error"), e.message, "error");
      return;
    }
    if (state.status !== "open") { await K.db.del("uploads", uploadKey); return; }
    pendingRecord = record;
    $("resume-text").textContent = t("resumeText", { name: record.fileName, size: bytesText(record.fileSize),
      done: bytesText(state.received_bytes), total: bytesText(state.size) });
    show($("resume-panel"), true);
    show($("new-upload"), false);
    $("resume-panel").scrollIntoView({ block: "center" });
  }

  function setupResume() {
    $("resume-go").addEventListener("click", (ev) => busy(ev.currentTarget, async () => {
      if (running || !pendingRecord) return;
      const file = $("resume-file").files[0];
      if (!file) { say($("upload-error"), t("chooseFile"), "error"); return; }
      const r = pendingRecord;
      if (file.name !== r.fileName || file.size !== r.fileSize || file.lastModified !== r.fileLastModified) {
        say($("upload-error"), t("notSameFile"), "error");
        return;
      }
      try {
        const state = await api("GET", "/api/bids/uploads/" + r.uploadId + "/");
        await finish(r, file, state.next_index);
      } catch (e) {
        say($("upload-error"), e.message, "error");
      }
    }));
    $("resume-discard").addEventListener("click", (ev) => busy(ev.currentTarget, async () => {
      if (!pendingRecord) return;
      try {
        await api("DELETE", "/api/bids/uploads/" + pendingRecord.uploadId + "/");
      } catch (e) {
        if (e.status !== 404 && e.code !== "upload_closed") { say($("upload-error"), e.message, "error"); return; }
      }
      await K.db.del("uploads", uploadKey);
      pendingRecord = null;
      show($("resume-panel"), false);
      show($("new-upload"), true);
    }));
  }

  // -- step 5: withdraw ------------------------------------------------------------------------

  function setupWithdraw() {
    const button = $("withdraw");
    if (!button) return;
    button.addEventListener("click", (ev) => {
      const sure = $("withdraw-confirm");
      if (!sure || !sure.checked) { window.alert(t("withdrawConfirm")); return; }
      busy(ev.currentTarget, async () => {
        try {
          await api("POST", "/api/tenders/" + tenderPk + "/bids/withdraw/", {confirm: true});
          window.location.reload();
        } catch (e) {
          window.alert(e.message);
        }
      });
    });
  }

  // -- start ---------------------------------------------------------------------------------

  async function start() {
    setupWithdraw();
    if (!active) return;
    if (!window.isSecureContext || !window.crypto || !window.crypto.subtle || !window.indexedDB) {
      show($("bid-unsupported"), true);
      app.querySelectorAll("button, input").forEach((el) => { el.disabled = true; });
      return;
    }
    setupKeyStep();
    setupTrustFile();
    setupResume();
    $("bid-file").addEventListener("change", () => { const f = $("bid-file").files[0]; if (f) showClaims(f); });
    $("seal-submit").addEventListener("click", (ev) => submitNew(ev.currentTarget));
    try {
      keyRecord = (await K.load(bidderId)) || null;
      if (keyRecord && keyRecord.backedUp && keyRecord.privateKey.extractable) {
        // Kept by an earlier version as extractable: lock it now that it is backed up.
        keyRecord.privateKey = (await K.nonExtractable(keyRecord)).privateKey;
        await K.db.put("keys", "bidder:" + bidderId, keyRecord);
      }
    } catch (e) {
      keyRecord = null;
    }
    renderKeyAndSealing();
    await checkPending();
    app.dataset.ready = "1";
  }

  start();
})();
