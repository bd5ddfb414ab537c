"""Expert screens: experts drawn again and again for the same tenderer, and one expert
systematically favouring one bidder.

A fair draw spreads seats over the pool: an expert who keeps landing on one tenderer's
committees suggests the draw (its eligible list, its exclusions, its specialty groups)
is being steered. The draw already excludes an expert who served a tenderer more than a
statutory-style limit (expert_pool/avoidance.py); this screen looks at what got through,
over all tenderers at once, so that an outlier is judged against the market.

Rows are plain dicts, one per seat: ``expert``, ``tenderer``, ``tender``, ``at`` (the
draw's time). ``expert_seat_rows`` makes them from the platform's draws.

Not here: "one expert systematically favouring one bidder" needs the experts' evaluation
scores per bid, which the platform does not record yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from .result import HIGH, MEDIUM, ScreenResult, quiet, raised

CODE = "expert_repeat_tenderer"


def iqr_fence(values: Sequence[float], k: float = 1.5) -> float:
    """Q3 + k x IQR, the upper interquartile-range fence."""
    q1, q3 = np.percentile(np.asarray(values, dtype=float), [25, 75])
    return float(q3 + k * (q3 - q1))


def screen_expert_repeat_tenderer(rows: Sequence[Mapping], *, now: datetime | None = None,
                                  window_days: int = 365, limit: int | None = None,
                                  min_count: int = 3, k: float = 1.5) -> ScreenResult:
    """Pairs (expert, tenderer) with many seats on that tenderer's committees within
    ``window_days`` before ``now`` (default: the latest seat). A pair fires when its
    count of distinct tenders reaches ``limit`` if one is given, otherwise when it lies
    above the IQR fence of all pairs' counts and reaches ``min_count`` (with few draws
    the fence alone would call two seats an outlier)."""
    rows = [r for r in rows if r.get("expert") is not None and r.get("tenderer") is not None]
    if not rows:
        return quiet(CODE, 0.0, en="no expert seats to screen", zh="无专家抽取记录")
    times = [r["at"] for r in rows if r.get("at") is not None]
    now = now or (max(times) if times else None)
    since = now - timedelta(days=window_days) if now else None
    tenders: dict[tuple, set] = defaultdict(set)
    for r in rows:
        at = r.get("at")
        if since is not None and at is not None and not (since <= at <= now):
            continue
        tenders[(str(r["expert"]), str(r["tenderer"]))].add(str(r.get("tender")))
    if not tenders:
        return quiet(CODE, 0.0, en="no expert seats in the window", zh="窗口期内无专家抽取记录")
    counts = {pair: len(t) for pair, t in tenders.items()}
    if limit is not None:
        threshold = float(limit)
        hot = {p: c for p, c in counts.items() if c >= limit}
    else:
        fence = iqr_fence(list(counts.values()), k)
        threshold = max(fence, float(min_count))
        hot = {p: c for p, c in counts.items() if c > fence and c >= min_count}
    top = max(counts.values())
    if not hot:
        return quiet(CODE, float(top), threshold=threshold)
    pairs = [{"expert": e, "tenderer": t, "count": c, "tenders": sorted(tenders[(e, t)])}
             for (e, t), c in sorted(hot.items(), key=lambda kv: (-kv[1], kv[0]))]
    listing = "; ".join(f"{p['expert']} → {p['tenderer']} ×{p['count']}" for p in pairs[:10])
    severity = HIGH if top >= 2 * max(threshold, 1.0) else MEDIUM
    return raised(
        CODE, severity, float(top),
        f"同一专家在 {window_days} 天内被反复抽中为同一招标人评标（阈值 {threshold:.1f} 次）："
        f"{listing}。",
        f"The same experts were drawn again and again for the same tenderer within "
        f"{window_days} days (threshold {threshold:.1f}): {listing}.",
        pairs=pairs, threshold=threshold, window_days=window_days)


def expert_seat_rows(*, since: datetime | None = None) -> list[dict]:
    """The platform's seats as rows: every drawn expert who was called or confirmed
    (backups never called did not sit), with the tender's tenderer and the draw time.
    Imports Django lazily: the screens stay plain Python for the batch command."""
    from expert_pool.selectors import seat_rows

    return [{"expert": code, "tenderer": credit, "tender": ref, "at": at, "tender_id": pk}
            for code, credit, ref, pk, at in seat_rows(since)]


def screen_platform_experts(*, now: datetime | None = None) -> ScreenResult:
    """The repeat-tenderer screen on the platform's draws, with the window and the limit
    from settings (``SUPERVISION_EXPERT_WINDOW_DAYS``, ``SUPERVISION_EXPERT_REPEAT_LIMIT``;
    without a limit the IQR fence decides)."""
    from django.conf import settings
    from django.utils import timezone

    now = now or timezone.now()
    window = int(getattr(settings, "SUPERVISION_EXPERT_WINDOW_DAYS", 365))
    limit = getattr(settings, "SUPERVISION_EXPERT_REPEAT_LIMIT", None)
    rows = expert_seat_rows(since=now - timedelta(days=window))
    return screen_expert_repeat_tenderer(rows, now=now, window_days=window,
                                         limit=int(limit) if limit is not None else None)


# --- One expert systematically favouring one bidder ---------------------------------

FAVOUR_CODE = "expert_favouritism"
# The rule, in one place (README "Experts"): a pair (expert, bidder) is tested when they
# met in at least FAVOUR_MIN_TENDERS tenders where the expert scored the bidder's bid and
# at least one other bid, and another member scored the same bid and criterion; it is
# flagged when the expert's favour for the bidder averages at least FAVOUR_MIN_EFFECT of
# the criteria's maximum and the one-sided permutation p-value is at most FAVOUR_ALPHA.
FAVOUR_MIN_TENDERS = 3
FAVOUR_MIN_EFFECT = 0.10
FAVOUR_ALPHA = 0.01
# Exact enumeration of the permutations up to this many, else a Monte Carlo sample of
# FAVOUR_DRAWS relabellings with a fixed seed (the result does not change between runs).
FAVOUR_EXACT_LIMIT = 20_000
FAVOUR_DRAWS = 9_999
FAVOUR_SEED = 0


def _mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


def favour_by_tender(rows: Sequence[Mapping]) -> tuple[dict, dict]:
    """Each expert's deviation from the other members, per tender and bid.

    For one score: d = (the expert's score - the other members' mean on the same bid and
    criterion) / the criterion's maximum. f[expert][tender][bidder] is the mean of d over
    the criteria. Returns (f, detail) where detail[(expert, tender, bidder)] lists the
    criteria with the expert's score and the others' mean (the flag's evidence)."""
    cells: dict[tuple, list[Mapping]] = defaultdict(list)
    for r in rows:
        if r.get("value") is None or r.get("member") is None:
            continue
        try:
            top = float(r["max_score"])
        except (KeyError, TypeError, ValueError):
            continue
        if top <= 0:
            continue
        cells[(r["tender"], str(r["bidder"]), r["criterion"])].append(r)
    devs: dict[tuple, list[float]] = defaultdict(list)
    detail: dict[tuple, list[dict]] = defaultdict(list)
    for (tender, bidder, criterion), scores in cells.items():
        for r in scores:
            if r.get("expert") in (None, ""):
                continue  # the tenderer's representatives are compared with, not screened
            others = [float(o["value"]) for o in scores if o["member"] != r["member"]]
            if not others:
                continue
            top = float(r["max_score"])
            mean = _mean(others)
            key = (str(r["expert"]), tender, bidder)
            devs[key].append((float(r["value"]) - mean) / top)
            detail[key].append({"criterion": criterion,
                                "criterion_name": r.get("criterion_name", ""),
                                "max": top, "expert_score": float(r["value"]),
                                "others_mean": round(mean, 2), "others": len(others)})
    f: dict = defaultdict(lambda: defaultdict(dict))
    for (expert, tender, bidder), ds in devs.items():
        f[expert][tender][bidder] = _mean(ds)
    return f, detail


def _relative(scores: Mapping[str, float]) -> dict[str, float]:
    """Each bidder's favour minus the mean favour of the other bidders of the tender (the
    expert's general leniency or severity cancels out)."""
    n = len(scores)
    total = sum(scores.values())
    return {b: v - (total - v) / (n - 1) for b, v in scores.items()}


def permutation_p(observed: float, tenders: Sequence[Sequence[float]], *,
                  exact_limit: int = FAVOUR_EXACT_LIMIT, draws: int = FAVOUR_DRAWS,
                  seed: int = FAVOUR_SEED) -> tuple[float, str | int]:
    """One-sided p-value of ``observed`` = the mean over tenders of the favoured bidder's
    relative favour, when in each tender the favoured bidder is relabelled at random
    among that tender's bidders (the null: the expert's deviations do not depend on who
    the bidder is). Exact when the relabellings are few, else Monte Carlo."""
    arrays = [np.asarray(t, dtype=float) for t in tenders]
    k = len(arrays)
    eps = 1e-9
    size = 1
    for a in arrays:
        size *= len(a)
    if size <= exact_limit:
        sums = np.zeros(1)
        for a in arrays:
            sums = (sums[:, None] + a[None, :]).ravel()
        return float(np.mean(sums / k >= observed - eps)), "exact"
    rng = np.random.default_rng(seed)
    total = np.zeros(draws)
    for a in arrays:
        total += a[rng.integers(0, len(a), size=draws)]
    hits = int(np.sum(total / k >= observed - eps))
    return (1 + hits) / (1 + draws), draws


def screen_expert_favouritism(rows: Sequence[Mapping], *,
                              min_tenders: int = FAVOUR_MIN_TENDERS,
                              min_effect: float = FAVOUR_MIN_EFFECT,
                              alpha: float = FAVOUR_ALPHA) -> ScreenResult:
    """Pairs (expert, bidder) where the expert scores the bidder above the other members
    and above the expert's own habit, tender after tender.

    Rows: one per member's score on one bid and criterion: ``tender``, ``member`` (unique
    in the tender), ``expert`` (the expert's code; None for a tenderer's representative,
    who counts among "the other members" but is not screened), ``bidder``,
    ``criterion``, ``max_score``, ``value``; optional ``tender_reference``,
    ``bidder_name``, ``criterion_name``, ``bid`` (the bid's code). Void scores and
    pass/fail verdicts must be left out by the caller.

    favour(t) = f(bidder) - mean of f(other bidders the expert scored in t), with f the
    mean over criteria of (expert's score - other members' mean) / criterion maximum.
    effect = mean of favour(t) over the tenders they met (support). Fires when support >=
    ``min_tenders``, effect >= ``min_effect`` and the permutation p-value <= ``alpha``;
    high when effect >= twice ``min_effect``."""
    f, detail = favour_by_tender(rows)
    names = {str(r["bidder"]): r.get("bidder_name") or str(r["bidder"]) for r in rows}
    refs = {r["tender"]: r.get("tender_reference") or str(r["tender"]) for r in rows}
    codes = {(r["tender"], str(r["bidder"])): r.get("bid") for r in rows}
    pairs: dict[tuple, dict] = defaultdict(dict)  # (expert, bidder) -> tender -> rel
    spread: dict[tuple, dict] = defaultdict(dict)  # (expert, tender) -> relative favours
    for expert, by_tender in f.items():
        for tender, scores in by_tender.items():
            if len(scores) < 2:
                continue  # one bid scored: nothing to compare the bidder with
            rel = _relative(scores)
            spread[(expert, tender)] = rel
            for bidder, v in rel.items():
                pairs[(expert, bidder)][tender] = v
    evidence_pairs, tested, thin = [], 0, 0
    best = 0.0
    for (expert, bidder), by_tender in sorted(pairs.items()):
        if len(by_tender) < min_tenders:
            thin += 1
            continue
        tested += 1
        effect = _mean(by_tender.values())
        best = max(best, effect)
        if effect < min_effect:
            continue
        p, how = permutation_p(effect, [list(spread[(expert, t)].values())
                                        for t in by_tender])
        if p > alpha:
            continue
        tenders = []
        for t in sorted(by_tender, key=lambda t: str(refs.get(t, t))):
            tenders.append({
                "tender": t, "tender_reference": refs.get(t, str(t)),
                "bid": codes.get((t, bidder)), "favour": round(by_tender[t], 4),
                "criteria": sorted(detail[(expert, t, bidder)],
                                   key=lambda c: str(c["criterion"]))})
        evidence_pairs.append({"expert": expert, "bidder": bidder,
                               "bidder_name": names.get(bidder, bidder),
                               "support": len(by_tender), "effect": round(effect, 4),
                               "p_value": round(p, 6), "permutations": how,
                               "tenders": tenders})
    rule = {"min_tenders": min_tenders, "min_effect": min_effect, "alpha": alpha}
    if not evidence_pairs:
        if not tested:
            return quiet(FAVOUR_CODE, None,
                         en=f"no expert and bidder met in {min_tenders} evaluated tenders",
                         zh=f"没有专家与投标人在 {min_tenders} 个已评标项目中相遇",
                         tested=0, too_little_support=thin, **rule)
        return quiet(FAVOUR_CODE, best, tested=tested, too_little_support=thin, **rule)
    evidence_pairs.sort(key=lambda p: (-p["effect"], p["expert"], p["bidder"]))
    top = evidence_pairs[0]["effect"]
    severity = HIGH if top >= 2 * min_effect else MEDIUM
    listing = "; ".join(
        f"{p['expert']} → {p['bidder_name']} (+{p['effect']:.0%}, {p['support']}, "
        f"p={p['p_value']:.3f})" for p in evidence_pairs[:10])
    listing_zh = "；".join(
        f"专家 {p['expert']} → {p['bidder_name']}（平均高出 {p['effect']:.0%}，"
        f"{p['support']} 个项目，p={p['p_value']:.3f}）" for p in evidence_pairs[:10])
    return raised(
        FAVOUR_CODE, severity, float(top),
        f"同一专家在多个项目中系统性地给同一投标人打高分：与同一委员会其他委员对同一投标、"
        f"同一评审因素的平均分相比，并扣除该专家对其他投标人的一贯宽严，仍平均高出该项满分的 "
        f"{min_effect:.0%} 以上，且置换检验显著（p ≤ {alpha}，至少 {min_tenders} 个项目）："
        f"{listing_zh}。",
        f"One expert systematically scores one bidder higher: above the other members' mean "
        f"on the same bid and criterion, beyond the expert's usual leniency towards the "
        f"other bidders, by at least {min_effect:.0%} of the criterion's maximum on average "
        f"over at least {min_tenders} tenders, and significant in a permutation test "
        f"(p ≤ {alpha}): {listing}.",
        pairs=evidence_pairs, tested=tested, too_little_support=thin, **rule)


def score_rows(committee_ids: Sequence[int] | None = None) -> list[dict]:
    """The platform's evaluation scores as rows for ``screen_expert_favouritism``: the
    scored stages (technical, commercial) of stages the chair has locked, void scores
    (replaced members, Reg 48) left out. ``bidder`` is the bidder's credit code,
    ``expert`` the drawn expert's code (None for a tenderer's representative), ``bid``
    the evaluation's bid code. Imports Django lazily."""
    from bidding.evaluation.selectors import locked_score_rows

    return [{"member": m, "expert": code, "tender": t, "tender_reference": ref, "bid": bid,
             "bidder": credit, "bidder_name": name, "criterion": number,
             "criterion_name": cname, "max_score": float(top) if top is not None else None,
             "value": float(value)}
            for m, code, t, ref, bid, credit, name, number, cname, top, value
            in locked_score_rows(committee_ids)]
