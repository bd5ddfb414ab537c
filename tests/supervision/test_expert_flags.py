"""Experts drawn again and again for the same tenderer are flagged against the market
(an IQR fence over every expert/tenderer pair) or a set limit; a spread of seats, seats
outside the window and uncalled backups are not."""

from datetime import UTC, datetime, timedelta

import pytest

from supervision.screens.experts import (
    expert_seat_rows,
    iqr_fence,
    screen_expert_repeat_tenderer,
    screen_platform_experts,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def seats(expert, tenderer, n, *, start=0, days_ago=10):
    return [{"expert": expert, "tenderer": tenderer, "tender": f"{tenderer}-{start + i}",
             "at": NOW - timedelta(days=days_ago + i)} for i in range(n)]


def market(*extra):
    """Twenty experts each sitting once or twice for each of five tenderers."""
    rows = []
    for e in range(20):
        for t in range(5):
            rows += seats(f"E{e}", f"T{t}", 1 + (e + t) % 2, start=100 * e)
    return rows + [r for group in extra for r in group]


def test_an_expert_drawn_again_and_again_for_one_tenderer_is_flagged():
    r = screen_expert_repeat_tenderer(market(seats("E99", "T1", 8)), now=NOW)
    assert r.fired and r.value == 8
    [pair] = r.evidence["pairs"]
    assert pair["expert"] == "E99" and pair["tenderer"] == "T1" and pair["count"] == 8
    assert len(pair["tenders"]) == 8
    assert r.severity == "high"
    assert "E99" in r.explanation_en and "E99" in r.explanation_zh


def test_seats_spread_over_the_market_are_not_flagged():
    r = screen_expert_repeat_tenderer(market(), now=NOW)
    assert not r.fired and r.value == 2


def test_seats_outside_the_window_do_not_count():
    old = seats("E99", "T1", 8, days_ago=400)
    r = screen_expert_repeat_tenderer(market(old), now=NOW, window_days=365)
    assert not r.fired


def test_the_same_tender_counts_once_for_an_expert():
    again = [dict(s, tender="T1-same") for s in seats("E99", "T1", 8)]
    assert not screen_expert_repeat_tenderer(market(again), now=NOW).fired


def test_a_set_limit_replaces_the_fence():
    rows = market(seats("E99", "T1", 3))
    assert not screen_expert_repeat_tenderer(rows, now=NOW, limit=4).fired
    r = screen_expert_repeat_tenderer(rows, now=NOW, limit=2)
    assert r.fired and {p["expert"] for p in r.evidence["pairs"]} >= {"E99"}
    assert r.evidence["threshold"] == 2.0


def test_with_few_draws_two_seats_are_not_an_outlier():
    rows = [s for e in "ABCD" for s in seats(e, "T1", 1)] + seats("E", "T1", 2)
    assert iqr_fence([1, 1, 1, 1, 2]) < 2  # the fence alone would fire
    assert not screen_expert_repeat_tenderer(rows, now=NOW).fired


def test_no_seats_is_quiet_with_a_reason():
    r = screen_expert_repeat_tenderer([], now=NOW)
    assert not r.fired and r.explanation_en == "no expert seats to screen"


@pytest.mark.django_db
def test_the_platform_adapter_reads_called_and_confirmed_seats_only(settings):
    from django.utils import timezone as dj_tz

    from expert_pool.models import Draw, DrawMember
    from tests import factories
    from tests.expert_pool.conftest import make_expert

    settings.SUPERVISION_EXPERT_REPEAT_LIMIT = 3
    operator = factories.operator()
    buyer = factories.tenderer()
    often, backup = make_expert(), make_expert()
    for _ in range(3):
        t = factories.published_tender(user=buyer)
        d = Draw.objects.create(
            tender=t, requested_by=operator, requested_at=dj_tz.now(), params={},
            groups=[], exclusions_digest="", commitment="", secret=b"x" * 32, beacon="x",
            status=Draw.Status.COMPLETE, drawn_at=dj_tz.now())
        DrawMember.objects.create(draw=d, expert=often, group=0, position=0,
                                  status=DrawMember.Status.CONFIRMED)
        DrawMember.objects.create(draw=d, expert=backup, group=0, position=1,
                                  status=DrawMember.Status.STANDBY)
    rows = expert_seat_rows()
    assert {r["expert"] for r in rows} == {often.code}
    assert {r["tenderer"] for r in rows} == {buyer.organisation.credit_code}
    r = screen_platform_experts()
    assert r.fired and r.evidence["pairs"][0]["expert"] == often.code
    assert r.evidence["pairs"][0]["count"] == 3
