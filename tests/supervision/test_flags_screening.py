"""Every tender is screened once its opening closes: fired screens become flags, the
tender gets a risk score, re-screening replaces its flags, and a screening failure never
breaks the opening."""

from datetime import timedelta

import pytest
import time_machine

from bidding.opening import services as opening
from bidding.opening.models import OpeningSession
from bidding.tenders.models import Tender
from core import tasks
from supervision import screening
from supervision.models import Flag, RiskScore
from tests.bidding.opening.test_hall_integrity import _decrypt, _opened, django_capture_on_commit

pytestmark = pytest.mark.django_db


def close_opening(**overrides):
    """Run a real opening (three bids, all decrypted, all confirmed) up to its record."""
    tender, users, bids = _opened(decryption_fallback="not_opened", **overrides)
    session = tender.opening
    with time_machine.travel(session.window_ends_at - timedelta(minutes=1), tick=False):
        for bid, user in zip(bids, users, strict=True):
            _decrypt(tender, bid, user)
    with time_machine.travel(session.window_ends_at, tick=False):
        tasks.clock_tick()
    session.refresh_from_db()
    with time_machine.travel(session.confirm_until - timedelta(minutes=10), tick=False):
        for user in users[:-1]:
            opening.opening_confirm(user=user, tender=tender)
        with django_capture_on_commit():
            opening.opening_confirm(user=users[-1], tender=tender)
    tender.refresh_from_db()
    return tender, users, bids


def test_closing_an_opening_screens_the_tender_and_records_its_flags_and_score():
    tender, users, _ = close_opening()
    assert tender.opening.phase == OpeningSession.Phase.CLOSED
    flags = Flag.objects.filter(tender_id=tender.pk, kind=Flag.Kind.SCREEN)
    by_screen = {f.screen: f for f in flags}
    # The factory's bids all carry 9,500,000.00 and the same project manager.
    assert {"identical_prices", "price_cv", "price_spread", "same_project_manager"} <= set(
        by_screen)
    same = by_screen["identical_prices"]
    assert same.subjects == sorted(u.organisation.credit_code for u in users)
    assert same.evidence["groups"][0][0]["amount"] == 9500000.0
    assert same.explanation_en and same.explanation_zh
    risk = RiskScore.objects.get(tender_id=tender.pk)
    assert risk.tender_reference == tender.reference and risk.prices == [9500000.0] * 3
    assert risk.features["cv"] == 0.0 and 0 <= risk.score <= 1


def test_screening_again_replaces_the_tenders_screen_flags_and_keeps_other_flags():
    tender, _, _ = close_opening()
    Flag.objects.create(kind=Flag.Kind.UNOPENABLE_BID, severity="high", tender_id=tender.pk,
                        tender_reference=tender.reference, subjects=["x"], evidence={},
                        explanation_zh="z", explanation_en="e", raised_at=tender.deadline)
    before = sorted(Flag.objects.filter(kind=Flag.Kind.SCREEN).values_list("screen", flat=True))
    screening.screen_tender_after_opening(tender=tender)
    after = sorted(Flag.objects.filter(kind=Flag.Kind.SCREEN).values_list("screen", flat=True))
    assert after == before and before
    assert Flag.objects.filter(kind=Flag.Kind.UNOPENABLE_BID).count() == 1
    assert RiskScore.objects.count() == 1


def test_a_screening_failure_is_logged_and_the_opening_still_closes(monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("screen exploded")

    monkeypatch.setattr(screening, "screen_tender_after_opening", broken)
    tender, _, _ = close_opening()
    assert tender.status == Tender.Status.OPENED
    assert tender.opening.phase == OpeningSession.Phase.CLOSED
    assert not RiskScore.objects.exists() and not Flag.objects.exists()
    assert "after its opening failed" in caplog.text


def _rows(amounts, cap=None):
    return [{"tender": 1, "bid": f"b{i}", "bidder": str(i), "amount": a, "credit_code": f"c{i}",
             **({"max_price": cap} if cap else {})} for i, a in enumerate(amounts)]


def test_bids_hugging_the_maximum_price_are_flagged_and_spread_bids_are_not():
    fired = {r.code for r in screening.run_screens(_rows([990, 995, 999], cap=1000)) if r.fired}
    assert "price_hugging_cap" in fired
    fired = {r.code for r in screening.run_screens(_rows([600, 800, 950], cap=1000)) if r.fired}
    assert "price_hugging_cap" not in fired and "identical_prices" not in fired


def test_a_tender_with_suspicious_prices_ranks_above_one_with_competitive_prices():
    from bidding.tenders.models import Tender as T

    suspicious, _, _ = close_opening()
    plain = T.objects.exclude(pk=suspicious.pk).first()
    assert plain is None  # only one tender so far: make a competitive one by hand
    RiskScore.objects.create(tender_id=suspicious.pk + 1000, tender_reference="X-1",
                             features={"n_bids": 3, "cv": 0.2, "spread": 0.5, "diffp": 0.01,
                                       "rd": 0.1, "sequence_share": 0, "identical_prices": 0},
                             prices=[1, 2, 3], computed_at=suspicious.deadline)
    screening.rescore()
    scores = dict(RiskScore.objects.values_list("tender_reference", "score"))
    assert scores[suspicious.reference] > scores["X-1"]
