"""Cross-tender screens (co-bidding groups, bid rotation, perennial losers) and the
Cardinal buyer-side red flags, on hand-made markets."""

import datetime as dt
import random

import pytest

from supervision.screens import cardinal, network
from supervision.screens.market import Market, iqr_fences


def tender(t, *bids, **extra):
    """bids: (bidder, amount, winner) tuples."""
    return [{"tender": t, "bidder": b, "amount": a, "winner": w, **extra} for b, a, w in bids]


def ring_market(rotate=True):
    """A, B, C bid together in eight tenders (taking turns, or A always wins); many
    other firms bid in open competition among themselves."""
    rows = []
    ring = ["A", "B", "C"]
    for t in range(8):
        w = ring[t % 3] if rotate else "A"
        rows += tender(f"R{t}", *[(m, 100 + (0 if m == w else 5 + i), int(m == w))
                                  for i, m in enumerate(ring)])
    rng = random.Random(0)
    for t in range(30):
        firms = rng.sample([f"F{k}" for k in range(20)], 4)
        rows += tender(f"O{t}", *[(f, 100 + ((t * 13 + i * 7) % 11), int(i == t % 4))
                                  for i, f in enumerate(firms)])
    return Market.from_rows(rows)


def group_with(groups, members):
    return next(g for g in groups if g.members == frozenset(members))


def test_a_ring_that_only_bids_together_is_a_cohesive_exclusive_group():
    m = ring_market()
    g = group_with(network.cobidding_groups(m), {"A", "B", "C"})
    assert g.cohesion == pytest.approx(1.0) and g.exclusivity == pytest.approx(1.0)
    r = network.screen_cobidding_group(g)
    assert r.fired and r.severity == "high" and len(r.evidence["joint_tenders"]) == 8
    assert "cohesion" in r.explanation_en and "凝聚度" in r.explanation_zh


def test_firms_that_meet_among_many_outsiders_are_not_a_suspicious_group():
    m = ring_market()
    others = [g for g in network.cobidding_groups(m) if not g.members & {"A", "B", "C"}]
    assert others and not any(network.screen_cobidding_group(g).fired for g in others)


def test_bid_rotation_fires_when_members_take_turns():
    m = ring_market(rotate=True)
    g = group_with(network.cobidding_groups(m), {"A", "B", "C"})
    r = network.screen_bid_rotation(g, m)
    assert r.fired and set(r.evidence["wins"]) == {"A", "B", "C"}


def test_no_rotation_when_one_member_always_wins():
    m = ring_market(rotate=False)
    g = group_with(network.cobidding_groups(m), {"A", "B", "C"})
    assert not network.screen_bid_rotation(g, m).fired


def test_a_perennial_loser_behind_the_same_winner_is_flagged():
    rows = []
    for t in range(8):
        rows += tender(f"T{t}", ("W", 100, 1), ("L", 110, 0), (f"X{t}", 120, 0))
    recs = network.bidder_records(Market.from_rows(rows))
    r = network.screen_perennial_loser("L", recs["L"])
    assert r.fired and r.evidence["top_winners"] == {"W": 8}
    assert not network.screen_perennial_loser("W", recs["W"]).fired


def test_a_bidder_losing_to_many_different_winners_is_not_a_perennial_loser():
    rows = []
    for t in range(8):
        rows += tender(f"T{t}", (f"W{t}", 100, 1), ("L", 110, 0))
    recs = network.bidder_records(Market.from_rows(rows))
    assert not network.screen_perennial_loser("L", recs["L"]).fired


