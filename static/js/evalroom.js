/* The evaluation room (bidding/evaluation/templates/evaluation): live progress over
 * /ws/tenders/<id>/evaluation/, autosave of the member's sheet through the REST API
 * (every few seconds while typing and on leaving a field), resuming the saved draft
 * after a lost connection, and signing the report with the member's key in this
 * browser. Every page works without this script: the forms post normally.
 * Nothing lives here: the server keeps the drafts and sends the progress snapshot on
 * every (re)connect. */
(function () {
  "use strict";
  const root = document.getElementById("room");
  if (!root) return;
  const tenderId = root.dataset.tender;
  const i18nEl = document.getElementById("room-i18n");
  const t = i18nEl ? JSON.parse(i18nEl.textContent) : {};
  const $ = (id) => document.getElementById(id);
  const fmt = (s, args) => String(s || "").replace(/%\((\w+)\)s/g, (m, k) => (args[k] == null ? "" : args[k]));
  // A time of day in the trading centre's zone (base.html's data-time-zone), not the browser's.
  const hms = (iso) => new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    timeZone: document.body.dataset.timeZone || undefined}).format(new Date(iso));
  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  async function api(method, url, body) {
    const r = await fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) {
      const err = new Error((data && data.error && data.error.message) || (data && data.detail) || r.statusText);
      err.data = data; err.status = r.status;
      throw err;
    }
    return data;
  }

  // -- live progress ---------------------------------------------------------------------

  const table = $("progress-table");
  const stageNames = {};
  if (table) table.querySelectorAll("thead th[data-stage] .stage-name").forEach((el) => { stageNames[el.parentNode.dataset.stage] = el.textContent; });

  function renderProgress(p) {
    if (!table || !p) return;
    const head = table.querySelector("thead tr");
    const cells = p.stages.map((st) => {
      const th = document.createElement("th");
      th.scope = "col"; th.dataset.stage = st;
      const name = document.createElement("span");
      name.className = "stage-name"; name.textContent = stageNames[st] || st;
      th.appendChild(name);
      if (p.locked.indexOf(st) >= 0) { const b = document.createElement("span"); b.className = "badge badge-draft"; b.textContent = t.locked; th.append(" ", b); }
      return th;
    });
    while (head.children.length > 1) head.removeChild(head.lastChild);
    cells.forEach((c) => head.appendChild(c));
    const tbody = table.querySelector("tbody");
    tbody.textContent = "";
    p.members.forEach((m) => {
      const tr = document.createElement("tr");
      tr.dataset.member = m.label;
      if (!m.active) tr.className = "muted";
      const th = document.createElement("th");
      th.scope = "row"; th.textContent = m.label;
      if (m.is_chair) { const b = document.createElement("span"); b.className = "badge badge-published"; b.textContent = t.chair; th.append(" ", b); }
      if (!m.active) { const b = document.createElement("span"); b.className = "badge badge-failed"; b.textContent = t.replaced; th.append(" ", b); }
      tr.appendChild(th);
      p.stages.forEach((st) => {
        const td = document.createElement("td");
        const state = m.stages[st];
        td.dataset.stage = st;
        td.className = "state-" + (state || "none");
        td.textContent = state === "submitted" ? "✓ " + t.submitted : state === "draft" ? t.draft : "—";
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    const counts = $("progress-counts");
    if (counts) counts.textContent = p.stages.map((st) => `${stageNames[st] || st}: ${p.counts[st].submitted}/${p.counts[st].active}`).join(" · ");
  }

  function setConn(on, text) {
    const dot = $("room-conn");
    if (dot) dot.className = "live-dot" + (on ? " on" : "");
    const el = $("room-conn-text");
    if (el) el.textContent = text || "";
  }

  let everOpen = false;
  function connect() {
    if (!("WebSocket" in window) || root.dataset.live !== "1") return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws/tenders/${tenderId}/evaluation/`);
    let retry = 1000;
    ws.onopen = () => {
      setConn(true, t.connected);
      if (everOpen) resume(); // back after a lost connection: the server's draft wins
      everOpen = true;
      retry = 1000;
    };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "evaluation.progress") {
        renderProgress(msg.progress);
        const stage = $("room-stage");
        if (stage && msg.kind === "locked") stage.dataset.changed = "1";
      }
    };
    ws.onclose = (ev) => {
      setConn(false, ev.code === 4403 ? "" : t.reconnecting);
      if (ev.code === 4403) return;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  connect();

  // -- the sheet: autosave and resume ---------------------------------------------------------

  const form = $("sheet-form");
  const saveState = $("save-state");
  let dirty = false, saving = false, again = false, timer = null;

  function say(text, bad) {
    if (!saveState) return;
    saveState.textContent = text;
    saveState.className = "sub" + (bad ? " error" : "");
  }

  function collect() {
    const entries = {};
    const stage = root.dataset.stage;
    form.querySelectorAll("[data-bid]").forEach((box) => {
      const key = box.dataset.bid;
      if (stage === "qualification") {
        const criteria = {};
        box.querySelectorAll("input[type=radio]:checked").forEach((r) => {
          const n = r.name.slice(("q-" + key + "-").length);
          const reason = form.elements["r-" + key + "-" + n];
          criteria[n] = { passed: r.value === "pass", reason: reason ? reason.value.trim() : "" };
        });
        const rr = form.elements["rr-" + key];
        const rejections = Array.from(box.querySelectorAll(`input[name="rej-${key}"]:checked`)).map(
          (c) => ({ code: c.value, reason: rr ? rr.value.trim() : "" }));
        entries[key] = { criteria: criteria, rejections: rejections };
      } else {
        const row = {};
        box.querySelectorAll("input[type=number]").forEach((inp) => {
          const n = inp.name.slice(("s-" + key + "-").length);
          row[n] = inp.value.trim();
        });
        entries[key] = row;
      }
    });
    return entries;
  }

  function fill(entries) {
    const stage = root.dataset.stage;
    Object.keys(entries || {}).forEach((key) => {
      const row = entries[key];
      if (stage === "qualification") {
        Object.keys(row.criteria || {}).forEach((n) => {
          const v = row.criteria[n];
          const radio = form.querySelector(`input[name="q-${key}-${n}"][value="${v.passed ? "pass" : "fail"}"]`);
          if (radio) radio.checked = true;
          const reason = form.elements["r-" + key + "-" + n];
          if (reason) reason.value = v.reason || "";
        });
        const codes = (row.rejections || []).map((r) => r.code);
        form.querySelectorAll(`input[name="rej-${key}"]`).forEach((c) => { c.checked = codes.indexOf(c.value) >= 0; });
        const rr = form.elements["rr-" + key];
        if (rr && row.rejections && row.rejections.length) rr.value = row.rejections[0].reason || "";
      } else {
        Object.keys(row).forEach((n) => {
          const inp = form.elements["s-" + key + "-" + n];
          if (inp) inp.value = row[n];
        });
      }
    });
  }

  async function save() {
    if (!form || !dirty) return;
    if (saving) { again = true; return; } // saved once the current request is answered
    saving = true;
    dirty = false;
    form.dataset.saved = "0";
    say(t.saving);
    try {
      const view = await api("PUT", form.dataset.api, { entries: collect() });
      form.querySelectorAll(".bad").forEach((el) => el.classList.remove("bad"));
      say(fmt(t.saved_at, { t: hms(view.saved_at) }));
    } catch (err) {
      if (!err.status) dirty = true; // offline: saved again when the connection returns
      say(err.status ? fmt(t.not_saved, { m: err.message }) : t.offline, true);
    } finally {
      saving = false;
    }
    const now = again;
    again = false;
    if (dirty) {
      clearTimeout(timer);
      if (now) { save(); return; } // a field was left while saving: save it right away
      timer = setTimeout(save, 3000);
    } else {
      form.dataset.saved = "1";
    }
  }

  async function resume() {
    if (!form || !form.dataset.api) return;
    if (dirty) { save(); return; } // typed while offline: this page's values are newer
    try {
      const view = await api("GET", form.dataset.api);
      if (view.submitted_at) { location.reload(); return; }
      fill(view.entries);
      if (view.saved_at) say(fmt(t.restored, { t: hms(view.saved_at) }));
    } catch (err) { /* the next reconnect tries again */ }
  }

  if (form && form.dataset.api && !form.querySelector("fieldset[disabled]")) {
    const touch = () => {
      dirty = true;
      form.dataset.saved = "0";
      clearTimeout(timer);
      timer = setTimeout(save, 3000);
    };
    form.addEventListener("input", touch);
    form.addEventListener("change", touch);
    form.addEventListener("focusout", () => { if (dirty) { clearTimeout(timer); save(); } });
    window.addEventListener("online", resume);
    form.addEventListener("submit", () => { dirty = false; clearTimeout(timer); });
    window.addEventListener("beforeunload", () => {
      if (!dirty) return;
      // Best effort on leaving: the draft goes out with the page.
      fetch(form.dataset.api, { method: "PUT", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ entries: collect() }) });
    });
  }

  // -- the report: sign with the member's key -------------------------------------------------

  const signBox = $("sign-box");
  if (signBox) {
    const msg = $("sign-msg");
    const show = (text, kind) => { msg.hidden = false; msg.className = "msg msg-" + kind; msg.textContent = text; };
    $("btn-sign").addEventListener("click", async () => {
      const file = $("sign-key").files[0];
      if (!file) { show(t.need_key, "error"); return; }
      try {
        // One browser signing implementation (signing.js); the label is the server's.
        const signed = await window.GGZY.signing.signWithKeyFile(
          file, $("sign-pass").value, signBox.dataset.label, signBox.dataset.message);
        await api("POST", signBox.dataset.api, { signature: signed.signature, dissent: $("sign-dissent").value });
        show(t.signed, "success");
        setTimeout(() => location.reload(), 800);
      } catch (err) {
        show(fmt(t.sign_failed, { m: err.message }), "error");
      }
    });
  }
})();
