"""The price score (价格分): every price formula a tender may name, in one module.

One entry point, :func:`price_scores`, takes the formula code the tender stored
(``Tender.price_formula``, or ``EvaluationMethod.LOWEST_PRICE`` for the lowest evaluated
price method), the opened prices, the tender's ``price_formula_params`` and its maximum
price, and returns a :class:`PriceScoreResult`: the score of every valid bid, the benchmark,
the ranking, the bids excluded and why, and each step of the computation in Chinese and
English so the committee's report can show its working.

Everything is pure ``Decimal`` arithmetic in a local context of 50 significant digits; a
value is rounded only where a docstring says so, always half up (四舍五入), the way tender
documents state it. Floats are refused as prices; a parameter that arrives as a JSON number
is read through its shortest decimal text (``1.2`` is ``Decimal("1.2")``), never as binary.

Formulas (DOMAIN.md "Evaluation methods"; the numbers are local practice, so every one is a
parameter the tender documents state, Reg 49):

``benchmark_deviation``  评标基准价 = 有效报价去掉最高最低后的算术平均值 × (1 + 浮动系数);
    偏差率 = (报价 − 基准价) / 基准价; 得分 = 满分 − 扣分, 高于与低于基准价扣分不同, 最低 0 分.
``lowest_full_marks``    评标基准价 = 最低有效报价; 价格分 = 满分 × 评标基准价 / 投标报价.
``lowest_price``         经评审的最低投标价法: 评审价 = 报价 + 量化调整; 由低到高排序, 不计分.

A bid above the maximum price (最高投标限价) must be rejected (Reg 51): it is excluded with
its reason before any formula runs and is neither counted in a benchmark nor scored.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from django.utils.translation import gettext as _

from bidding.tenders.reference import EvaluationMethod, PriceFormula
from core.refusals import refuse

BidderId = Hashable

BENCHMARK_DEVIATION = PriceFormula.BENCHMARK_DEVIATION.value
LOWEST_FULL_MARKS = PriceFormula.LOWEST_FULL_MARKS.value
# The lowest evaluated price method has no price formula of its own: the tender names it as
# its evaluation method, and the price ranks the bids instead of scoring them.
LOWEST_EVALUATED = EvaluationMethod.LOWEST_PRICE.value

FORMULAS = (BENCHMARK_DEVIATION, LOWEST_FULL_MARKS, LOWEST_EVALUATED)

MONEY = Decimal("0.01")  # benchmark and evaluated prices: to the fen (分)
RATIO = Decimal("0.0001")  # deviation: to 0.01 %, as tender documents usually state
POINTS = Decimal("0.01")  # scores: two decimals

# How many of the highest and lowest valid prices the trimmed mean drops, by the number of
# valid bids: rows of [at least this many valid bids, drop highest, drop lowest]; the last
# row that applies wins. Common practice (local, not statute): fewer than 5 valid bids, all
# count; 5 to 9, drop one highest and one lowest; 10 or more, drop two of each. A tender
# states its own table in ``price_formula_params["trim"]``.
DEFAULT_TRIM = ((5, 1, 1), (10, 2, 2))

# Parameter vocabulary of each formula. Keys of another formula are ignored (a tender may keep
# them when it switches formula); a key no formula knows is refused as a likely typo.
PARAMS = {
    BENCHMARK_DEVIATION: {
        "full_score", "float", "k_above", "k_below",
        "points_per_pct_above", "points_per_pct_below", "trim",
    },
    LOWEST_FULL_MARKS: {"full_score"},
    LOWEST_EVALUATED: {"adjustments"},
}
ALL_PARAMS = set().union(*PARAMS.values())


@dataclass(frozen=True)
class Step:
    """One step of the working, in Chinese and in English (for the bilingual report)."""

    zh: str
    en: str


@dataclass(frozen=True)
class PriceScoreResult:
    formula: str
    # bidder -> score (Decimal, two decimals); empty for the lowest evaluated price method.
    scores: dict
    # 评标基准价: the benchmark (formula 1), the lowest valid price (formula 2), the lowest
    # evaluated price (formula 3); to the fen.
    benchmark: Decimal
    # bidder -> rank, 1 is best; equal scores (or evaluated prices) share a rank (1, 1, 3).
    ranks: dict
    # bidder -> the price the formula used: the bid price, or price + adjustments (formula 3).
    evaluated_prices: dict
    # bidder -> Step saying why the bid was excluded (above the maximum price).
    excluded: dict = field(default_factory=dict)
    explanation: list = field(default_factory=list)


# --- entry point --------------------------------------------------------------------------


def price_scores(
    *,
    formula: str,
    prices: Mapping[BidderId, Decimal],
    params: dict,
    max_price: Decimal | None,
) -> PriceScoreResult:
    """Score (or rank) the opened prices by the formula the tender named.

    ``prices`` maps each bidder to its opened total price (``Decimal``, positive). Bids above
    ``max_price`` are excluded with a reason (Reg 51); a bid at exactly the maximum is valid.
    Raises ``ValidationError`` (``core.refusals.refuse``) for an unknown formula, bad
    parameters, a price that is not a positive ``Decimal``, or no valid bid at all.
    The result does not depend on the order of ``prices``.
    """
    if formula not in FORMULAS:
        raise refuse(
            "price_formula",
            _("Unknown price formula %(formula)s; expected one of %(known)s.")
            % {"formula": formula, "known": ", ".join(FORMULAS)},
            "price_formula_unknown",
        )
    if not isinstance(params, Mapping):
        raise refuse(
            "price_formula_params",
            _("The price formula parameters must be an object of names and values."),
            "price_formula_params_invalid",
        )
    unknown = sorted(str(k) for k in params if k not in ALL_PARAMS)
    if unknown:
        raise refuse(
            "price_formula_params",
            _("Unknown price formula parameter(s): %(names)s.") % {"names": ", ".join(unknown)},
            "price_formula_param_unknown",
        )
    cap = _max_price(max_price)
    checked = _prices(prices)

    explanation: list[Step] = []
    ignored = sorted(str(k) for k in params if k not in PARAMS[formula])
    if ignored:
        names = ", ".join(ignored)
        explanation.append(Step(f"本公式不使用参数 {names}，已忽略。",
                                f"Parameters not used by this formula, ignored: {names}."))
    valid: dict = {}
    excluded: dict = {}
    for bidder, price in _ordered(checked):
        if cap is not None and price > cap:
            reason = Step(
                f"投标人 {bidder} 报价 {_m(price)} 元高于最高投标限价 {_m(cap)} 元，"
                "按否决投标处理，不参与评标基准价计算，不计分（条例第51条）。",
                f"Bidder {bidder}: price {_m(price)} is above the maximum price {_m(cap)}; "
                "the bid is rejected, not counted in the benchmark and not scored (Reg 51).",
            )
            excluded[bidder] = reason
            explanation.append(reason)
        else:
            valid[bidder] = price
    if not valid:
        raise refuse(
            "prices",
            _("There is no valid price to score: every price is above the maximum price."),
            "price_no_valid_bids",
        )
    with localcontext() as ctx:
        ctx.prec = 50
        ctx.rounding = ROUND_HALF_UP
        compute: Callable = _COMPUTE[formula]
        result = compute(valid=valid, params=params, explanation=explanation)
    return PriceScoreResult(formula=formula, excluded=excluded, explanation=explanation,
                            **result)


def formula_for(evaluation_method: str, price_formula: str) -> str:
    """The formula code a tender's declared method names: under the lowest evaluated price
    method the price ranks the bids (``LOWEST_EVALUATED``), else the tender's price formula."""
    if evaluation_method == EvaluationMethod.LOWEST_PRICE:
        return LOWEST_EVALUATED
    return price_formula


