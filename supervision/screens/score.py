"""Screening a whole market and the tender risk score, in two modes.

- Unsupervised: every screen value that has a known direction of suspicion is turned
  into a percentile rank over the market's tenders (1 = most suspicious); the score is
  the mean of the available ranks, raised by the flags fired (weighted by severity).
  No labels, no threshold: a ranking for review.
- Learned: a random forest (scikit-learn, fixed seed, balanced class weights) on the
  same per-tender features, trained on tenders labelled collusive 0/1.

Cross-tender features (groups, perennial losers) are computed from the market's bids
only, never from labels, so using them for the tenders being scored leaks nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from . import cardinal
from .documents import screen_identical_rare_strings, screen_near_duplicate_documents
from .identity import (
    SAME_VALUE_FIELDS,
    screen_identical_unit_prices,
    screen_other_bidder_name,
    screen_related_companies,
    screen_same_value,
)
from .market import Market
from .network import (
    bidder_records,
    cobidding_graph,
    cobidding_groups,
    screen_bid_rotation,
    screen_cobidding_group,
    screen_perennial_loser,
)
from .price import PRICE_SCREENS, price_statistics
from .result import SEVERITY_RANK, ScreenResult

# feature -> direction of suspicion (+1 higher is worse, -1 lower is worse, 0 learned only)
FEATURES: dict[str, int] = {
    "n_bids": 0, "cv": -1, "spread": -1, "diffp": 1, "rd": 1, "kurtosis": 1,
    "skewness": -1, "ks": 0, "win_to_estimate": 1, "min_to_estimate": 1,
    "sequence_share": 1, "identical_prices": 1, "hugging_share": 1, "winning_gap": 0,
    "group_strength": 1, "group_share": 1, "pair_overlap": 1, "loser_share": 1,
    "rotation": 1,
}
# Bidder-level history (a firm's win rate, its number of tenders) is left out on
# purpose: its values are nearly unique per firm, so a model learns which firms were
# labelled, not what collusion looks like (on the Ohio data it lifts a tender-grouped
# ROC-AUC to 0.99 by memorising firms).

# column(s) a screen needs beyond tender and amount
NEEDS: dict[str, tuple[str, ...]] = {
    "price_hugging_cap": ("estimate|max_price",), "win_to_estimate": ("estimate", "winner"),
    "cobidding_group": ("bidder",), "bid_rotation": ("bidder", "winner"),
    "perennial_loser": ("bidder", "winner"), "related_companies": ("bidder", "legal_rep"),
    "other_bidder_name": ("bidder_name", "text"), "near_duplicate_documents": ("text",),
    "identical_rare_strings": ("text",), "identical_unit_prices": ("unit_prices",),
    **{f"same_{f}": (f,) for f in SAME_VALUE_FIELDS},
    **{code: cols for code, cols in cardinal.NEEDS.items()},
}


def _available(market: Market, cols: Iterable[str]) -> bool:
    return all(any(market.has(alt) for alt in c.split("|")) for c in cols)


@dataclass
class TenderScreening:
    tender: object
    features: dict[str, float] = field(default_factory=dict)
    results: list[ScreenResult] = field(default_factory=list)

    @property
    def fired(self) -> list[ScreenResult]:
        return [r for r in self.results if r.fired]


@dataclass
class MarketScreening:
    tenders: dict[object, TenderScreening]
    skipped: list[str]
    groups: list = field(default_factory=list)

    def matrix(self, order: Iterable | None = None) -> tuple[list, np.ndarray]:
        keys = list(order) if order is not None else list(self.tenders)
        x = np.array([[self.tenders[k].features.get(f, np.nan) for f in FEATURES]
                      for k in keys], dtype=float)
        return keys, x


def screen_tender(bids: list[Mapping], market: Market, fences: cardinal.Fences
                  ) -> list[ScreenResult]:
    """Every per-tender screen whose columns the market has."""
    out = []
    for fn in PRICE_SCREENS:
        if (fn.__name__ == "screen_hugging_cap"
                and not _available(market, NEEDS["price_hugging_cap"])):
            continue
        out.append(fn(bids))
    for f in SAME_VALUE_FIELDS:
        if market.has(f):
            out.append(screen_same_value(bids, f))
    if _available(market, NEEDS["related_companies"]):
        out.append(screen_related_companies(bids))
    if market.has("text"):
        # Near-duplicates first: it normalises every document on worker threads, and
        # the other document screens reuse the cached result.
        out.append(screen_near_duplicate_documents(bids))
        if _available(market, NEEDS["other_bidder_name"]):
            out.append(screen_other_bidder_name(bids))
        out.append(screen_identical_rare_strings(bids))
    if market.has("unit_prices"):
        out.append(screen_identical_unit_prices(bids))
    for code, fn in cardinal.INDICATORS.items():
        if _available(market, cardinal.NEEDS[code]):
            out.append(fn(bids, fences))
    return out


def skipped_screens(market: Market) -> list[str]:
    """Screens the market's columns do not allow, as 'code (needs a, b)'."""
    out = []
    for code, cols in NEEDS.items():
        if not _available(market, cols):
            out.append(f"{code} (needs {', '.join(c.replace('|', ' or ') for c in cols)})")
    return out


