"""Buyer-side red flags of the Open Contracting Partnership's Cardinal
(https://cardinal.readthedocs.io), on a Market.

Which columns each indicator needs (absent columns: the indicator is skipped):

| code | indicator | columns |
|---|---|---|
| R003 | short submission period (< lower IQR fence, or a minimum in days) | published, deadline |
| R018 | single bid | tender, amount |
| R024 | price close to the winning bid (gap <= 5 %) | winner |
| R025 | excessive unsuccessful bids (losses / (wins + 1) > upper fence) | bidder, winner |
| R028 | identical bid prices | tender, amount |
| R035 | all bids except the winner's disqualified | winner, disqualified |
| R036 | lowest bid disqualified | disqualified |
| R038 | excessive disqualified bids (share > upper fence; at least 2) | bidder, disqualified |
| R058 | heavily discounted bid (gap > upper fence) | winner |

gap = (second-lowest valid bid - winning bid) / winning bid.
Fences are Tukey's, Q1 - 1.5 IQR and Q3 + 1.5 IQR, over the market's tenders or bidders.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .market import Market, _truthy, iqr_fences
from .price import screen_identical_prices
from .result import HIGH, LOW, MEDIUM, ScreenResult, quiet, raised

NEEDS = {
    "R003": ("published", "deadline"), "R018": (), "R024": ("winner",),
    "R025": ("bidder", "winner"), "R028": (), "R035": ("winner", "disqualified"),
    "R036": ("disqualified",), "R038": ("bidder", "disqualified"), "R058": ("winner",),
}


def _valid(bids):
    return [b for b in bids if not _truthy(b.get("disqualified"))]


def winning_gap(bids) -> float | None:
    """(second-lowest valid bid - winning bid) / winning bid, None without a winner."""
    win = [float(b["amount"]) for b in bids if _truthy(b.get("winner"))]
    others = sorted(float(b["amount"]) for b in _valid(bids) if not _truthy(b.get("winner")))
    if not win or not others or win[0] <= 0:
        return None
    return (others[0] - win[0]) / win[0]


@dataclass
class Fences:
    """Market-wide fences the indicators compare against."""

    period_low: float = float("nan")
    gap_high: float = float("nan")
    losses_high: float = float("nan")
    disq_high: float = float("nan")
    losses: dict = field(default_factory=dict)
    disq: dict = field(default_factory=dict)
    disq_count: dict = field(default_factory=dict)


def market_fences(market: Market) -> Fences:
    f = Fences()
    if market.has("published", "deadline"):
        periods = [p for t in market.tenders if (p := _period(market.tenders[t])) is not None]
        f.period_low = iqr_fences(periods)[0]
    if market.has("winner"):
        gaps = [g for t in market.tenders if (g := winning_gap(market.tenders[t])) is not None]
        f.gap_high = iqr_fences(gaps)[1]
    counts = defaultdict(lambda: [0, 0, 0])  # bids, wins, disqualified
    if market.has("bidder"):
        for bids in market.tenders.values():
            for b in bids:
                c = counts[str(b.get("bidder"))]
                c[0] += 1
                c[1] += _truthy(b.get("winner"))
                c[2] += _truthy(b.get("disqualified"))
    if market.has("bidder", "winner"):
        f.losses = {k: (c[0] - c[1]) / (c[1] + 1) for k, c in counts.items()}
        f.losses_high = iqr_fences(f.losses.values())[1]
    if market.has("bidder", "disqualified"):
        f.disq = {k: c[2] / c[0] for k, c in counts.items()}
        f.disq_count = {k: c[2] for k, c in counts.items()}
        f.disq_high = iqr_fences(f.disq.values())[1]
    return f


def _period(bids) -> float | None:
    b = bids[0]
    p, d = b.get("published"), b.get("deadline")
    if not p or not d:
        return None
    return (d - p).total_seconds() / 86400 if hasattr(d - p, "total_seconds") else None


def r003_short_submission_period(bids, fences: Fences, *, minimum_days: float | None = None
                                 ) -> ScreenResult:
    days = _period(bids)
    if days is None:
        return quiet("R003", None, en="no submission period", zh="无投标期限数据")
    limit = minimum_days if minimum_days is not None else fences.period_low
    if not limit == limit or days >= limit:
        return quiet("R003", days)
    return raised("R003", MEDIUM, days, f"投标期限仅 {days:.1f} 天，低于下限 {limit:.1f} 天。",
                  f"The submission period was {days:.1f} days, below the limit of "
                  f"{limit:.1f} days.", days=days, limit=limit)


def r018_single_bid(bids, fences: Fences | None = None) -> ScreenResult:
    if len(bids) != 1:
        return quiet("R018", float(len(bids)))
    return raised("R018", LOW, 1.0, "该项目仅收到一份投标。", "Only one bid was received.",
                  bids=[bids[0].get("bid")])


def r024_price_close_to_winning_bid(bids, fences: Fences | None = None, *,
                                    threshold: float = 0.05) -> ScreenResult:
    gap = winning_gap(bids)
    if gap is None:
        return quiet("R024", None, en="no winner or no other valid bid",
                     zh="无中标人或无其他有效投标")
    if gap > threshold:
        return quiet("R024", gap)
    return raised("R024", LOW, gap, f"次低有效报价仅比中标价高 {gap:.2%}（阈值 {threshold:.0%}）。",
                  f"The second-lowest valid bid is only {gap:.2%} above the winning bid "
                  f"(threshold {threshold:.0%}).", gap=gap)


def r025_excessive_unsuccessful_bids(bids, fences: Fences) -> ScreenResult:
    high = fences.losses_high
    who = sorted({str(b.get("bidder")) for b in bids
                  if fences.losses.get(str(b.get("bidder")), 0) > high})
    if not who:
        return quiet("R025", 0.0)
    return raised("R025", LOW, float(len(who)),
                  f"投标人 {', '.join(who)} 的落标/中标比高于市场上限 {high:.1f}。",
                  f"Bidders {', '.join(who)} lose far more than they win (losses per "
                  f"win above the market's fence {high:.1f}).", bidders=who, fence=high)


def r028_identical_bid_prices(bids, fences: Fences | None = None) -> ScreenResult:
    r = screen_identical_prices(bids)
    r.code = "R028"
    return r


def r035_all_except_winner_disqualified(bids, fences: Fences | None = None) -> ScreenResult:
    losers = [b for b in bids if not _truthy(b.get("winner"))]
    if len(losers) < 1 or not any(_truthy(b.get("winner")) for b in bids):
        return quiet("R035", 0.0)
    if not all(_truthy(b.get("disqualified")) for b in losers):
        return quiet("R035", 0.0)
    return raised("R035", HIGH, float(len(losers)),
                  f"除中标人外的 {len(losers)} 份投标全部被否决。",
                  f"All {len(losers)} bids other than the winner's were disqualified.",
                  bids=[b.get("bid") for b in losers])


def r036_lowest_bid_disqualified(bids, fences: Fences | None = None) -> ScreenResult:
    if len(bids) < 2:
        return quiet("R036", 0.0)
    low = min(bids, key=lambda b: float(b["amount"]))
    if not _truthy(low.get("disqualified")):
        return quiet("R036", 0.0)
    return raised("R036", MEDIUM, float(low["amount"]),
                  f"最低报价 {float(low['amount']):,.2f} 被否决。",
                  f"The lowest bid ({float(low['amount']):,.2f}) was disqualified.",
                  bids=[low.get("bid")])


# R038 needs support as well as a high share: where most bidders are never disqualified the
# upper fence is 0, and one disqualification of a bidder seen once would be "excessive".
R038_MIN_DISQUALIFIED = 2


def r038_excessive_disqualified_bids(bids, fences: Fences) -> ScreenResult:
    high = fences.disq_high
    who = sorted({str(b.get("bidder")) for b in bids
                  if fences.disq.get(str(b.get("bidder")), 0) > high
                  and fences.disq_count.get(str(b.get("bidder")), 0) >= R038_MIN_DISQUALIFIED})
    if not who:
        return quiet("R038", 0.0)
    return raised("R038", LOW, float(len(who)),
                  f"投标人 {', '.join(who)} 被否决的比例高于市场上限 {high:.0%}。",
                  f"Bidders {', '.join(who)} are disqualified more often than the market's "
                  f"fence ({high:.0%}).", bidders=who, fence=high)


def r058_heavily_discounted_bid(bids, fences: Fences) -> ScreenResult:
    gap = winning_gap(bids)
    high = fences.gap_high
    if gap is None or not high == high or gap <= high:
        return quiet("R058", gap)
    return raised("R058", MEDIUM, gap,
                  f"中标价比次低有效报价低 {gap:.1%}，高于市场上限 {high:.1%}。",
                  f"The winning bid is {gap:.1%} below the next valid bid, above the market's "
                  f"fence of {high:.1%}.", gap=gap, fence=high)


INDICATORS = {
    "R003": r003_short_submission_period, "R018": r018_single_bid,
    "R024": r024_price_close_to_winning_bid, "R025": r025_excessive_unsuccessful_bids,
    "R028": r028_identical_bid_prices, "R035": r035_all_except_winner_disqualified,
    "R036": r036_lowest_bid_disqualified, "R038": r038_excessive_disqualified_bids,
    "R058": r058_heavily_discounted_bid,
}