def check_declared(*, evaluation_method: str, price_formula: str, params,
                   max_price: Decimal | None) -> None:
    """Refuse, at publication, parameters the evaluation could not use.

    Runs the declared formula once on three prices at and below the maximum price, so
    every parameter is read exactly as the evaluation will read it; raises the same
    ``ValidationError`` the evaluation would raise, months earlier.
    """
    cap = _max_price(max_price) or Decimal("1000000")
    sample = {"a": cap, "b": (cap * Decimal("0.95")).quantize(MONEY),
              "c": (cap * Decimal("0.9")).quantize(MONEY)}
    price_scores(formula=formula_for(evaluation_method, price_formula), prices=sample,
                 params=params if params is not None else {}, max_price=cap)


# --- formula 1: trimmed-mean benchmark with a float and asymmetric deductions --------------


def benchmark_deviation(*, valid: Mapping, params: Mapping, explanation: list) -> dict:
    """评标基准价 with a float and asymmetric deductions (DOMAIN.md, local practice).

    Parameters (``price_formula_params``):

    - ``full_score`` (> 0): 满分, the score of a bid exactly at the benchmark.
    - ``float`` (−1 < float < 1, default 0): 浮动系数; negative is a 下浮 (the benchmark
      sits below the mean).
    - deductions, one of two forms, stated for above and for below the benchmark:
      ``k_above`` / ``k_below`` (≥ 0): deduction = full_score × k × |deviation| (DOMAIN.md;
      e.g. 1.2 and 0.8), or ``points_per_pct_above`` / ``points_per_pct_below`` (≥ 0):
      deduction = points × |deviation| × 100, i.e. points per 1 % (e.g. 1 and 0.5).
      Deviation between whole percents is interpolated (不足 1% 按插值计算).
    - ``trim``: rows ``[at least n valid bids, drop highest, drop lowest]``; the last row
      with n ≤ the number of valid bids applies (default :data:`DEFAULT_TRIM`). Ties are
      dropped one price at a time: of two equal highest prices, one is dropped.

    Steps and rounding: mean = Σ kept prices / count, exact; benchmark = mean × (1 + float),
    rounded to 0.01 yuan; deviation = (price − benchmark) / benchmark, rounded to 0.0001
    (0.01 %); score = max(0, full − deduction), rounded to 0.01.
    """
    full = _number(params, "full_score", positive=True)
    rise = _number(params, "float", default=Decimal(0))
    if not Decimal(-1) < rise < Decimal(1):
        raise _out_of_range("float", _("between −1 and 1 (exclusive)"))
    ks = [k for k in ("k_above", "k_below") if k in params]
    pts = [k for k in ("points_per_pct_above", "points_per_pct_below") if k in params]
    if ks and pts:
        raise refuse(
            "price_formula_params",
            _("State the deductions either as k_above/k_below or as points_per_pct_above/"
              "points_per_pct_below, not both."),
            "price_formula_deductions_ambiguous",
        )
    if pts:
        above = _number(params, "points_per_pct_above", non_negative=True) * 100
        below = _number(params, "points_per_pct_below", non_negative=True) * 100
        form = "points"
    else:
        above = full * _number(params, "k_above", non_negative=True)
        below = full * _number(params, "k_below", non_negative=True)
        form = "k"
    trim = _trim(params.get("trim", DEFAULT_TRIM))

    n = len(valid)
    drop_high, drop_low = 0, 0
    for at_least, high, low in trim:
        if n >= at_least:
            drop_high, drop_low = high, low
    ordered = sorted(valid.values())
    kept = ordered[drop_low:n - drop_high]
    mean = sum(kept, Decimal(0)) / len(kept)
    benchmark = (mean * (1 + rise)).quantize(MONEY, ROUND_HALF_UP)
    kept_text = " + ".join(_m(p) for p in kept)
    shown_mean = _m(mean, exact=True)
    sign = f"+ {rise}" if rise >= 0 else f"− {-rise}"
    explanation.append(Step(
        f"有效投标 {n} 家，去掉最高 {drop_high} 家、最低 {drop_low} 家，"
        f"其余 {len(kept)} 家报价的算术平均值 = ({kept_text}) / {len(kept)} = {shown_mean}。",
        f"{n} valid bids; dropping the {drop_high} highest and {drop_low} lowest, the mean of "
        f"the other {len(kept)} is ({kept_text}) / {len(kept)} = {shown_mean}.",
    ))
    explanation.append(Step(
        f"评标基准价 = {shown_mean} × (1 {sign}) = {_m(benchmark)} 元（保留两位小数）。",
        f"Benchmark = {shown_mean} × (1 {sign}) = {_m(benchmark)} yuan (to 0.01).",
    ))
    if form == "k":
        explanation.append(Step(
            f"偏差率 = (报价 − 基准价) / 基准价（保留到 0.01%）；高于基准价扣分 = {full} × "
            f"{params['k_above']} × |偏差率|，低于基准价扣分 = {full} × {params['k_below']} × "
            "|偏差率|；得分 = 满分 − 扣分，最低 0 分，保留两位小数。",
            f"Deviation = (price − benchmark) / benchmark (to 0.01 %); above the benchmark "
            f"deduct {full} × {params['k_above']} × |deviation|, below it {full} × "
            f"{params['k_below']} × |deviation|; score = full − deduction, at least 0, to 0.01.",
        ))
    else:
        explanation.append(Step(
            f"偏差率 = (报价 − 基准价) / 基准价（保留到 0.01%）；每高于基准价 1% 扣 "
            f"{params['points_per_pct_above']} 分，每低于基准价 1% 扣 "
            f"{params['points_per_pct_below']} 分，不足 1% 按插值计算；"
            "得分最低 0 分，保留两位小数。",
            f"Deviation = (price − benchmark) / benchmark (to 0.01 %); deduct "
            f"{params['points_per_pct_above']} points per 1 % above the benchmark and "
            f"{params['points_per_pct_below']} per 1 % below, interpolated; score at least 0, "
            "to 0.01.",
        ))
    scores = {}
    for bidder, price in _ordered(valid):
        deviation = ((price - benchmark) / benchmark).quantize(RATIO, ROUND_HALF_UP)
        rate = above if deviation > 0 else below
        deduction = rate * abs(deviation)
        score = max(Decimal(0), full - deduction).quantize(POINTS, ROUND_HALF_UP)
        scores[bidder] = score
        pct = _pct(deviation)
        explanation.append(Step(
            f"投标人 {bidder}：报价 {_m(price)}，偏差率 {pct}，扣 {_pts(deduction)} 分，"
            f"得分 {score}。",
            f"Bidder {bidder}: price {_m(price)}, deviation {pct}, deduct {_pts(deduction)}, "
            f"score {score}.",
        ))
    return {"scores": scores, "benchmark": benchmark, "ranks": _ranks(scores, high_first=True),
            "evaluated_prices": dict(valid)}


