/* The opening hall: renders the state pushed over /ws/openings/<id>/ and sends the
 * user's actions. Nothing lives here: on every (re)connect the server sends the full
 * state again. */
(function () {
  "use strict";
  const root = document.getElementById("hall");
  if (!root) return;
  const tenderId = root.dataset.tender;
  const role = root.dataset.role;
  const t = JSON.parse(document.getElementById("hall-i18n").textContent);
  const $ = (id) => document.getElementById(id);
  let state = null;
  let ws = null;
  let retry = 500;
  let clockSkew = 0;

  function esc(s) { const d = document.createElement("div"); d.textContent = s == null ? "" : String(s); return d.innerHTML; }
  function money(v) {
    const n = Number(v);
    return Number.isFinite(n) && v !== "" && v != null ? n.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2}) : v;
  }
  // The one format (core/timefmt.py), through countdown.js's formatter (both load on the hall).
  function fmtTime(iso) {
    if (!iso) return "";
    return window.platformTime ? window.platformTime.human(iso, true) : new Date(iso).toLocaleString();
  }
  function say(text, kind) {
    const el = $("you-msg");
    if (!el) return;
    el.hidden = false;
    el.className = "msg msg-" + (kind || "info");
    el.textContent = text;
  }

  function render() {
    if (!state) return;
    const phase = state.phase;
    const badge = $("hall-phase");
    badge.textContent = t[phase] || phase;
    badge.className = "badge badge-" + ({waiting: "published", decrypting: "opening", custodians: "opening", confirming: "opened", closed: "awarded"}[phase] || "draft");
    $("hall-max").textContent = Number(state.tender.max_price).toLocaleString(undefined, {minimumFractionDigits: 2});
    const c = state.counters || {};
    for (const k of ["bids", "decrypted", "pending", "announced"]) $("c-" + k).textContent = c[k] == null ? "–" : c[k];
    if (state.merkle) $("merkle").textContent = state.merkle.root + " (" + state.merkle.size + ")";
    // Announced prices.
    const tbody = document.querySelector("#announced tbody");
    if (state.announced && state.announced.length) {
      tbody.innerHTML = state.announced.map((a) => {
        const p = a.price_sheet || {};
        return `<tr><td>${esc(a.order)}</td><td>${esc(a.bidder)}<span class="sub">${esc(a.credit_code)}</span></td>` +
          `<td class="num">${esc(money(p.total_price))}</td><td>${esc(p.duration_days)}</td><td>${esc(p.quality)}</td>` +
          `<td>${esc(p.project_manager)}<span class="sub">${esc(p.project_manager_id)}</span></td>` +
          `<td>${esc(a.decrypted_by === "custodians" ? t.by_custodians : t.by_bidder)}<span class="sub">${esc(fmtTime(a.announced_at))}</span></td></tr>`;
      }).join("");
    }
    if (state.bidders) {
      $("bidders").innerHTML = state.bidders.map((b) =>
        `<li>${esc(b.bidder)} <span class="badge badge-${b.status === "decrypted" ? "published" : b.status === "pending" ? "draft" : "failed"}">${esc(t[b.status] || b.status)}</span></li>`).join("");
    }
    const objections = state.objections || [];
    $("objections").innerHTML = objections.length ? objections.map((o) =>
      `<li data-objection="${o.id}"><strong>${esc(o.bidder)}</strong> <span class="sub">${esc(fmtTime(o.raised_at))}</span><br>${esc(o.text)}` +
      (o.answer ? `<div class="qa"><p class="a">${esc(o.answer)} <span class="sub">${esc(fmtTime(o.answered_at))}</span></p></div>`
        : (role === "host" ? `<form class="answer-form actions" data-id="${o.id}"><input type="text" required maxlength="2000" aria-label="answer"><button class="btn btn-secondary" type="submit">${esc(t.answer)}</button></form>` : `<p class="muted">${esc(t.unanswered)}</p>`)) +
      `</li>`).join("") : `<li class="muted">—</li>`;
    document.querySelectorAll(".answer-form").forEach((f) => f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      send({type: "answer", objection: Number(f.dataset.id), answer: f.querySelector("input").value});
    }));
    const you = state.you || {};
    if (role !== "bidder") $("you-role").textContent = t["role_" + role] || role;
    if (role === "bidder") {
      $("btn-signin").hidden = !!you.signed_in || (phase !== "waiting" && phase !== "decrypting");
      $("decrypt-box").hidden = !(phase === "decrypting" && you.bid_status === "pending");
      $("signed-in").hidden = !you.signed_in;
      $("confirm-box").hidden = !(phase === "confirming" && !you.confirmed);
      $("confirmed-msg").hidden = !you.confirmed;
      $("proof-link").hidden = phase === "waiting";
      $("you-role").textContent = you.bid_status ? (t[you.bid_status] || you.bid_status) : "";
      if ((phase === "waiting" || phase === "decrypting") && you.bid_status !== "withdrawn") checkBidKey();
    }
    if (state.record) {
      $("record").hidden = false;
      $("record-link").href = state.record.url;
    }
  }

  function countdown() {
    if (!state) return;
    const now = Date.now() + clockSkew;
    let target = null;
    if (state.phase === "waiting") target = state.tender.opening_time;
    else if (state.phase === "decrypting") target = state.window_ends_at;
    else if (state.phase === "confirming") target = state.confirm_until;
    const el = $("hall-countdown");
    if (!target) { el.textContent = "—"; return; }
    const ms = Math.max(0, new Date(target) - now);
    const s = Math.floor(ms / 1000);
    el.textContent = `${String(Math.floor(s / 3600)).padStart(2, "0")}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }
  setInterval(countdown, 500);

  function apply(msg) {
    if (msg.type === "hall.state") {
      state = msg;
      clockSkew = new Date(msg.server_time) - Date.now();
    } else if (!state) {
      return;
    } else if (msg.type === "hall.announce") {
      state.announced = (state.announced || []).filter((a) => a.order !== msg.bid.order).concat([msg.bid]);
      state.counters = msg.counters;
      (state.bidders || []).forEach((b) => { if (b.bidder === msg.bid.bidder) b.status = "decrypted"; });
    } else if (msg.type === "hall.counters") {
      state.counters = msg.counters;
    } else if (msg.type === "hall.objection" || msg.type === "hall.answer") {
      state.objections = (state.objections || []).filter((o) => o.id !== msg.id).concat([msg]);
    } else if (["hall.phase", "hall.closed", "hall.share", "hall.signin", "hall.confirmed"].includes(msg.type)) {
      send({type: "state"});  // a structural change: fetch the whole state again
      return;
    } else if (msg.type === "error") {
      say(msg.message, "error");
      return;
    } else if (msg.type === "ok") {
      say(t.done, "success");
      send({type: "state"});
      return;
    }
    render();
    countdown();
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}/ws/openings/${tenderId}/`);
    ws.onopen = () => { retry = 500; $("hall-conn").className = "live-dot on"; $("hall-conn").title = t.connected; };
    ws.onmessage = (ev) => apply(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      $("hall-conn").className = "live-dot";
      // 4403: not allowed in this hall (or no such hall): asking again will not help.
      if (ev.code === 4403 || ev.code === 4404) return;
      $("hall-conn").title = t.reconnecting;
      setTimeout(connect, retry); retry = Math.min(retry * 2, 15000);
    };
  }
  connect();

  // --- Merkle inclusion proof (crypto/merkle.py, format v1) ----------------------------
  const LABEL = new TextEncoder().encode("ggzy-merkle-v1");
  function unhex(h) { const out = new Uint8Array(h.length / 2); for (let i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16); return out; }
  function tohex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(""); }
  async function sha(...parts) {
    const len = parts.reduce((n, p) => n + p.length, 0);
    const buf = new Uint8Array(len);
    let o = 0;
    for (const p of parts) { buf.set(p, o); o += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  }
  function split(n) { let k = 1; while (k * 2 < n) k *= 2; return k; }
  async function verifyInclusion(proof, rootHex, size) {
    if (proof.size !== size || proof.index < 0 || proof.index >= size) return false;
    const path = proof.path.map(unhex);
    const leaf = await sha(new Uint8Array([0]), LABEL, unhex(proof.digest));
    async function climb(i, n, steps) {
      if (n === 1) { if (steps.length) throw new Error("extra hashes"); return leaf; }
      const k = split(n);
      if (!steps.length) throw new Error("short proof");
      const sib = steps[steps.length - 1], rest = steps.slice(0, -1);
      return i < k ? sha(new Uint8Array([1]), LABEL, await climb(i, k, rest), sib)
                   : sha(new Uint8Array([1]), LABEL, sib, await climb(i - k, n - k, rest));
    }
    try { return tohex(await climb(proof.index, size, path)) === rootHex; } catch (e) { return false; }
  }
  const proofLink = $("proof-link");
  if (proofLink) proofLink.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const r = await fetch(proofLink.href, {credentials: "same-origin"});
    const proof = await r.json();
    if (!r.ok || !state || !state.merkle) { say(proof.error ? proof.error.message : "—", "error"); return; }
    const ok = await verifyInclusion(proof, state.merkle.root, state.merkle.size);
    say(ok ? t.proof_ok : t.proof_bad, ok ? "success" : "error");
  });
  window.GGZY = window.GGZY || {};
  window.GGZY.merkle = {verifyInclusion: verifyInclusion};

  // --- the user's actions -------------------------------------------------------------
  const on = (id, fn) => { const el = $(id); if (el) el.addEventListener("click", fn); };
  on("btn-signin", () => send({type: "signin"}));
  on("btn-confirm", () => send({type: "confirm", remark: $("remark").value}));
  on("btn-share", () => {
    try { send({type: "share", share: JSON.parse($("share").value)}); }
    catch (e) { say(String(e.message || e), "error"); }
  });
  // --- the custodian panel: decrypt this custodian's shares here, hand them over ---------
  // Format v2 (crypto/custody.py): the custodian's key file is read in this browser, each
  // pending bid's share is decrypted and checked against the bidder's commitment here, and
  // only the shares go to the hall. Legacy v1 bids need the command-line tool
  // (python -m ggzy_bid hall-share), which also decrypts the legacy opening-key share.
  const shareBox = $("share-box");
  if (shareBox && role === "custodian") {
    const panel = document.createElement("div");
    panel.id = "custodian-panel";
    panel.innerHTML =
      `<div class="field"><label for="custodian-key">${esc(t.custodian_key || "Your custodian key file (PEM)")}</label>` +
      `<input type="file" id="custodian-key" accept=".key,.pem"></div>` +
      `<div class="field"><label for="custodian-pass">${esc(t.passphrase || "Passphrase")}</label>` +
      `<input type="password" id="custodian-pass" autocomplete="off"></div>` +
      `<button class="btn" id="btn-custodian-shares" type="button">${esc(t.custodian_shares || "Decrypt my shares here and hand them over")}</button>`;
    shareBox.prepend(panel);
    on("btn-custodian-shares", async () => {
      try {
        const G = window.GGZY;
        const file = $("custodian-key").files[0];
        if (!file) { say(t.no_key || "Choose your custodian key file first.", "error"); return; }
        const pair = await G.bidkeys.importPem(await file.text(), $("custodian-pass").value);
        const r = await fetch(`/api/tenders/${tenderId}/opening/my-share/`, {credentials: "same-origin"});
        const body = await r.json();
        if (!r.ok) { say(body.error ? body.error.message : r.statusText, "error"); return; }
        const unb64 = G.bidkeys.util.unb64, b64 = G.bidkeys.util.b64;
        const out = {v: 2, bids: {}};
        const skipped = [];
        for (const item of body.pending || []) {
          if (item.version !== G.envelope.VERSION_CUSTODY) continue;
          try {
            const bid = await G.envelope.unwrapShare(unb64(item.bid_header), pair);
            const sheet = await G.envelope.unwrapShare(unb64(item.price_sheet), pair);
            out.bids[item.sha256] = {x: bid.x, envelope: b64(bid.share), price_sheet: b64(sheet.share)};
          } catch (e) {
            skipped.push(item.sha256.slice(0, 16) + ": " + (e.message || e));
          }
        }
        if ($("share")) $("share").value = JSON.stringify(out);
        send({type: "share", share: out});
        if (skipped.length) say(skipped.join("; "), "warning");
      } catch (e) {
        say(String(e.message || e), "error");
      }
    });
  }

  const objectionForm = $("objection-form");
  if (objectionForm) objectionForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    send({type: "objection", text: $("objection-text").value});
    $("objection-text").value = "";
  });
  // --- the bidder's key: does this browser hold the key the bid was sealed with? --------
  // The bid's envelope header names the fingerprint of the bidder's key; the browser knows
  // its own. Say in plain words what is wrong and what to do before the window, not after.
  const KS = {};
  document.querySelectorAll("#hall-key-strings [data-s]").forEach((el) => { KS[el.dataset.s] = el.textContent.trim(); });
  function ks(key, params) {
    let s = KS[key] || key;
    for (const [k, v] of Object.entries(params || {})) s = s.split("%(" + k + ")s").join(String(v));
    return s;
  }
  function fpShort(fp) { return String(fp).slice(0, 16).toUpperCase().match(/.{1,4}/g).join(":"); }
  let keyCheck = null;  // {sealed: [hex fingerprints of the bid's bidder stanzas], browser: hex | null}
  let keyCheckStarted = false;

  async function checkBidKey() {
    const G = window.GGZY;
    if (keyCheckStarted || !G || !G.envelope || !G.bidkeys || !$("key-check")) return;
    keyCheckStarted = true;
    try {
      const r = await fetch(`/api/tenders/${tenderId}/bids/mine/headers/`, {credentials: "same-origin"});
      if (!r.ok) return;  // no bid: nothing to open
      const body = await r.json();
      const h = G.envelope.parseHeader(G.bidkeys.util.unb64(body.bid_header));
      const sealed = h.stanzas.filter((x) => x.label === "bidder").map((x) => G.bidkeys.util.hex(x.fingerprint));
      if (!sealed.length) return;
      const rec = await G.bidkeys.load(root.dataset.bidderId).catch(() => null);
      keyCheck = {sealed: sealed, browser: rec ? rec.fingerprint : null};
      renderKeyCheck();
    } catch (e) {
      keyCheckStarted = false;  // try again with the next state
    }
  }

  /** The key check in words; ``file`` = {fingerprint} of a backup file just chosen. */
  function renderKeyCheck(file) {
    const box = $("key-check");
    if (!box || !keyCheck) return;
    const need = fpShort(keyCheck.sealed[0]);
    let ok, text;
    if (file) {
      ok = keyCheck.sealed.includes(file.fingerprint);
      text = ok ? ks("fileMatches") : ks("fileOther", {have: fpShort(file.fingerprint), need: need});
    } else if (keyCheck.browser && keyCheck.sealed.includes(keyCheck.browser)) {
      ok = true;
      text = ks("keyOk");
    } else {
      ok = false;
      text = keyCheck.browser ? ks("keyOther", {have: fpShort(keyCheck.browser), need: need}) : ks("keyNone", {need: need});
    }
    box.hidden = false;
    box.className = "msg " + (ok ? "msg-success" : "msg-warning");
    box.dataset.state = ok ? "ok" : (file ? "other-file" : (keyCheck.browser ? "other-key" : "no-key"));
    $("key-check-text").textContent = text;
    $("key-check-todo").hidden = ok || !!file;
    $("key-check-fallback").hidden = ok;
  }

  const keyFileInput = $("keyfile");
  if (keyFileInput) keyFileInput.addEventListener("change", async () => {
    const file = keyFileInput.files[0];
    const doc = file && window.GGZY && window.GGZY.bidkeys.readBackup(await file.text());
    if (doc && keyCheck) renderKeyCheck({fingerprint: String(doc.fingerprint).toLowerCase()});
    else renderKeyCheck();
  });

  function decryptError(e) {
    const G = window.GGZY;
    if (G.bidkeys.KeyFileError && e instanceof G.bidkeys.KeyFileError) {
      return e.code === "passphrase" ? ks("wrongPass") : ks("notKeyFile") + " (" + e.message + ")";
    }
    return String(e.message || e);
  }

  on("btn-decrypt", async () => {
    try {
      const G = window.GGZY;
      const bidderId = root.dataset.bidderId;
      let pair = await G.bidkeys.load(bidderId);
      const file = $("keyfile").files[0];
      if (file) pair = await G.bidkeys.importPem(await file.text(), $("passphrase").value);
      if (!pair) { say(t.no_key, "error"); return; }
      if (keyCheck) {
        // Not the key the bid was sealed with: say so plainly instead of failing inside the envelope.
        const fp = pair.fingerprint || G.bidkeys.util.hex(new Uint8Array(
          await crypto.subtle.digest("SHA-256", await G.bidkeys.publicRaw(pair))));
        if (!keyCheck.sealed.includes(fp)) {
          renderKeyCheck(file ? {fingerprint: fp} : undefined);
          say(file ? ks("fileOther", {have: fpShort(fp), need: fpShort(keyCheck.sealed[0])})
            : ks(keyCheck.browser ? "keyOther" : "keyNone", {have: fpShort(fp), need: fpShort(keyCheck.sealed[0])}), "error");
          return;
        }
      }
      const r = await fetch(`/api/tenders/${tenderId}/bids/mine/headers/`, {credentials: "same-origin"});
      const body = await r.json();
      if (!r.ok) { say(body.error ? body.error.message : r.statusText, "error"); return; }
      const unb64 = G.bidkeys.util.unb64, hex = G.bidkeys.util.hex;
      const bidKey = await G.envelope.unwrapDataKey(unb64(body.bid_header), pair, "bidder");
      const sheetKey = await G.envelope.unwrapDataKey(unb64(body.price_sheet), pair, "bidder");
      send({type: "decrypt", bid_key: hex(bidKey), price_sheet_key: hex(sheetKey)});
    } catch (e) {
      say(decryptError(e), "error");
    }
  });
})();