def screen_market(market: Market, *, progress: Callable[[int, int], None] | None = None,
                  cross_progress: Callable[[int, int], None] | None = None
                  ) -> MarketScreening:
    """Run every screen the columns allow, per tender and across tenders."""
    total = len(market.tenders)
    fences = cardinal.market_fences(market)
    screened: dict[object, TenderScreening] = {}
    for k, (t, bids) in enumerate(market.tenders.items()):
        ts = TenderScreening(t)
        ts.results = screen_tender(bids, market, fences)
        for r in ts.results:
            r.tender = t
        ts.features = _price_features(bids, ts.results)
        screened[t] = ts
        if progress and (k % 200 == 0 or k == total - 1):
            progress(k + 1, total)
    groups = []
    if market.has("bidder"):
        groups = _cross_tender(market, screened, cross_progress)
    return MarketScreening(screened, skipped_screens(market), groups)


def _price_features(bids, results) -> dict[str, float]:
    a = [float(b["amount"]) for b in bids]
    f = {k: float(v) for k, v in price_statistics(a).items()}
    est = [float(b["estimate"]) for b in bids if b.get("estimate")]
    win = [float(b["amount"]) for b in bids if b.get("winner")]
    if est and est[0] > 0:
        f["min_to_estimate"] = min(a) / est[0]
        if win:
            f["win_to_estimate"] = win[0] / est[0]
    by = {r.code: r for r in results}
    f["sequence_share"] = by["price_sequence"].value or 0.0
    f["identical_prices"] = by["identical_prices"].value or 0.0
    if "price_hugging_cap" in by:
        f["hugging_share"] = by["price_hugging_cap"].value or 0.0
    gap = cardinal.winning_gap(bids)
    if gap is not None:
        f["winning_gap"] = gap
    return f


def cross_tender_screening(market: Market, *,
                           progress: Callable[[int, int], None] | None = None
                           ) -> MarketScreening:
    """Only the cross-tender screens (groups, rotation, perennial losers) of a market."""
    screened = {t: TenderScreening(t) for t in market.tenders}
    groups = _cross_tender(market, screened, progress) if market.has("bidder") else []
    return MarketScreening(screened, skipped_screens(market), groups)


def _cross_tender(market: Market, screened: dict,
                  progress: Callable[[int, int], None] | None = None) -> list:
    total = len(market.tenders)
    # Progress in three stages of the tender count: graph, groups, per-tender features.
    step = (lambda base: (lambda k: progress(base + k, 3 * total))) if progress else None
    graph = cobidding_graph(market, progress=step(0) if step else None)
    groups = cobidding_groups(market, graph=graph)
    has_winner = market.has("winner")
    records = bidder_records(market)
    losers = {}
    if has_winner:
        for b, rec in records.items():
            r = screen_perennial_loser(b, rec)
            if r.fired:
                losers[b] = r
    tenders_of: dict[str, set] = defaultdict(set)
    for t in market.tenders:
        for b in market.bidders(t):
            tenders_of[b].add(t)
    for g in groups:
        res = screen_cobidding_group(g)
        rot = screen_bid_rotation(g, market) if has_winner else None
        for t in g.joint_tenders:
            ts = screened[t]
            names = market.bidders(t)
            share = sum(1 for n in names if n in g.members) / len(names)
            if g.strength > ts.features.get("group_strength", -1):
                ts.features["group_strength"] = g.strength
                ts.features["group_share"] = share
                if rot is not None:
                    ts.features["rotation"] = rot.value or 0.0
            if res.fired:
                ts.results.append(_for_tender(res, t))
            # Rotation is a finding only within a group that bids together and alone:
            # two firms that split a duopoly's tenders are not a ring.
            if rot is not None and rot.fired and res.fired:
                ts.results.append(_for_tender(rot, t))
    if progress:
        progress(2 * total, 3 * total)
    for k, (t, ts) in enumerate(screened.items()):
        if progress and k % 1000 == 0:
            progress(2 * total + k, 3 * total)
        names = sorted(set(market.bidders(t)))
        ts.features.setdefault("group_strength", 0.0)
        ts.features.setdefault("group_share", 0.0)
        if has_winner:
            ts.features.setdefault("rotation", 0.0)
        best = 0.0
        if len(names) <= 30:
            for a, b in combinations(names, 2):
                ta, tb = tenders_of[a], tenders_of[b]
                # Overlap coefficient beyond this tender: how often the smaller bidder
                # bids wherever the other bids.
                both = len(ta & tb) - 1
                small = min(len(ta), len(tb)) - 1
                if small >= 2:
                    best = max(best, both / small)
        ts.features["pair_overlap"] = best
        if has_winner:
            ts.features["loser_share"] = sum(1 for n in names if n in losers) / max(len(names), 1)
            wins = market.winners(t)
            for n in names:
                if n in losers and n not in wins:
                    ts.results.append(_for_tender(losers[n], t))
    if progress:
        progress(3 * total, 3 * total)
    return groups