# --- formula 2: lowest valid price gets full marks -----------------------------------------


def lowest_full_marks(*, valid: Mapping, params: Mapping, explanation: list) -> dict:
    """Lowest valid price gets full marks (低价优先法, government procurement practice).

    Parameters: ``full_score`` (> 0). 评标基准价 = the lowest valid price;
    价格分 = full_score × 评标基准价 / 投标报价, rounded to 0.01 (half up). The lowest bid
    therefore scores exactly full marks, and a lower price never scores less.
    """
    full = _number(params, "full_score", positive=True)
    benchmark = min(valid.values())
    explanation.append(Step(
        f"评标基准价 = 最低有效投标报价 = {_m(benchmark)} 元；价格分 = {full} × 评标基准价 / "
        "投标报价，保留两位小数。",
        f"Benchmark = lowest valid price = {_m(benchmark)} yuan; price score = {full} × "
        "benchmark / price, to 0.01.",
    ))
    scores = {}
    for bidder, price in _ordered(valid):
        score = (full * benchmark / price).quantize(POINTS, ROUND_HALF_UP)
        scores[bidder] = score
        explanation.append(Step(
            f"投标人 {bidder}：{full} × {_m(benchmark)} / {_m(price)} = {score}。",
            f"Bidder {bidder}: {full} × {_m(benchmark)} / {_m(price)} = {score}.",
        ))
    return {"scores": scores, "benchmark": benchmark, "ranks": _ranks(scores, high_first=True),
            "evaluated_prices": dict(valid)}


