/* Phones: every data table becomes a stack of cards below 600 px (static/css/site.css,
   "table.cards"). Each cell is labelled with its column heading, and the ARIA roles keep
   the table's meaning for screen readers once CSS stops displaying it as a table.
   A table opts out with data-no-cards. Without this script tables scroll inside their
   container instead. */
(function () {
  "use strict";
  function headings(table) {
    const row = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!row) return null;
    const labels = [];
    for (const th of row.cells) {
      const span = th.colSpan || 1;
      for (let i = 0; i < span; i++) labels.push(th.textContent.trim());
    }
    return labels;
  }
  function cardify(table) {
    if (table.dataset.noCards !== undefined || table.classList.contains("cards")) return;
    const labels = headings(table);
    if (!labels || labels.length < 2) return;
    table.setAttribute("role", "table");
    for (const section of [table.tHead, ...table.tBodies, table.tFoot]) {
      if (!section) continue;
      section.setAttribute("role", "rowgroup");
      for (const tr of section.rows) {
        tr.setAttribute("role", "row");
        let col = 0;
        for (const cell of tr.cells) {
          const header = cell.tagName === "TH" && section === table.tHead;
          cell.setAttribute("role", header ? "columnheader" : (cell.tagName === "TH" ? "rowheader" : "cell"));
          // A cell spanning the whole row (an empty list's message) needs no label.
          const whole = (cell.colSpan || 1) >= labels.length;
          if (!header && !cell.hasAttribute("data-label")) cell.dataset.label = whole ? "" : (labels[col] || "");
          col += cell.colSpan || 1;
        }
      }
    }
    table.classList.add("cards");
  }
  function all(root) { root.querySelectorAll("table").forEach(cardify); }
  all(document);
  // Tables drawn later by the pages' own scripts (the hall, the evaluation room).
  if ("MutationObserver" in window) {
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const node of change.addedNodes) {
          if (node.nodeType !== 1) continue;
          if (node.tagName === "TABLE") cardify(node);
          else if (node.tagName === "TR") { const t = node.closest("table"); if (t) { t.classList.remove("cards"); cardify(t); } }
          else all(node);
        }
      }
    }).observe(document.body, { childList: true, subtree: true });
  }
})();
