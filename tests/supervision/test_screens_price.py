"""Price screens and price patterns on one tender: each fires on a hand-made case and
stays quiet on an ordinary one."""

import pytest
from scipy import stats

from supervision.screens import price


def bids(*amounts, **extra):
    return [{"bid": i, "bidder": f"F{i}", "amount": a, **extra} for i, a in enumerate(amounts)]


COMPETITIVE = bids(100.0, 112.0, 125.0, 109.0, 131.0)
# A low winner and a tight cluster of covers.
COVERED = bids(100.0, 120.0, 120.5, 121.0, 120.2)


def test_price_statistics_match_the_textbook_formulas():
    a = [100.0, 112.0, 125.0, 109.0, 131.0]
    s = price.price_statistics(a)
    assert s["cv"] == pytest.approx(stats.variation(a, ddof=1))
    assert s["spread"] == pytest.approx(0.31)
    assert s["diffp"] == pytest.approx(0.09)
    assert s["skewness"] == pytest.approx(stats.skew(a, bias=False))
    assert s["kurtosis"] == pytest.approx(stats.kurtosis(a, bias=False))
    b = sorted(a)
    u = [(x - b[0]) / (b[-1] - b[0]) for x in b]
    assert s["ks"] == pytest.approx(stats.kstest(u, "uniform").statistic)


def test_screens_need_enough_bids():
    r = price.screen_rd(bids(100.0, 101.0))
    assert not r.fired and r.value is None and "too few" in r.explanation_en


def test_cv_fires_on_bids_close_together_and_not_on_spread_bids():
    r = price.screen_cv(bids(100.0, 100.5, 101.0, 100.8))
    assert r.fired and r.severity == "low" and len(r.evidence["bids"]) == 4
    assert r.explanation_zh and r.explanation_en
    assert not price.screen_cv(COMPETITIVE).fired


def test_spread_fires_on_a_narrow_range_only():
    assert price.screen_spread(bids(100.0, 102.0, 103.0)).fired
    assert not price.screen_spread(COMPETITIVE).fired


def test_diffp_fires_on_a_gap_after_the_lowest_bid():
    assert price.screen_diffp(COVERED).fired
    assert not price.screen_diffp(COMPETITIVE).fired


def test_relative_distance_fires_when_losing_bids_cluster_far_from_the_winner():
    r = price.screen_rd(COVERED)
    assert r.fired and r.value > 2 and r.severity == "medium"
    assert not price.screen_rd(COMPETITIVE).fired


def test_kurtosis_fires_on_bids_piled_on_one_level():
    assert price.screen_kurtosis(bids(100.0, 130.0, 130.1, 130.0, 130.2, 129.9, 160.0)).fired
    assert not price.screen_kurtosis(COMPETITIVE).fired


def test_skewness_fires_on_one_low_bid_below_a_cluster():
    assert price.screen_skewness(COVERED).fired
    assert not price.screen_skewness(COMPETITIVE).fired


def test_ks_fires_when_prices_are_far_from_uniform():
    r = price.screen_ks(bids(100.0, 101, 101.2, 101.1, 101.3, 101.05, 101.15, 101.25, 140))
    assert r.fired and r.evidence["p_value"] < 0.05
    assert not price.screen_ks(bids(100.0, 110, 120, 131, 139, 150)).fired


def test_arithmetic_sequence_fires_and_names_its_bids():
    r = price.screen_price_sequence(bids(1000.0, 1020.0, 1040.0, 1060.0, 1500.0))
    assert r.fired and r.evidence["kind"] == "arithmetic"
    assert sorted(b["bid"] for b in r.evidence["bids"]) == [0, 1, 2, 3]


def test_fixed_ratio_sequence_fires_with_high_severity_when_every_bid_is_in_it():
    r = price.screen_price_sequence(bids(1000.0, 1030.0, 1060.9, 1092.727))
    assert r.fired and r.evidence["kind"] == "geometric" and r.severity == "high"


def test_no_sequence_in_ordinary_prices():
    assert not price.screen_price_sequence(COMPETITIVE).fired


def test_hugging_the_maximum_price_fires():
    r = price.screen_hugging_cap(bids(995.0, 990.0, 999.0, 900.0, max_price=1000.0))
    assert r.fired and r.value == pytest.approx(0.75)
    assert "maximum price" in r.explanation_en


def test_hugging_the_estimate_counts_either_side():
    assert price.screen_hugging_cap(bids(1010.0, 990.0, 1005.0, estimate=1000.0)).fired


def test_no_hugging_when_bids_are_well_below_the_cap():
    assert not price.screen_hugging_cap(bids(800.0, 850.0, 990.0, max_price=1000.0)).fired
    assert not price.screen_hugging_cap(COMPETITIVE).fired  # no cap at all


def test_identical_prices_fire_only_on_the_same_amount():
    r = price.screen_identical_prices(bids(100.0, 105.0, 100.0))
    assert r.fired and [b["bid"] for b in r.evidence["groups"][0]] == [0, 2]
    assert not price.screen_identical_prices(bids(100.0, 100.01, 105.0)).fired
