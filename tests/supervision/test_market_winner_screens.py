"""Bid rotation and perennial losers on platform data run over the awarded tenders only:
a ring whose members take turns winning is flagged on its joint tenders once they are
awarded, a bidder that keeps losing to the same winner is flagged by name, and tenders
not yet awarded count as no one's loss (too few awarded bids: no flag)."""

import pytest

from supervision import market
from supervision.models import Flag

pytestmark = pytest.mark.django_db

RING = ("91RING000000000A1X", "91RING000000000B1X", "91RING000000000C1X")
LOSER, WINNER = "91LOSER00000000001X", "91WINNER0000000001X"


def _row(t, k, code, amount, winner):
    return {"tender": t, "tender_reference": f"T-{t}", "bid": f"{t}-{k}", "bidder": code,
            "bidder_name": f"name {code}", "amount": amount, "winner": winner,
            "disqualified": None if winner is None else 0}


def _rotating_ring(awarded=True):
    rows = []
    for t in range(1, 7):  # the ring bids together; the wins go round
        rows += [_row(t, i, c, 100.0 + 3 * i + t, (int(i == t % 3) if awarded else None))
                 for i, c in enumerate(RING)]
    for t in range(7, 17):  # others mixing freely, never twice with the same partner
        rows += [_row(t, 0, f"91FREE{t:012d}X", 90.0 + t, int(awarded) if awarded else None),
                 _row(t, 1, f"91LONE{t:012d}X", 95.0 + t, 0 if awarded else None)]
    return rows


def _loser_market(awarded_tenders):
    rows = []
    for t in range(1, 7):  # the loser always bids beside the same winner
        won = t in awarded_tenders
        rows += [_row(t, 0, WINNER, 100.0 + t, 1 if won else None),
                 _row(t, 1, LOSER, 110.0 + t, 0 if won else None),
                 _row(t, 2, f"91THIRD{t:011d}X", 120.0 + t, 0 if won else None)]
    return rows


def test_a_ring_taking_turns_to_win_its_awarded_tenders_is_flagged_for_bid_rotation():
    market.screen_market(rows=_rotating_ring())
    flags = Flag.objects.filter(screen="bid_rotation")
    assert sorted(flags.values_list("tender_id", flat=True)) == [1, 2, 3, 4, 5, 6]
    flag = flags.get(tender_id=1)
    assert flag.subjects == sorted(RING) and flag.evidence["joint_tenders"] == 6
    assert sorted(flag.evidence["wins"].values()) == [2, 2, 2]


def test_the_same_ring_before_any_award_raises_no_rotation_flag():
    market.screen_market(rows=_rotating_ring(awarded=False))
    assert Flag.objects.filter(screen="cobidding_group").exists()
    assert not Flag.objects.filter(screen__in=market.WINNER_SCREENS).exists()


def test_a_bidder_always_losing_to_the_same_winner_is_flagged_as_a_perennial_loser():
    market.screen_market(rows=_loser_market(awarded_tenders=range(1, 7)))
    flags = Flag.objects.filter(screen="perennial_loser")
    assert sorted(flags.values_list("tender_id", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert {tuple(f.subjects) for f in flags} == {(LOSER,)}
    assert flags.first().evidence["bids"] == 6 and flags.first().evidence["wins"] == 0


def test_tenders_not_yet_awarded_are_no_loss_for_the_perennial_loser_screen():
    # Four awarded tenders are fewer than the screen's minimum of five bids; counting the
    # two still open as losses would flag the bidder.
    market.screen_market(rows=_loser_market(awarded_tenders=range(1, 5)))
    assert not Flag.objects.filter(screen="perennial_loser").exists()
    rows = _loser_market(awarded_tenders=range(1, 5))
    assert not [r for r in market.winner_screens(rows) if r.fired]
