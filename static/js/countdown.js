/* Countdowns from the server's clock, not the browser's.
 *
 * The server renders (core/templatetags/platform_tags.py, {% countdown %}):
 *   <span class="clock-countdown" data-deadline="ISO" data-server-now="ISO"
 *         data-clock-url="/api/clock/" data-text="%(left)s until …" data-over="…"
 *         data-day="%(n)s day" data-days="%(n)s days">
 *     <span class="countdown" aria-live="off" aria-hidden="true"></span>
 *     <span class="countdown-static">The bid deadline is 2026-12-07 09:30 CST.</span>
 *   </span>
 * The skew between the server's and the browser's clocks is measured once from
 * data-server-now (taken when the page was rendered, so it errs by the page's load time at
 * most), then corrected from GET data-clock-url (half the round trip added) and again
 * every five minutes and when the tab comes back. The ticking text is hidden from screen
 * readers, who read the static sentence; without this script the static sentence shows.
 */
(function () {
  "use strict";
  const boxes = Array.from(document.querySelectorAll(".clock-countdown[data-deadline][data-server-now]"));
  if (!boxes.length) return;

  const loaded = Date.now();
  // server time = browser time + skew
  let skew = new Date(boxes[0].dataset.serverNow).getTime() - loaded;
  if (!Number.isFinite(skew)) skew = 0;

  const pad = (n) => String(n).padStart(2, "0");
  function left(ms, box) {
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400);
    const hms = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    if (!d) return hms;
    const days = (d === 1 ? box.dataset.day : box.dataset.days) || "%(n)s d";
    return `${days.replace("%(n)s", d)} ${hms}`;
  }

  function tick() {
    const now = Date.now() + skew;
    boxes.forEach((box) => {
      const out = box.querySelector(".countdown");
      if (!out) return;
      const ms = new Date(box.dataset.deadline).getTime() - now;
      out.textContent = ms > 0 ? (box.dataset.text || "%(left)s").replace("%(left)s", left(ms, box))
        : (box.dataset.over || "");
    });
  }

  // The static sentence stays for screen readers but leaves the screen (visually hidden).
  boxes.forEach((box) => {
    const still = box.querySelector(".countdown-static");
    if (still) {
      Object.assign(still.style, {position: "absolute", width: "1px", height: "1px", overflow: "hidden",
        clip: "rect(0 0 0 0)", clipPath: "inset(50%)", whiteSpace: "nowrap", margin: "-1px", padding: "0", border: "0"});
    }
  });

  function resync() {
    const url = boxes[0].dataset.clockUrl;
    if (!url || !window.fetch) return;
    const sent = Date.now();
    fetch(url, {cache: "no-store", credentials: "same-origin", headers: {Accept: "application/json"}})
      .then((r) => (r.ok ? r.json() : null))
      .then((body) => {
        if (!body || !body.now) return;
        const got = Date.now();
        const server = new Date(body.now).getTime();
        if (Number.isFinite(server)) skew = server + (got - sent) / 2 - got;
        tick();
      })
      .catch(() => { /* keep the last skew */ });
  }

  // Times written by other scripts read like the server's (core/timefmt.py):
  // window.platformTime.human(iso, seconds) -> "2026-12-07 09:30 北京时间" / "… CST".
  const zone = boxes[0].dataset.zone;
  const zoneLabel = boxes[0].dataset.zoneLabel;
  window.platformTime = {
    now: () => new Date(Date.now() + skew),
    human(iso, seconds) {
      const at = new Date(iso);
      if (!iso || isNaN(at)) return iso || "";
      const opts = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
        hourCycle: "h23", timeZone: zone || undefined};
      if (seconds) opts.second = "2-digit";
      if (!zoneLabel) opts.timeZoneName = "short";
      const p = {};
      new Intl.DateTimeFormat("en-US", opts).formatToParts(at).forEach((x) => { p[x.type] = x.value; });
      const clock = `${p.hour}:${p.minute}${seconds ? ":" + p.second : ""}`;
      return `${p.year}-${p.month}-${p.day} ${clock} ${zoneLabel || p.timeZoneName || ""}`.trim();
    },
  };

  tick();
  setInterval(tick, 1000);
  resync();
  setInterval(resync, 5 * 60 * 1000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) resync(); });
})();
