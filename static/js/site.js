/* Small progressive enhancements. Pages work without this script. */
(function () {
  "use strict";
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
