/* The award page's price round (second sealed price round): a countdown, live updates
 * from the opening hall's websocket (/ws/openings/<id>/: the hall.state snapshot carries
 * "price_round", then price_round.* events), and a candidate handing over its sheet's
 * data key, unwrapped in this browser with its bid key (envelope.js, bidkeys.js).
 * The section is rendered by the server; on a structural change it is fetched again. */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = $("price-round-i18n");
  if (!$("price-round") || !data) return;
  const t = JSON.parse(data.textContent);
  const tenderId = $("price-round").dataset.tender;
  let skew = 0;
  let ws = null;
  let retry = 500;

  function say(text, kind) {
    const el = $("pr-msg");
    if (!el) return;
    el.hidden = false;
    el.className = "msg msg-" + (kind || "info");
    el.textContent = text;
  }

  function countdown() {
    const now = Date.now() + skew;
    document.querySelectorAll("#price-round [data-countdown]").forEach((el) => {
      const s = Math.max(0, Math.floor((new Date(el.dataset.countdown) - now) / 1000));
      const d = Math.floor(s / 86400);
      const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60]
        .map((n) => String(n).padStart(2, "0")).join(":");
      el.textContent = (d ? d + "d " : "") + hms;
    });
  }
  setInterval(countdown, 1000);
  countdown();

  // Fetch this page again and swap in the fresh section (one rendering path: the server's).
  async function refresh() {
    const r = await fetch(location.href, {credentials: "same-origin"});
    if (!r.ok) return;
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const fresh = doc.getElementById("price-round");
    const old = $("price-round");
    if (fresh && old) {
      const live = $("pr-conn") && $("pr-conn").className;
      old.replaceWith(fresh);
      if ($("pr-conn") && live) $("pr-conn").className = live;
      countdown();
    }
  }

  function apply(msg) {
    if (msg.type === "hall.state") {
      if (msg.server_time) skew = new Date(msg.server_time) - Date.now();
      const pr = msg.price_round;
      const shown = $("price-round");
      if (pr && shown && (pr.phase !== shown.dataset.phase ||
          String(pr.counters.offers) !== ($("pr-offers") || {}).textContent)) refresh();
    } else if (msg.type === "price_round.counters") {
      if ($("pr-offers") && msg.counters) $("pr-offers").textContent = msg.counters.offers;
      refresh();
    } else if (typeof msg.type === "string" && msg.type.startsWith("price_round.")) {
      refresh();
    }
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}/ws/openings/${tenderId}/`);
    ws.onopen = () => {
      retry = 500;
      const dot = $("pr-conn");
      if (dot) { dot.className = "live-dot on"; dot.setAttribute("aria-label", t.connected); }
    };
    ws.onmessage = (ev) => { try { apply(JSON.parse(ev.data)); } catch (e) { /* ignore */ } };
    ws.onclose = (ev) => {
      const dot = $("pr-conn");
      if (dot) { dot.className = "live-dot"; dot.setAttribute("aria-label", t.reconnecting); }
      if (ev.code === 4403 || ev.code === 4404) return;  // not a participant of this hall
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }
  if (window.WebSocket) connect();

  // A candidate hands over its sheet's data key (delegated: the section may be replaced).
  document.addEventListener("submit", async (ev) => {
    if (!ev.target || ev.target.id !== "pr-key-form") return;
    ev.preventDefault();
    const form = ev.target;
    const button = $("pr-decrypt");
    try {
      const G = window.GGZY;
      let pair = null;
      const file = $("pr-keyfile").files[0];
      if (file) pair = await G.bidkeys.importPem(await file.text(), $("pr-pass").value);
      else pair = await G.bidkeys.load($("price-round").dataset.bidderId);
      if (!pair) { say(t.noKey, "error"); return; }
      button.disabled = true;
      say(t.working);
      const base = `/api/tenders/${tenderId}/award/price-round/`;
      const r = await fetch(base + "mine/", {credentials: "same-origin"});
      const mine = await r.json();
      if (!r.ok) throw new Error(mine.error ? mine.error.message : r.statusText);
      const key = await G.envelope.unwrapDataKey(G.bidkeys.util.unb64(mine.price_sheet), pair, "bidder");
      const post = await fetch(base + "decrypt/", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json",
                  "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value},
        body: JSON.stringify({price_sheet_key: G.bidkeys.util.hex(key)}),
      });
      const body = await post.json();
      if (!post.ok) throw new Error(body.error ? body.error.message : post.statusText);
      await refresh();
      say(t.done, "success");
    } catch (e) {
      say(t.failed + " " + (e && e.message ? e.message : e), "error");
      if (button) button.disabled = false;
    }
  });
})();
