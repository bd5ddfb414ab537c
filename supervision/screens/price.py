"""Price screens and price patterns on the bids of one tender.

Each function takes the tender's bids as mappings with ``amount`` (and ``bid``, an id
shown in the evidence; the position is used when absent) and returns a ScreenResult
whose ``value`` is the statistic. Thresholds are keyword arguments: the defaults are
the literature's rules of thumb for one tender in isolation; the batch scorer ranks
tenders on the values instead, so it needs no threshold at all.

Sources: Imhof, Karagök & Rutz (2018) and Huber & Imhof (2019) for CV, spread, DIFFP,
RD, kurtosis, skewness and the Kolmogorov-Smirnov statistic; DOMAIN.md (Reg 40) for
patterned prices and prices clustering at the cap.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from .result import HIGH, LOW, MEDIUM, ScreenResult, quiet, raised


def _ids(bids: Sequence[Mapping]) -> list:
    return [b.get("bid", i) for i, b in enumerate(bids)]


def _amounts(bids: Sequence[Mapping]) -> np.ndarray:
    return np.array([float(b["amount"]) for b in bids], dtype=float)


def _ev(bids: Sequence[Mapping], idx) -> list[dict]:
    ids = _ids(bids)
    return [{"bid": ids[i], "amount": float(bids[i]["amount"])} for i in idx]


def price_statistics(amounts: Sequence[float]) -> dict[str, float]:
    """The seven screens of one tender as numbers (NaN where too few bids).

    cv = s / mean; spread = (max - min) / min; diffp = (b2 - b1) / b1 with b1 <= b2 the
    two lowest bids; rd = (b2 - b1) / s_losing, s_losing the standard deviation of the
    bids above the lowest; kurtosis and skewness are the bias-corrected sample moments
    (excess kurtosis); ks = the Kolmogorov-Smirnov distance between the bids rescaled to
    [0, 1] by min and max and the uniform distribution.
    """
    a = np.sort(np.asarray(amounts, dtype=float))
    n = len(a)
    nan = float("nan")
    out = dict(n=float(n), cv=nan, spread=nan, diffp=nan, rd=nan, kurtosis=nan,
               skewness=nan, ks=nan)
    if n < 2 or a[0] <= 0:
        return out
    mean, sd = a.mean(), a.std(ddof=1)
    out["cv"] = sd / mean
    out["spread"] = (a[-1] - a[0]) / a[0]
    out["diffp"] = (a[1] - a[0]) / a[0]
    if n >= 3:
        losing_sd = a[1:].std(ddof=1)
        gap = a[1] - a[0]
        # Identical losing bids: a positive gap over no spread is the extreme case.
        out["rd"] = gap / losing_sd if losing_sd > 0 else (10.0 if gap > 0 else 0.0)
        d = a - mean
        m2 = float((d * d).mean())
        if m2 > 0:
            g1 = float((d**3).mean()) / m2**1.5
            # Bias-corrected sample skewness and excess kurtosis (as scipy.stats.skew and
            # kurtosis with bias=False), written out: these run once per tender.
            out["skewness"] = g1 * math.sqrt(n * (n - 1)) / (n - 2)
            if n >= 4:
                g2 = float((d**4).mean()) / m2**2 - 3
                out["kurtosis"] = ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3))
        if a[-1] > a[0]:
            u = (a - a[0]) / (a[-1] - a[0])
            i = np.arange(1, n + 1)
            out["ks"] = float(max((i / n - u).max(), (u - (i - 1) / n).max()))
    return out


def _stat_result(code, bids, value, fired, severity, zh, en, **ev) -> ScreenResult:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return quiet(code, None, en="too few bids for this screen", zh="投标数量不足，无法计算")
    if not fired:
        return quiet(code, float(value), **ev)
    return raised(code, severity, float(value), zh, en, bids=_ev(bids, range(len(bids))), **ev)


def screen_cv(bids: Sequence[Mapping], *, below: float = 0.03) -> ScreenResult:
    """Coefficient of variation s/mean: bids of a cartel sit unusually close together."""
    v = price_statistics(_amounts(bids))["cv"]
    return _stat_result(
        "price_cv", bids, v, v < below, LOW,
        f"各投标报价的变异系数仅为 {v:.2%}，报价异常集中（阈值 {below:.0%}）。",
        f"The bids' coefficient of variation is only {v:.2%}: prices are unusually close "
        f"together (threshold {below:.0%}).", threshold=below)


def screen_spread(bids: Sequence[Mapping], *, below: float = 0.05) -> ScreenResult:
    """Spread (max - min) / min: a narrow range of prices."""
    v = price_statistics(_amounts(bids))["spread"]
    return _stat_result(
        "price_spread", bids, v, v < below, LOW,
        f"最高价与最低价仅相差 {v:.2%}（阈值 {below:.0%}）。",
        f"The highest bid is only {v:.2%} above the lowest (threshold {below:.0%}).",
        threshold=below)


def screen_diffp(bids: Sequence[Mapping], *, above: float = 0.10) -> ScreenResult:
    """DIFFP (b2 - b1) / b1: a wide gap between the winner and the first cover bid."""
    v = price_statistics(_amounts(bids))["diffp"]
    return _stat_result(
        "price_diffp", bids, v, v > above, LOW,
        f"最低价与次低价相差 {v:.2%}，中标价与其余报价明显分离（阈值 {above:.0%}）。",
        f"The second-lowest bid is {v:.2%} above the lowest: the winning price stands apart "
        f"from the others (threshold {above:.0%}).", threshold=above)


def screen_rd(bids: Sequence[Mapping], *, above: float = 1.0) -> ScreenResult:
    """Relative distance (b2 - b1) / s_losing (Imhof): the gap to the winner measured in
    the spread of the losing bids; above 1 the losing bids look like a cluster of covers."""
    v = price_statistics(_amounts(bids))["rd"]
    sev = MEDIUM if (v == v and v > 2 * above) else LOW
    return _stat_result(
        "price_rd", bids, v, v > above, sev,
        f"最低价与次低价之差是落标报价标准差的 {v:.2f} 倍（阈值 {above}），落标报价疑似陪标。",
        f"The gap between the two lowest bids is {v:.2f} times the spread of the losing "
        f"bids (threshold {above}): the losing bids look like cover bids.", threshold=above)


def screen_kurtosis(bids: Sequence[Mapping], *, above: float = 2.0) -> ScreenResult:
    """Excess kurtosis: a peaked price distribution (bids piled on one value)."""
    v = price_statistics(_amounts(bids))["kurtosis"]
    return _stat_result(
        "price_kurtosis", bids, v, v > above, LOW,
        f"报价分布的超额峰度为 {v:.2f}，报价堆积在同一水平（阈值 {above}）。",
        f"The bids' excess kurtosis is {v:.2f}: prices pile up around one level "
        f"(threshold {above}).", threshold=above)


def screen_skewness(bids: Sequence[Mapping], *, below: float = -1.0) -> ScreenResult:
    """Skewness: strongly negative when one low bid sits below a cluster of covers."""
    v = price_statistics(_amounts(bids))["skewness"]
    return _stat_result(
        "price_skewness", bids, v, v < below, LOW,
        f"报价分布偏度为 {v:.2f}，一个低价远离其余集中的报价（阈值 {below}）。",
        f"The bids' skewness is {v:.2f}: one low bid sits apart from a cluster of higher "
        f"bids (threshold {below}).", threshold=below)


def screen_ks(bids: Sequence[Mapping], *, p_below: float = 0.05) -> ScreenResult:
    """Kolmogorov-Smirnov distance to the uniform on [min, max]; raised when the test
    rejects uniformity (p < p_below): prices placed by design, not by independent costs."""
    a = _amounts(bids)
    v = price_statistics(a)["ks"]
    if v != v:
        return _stat_result("price_ks", bids, v, False, LOW, "", "")
    n = len(a)
    # The rescaling pins min and max at 0 and 1, so only n - 2 points are free.
    p = float(stats.kstwo.sf(v, max(n - 2, 1)))
    return _stat_result(
        "price_ks", bids, v, p < p_below, LOW,
        f"报价分布与均匀分布的 K-S 距离为 {v:.2f}（p = {p:.3f}），不像独立报价。",
        f"The Kolmogorov-Smirnov distance between the bids and a uniform spread is {v:.2f} "
        f"(p = {p:.3f}): the prices do not look independently set.", p_value=p)


def _longest_run(steps: np.ndarray, rel_tol: float) -> tuple[int, int]:
    """Longest run of consecutive equal positive steps: (start index, number of steps)."""
    best = (0, 0)
    i = 0
    while i < len(steps):
        if steps[i] <= 0:
            i += 1
            continue
        j = i + 1
        while j < len(steps) and abs(steps[j] - steps[i]) <= rel_tol * abs(steps[i]):
            j += 1
        if j - i > best[1]:
            best = (i, j - i)
        i = j if j - i > 1 else i + 1
    return best


def screen_price_sequence(bids: Sequence[Mapping], *, rel_tol: float = 0.002,
                          min_bids: int = 3) -> ScreenResult:
    """Prices in an arithmetic (equal differences) or fixed-ratio (equal ratios) sequence.

    The sorted prices are searched for the longest run of equal steps, within ``rel_tol``
    of the step. A run covering at least ``min_bids`` bids is raised; high when it covers
    every bid of a tender with at least four bids.
    """
    order = np.argsort(_amounts(bids), kind="stable")
    a = _amounts(bids)[order]
    if len(a) < min_bids or a[0] <= 0:
        return quiet("price_sequence", 0.0)
    found = []
    for kind, steps in (("arithmetic", np.diff(a)), ("geometric", a[1:] / a[:-1] - 1)):
        start, length = _longest_run(steps, rel_tol)
        if length + 1 >= min_bids:
            found.append((length + 1, kind, start, float(steps[start])))
    if not found:
        return quiet("price_sequence", 0.0)
    run, kind, start, step = max(found)
    idx = [int(k) for k in order[start:start + run]]
    sev = HIGH if run == len(a) and run >= 4 else MEDIUM if run >= 4 or run == len(a) else LOW
    if kind == "arithmetic":
        zh = f"{run} 个报价构成等差数列（公差 {step:,.2f}）。"
        en = f"{run} bids form an arithmetic sequence (common difference {step:,.2f})."
    else:
        zh = f"{run} 个报价构成等比数列（公比 {1 + step:.4f}）。"
        en = f"{run} bids form a fixed-ratio sequence (ratio {1 + step:.4f})."
    return raised("price_sequence", sev, float(run) / len(a), zh, en,
                  bids=_ev(bids, idx), kind=kind, step=step)


def screen_hugging_cap(bids: Sequence[Mapping], *, cap: float | None = None,
                       within: float = 0.02, min_share: float = 0.5) -> ScreenResult:
    """Bids hugging the maximum price (the ceiling, 最高投标限价) or the estimate.

    ``cap`` defaults to each bid's ``max_price``, else its ``estimate``. Bids within
    ``within`` of the cap (below it for a ceiling, either side of an estimate) are
    counted; raised when at least two bids and ``min_share`` of the bids do so.
    """
    a = _amounts(bids)
    is_ceiling = cap is not None or any(b.get("max_price") not in (None, "") for b in bids)
    if cap is None:
        caps = [b.get("max_price") or b.get("estimate") for b in bids]
        caps = [float(c) for c in caps if c not in (None, "")]
        cap = caps[0] if caps else None
    if not cap or cap <= 0 or len(a) == 0:
        return quiet("price_hugging_cap", None, en="no maximum price or estimate",
                     zh="无最高投标限价或估算价")
    ratio = a / cap
    near = ratio >= 1 - within
    near &= ratio <= 1 if is_ceiling else ratio <= 1 + within
    share = float(near.mean())
    if near.sum() < 2 or share < min_share:
        return quiet("price_hugging_cap", share)
    what_en = "maximum price" if is_ceiling else "estimate"
    what_zh = "最高投标限价" if is_ceiling else "估算价"
    idx = [int(i) for i in np.flatnonzero(near)]
    return raised(
        "price_hugging_cap", MEDIUM if share >= 0.8 else LOW, share,
        f"{int(near.sum())} 个报价（{share:.0%}）紧贴{what_zh} {cap:,.2f}（{within:.0%} 以内）。",
        f"{int(near.sum())} bids ({share:.0%}) sit within {within:.0%} of the {what_en} "
        f"{cap:,.2f}.", bids=_ev(bids, idx), cap=cap)


def screen_identical_prices(bids: Sequence[Mapping], *, decimals: int = 2) -> ScreenResult:
    """The same total price on several bids (also Cardinal R028)."""
    groups: dict[float, list[int]] = defaultdict(list)
    for i, b in enumerate(bids):
        groups[round(float(b["amount"]), decimals)].append(i)
    same = [idx for idx in groups.values() if len(idx) > 1]
    if not same:
        return quiet("identical_prices", 0.0)
    count = sum(len(s) for s in same)
    ev = [_ev(bids, s) for s in same]
    return raised(
        "identical_prices", MEDIUM, float(count),
        f"{count} 个报价金额完全相同：" + "；".join(f"{g[0]['amount']:,.2f}" for g in ev),
        f"{count} bids carry identical prices: " + "; ".join(f"{g[0]['amount']:,.2f}" for g in ev),
        groups=ev)


PRICE_SCREENS = (screen_cv, screen_spread, screen_diffp, screen_rd, screen_kurtosis,
                 screen_skewness, screen_ks, screen_price_sequence, screen_hugging_cap,
                 screen_identical_prices)
