"""Market screens on platform data: a group that keeps bidding together is flagged on
each joint tender, bidders who mix freely are not, re-running replaces the market flags
and leaves the per-tender flags, and an opening queues the screens after it commits."""

import pytest
from django.utils import timezone

from supervision import market, tasks
from supervision.models import Flag, RiskScore

pytestmark = pytest.mark.django_db

RING = ("91RING000000000A1X", "91RING000000000B1X", "91RING000000000C1X")


def _rows(tenders):
    """tenders: {tender_id: [(credit_code, amount), ...]} -> market rows."""
    rows = []
    for t, bids in tenders.items():
        for k, (code, amount) in enumerate(bids):
            rows.append({"tender": t, "tender_reference": f"T-{t}", "bid": f"{t}-{k}",
                         "bidder": code, "bidder_name": f"name {code}", "amount": amount})
    return rows


def _ring_market():
    tenders = {t: [(c, 100.0 + 3 * i + t) for i, c in enumerate(RING)] for t in range(1, 7)}
    # Others mixing freely, never twice with the same partner.
    for t in range(7, 17):
        tenders[t] = [(f"91FREE{t:012d}X", 90.0 + t), (f"91LONE{t:012d}X", 95.0 + t)]
    return _rows(tenders)


def _free_market():
    # The same bidders, but every tender a different pair: nobody keeps bidding together.
    people = [f"91MIX0000000000{k:02d}X" for k in range(12)]
    tenders = {t: [(people[t % 12], 100.0 + t), (people[(t * 5 + 1) % 12], 104.0 + t)]
               for t in range(1, 13)}
    return _rows(tenders)


def test_a_group_that_keeps_bidding_together_is_flagged_on_each_joint_tender():
    report = market.screen_market(rows=_ring_market())
    flags = Flag.objects.filter(kind=Flag.Kind.SCREEN, screen="cobidding_group")
    assert sorted(flags.values_list("tender_id", flat=True)) == [1, 2, 3, 4, 5, 6]
    flag = flags.get(tender_id=1)
    assert flag.subjects == sorted(RING) and flag.tender_reference == "T-1"
    assert flag.evidence["cohesion"] >= 0.5 and flag.evidence["exclusivity"] >= 0.6
    assert flag.explanation_en and flag.explanation_zh
    assert report.flags == Flag.objects.count() and not report.skipped


def test_bidders_who_never_bid_twice_together_are_not_a_group():
    market.screen_market(rows=_free_market())
    assert not Flag.objects.filter(screen="cobidding_group").exists()


def test_a_single_bid_tender_raises_the_cardinal_single_bid_flag():
    rows = _rows({1: [(RING[0], 100.0)], 2: [(RING[0], 100.0), (RING[1], 110.0)]})
    market.screen_market(rows=rows)
    flag = Flag.objects.get(screen="R018")
    assert flag.tender_id == 1 and flag.subjects == [RING[0]]


def test_identical_prices_are_left_to_the_per_tender_screening_not_flagged_twice():
    rows = _rows({1: [(RING[0], 100.0), (RING[1], 100.0), (RING[2], 120.0)],
                  2: [(RING[0], 100.0), (RING[1], 110.0)]})
    market.screen_market(rows=rows)
    assert "R028" in market.DUPLICATES and not Flag.objects.filter(screen="R028").exists()


def test_running_again_replaces_the_market_flags_and_keeps_the_per_tender_flags():
    Flag.objects.create(kind=Flag.Kind.SCREEN, screen="identical_prices", severity="high",
                        tender_id=1, tender_reference="T-1", subjects=["x"], evidence={},
                        explanation_zh="z", explanation_en="e", raised_at=timezone.now())
    market.screen_market(rows=_ring_market())
    first = sorted(Flag.objects.values_list("screen", "tender_id"))
    market.screen_market(rows=_ring_market())
    assert sorted(Flag.objects.values_list("screen", "tender_id")) == first
    market.screen_market(rows=_free_market())
    assert list(Flag.objects.values_list("screen", flat=True)) == ["identical_prices"]


def test_the_winner_screens_do_not_run_on_tenders_without_an_award():
    assert {"bid_rotation", "perennial_loser"} <= set(market.WINNER_SCREENS)
    results = market.run_market_screens(_ring_market())
    assert not {r.code for r in results} & {*market.WINNER_SCREENS, *market.OUTCOME_SCREENS}


def test_the_task_logs_a_failure_and_returns_none(monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("market exploded")

    monkeypatch.setattr(market, "screen_market", broken)
    assert tasks.screen_market() is None
    assert "market screens failed" in caplog.text


def test_the_network_lists_bidders_edges_and_the_suspicious_group():
    net = market.network(_ring_market())
    assert net["groups"] == [sorted(RING)]
    by_id = {n["id"]: n for n in net["nodes"]}
    assert by_id[RING[0]]["group"] == 0 and by_id[RING[0]]["tenders"] == 6
    assert {"a": RING[0], "b": RING[1], "weight": 6} in net["edges"]


def test_closing_an_opening_runs_the_market_screens_on_the_platforms_bids(monkeypatch):
    from tests.supervision.test_flags_screening import close_opening

    seen = []
    real = market.run_market_screens
    monkeypatch.setattr(market, "run_market_screens", lambda rows: seen.append(rows) or real(rows))
    tender, users, _ = close_opening()
    # Queued after the opening committed, on every opened tender's announced bids.
    assert len(seen) == 1
    assert sorted(r["bidder"] for r in seen[0]) == sorted(
        u.organisation.credit_code for u in users)
    assert {r["tender"] for r in seen[0]} == {tender.pk}
    assert seen[0][0]["amount"] == 9500000.0 and seen[0][0]["max_price"]
    # The per-tender screening's flags stay.
    assert Flag.objects.filter(screen="identical_prices", tender_id=tender.pk).exists()
    assert RiskScore.objects.filter(tender_id=tender.pk).exists()


def test_a_submission_period_far_below_the_markets_raises_cardinal_r003():
    import datetime as dt

    rows = _rows({t: [(RING[0], 100.0), (RING[1], 120.0)] for t in range(1, 8)})
    days = {1: 20, 2: 21, 3: 20, 4: 22, 5: 20, 6: 21, 7: 2}
    start = dt.datetime(2026, 3, 1, 9)
    for r in rows:
        r["published"], r["deadline"] = start, start + dt.timedelta(days=days[r["tender"]])
    market.screen_market(rows=rows)
    assert list(Flag.objects.filter(screen="R003").values_list("tender_id", flat=True)) == [7]


def test_a_tender_that_cannot_be_read_is_logged_and_the_others_are_screened(monkeypatch,
                                                                          caplog):
    from types import SimpleNamespace

    from supervision import screening

    tenders = [SimpleNamespace(pk=k, reference=f"T-{k}", estimate=None, max_price=None,
                               deadline=None, published_at=None) for k in (1, 2)]

    def rows_of(tender):
        if tender.pk == 1:
            raise RuntimeError("unreadable")
        return [{"bid": "b", "credit_code": RING[0], "bidder_name": "n", "amount": 5.0}]

    monkeypatch.setattr(market, "_opened_tenders", lambda: tenders)
    monkeypatch.setattr(screening, "tender_rows", rows_of)
    report = market.screen_market()
    assert report.failed == [1] and report.tenders == 1
    assert "reading tender 1 for the market screens failed" in caplog.text
    assert Flag.objects.get(screen="R018").tender_id == 2