def _for_tender(r: ScreenResult, tender) -> ScreenResult:
    return ScreenResult(r.code, r.fired, r.severity, r.value, r.evidence,
                        r.explanation_zh, r.explanation_en, tender)


def _percentile_ranks(col: np.ndarray) -> np.ndarray:
    """Average ranks scaled to (0, 1]; NaN stays NaN."""
    out = np.full(col.shape, np.nan)
    ok = ~np.isnan(col)
    if ok.sum() == 0:
        return out
    from scipy.stats import rankdata
    out[ok] = rankdata(col[ok]) / ok.sum()
    return out


def unsupervised_scores(screening: MarketScreening, keys: list | None = None) -> dict:
    """Score in [0, 1] per tender: 0.8 x mean signed percentile rank of the screen values
    + 0.2 x the flags' weight (severity points, capped at 1)."""
    keys, x = screening.matrix(keys)
    ranks = []
    for j, sign in enumerate(FEATURES.values()):
        col = x[:, j]
        if sign == 0 or np.all(np.isnan(col)) or np.nanstd(col) == 0:
            continue
        ranks.append(_percentile_ranks(sign * col))
    if ranks:
        r = np.vstack(ranks)
        with np.errstate(all="ignore"):
            mean = np.where(np.all(np.isnan(r), axis=0), 0.5, np.nanmean(r, axis=0))
    else:
        mean = np.full(len(keys), 0.5)
    out = {}
    for k, m in zip(keys, mean, strict=True):
        pts = sum(SEVERITY_RANK[r.severity] for r in screening.tenders[k].fired
                  if not r.code.startswith("price_"))
        out[k] = float(0.8 * m + 0.2 * min(1.0, pts / 6))
    return out


def make_model(seed: int = 0):
    """The learned mode's model: median imputation with missing indicators, then a
    random forest; fixed seed so that runs repeat."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        RandomForestClassifier(n_estimators=400, min_samples_leaf=2, max_features="sqrt",
                               class_weight="balanced_subsample", random_state=seed,
                               n_jobs=1))


def flag_weight_feature(screening: MarketScreening, keys: list) -> np.ndarray:
    return np.array([[sum(SEVERITY_RANK[r.severity] for r in screening.tenders[k].fired)]
                     for k in keys], dtype=float)


def learned_matrix(screening: MarketScreening, keys: list) -> np.ndarray:
    _, x = screening.matrix(keys)
    return np.hstack([x, flag_weight_feature(screening, keys)])


def tender_labels(rows: Iterable[Mapping]) -> dict:
    """collusive 0/1 per tender (the first row's value; it is constant within a tender)."""
    out: dict = {}
    for r in rows:
        if r.get("collusive") is not None:
            out.setdefault(r["tender"], int(r["collusive"]))
    return out


def fit_learned(screening: MarketScreening, labels: Mapping, seed: int = 0):
    keys = [k for k in screening.tenders if k in labels]
    y = np.array([labels[k] for k in keys])
    if len(set(y)) < 2:
        raise ValueError("the labelled tenders must include both collusive 0 and 1")
    model = make_model(seed)
    model.fit(learned_matrix(screening, keys), y)
    return model


def learned_scores(model, screening: MarketScreening, keys: list | None = None) -> dict:
    keys = list(keys) if keys is not None else list(screening.tenders)
    p = model.predict_proba(learned_matrix(screening, keys))[:, 1]
    return dict(zip(keys, map(float, p), strict=True))


def flags_text(ts: TenderScreening) -> str:
    """Fired flags of a tender, most severe first: 'code:severity;...'."""
    fired = sorted({(r.code, r.severity) for r in ts.fired},
                   key=lambda cs: (-SEVERITY_RANK[cs[1]], cs[0]))
    return ";".join(f"{c}:{s}" for c, s in fired)