# --- formula 3: lowest evaluated price -----------------------------------------------------


def lowest_evaluated(*, valid: Mapping, params: Mapping, explanation: list) -> dict:
    """Lowest evaluated price (经评审的最低投标价法, Law 41; Interim 30-33): ranks, no points.

    Parameters: ``adjustments`` (optional), an object from bidder id (as text) to the
    committee's quantified adjustment in yuan for that bid: positive for priced deviations
    (偏差折价), negative for a price deduction the tender documents grant. Evaluated
    price = price + adjustment, rounded to 0.01; it must stay positive. Bids are ranked by
    evaluated price, lowest first; equal evaluated prices share a rank and the tender
    documents' tie-break decides between them (not this formula). ``scores`` is empty;
    ``benchmark`` is the lowest evaluated price.
    """
    raw = params.get("adjustments", {}) or {}
    if not isinstance(raw, Mapping):
        raise refuse(
            "price_formula_params",
            _("adjustments must be an object from bidder to amount."),
            "price_formula_params_invalid",
        )
    by_text = {str(b): b for b in valid}
    strangers = sorted(str(k) for k in raw if str(k) not in by_text)
    if strangers:
        raise refuse(
            "price_formula_params",
            _("adjustments name bidder(s) without a valid bid: %(ids)s.")
            % {"ids": ", ".join(strangers)},
            "price_formula_adjustment_unknown_bidder",
        )
    adjust = {by_text[str(k)]: _decimal(v, f"adjustments.{k}") for k, v in raw.items()}
    explanation.append(Step(
        "经评审的最低投标价法：评审价 = 投标报价 + 量化调整，按评审价由低到高排序，不计价格分。",
        "Lowest evaluated price: evaluated price = price + quantified adjustments, ranked "
        "lowest first; no price score.",
    ))
    evaluated = {}
    for bidder, price in _ordered(valid):
        delta = adjust.get(bidder, Decimal(0))
        value = (price + delta).quantize(MONEY, ROUND_HALF_UP)
        if value <= 0:
            raise refuse(
                "price_formula_params",
                _("The adjustment for bidder %(id)s makes its evaluated price zero or "
                  "negative.") % {"id": bidder},
                "price_formula_evaluated_price_not_positive",
            )
        evaluated[bidder] = value
        explanation.append(Step(
            f"投标人 {bidder}：评审价 = {_m(price)} + ({_m(delta)}) = {_m(value)}。",
            f"Bidder {bidder}: evaluated price = {_m(price)} + ({_m(delta)}) = {_m(value)}.",
        ))
    ranks = _ranks(evaluated, high_first=False)
    order = sorted(evaluated, key=lambda b: (ranks[b], str(b)))
    explanation.append(Step(
        "排序：" + "，".join(f"第{ranks[b]}名 {b}" for b in order) + "。",
        "Ranking: " + ", ".join(f"{ranks[b]}. {b}" for b in order) + ".",
    ))
    ties = [r for r in set(ranks.values()) if list(ranks.values()).count(r) > 1]
    if ties:
        explanation.append(Step(
            "评审价相同的投标并列，按招标文件规定的方法确定先后。",
            "Bids with equal evaluated prices share a rank; the tender documents' tie-break "
            "decides between them.",
        ))
    return {"scores": {}, "benchmark": min(evaluated.values()), "ranks": ranks,
            "evaluated_prices": evaluated}


