/* Small progressive enhancements. Pages work without this script. */
(function () {
  "use strict";
  // Countdown to the bid deadline: <span class="countdown" data-deadline="ISO">.
  function fmt(ms) {
    if (ms <= 0) return null;
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
      m = Math.floor((s % 3600) / 60), sec = s % 60;
    const zh = document.documentElement.lang.startsWith("zh");
    return zh ? `${d} 天 ${h} 时 ${m} 分 ${sec} 秒` : `${d}d ${h}h ${m}m ${sec}s`;
  }
  const counters = document.querySelectorAll(".countdown[data-deadline]");
  if (counters.length) {
    const tick = () => counters.forEach((el) => {
      const text = fmt(new Date(el.dataset.deadline) - Date.now());
      el.textContent = text || el.dataset.passed || "";
    });
    tick();
    setInterval(tick, 1000);
  }
  // Live status of a tender: <div data-tender-feed="ID"> with [data-status] inside.
  const feed = document.querySelector("[data-tender-feed]");
  if (feed && "WebSocket" in window) {
    let retry = 1000;
    const connect = () => {
      const proto = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${proto}://${location.host}/ws/tenders/${feed.dataset.tenderFeed}/`);
      ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (msg.type !== "tender.state") return;
        const badge = feed.querySelector("[data-status]");
        if (badge && badge.dataset.status !== msg.status) {
          badge.dataset.status = msg.status;
          badge.className = "badge badge-" + msg.status;
          badge.textContent = msg.status_label;
          const live = document.getElementById("live-region");
          if (live) live.textContent = msg.status_label;
        }
        retry = 1000;
      };
      ws.onclose = (ev) => {
        // 4404: no such tender for you (a draft, or gone): reconnecting will not help.
        if (ev.code === 4404 || ev.code === 4403) return;
        setTimeout(connect, retry); retry = Math.min(retry * 2, 30000);
      };
    };
    connect();
  }
})();