def test_iqr_fences_are_tukeys():
    assert iqr_fences([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx((-2.5, 11.5))


def periods_market(short_days):
    rows = []
    day = dt.datetime(2026, 1, 1)
    for t, days in enumerate([20, 21, 22, 20, 23, 21, 22, short_days]):
        rows += tender(f"T{t}", ("A", 100, 1), ("B", 110, 0), published=day,
                       deadline=day + dt.timedelta(days=days))
    return Market.from_rows(rows)


def test_r003_short_submission_period_below_the_fence_fires():
    m = periods_market(short_days=3)
    f = cardinal.market_fences(m)
    assert cardinal.r003_short_submission_period(m.tenders["T7"], f).fired
    assert not cardinal.r003_short_submission_period(m.tenders["T0"], f).fired
    assert cardinal.r003_short_submission_period(m.tenders["T0"], f, minimum_days=25).fired


def test_r018_single_bid():
    assert cardinal.r018_single_bid(tender("T", ("A", 100, 1))).fired
    assert not cardinal.r018_single_bid(tender("T", ("A", 100, 1), ("B", 101, 0))).fired


def test_r024_price_close_to_the_winning_bid():
    assert cardinal.r024_price_close_to_winning_bid(tender("T", ("A", 100, 1), ("B", 102, 0))).fired
    assert not cardinal.r024_price_close_to_winning_bid(
        tender("T", ("A", 100, 1), ("B", 120, 0))).fired


def test_r025_excessive_unsuccessful_bids():
    rows = []
    for t in range(12):
        rows += tender(f"T{t}", (f"W{t % 4}", 100, 1), (f"O{t}", 110, 0),
                       *([("L", 120, 0)] if t < 10 else []))
    m = Market.from_rows(rows)
    f = cardinal.market_fences(m)
    r = cardinal.r025_excessive_unsuccessful_bids(m.tenders["T0"], f)
    assert r.evidence["bidders"] == ["L"]
    assert not cardinal.r025_excessive_unsuccessful_bids(m.tenders["T11"], f).fired


def test_r028_identical_bid_prices():
    assert cardinal.r028_identical_bid_prices(tender("T", ("A", 100, 1), ("B", 100, 0))).fired
    assert not cardinal.r028_identical_bid_prices(tender("T", ("A", 100, 1), ("B", 101, 0))).fired


def disq(*flags):
    return [{"tender": "T", "bidder": f"F{i}", "amount": 100 + i, "winner": int(i == 1),
             "disqualified": d} for i, d in enumerate(flags)]


def test_r035_all_except_the_winner_disqualified():
    assert cardinal.r035_all_except_winner_disqualified(disq(1, 0, 1, 1)).fired
    assert not cardinal.r035_all_except_winner_disqualified(disq(1, 0, 0, 1)).fired


def test_r036_lowest_bid_disqualified():
    assert cardinal.r036_lowest_bid_disqualified(disq(1, 0, 0)).fired
    assert not cardinal.r036_lowest_bid_disqualified(disq(0, 0, 1)).fired


def test_r038_excessive_disqualified_bids():
    rows = []
    for t in range(12):
        rows += [{"tender": f"T{t}", "bidder": f"W{t % 5}", "amount": 100, "winner": 1,
                  "disqualified": 0},
                 {"tender": f"T{t}", "bidder": "D", "amount": 90, "winner": 0,
                  "disqualified": int(t < 9)}]
    m = Market.from_rows(rows)
    f = cardinal.market_fences(m)
    r = cardinal.r038_excessive_disqualified_bids(m.tenders["T0"], f)
    assert r.evidence["bidders"] == ["D"]
    clean = Market.from_rows([{**r, "disqualified": 0} for r in rows])
    f = cardinal.market_fences(clean)
    assert not cardinal.r038_excessive_disqualified_bids(clean.tenders["T0"], f).fired


def test_r038_needs_two_disqualifications_even_when_the_fence_is_zero():
    rows = [{"tender": f"T{t}", "bidder": f"W{t}", "amount": 100, "winner": 1,
             "disqualified": 0} for t in range(12)]
    rows.append({"tender": "T0", "bidder": "once", "amount": 90, "winner": 0,
                 "disqualified": 1})
    m = Market.from_rows(rows)
    f = cardinal.market_fences(m)
    assert f.disq_high == 0
    assert not cardinal.r038_excessive_disqualified_bids(m.tenders["T0"], f).fired
    rows.append({"tender": "T1", "bidder": "once", "amount": 90, "winner": 0,
                 "disqualified": 1})
    m = Market.from_rows(rows)
    r = cardinal.r038_excessive_disqualified_bids(m.tenders["T0"], cardinal.market_fences(m))
    assert r.fired and r.evidence["bidders"] == ["once"]


def test_r058_heavily_discounted_bid_above_the_fence():
    rows = []
    for t, gap in enumerate([0.05, 0.06, 0.04, 0.05, 0.07, 0.05, 0.06, 0.60]):
        rows += tender(f"T{t}", ("A", 100, 1), ("B", 100 * (1 + gap), 0))
    m = Market.from_rows(rows)
    f = cardinal.market_fences(m)
    assert cardinal.r058_heavily_discounted_bid(m.tenders["T7"], f).fired
    assert not cardinal.r058_heavily_discounted_bid(m.tenders["T0"], f).fired
