"""Charts drawn on the server as inline SVG (no JavaScript, nothing fetched: the page's
CSP allows only same-origin scripts, and a supervisor's chart must not depend on a CDN)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD = 640, 170, 48


def _money(v: float) -> str:
    return f"{v:,.2f}"


def price_distribution_svg(prices: list[float], *, max_price: float | None = None,
                           flagged: set[int] | None = None) -> SafeString:
    """A strip chart of a tender's announced prices: one dot per bid on a price axis,
    the maximum price as a dashed line, bids named by flags in red. Every text is escaped."""
    flagged = flagged or set()
    title = _("Price distribution of the opened bids")
    if not prices:
        empty = _("No announced prices.")  # outside the f-string, where makemessages sees it
        return mark_safe(
            f'<svg class="price-chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {WIDTH} 40" width="{WIDTH}" height="40" style="display:block">'
            f'<text x="8" y="24" fill="#5b6773">{escape(empty)}</text></svg>')
    values = list(prices) + ([max_price] if max_price else [])
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo * 0.98 or -1.0, hi * 1.02 or 1.0
    span = hi - lo

    def x(v: float) -> float:
        return PAD + (v - lo) / span * (WIDTH - 2 * PAD)

    axis_y = HEIGHT - 46
    parts = [
        f'<svg class="price-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" style="display:block;max-width:100%;height:auto;background:#fff">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{axis_y}" x2="{WIDTH - PAD}" y2="{axis_y}" stroke="#1f2933"/>',
    ]
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(f'<line x1="{x(v):.1f}" y1="{axis_y}" x2="{x(v):.1f}" y2="{axis_y + 5}" '
                     f'stroke="#1f2933"/><text x="{x(v):.1f}" y="{axis_y + 20}" '
                     f'font-size="11" text-anchor="middle" fill="#5b6773">'
                     f"{escape(_money(v))}</text>")
    if max_price:
        mx = x(max_price)
        label = _("Maximum price")
        parts.append(f'<line x1="{mx:.1f}" y1="14" x2="{mx:.1f}" y2="{axis_y}" '
                     f'stroke="#b71c1c" stroke-dasharray="4 3"/><text x="{mx:.1f}" y="11" '
                     f'font-size="11" text-anchor="end" fill="#b71c1c">'
                     f'{escape(label)} {escape(_money(max_price))}</text>')
    # Equal prices are stacked upwards so that every bid stays visible.
    seen: dict[str, int] = {}
    for i, v in enumerate(sorted(prices)):
        key = f"{v:.2f}"
        level = seen.get(key, 0)
        seen[key] = level + 1
        cy = axis_y - 12 - level * 14
        colour = "#b71c1c" if i in flagged else "#0b3d91"
        parts.append(f'<circle class="bid-dot" cx="{x(v):.1f}" cy="{cy}" r="6" '
                     f'fill="{colour}" fill-opacity="0.8"><title>{escape(_money(v))}'
                     f"</title></circle>")
    count = _("%(n)s bids") % {"n": len(prices)}
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="11" fill="#5b6773">'
                 f'{escape(count)}</text></svg>')
    return mark_safe("".join(parts))


# Group colours of the network chart (colour-blind-safe palette); bidders in no
# suspicious group are grey.
GROUP_COLOURS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
NET_WIDTH, NET_HEIGHT = 800, 640


def network_svg(nodes: list[dict], edges: list[dict]) -> SafeString:
    """The co-bidding network: bidders on a circle (sorted by credit code, so the same
    market always draws the same picture), a line per pair that bid together (wider for
    more joint tenders), bidders of a suspicious group in the group's colour. Every
    label is escaped."""
    import math

    title = _("Co-bidding network")
    if not nodes:
        empty = _("No opened tender yet.")
        return mark_safe(
            f'<svg class="network-chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {NET_WIDTH} 40" width="{NET_WIDTH}" height="40" '
            f'style="display:block"><text x="8" y="24" fill="#5b6773">'
            f'{escape(empty)}</text></svg>')
    cx0, cy0 = NET_WIDTH / 2, NET_HEIGHT / 2
    radius = NET_HEIGHT / 2 - 90  # room for the labels outside the circle
    order = sorted(nodes, key=lambda n: str(n["id"]))
    pos = {}
    for i, n in enumerate(order):
        angle = 2 * math.pi * i / len(order) - math.pi / 2
        pos[n["id"]] = (cx0 + radius * math.cos(angle), cy0 + radius * math.sin(angle), angle)
    top = max((e["weight"] for e in edges), default=1) or 1
    parts = [
        f'<svg class="network-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {NET_WIDTH} {NET_HEIGHT}" '
        f'width="{NET_WIDTH}" height="{NET_HEIGHT}" '
        f'style="display:block;max-width:100%;height:auto;background:#fff">',
        f"<title>{escape(title)}</title>",
    ]
    for e in edges:
        if e["a"] not in pos or e["b"] not in pos:
            continue
        (x1, y1, _a), (x2, y2, _b) = pos[e["a"]], pos[e["b"]]
        width = 0.8 + 5 * e["weight"] / top
        label = _("%(n)s tenders together") % {"n": e["weight"]}
        parts.append(f'<line class="cobid-edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" '
                     f'y2="{y2:.1f}" stroke="#7b8794" stroke-opacity="0.6" '
                     f'stroke-width="{width:.1f}"><title>{escape(label)}</title></line>')
    for n in order:
        x, y, angle = pos[n["id"]]
        group = n.get("group")
        colour = "#9aa5b1" if group is None else GROUP_COLOURS[group % len(GROUP_COLOURS)]
        name = str(n.get("name") or n["id"])
        short = name if len(name) <= 16 else name[:15] + "…"
        lx, ly = x + 12 * math.cos(angle), y + 12 * math.sin(angle)
        anchor = "start" if math.cos(angle) >= 0 else "end"
        tip = f"{name} · {n['id']} · " + _("%(n)s tenders") % {"n": n.get("tenders", 0)}
        parts.append(
            f'<g class="bidder-node"><circle cx="{x:.1f}" cy="{y:.1f}" r="7" '
            f'fill="{colour}" stroke="#1f2933" stroke-width="0.8"><title>{escape(tip)}'
            f'</title></circle><text x="{lx:.1f}" y="{ly + 4:.1f}" font-size="11" '
            f'text-anchor="{anchor}" fill="#1f2933">{escape(short)}</text></g>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def flags_by_month_svg(counts: list[tuple[str, int]]) -> SafeString:
    """Flags over time: one bar per month (``YYYY-MM``, oldest first) with its count."""
    title = _("Flags over time")
    if not counts:
        empty = _("No flags yet.")
        return mark_safe(
            f'<svg class="flags-chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {WIDTH} 40" width="{WIDTH}" height="40" style="display:block">'
            f'<text x="8" y="24" fill="#5b6773">{escape(empty)}</text></svg>')
    height = 180
    base = height - 30
    top = max(n for _m, n in counts) or 1
    slot = (WIDTH - 2 * PAD) / len(counts)
    bar = max(4.0, min(40.0, slot * 0.7))
    parts = [
        f'<svg class="flags-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" style="display:block;max-width:100%;height:auto;background:#fff">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - PAD}" y2="{base}" stroke="#1f2933"/>',
    ]
    every = max(1, len(counts) // 12)  # at most about twelve month labels
    for i, (month, n) in enumerate(counts):
        cx = PAD + slot * (i + 0.5)
        h = (base - 20) * n / top
        parts.append(f'<rect class="month-bar" x="{cx - bar / 2:.1f}" y="{base - h:.1f}" '
                     f'width="{bar:.1f}" height="{h:.1f}" fill="#0b3d91">'
                     f'<title>{escape(month)}: {n}</title></rect>')
        if n:
            parts.append(f'<text x="{cx:.1f}" y="{base - h - 4:.1f}" font-size="10" '
                         f'text-anchor="middle" fill="#1f2933">{n}</text>')
        if i % every == 0:
            parts.append(f'<text x="{cx:.1f}" y="{base + 16}" font-size="11" '
                         f'text-anchor="middle" fill="#5b6773">{escape(month)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def month_counts(dates) -> list[tuple[str, int]]:
    """Counts per month from the first month to the last, empty months included."""
    from collections import Counter

    seen = Counter(f"{d:%Y-%m}" for d in dates)
    if not seen:
        return []
    y, m = map(int, min(seen).split("-"))
    last = max(seen)
    out = []
    while True:
        key = f"{y:04d}-{m:02d}"
        out.append((key, seen.get(key, 0)))
        if key >= last:
            return out
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
