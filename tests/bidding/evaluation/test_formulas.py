"""The price score: each formula against worked examples done by hand, the edge cases, every
refusal with its code, and properties (range, monotonicity, order of the input)."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding.evaluation.formulas import (
    BENCHMARK_DEVIATION,
    LOWEST_EVALUATED,
    LOWEST_FULL_MARKS,
    price_scores,
)
from bidding.tenders.reference import EvaluationMethod, PriceFormula

K_PARAMS = {"full_score": "40", "float": "-0.02", "k_above": "1.2", "k_below": "0.8"}


def refused(exc: pytest.ExceptionInfo, field: str, code: str) -> None:
    errors = exc.value.error_dict
    assert list(errors) == [field]
    assert [e.code for e in errors[field]] == [code]


# --- the codes the tender stores --------------------------------------------------------


def test_the_formula_codes_are_the_tenders_codes():
    assert BENCHMARK_DEVIATION == PriceFormula.BENCHMARK_DEVIATION
    assert LOWEST_FULL_MARKS == PriceFormula.LOWEST_FULL_MARKS
    assert LOWEST_EVALUATED == EvaluationMethod.LOWEST_PRICE


# --- formula 1: trimmed-mean benchmark, float, asymmetric deductions --------------------


def test_benchmark_deviation_worked_example_with_k_and_a_downward_float():
    prices = {"A": D("950000"), "B": D("1000000"), "C": D("1020000"), "D": D("900000"),
              "E": D("1100000"), "F": D("1300000")}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices, params=K_PARAMS,
                     max_price=D("1200000"))
    # F (1,300,000) is above the maximum 1,200,000: excluded. 5 valid bids: drop the highest
    # (E 1,100,000) and the lowest (D 900,000).
    # mean = (950000 + 1000000 + 1020000) / 3 = 2970000 / 3 = 990000
    # benchmark = 990000 × (1 − 0.02) = 970200.00
    assert r.benchmark == D("970200.00")
    assert list(r.excluded) == ["F"]
    # Above: deduct 40 × 1.2 = 48 per unit of deviation; below: 40 × 0.8 = 32.
    # D: (900000 − 970200) / 970200 = −0.072356… → −0.0724; 32 × 0.0724 = 2.3168 → 37.68
    # A: −20200 / 970200 = −0.020820… → −0.0208; 32 × 0.0208 = 0.6656 → 39.3344 → 39.33
    # B: 29800 / 970200 = 0.030715… → 0.0307; 48 × 0.0307 = 1.4736 → 38.5264 → 38.53
    # C: 49800 / 970200 = 0.051329… → 0.0513; 48 × 0.0513 = 2.4624 → 37.5376 → 37.54
    # E: 129800 / 970200 = 0.133787… → 0.1338; 48 × 0.1338 = 6.4224 → 33.5776 → 33.58
    assert r.scores == {"D": D("37.68"), "A": D("39.33"), "B": D("38.53"),
                        "C": D("37.54"), "E": D("33.58")}
    assert r.ranks == {"A": 1, "B": 2, "D": 3, "C": 4, "E": 5}
    assert "F" not in r.scores and "F" not in r.ranks


def test_benchmark_deviation_worked_example_in_points_per_percent():
    # 1 point per 1 % above, 0.5 per 1 % below, full 30, no float, 3 bids: nothing trimmed.
    # mean = (100 + 110 + 120) / 3 = 110 = benchmark
    # X: −10/110 = −0.090909… → −0.0909 = −9.09 %; 0.5 × 9.09 = 4.545 → 25.455 → 25.46
    # Y: 0 → 30.00
    # Z: +9.09 %; 1 × 9.09 = 9.09 → 20.91
    r = price_scores(
        formula=BENCHMARK_DEVIATION,
        prices={"X": D("100"), "Y": D("110"), "Z": D("120")},
        params={"full_score": 30, "points_per_pct_above": 1, "points_per_pct_below": "0.5"},
        max_price=None,
    )
    assert r.benchmark == D("110.00")
    assert r.scores == {"X": D("25.46"), "Y": D("30.00"), "Z": D("20.91")}


def test_benchmark_deviation_scores_never_go_below_zero():
    # mean = (100 + 300) / 2 = 200; 300 is +50 % → deduct 50 > 10; 100 is −50 % → 25 > 10.
    r = price_scores(
        formula=BENCHMARK_DEVIATION, prices={"lo": D("100"), "hi": D("300")},
        params={"full_score": 10, "points_per_pct_above": 1, "points_per_pct_below": "0.5"},
        max_price=None,
    )
    assert r.scores == {"lo": D("0.00"), "hi": D("0.00")}
    assert r.ranks == {"lo": 1, "hi": 1}


def test_benchmark_deviation_json_float_params_are_read_as_their_decimal_text():
    r = price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("100"), "b": D("110"),
                     "c": D("100")}, params={"full_score": 10.0, "float": 0.1,
                     "k_above": 1.2, "k_below": 0.8}, max_price=None)
    # mean = 310 / 3 = 103.333…; × 1.1 = 113.666… → 113.67
    assert r.benchmark == D("113.67")
    # −0.1 as a binary float is −0.1000000000000000055…: 0.05 × 0.8999999… = 0.04499… would
    # round to 0.04. Read as "-0.1": 0.05 × 0.9 = 0.045 exactly, half up → 0.05.
    r = price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("0.05")},
                     params={"full_score": 10, "float": -0.1, "k_above": 1, "k_below": 1},
                     max_price=None)
    assert r.benchmark == D("0.05")


def test_ten_valid_bids_drop_the_two_highest_and_two_lowest():
    prices = {f"b{i}": D(100 + 10 * i) for i in range(10)}  # 100, 110, …, 190
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices,
                     params={**K_PARAMS, "float": "0"}, max_price=None)
    # keep 120 … 170: (120 + 130 + 140 + 150 + 160 + 170) / 6 = 870 / 6 = 145
    assert r.benchmark == D("145.00")


def test_fewer_than_five_valid_bids_are_all_counted():
    prices = {"a": D("100"), "b": D("200"), "c": D("300"), "d": D("400")}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices,
                     params={**K_PARAMS, "float": "0"}, max_price=None)
    # (100 + 200 + 300 + 400) / 4 = 250
    assert r.benchmark == D("250.00")


def test_bids_above_the_maximum_do_not_count_towards_the_trimming_threshold():
    # 5 bids but one above the maximum: 4 valid, so nothing is trimmed.
    prices = {"a": D("100"), "b": D("200"), "c": D("300"), "d": D("400"), "e": D("999")}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices,
                     params={**K_PARAMS, "float": "0"}, max_price=D("500"))
    assert r.benchmark == D("250.00")
    assert set(r.excluded) == {"e"}


def test_equal_extremes_are_trimmed_one_price_at_a_time():
    prices = {"a": D("100"), "b": D("100"), "c": D("200"), "d": D("300"), "e": D("300")}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices,
                     params={**K_PARAMS, "float": "0"}, max_price=None)
    # drop one 300 and one 100: (100 + 200 + 300) / 3 = 200
    assert r.benchmark == D("200.00")
    assert r.scores["a"] == r.scores["b"] and r.ranks["a"] == r.ranks["b"]


def test_the_tender_may_state_its_own_trim_table():
    prices = {"a": D("100"), "b": D("200"), "c": D("900")}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices,
                     params={**K_PARAMS, "float": "0", "trim": [[3, 1, 0]]}, max_price=None)
    # 3 bids, drop the highest only: (100 + 200) / 2 = 150
    assert r.benchmark == D("150.00")


def test_one_bid_is_its_own_benchmark_and_gets_full_marks():
    r = price_scores(formula=BENCHMARK_DEVIATION, prices={"only": D("123.45")},
                     params={**K_PARAMS, "float": "0"}, max_price=None)
    assert r.benchmark == D("123.45")
    assert r.scores == {"only": D("40.00")}


def test_all_equal_prices_score_full_marks_without_a_float():
    prices = {c: D("500000") for c in "abcdef"}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices,
                     params={**K_PARAMS, "float": "0"}, max_price=D("500000"))
    assert set(r.scores.values()) == {D("40.00")}
    assert set(r.ranks.values()) == {1}
    assert r.excluded == {}  # at exactly the maximum price a bid is valid


def test_the_explanation_shows_the_working_in_chinese_and_english():
    prices = {"A": D("950000"), "B": D("1000000"), "F": D("1300000")}
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices, params=K_PARAMS,
                     max_price=D("1200000"))
    zh = "\n".join(s.zh for s in r.explanation)
    en = "\n".join(s.en for s in r.explanation)
    assert "最高投标限价" in zh and "评标基准价" in zh
    # (950000 + 1000000) / 2 = 975000; × 0.98 = 955500.00
    assert "955500.00" in zh and "955500.00" in en
    assert "above the maximum price" in en and "Benchmark" in en
    assert "Bidder F" in r.excluded["F"].en


def test_parameters_of_another_formula_are_ignored_and_said_so():
    r = price_scores(formula=LOWEST_FULL_MARKS, prices={"a": D("10")}, params=K_PARAMS,
                     max_price=None)
    assert r.scores == {"a": D("40.00")}
    assert "k_above" in r.explanation[0].en


# --- formula 2: lowest valid price gets full marks --------------------------------------


def test_lowest_full_marks_worked_example():
    prices = {"A": D("800000"), "B": D("1000000"), "C": D("1200000"), "X": D("2000000")}
    r = price_scores(formula=LOWEST_FULL_MARKS, prices=prices, params={"full_score": "60"},
                     max_price=D("1500000"))
    # benchmark = lowest valid = 800000 (X is above the maximum, excluded)
    # A: 60 × 800000 / 800000 = 60.00
    # B: 60 × 800000 / 1000000 = 48.00
    # C: 60 × 800000 / 1200000 = 40.00
    assert r.benchmark == D("800000")
    assert r.scores == {"A": D("60.00"), "B": D("48.00"), "C": D("40.00")}
    assert r.ranks == {"A": 1, "B": 2, "C": 3}
    assert set(r.excluded) == {"X"}


def test_lowest_full_marks_rounds_half_up_to_two_decimals():
    # 30 × 300 / 700 = 12.857142… → 12.86; 30 × 300 / 800 = 11.25
    r = price_scores(formula=LOWEST_FULL_MARKS,
                     prices={1: D("300"), 2: D("700"), 3: D("800")},
                     params={"full_score": 30}, max_price=None)
    assert r.scores == {1: D("30.00"), 2: D("12.86"), 3: D("11.25")}


def test_lowest_full_marks_rounds_an_exact_half_up_not_to_even():
    # 10 × 1 / 16 = 0.625 exactly: half up gives 0.63 (banker's rounding would give 0.62).
    r = price_scores(formula=LOWEST_FULL_MARKS, prices={"a": D("1"), "b": D("16")},
                     params={"full_score": 10}, max_price=None)
    assert r.scores["b"] == D("0.63")


def test_lowest_full_marks_tied_lowest_bids_both_get_full_marks():
    r = price_scores(formula=LOWEST_FULL_MARKS,
                     prices={"a": D("90"), "b": D("90"), "c": D("100")},
                     params={"full_score": 10}, max_price=None)
    # c: 10 × 90 / 100 = 9.00
    assert r.scores == {"a": D("10.00"), "b": D("10.00"), "c": D("9.00")}
    assert r.ranks == {"a": 1, "b": 1, "c": 3}


# --- formula 3: lowest evaluated price --------------------------------------------------


def test_lowest_evaluated_price_ranks_by_price_plus_adjustments_without_points():
    prices = {1: D("1000"), 2: D("950"), 3: D("980"), 4: D("5000")}
    r = price_scores(formula=LOWEST_EVALUATED, prices=prices,
                     params={"adjustments": {"2": "60", "3": "-10"}}, max_price=D("4000"))
    # 1: 1000 + 0 = 1000; 2: 950 + 60 = 1010; 3: 980 − 10 = 970; 4 above the maximum.
    assert r.evaluated_prices == {1: D("1000.00"), 2: D("1010.00"), 3: D("970.00")}
    assert r.ranks == {3: 1, 1: 2, 2: 3}
    assert r.scores == {}
    assert r.benchmark == D("970.00")
    assert set(r.excluded) == {4}


def test_lowest_evaluated_price_ties_share_a_rank_and_the_tie_is_stated():
    r = price_scores(formula=LOWEST_EVALUATED,
                     prices={"a": D("1000"), "b": D("990"), "c": D("1200")},
                     params={"adjustments": {"b": 10}}, max_price=None)
    # a: 1000; b: 990 + 10 = 1000; c: 1200
    assert r.ranks == {"a": 1, "b": 1, "c": 3}
    assert "tie-break" in r.explanation[-1].en


def test_lowest_evaluated_price_without_adjustments_ranks_by_price():
    r = price_scores(formula=LOWEST_EVALUATED, prices={"a": D("2"), "b": D("1")},
                     params={}, max_price=None)
    assert r.ranks == {"b": 1, "a": 2}


# --- refusals -------------------------------------------------------------------------


def test_an_unknown_formula_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula="cheapest_wins", prices={"a": D("1")}, params={}, max_price=None)
    refused(exc, "price_formula", "price_formula_unknown")


def test_params_that_are_not_an_object_are_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_FULL_MARKS, prices={"a": D("1")}, params=["full_score"],
                     max_price=None)
    refused(exc, "price_formula_params", "price_formula_params_invalid")


def test_an_unknown_parameter_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("1")},
                     params={**K_PARAMS, "k_abvoe": "1"}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_unknown")


@pytest.mark.parametrize("missing", ["full_score", "k_above", "k_below"])
def test_a_missing_parameter_is_refused(missing):
    params = {k: v for k, v in K_PARAMS.items() if k != missing}
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("1")}, params=params,
                     max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_missing")


def test_lowest_full_marks_without_full_score_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_FULL_MARKS, prices={"a": D("1")}, params={},
                     max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_missing")


@pytest.mark.parametrize("bad", ["forty", None, True, [40], "NaN", "Infinity"])
def test_a_parameter_that_is_not_a_number_is_refused(bad):
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_FULL_MARKS, prices={"a": D("1")},
                     params={"full_score": bad}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_not_a_number")


@pytest.mark.parametrize("change", [
    {"full_score": "0"}, {"full_score": "-5"}, {"float": "1"}, {"float": "-1"},
    {"k_above": "-0.1"}, {"k_below": "-1"},
])
def test_a_parameter_out_of_range_is_refused(change):
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("1")},
                     params={**K_PARAMS, **change}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_out_of_range")


def test_negative_points_per_percent_are_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("1")},
                     params={"full_score": 10, "points_per_pct_above": -1,
                             "points_per_pct_below": 1}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_out_of_range")


def test_both_forms_of_deduction_at_once_are_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("1")},
                     params={**K_PARAMS, "points_per_pct_above": 1}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_deductions_ambiguous")


@pytest.mark.parametrize("trim", [
    "1,1", [[5, 1]], [[5, 1, "1"]], [[5, 1, 1], [5, 2, 2]], [[10, 1, 1], [5, 1, 1]],
    [[2, 1, 1]], [[0, 0, 0]], [[5, -1, 1]], [[5, True, 1]],
])
def test_a_malformed_trim_table_is_refused(trim):
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("1")},
                     params={**K_PARAMS, "trim": trim}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_trim_invalid")


def test_adjustments_that_are_not_an_object_are_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_EVALUATED, prices={"a": D("1")},
                     params={"adjustments": [1, 2]}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_params_invalid")


def test_an_adjustment_for_a_bidder_without_a_valid_bid_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_EVALUATED, prices={"a": D("1"), "b": D("9")},
                     params={"adjustments": {"b": 1}}, max_price=D("5"))
    refused(exc, "price_formula_params", "price_formula_adjustment_unknown_bidder")


def test_an_adjustment_that_is_not_a_number_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_EVALUATED, prices={"a": D("1")},
                     params={"adjustments": {"a": "ten"}}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_param_not_a_number")


def test_an_adjustment_that_makes_the_evaluated_price_not_positive_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_EVALUATED, prices={"a": D("100")},
                     params={"adjustments": {"a": "-100"}}, max_price=None)
    refused(exc, "price_formula_params", "price_formula_evaluated_price_not_positive")


@pytest.mark.parametrize("price", [1.5, 2, "3", D("0"), D("-1"), D("NaN"), D("Infinity")])
def test_a_price_that_is_not_a_positive_decimal_is_refused(price):
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_FULL_MARKS, prices={"a": price},
                     params={"full_score": 1}, max_price=None)
    refused(exc, "prices", "price_invalid")


@pytest.mark.parametrize("cap", [D("0"), 100.0, "100", D("NaN")])
def test_a_maximum_price_that_is_not_a_positive_decimal_is_refused(cap):
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_FULL_MARKS, prices={"a": D("1")},
                     params={"full_score": 1}, max_price=cap)
    refused(exc, "max_price", "max_price_invalid")


def test_no_prices_at_all_is_refused():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=LOWEST_FULL_MARKS, prices={}, params={"full_score": 1},
                     max_price=None)
    refused(exc, "prices", "price_no_valid_bids")


def test_every_price_above_the_maximum_is_refused_as_no_valid_bid():
    with pytest.raises(ValidationError) as exc:
        price_scores(formula=BENCHMARK_DEVIATION, prices={"a": D("101"), "b": D("200")},
                     params=K_PARAMS, max_price=D("100"))
    refused(exc, "prices", "price_no_valid_bids")


# --- properties -----------------------------------------------------------------------

money = st.decimals(min_value=D("0.01"), max_value=D("1000000000"), places=2,
                    allow_nan=False, allow_infinity=False)
price_maps = st.dictionaries(st.text("abcdefghij", min_size=1, max_size=3), money,
                             min_size=1, max_size=15)
full_scores = st.decimals(min_value=D("1"), max_value=D("100"), places=1)
ks = st.decimals(min_value=D("0"), max_value=D("5"), places=2)
floats = st.decimals(min_value=D("-0.2"), max_value=D("0.2"), places=3)


@settings(deadline=None, max_examples=150)
@given(prices=price_maps, full=full_scores, above=ks, below=ks, rise=floats)
def test_benchmark_deviation_scores_stay_within_zero_and_full(prices, full, above, below,
                                                              rise):
    r = price_scores(formula=BENCHMARK_DEVIATION, prices=prices, max_price=None,
                     params={"full_score": str(full), "float": str(rise),
                             "k_above": str(above), "k_below": str(below)})
    assert set(r.scores) == set(prices)
    assert all(D(0) <= s <= full for s in r.scores.values())


@settings(deadline=None, max_examples=150)
@given(prices=price_maps, full=full_scores)
def test_lowest_full_marks_a_lower_price_never_scores_lower(prices, full):
    r = price_scores(formula=LOWEST_FULL_MARKS, prices=prices, max_price=None,
                     params={"full_score": str(full)})
    assert all(D(0) <= s <= full for s in r.scores.values())
    for a in prices:
        for b in prices:
            if prices[a] <= prices[b]:
                assert r.scores[a] >= r.scores[b]
    assert all(r.scores[b] == full.quantize(D("0.01"))
               for b in prices if prices[b] == min(prices.values()))


@settings(deadline=None, max_examples=100)
@given(data=st.data(), prices=price_maps,
       formula=st.sampled_from([BENCHMARK_DEVIATION, LOWEST_FULL_MARKS, LOWEST_EVALUATED]),
       cap=st.one_of(st.none(), money))
def test_the_order_of_the_prices_does_not_change_the_result(data, prices, formula, cap):
    params = {BENCHMARK_DEVIATION: K_PARAMS, LOWEST_FULL_MARKS: {"full_score": "40"},
              LOWEST_EVALUATED: {}}[formula]
    shuffled = dict(data.draw(st.permutations(list(prices.items()))))
    try:
        first = price_scores(formula=formula, prices=prices, params=params, max_price=cap)
    except ValidationError as exc:
        assert exc.error_dict["prices"][0].code == "price_no_valid_bids"
        assert all(p > cap for p in prices.values())
        return
    second = price_scores(formula=formula, prices=shuffled, params=params, max_price=cap)
    assert first == second  # scores, ranks, benchmark, exclusions and the working alike
    # Exactly the bids above the maximum are excluded, and none of them is scored or ranked.
    above = {b for b, p in prices.items() if cap is not None and p > cap}
    assert set(first.excluded) == above
    assert not above & (set(first.scores) | set(first.ranks))


@settings(deadline=None, max_examples=100)
@given(prices=price_maps)
def test_lowest_evaluated_ranks_follow_the_evaluated_prices(prices):
    r = price_scores(formula=LOWEST_EVALUATED, prices=prices, params={}, max_price=None)
    for a in prices:
        for b in prices:
            if prices[a] < prices[b]:
                assert r.ranks[a] < r.ranks[b]
            if prices[a] == prices[b]:
                assert r.ranks[a] == r.ranks[b]
    assert min(r.ranks.values()) == 1