_COMPUTE = {
    BENCHMARK_DEVIATION: benchmark_deviation,
    LOWEST_FULL_MARKS: lowest_full_marks,
    LOWEST_EVALUATED: lowest_evaluated,
}


# --- helpers -------------------------------------------------------------------------------


def _ordered(prices: Mapping) -> list:
    # One order for the explanation whatever order the caller's mapping had.
    return sorted(prices.items(), key=lambda item: (item[1], str(item[0])))


def _ranks(values: Mapping, *, high_first: bool) -> dict:
    """Competition ranking (1, 1, 3): equal values share the better rank."""
    ranks = {}
    for bidder, v in values.items():
        better = sum(1 for w in values.values() if (w > v if high_first else w < v))
        ranks[bidder] = better + 1
    return ranks


def _prices(prices) -> dict:
    if not isinstance(prices, Mapping):
        raise refuse("prices", _("The prices must map each bidder to a price."), "price_invalid")
    checked = {}
    for bidder, price in prices.items():
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            raise refuse(
                "prices",
                _("The price of bidder %(id)s must be a positive decimal amount.")
                % {"id": bidder},
                "price_invalid",
            )
        checked[bidder] = price
    if not checked:
        raise refuse("prices", _("There is no price to score."), "price_no_valid_bids")
    return checked


