"""Cardinal flags that need the evaluation's disqualifications or the award's winner, on
platform data: R036 (lowest bid disqualified) and R038 (excessive disqualified bids) when
the evaluation completes, R035 (all bids but the winner's disqualified) and R024 (price
close to the winning bid) when the tender is awarded; a clean evaluation raises none of
them, tenders without outcomes are left out of these screens, and one tender whose
outcome cannot be read does not stop the others."""

import pytest

from bidding.award import decision
from supervision import market
from supervision.models import Flag
from tests.bidding.award.helpers import after_publicity
from tests.supervision.platform_helpers import evaluated

pytestmark = pytest.mark.django_db

OUTCOME = ("R024", "R025", "R035", "R036", "R038", "R058")


def _flags(tender, code):
    return Flag.objects.filter(screen=code, tender_id=tender.pk)


def test_the_lowest_bid_failing_qualification_raises_r036_but_one_rejection_is_not_r038(
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tender, _, _, bids = evaluated(fail=(1,))  # 9,300,000: the lowest price
    assert tender.status == "candidates"
    lowest = bids[1].bidder.credit_code
    r036 = _flags(tender, "R036").get()
    assert r036.subjects == [lowest]
    assert r036.evidence["rejections"][0]["bidder"] == lowest
    assert r036.evidence["rejections"][0]["reason"]
    assert "9,300,000.00" in r036.explanation_en
    # One rejection of a bidder seen once is not "excessive" (R038 needs two).
    assert not _flags(tender, "R038").exists()
    # No award yet: the winner's screens did not run.
    assert not Flag.objects.filter(screen__in=("R024", "R035", "R058")).exists()


def test_a_clean_evaluation_raises_no_disqualification_flag(
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tender, *_ = evaluated()
    assert not Flag.objects.filter(screen__in=OUTCOME).exists()


def test_all_bids_but_the_winners_disqualified_raises_r035_at_the_award(
        django_capture_on_commit_callbacks):
    tender, _, _, bids = evaluated(fail=(1, 2, 3, 4))
    assert not _flags(tender, "R035").exists()
    with django_capture_on_commit_callbacks(execute=True):
        decision.award_direct(user=tender.created_by, tender=tender,
                              now=after_publicity(tender))
    tender.refresh_from_db()
    assert tender.status == "awarded"
    r035 = _flags(tender, "R035").get()
    assert r035.severity == "high"
    assert sorted(r035.subjects) == sorted(b.bidder.credit_code for b in bids[1:])
    assert len(r035.evidence["rejections"]) == 4


def test_a_price_close_to_the_winning_bid_raises_r024_at_the_award(
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tender, *_ = evaluated(prices=("9500000.00", "9550000.00", "9900000.00"))
    assert not _flags(tender, "R024").exists()
    with django_capture_on_commit_callbacks(execute=True):
        decision.award_direct(user=tender.created_by, tender=tender,
                              now=after_publicity(tender))
    r024 = _flags(tender, "R024").get()
    assert abs(r024.evidence["gap"]) <= 0.05
    assert not _flags(tender, "R035").exists()


def test_platform_rows_carry_the_outcome_only_where_it_is_known():
    tender, _, _, bids = evaluated(fail=(1,))
    rows = {r["bid"]: r for r in market.platform_rows()}
    assert rows[str(bids[1].public_id)]["disqualified"] == 1
    assert rows[str(bids[0].public_id)]["disqualified"] == 0
    assert all(r["winner"] is None for r in rows.values())


def test_without_outcomes_the_outcome_screens_do_not_run():
    rows = [{"tender": t, "bid": f"{t}-{k}", "bidder": f"B{k}", "amount": 100.0 + k,
             "winner": None, "disqualified": None} for t in (1, 2) for k in range(3)]
    assert market.outcome_screens(rows) == []
    assert not {r.code for r in market.run_market_screens(rows)} & set(OUTCOME)


def test_tenders_without_outcomes_stay_out_of_the_outcome_screens_fences():
    # Tender 1 awarded to its lowest bid with the second bid 1 % above; tenders 2 and 3
    # never awarded: R024 on tender 1 only, no R035 anywhere.
    rows = [{"tender": 1, "bid": f"1-{k}", "bidder": f"B{k}", "amount": a,
             "winner": int(k == 0), "disqualified": 0}
            for k, a in enumerate((100.0, 101.0, 130.0))]
    rows += [{"tender": t, "bid": f"{t}-{k}", "bidder": f"B{k}", "amount": 100.0 + k,
              "winner": None, "disqualified": None} for t in (2, 3) for k in range(3)]
    got = [(r.code, r.tender) for r in market.outcome_screens(rows) if r.fired]
    assert ("R024", 1) in got and not [g for g in got if g[1] != 1]


def test_one_tender_whose_outcome_cannot_be_read_does_not_stop_the_others(
        monkeypatch, caplog):
    bad, *_ = evaluated(fail=(1,))
    good, _, _, bids = evaluated(fail=(1,))
    real = market.tender_outcome

    def outcome(tender):
        if tender.pk == bad.pk:
            raise RuntimeError("unreadable")
        return real(tender)

    monkeypatch.setattr(market, "tender_outcome", outcome)
    report = market.screen_market()
    assert report.failed == [bad.pk] and "reading tender" in caplog.text
    assert _flags(good, "R036").exists() and not _flags(bad, "R036").exists()
