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
        return mark_safe(
            f'<svg class="price-chart" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {WIDTH} 40" width="{WIDTH}" height="40" style="display:block">'
            f'<text x="8" y="24" fill="#5b6773">{escape(_("No announced prices."))}</text></svg>')
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
        parts.append(f'<line x1="{mx:.1f}" y1="14" x2="{mx:.1f}" y2="{axis_y}" '
                     f'stroke="#b71c1c" stroke-dasharray="4 3"/><text x="{mx:.1f}" y="11" '
                     f'font-size="11" text-anchor="end" fill="#b71c1c">'
                     f'{escape(_("Maximum price"))} {escape(_money(max_price))}</text>')
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
    parts.append(f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="11" fill="#5b6773">'
                 f'{escape(_("%(n)s bids") % {"n": len(prices)})}</text></svg>')
    return mark_safe("".join(parts))