def _max_price(max_price) -> Decimal | None:
    if max_price is None:
        return None
    if not isinstance(max_price, Decimal) or not max_price.is_finite() or max_price <= 0:
        raise refuse(
            "max_price",
            _("The maximum price must be a positive decimal amount."),
            "max_price_invalid",
        )
    return max_price


def _decimal(raw, name: str) -> Decimal:
    # JSON numbers arrive as int or float; a float is read through its shortest text
    # (repr), so 1.2 means Decimal("1.2") and no binary error enters the arithmetic.
    if isinstance(raw, bool):
        raw = None
    elif isinstance(raw, float):
        raw = repr(raw)
    try:
        value = Decimal(raw) if isinstance(raw, int | str | Decimal) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise refuse(
            "price_formula_params",
            _("The price formula parameter %(name)s must be a number.") % {"name": name},
            "price_formula_param_not_a_number",
        )
    return value


def _number(params: Mapping, name: str, *, default=None, positive=False,
            non_negative=False) -> Decimal:
    if name not in params:
        if default is not None:
            return default
        raise refuse(
            "price_formula_params",
            _("The price formula needs the parameter %(name)s.") % {"name": name},
            "price_formula_param_missing",
        )
    value = _decimal(params[name], name)
    if positive and value <= 0:
        raise _out_of_range(name, _("greater than 0"))
    if non_negative and value < 0:
        raise _out_of_range(name, _("0 or more"))
    return value


def _out_of_range(name: str, expected: str):
    return refuse(
        "price_formula_params",
        _("The price formula parameter %(name)s must be %(expected)s.")
        % {"name": name, "expected": expected},
        "price_formula_param_out_of_range",
    )


def _trim(raw) -> tuple:
    """Validate the trim table: rows of three whole numbers, n ascending, one price left."""
    bad = refuse(
        "price_formula_params",
        _("trim must be a list of [at least n valid bids, drop highest, drop lowest] rows, "
          "n rising, whole numbers, always leaving at least one price."),
        "price_formula_trim_invalid",
    )
    if not isinstance(raw, list | tuple):
        raise bad
    rows, last = [], 0
    for row in raw:
        if (not isinstance(row, list | tuple) or len(row) != 3
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in row)):
            raise bad
        at_least, high, low = row
        if at_least < 1 or at_least <= last or high < 0 or low < 0 or high + low >= at_least:
            raise bad
        rows.append((at_least, high, low))
        last = at_least
    return tuple(rows)


def _m(amount: Decimal, exact: bool = False) -> str:
    # Yuan to the fen for the working; an unrounded intermediate shows up to 4 decimals.
    if exact and amount != amount.quantize(MONEY, ROUND_HALF_UP):
        shown = amount.quantize(Decimal("0.0001"))
        return f"{shown:f}" + ("…" if shown != amount else "")
    return f"{amount.quantize(MONEY, ROUND_HALF_UP):f}"


def _pct(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal('0.01')):+f}%"


def _pts(points: Decimal) -> str:
    return f"{points.normalize():f}" if points else "0"
