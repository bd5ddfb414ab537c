"""Spot checks of expert evaluations (评标专家抽查): a verifiable sample of completed
evaluations; the supervisor's rating reaches the expert's record in the pool."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bidding.evaluation.models import Committee, EvaluationReport, Member
from expert_pool.models import Expert, Rating
from supervision.inspections import draws, selectors, services
from supervision.inspections.models import SpotCheck
from tests import factories

from .helpers import awarded_tender, codes, department, supervisor_of

pytestmark = pytest.mark.django_db


def evaluated_tender(n_experts=3):
    tender = awarded_tender()
    now = timezone.now()
    committee = Committee.objects.create(tender=tender, formed_at=now,
                                         formed_by=factories.operator())
    experts = []
    for i in range(n_experts):
        user = factories.expert()
        ex = Expert.objects.create(code=f"E{tender.pk:04d}{i}", name=f"专家{i}", user=user,
                                   title=Expert.Title.SENIOR, years_experience=10,
                                   region=tender.region, status=Expert.Status.ACTIVE)
        Member.objects.create(committee=committee, user=user, expert=ex, kind="expert",
                              label=f"M{i + 1}", joined_at=now)
        experts.append(ex)
    EvaluationReport.objects.create(tender=tender, completed_at=now, candidates=[])
    return tender, experts


def drawn_spot_check(n=3, sample=2):
    boss = supervisor_of(department("住建局"))
    evaluated = [evaluated_tender() for _ in range(n)]
    today = timezone.localdate()
    s = services.spot_check_commit(user=boss, period_start=today - timedelta(days=7),
                                   period_end=today, sample_size=sample, round_name="r")
    s = services.spot_check_draw(user=boss, spot_check=s, value="123")
    return boss, s, dict((t.reference, (t, ex)) for t, ex in evaluated)


def test_spot_check_sample_verifies_and_tampering_fails():
    boss, s, by_ref = drawn_spot_check()
    assert len(s.drawn) == 2 and set(s.drawn) <= set(by_ref)
    assert draws.verify_spot_check(s).ok
    s = SpotCheck.objects.get(pk=s.pk)
    s.public_input = s.public_input + "0"
    assert not draws.verify_spot_check(s).ok
    s = SpotCheck.objects.get(pk=s.pk)
    s.drawn = list(reversed(s.drawn))
    assert not draws.verify_spot_check(s).ok
    s = SpotCheck.objects.get(pk=s.pk)
    s.candidates = s.candidates[1:]
    assert not draws.verify_spot_check(s).ok


def test_spot_check_rating_reaches_the_experts_record():
    boss, s, by_ref = drawn_spot_check()
    tender, experts = by_ref[s.drawn[0]]
    services.spot_check_rate(user=boss, spot_check=s, tender=tender, expert=experts[0],
                             score=2, comment="评分明显偏离且无理由")
    rating = Rating.objects.get(expert=experts[0])
    assert rating.score == 2 and rating.tender_id == tender.pk
    experts[0].refresh_from_db()
    assert experts[0].rating == Decimal("2.00")
    other_tender, other_experts = by_ref[s.drawn[1]]
    services.spot_check_rate(user=boss, spot_check=s, tender=other_tender,
                             expert=other_experts[0], score=5, comment="认真")
    assert selectors.case_sources(tender_id=tender.pk)[0]["expert_code"] == experts[0].code


def test_experts_average_covers_every_rating():
    """The pool's average takes the spot check's rating together with the expert's earlier
    ratings (here one 5, then a spot-check 3: 4.00)."""
    from expert_pool.services import expert_rate

    tender, experts = evaluated_tender(1)
    expert_rate(expert=experts[0], score=5, tender=tender)
    boss, s, by_ref = drawn_spot_check(n=1, sample=2)  # both evaluations are drawn
    assert tender.reference in s.drawn
    services.spot_check_rate(user=boss, spot_check=s, tender=tender, expert=experts[0],
                             score=3, comment="一般")
    experts[0].refresh_from_db()
    assert experts[0].rating == Decimal("4.00")


def test_rating_refusals():
    boss, s, by_ref = drawn_spot_check(n=3, sample=1)
    tender, experts = by_ref[s.drawn[0]]
    not_drawn = next(t for ref, (t, _e) in by_ref.items() if ref not in s.drawn)
    stranger = next(e for ref, (_t, ex) in by_ref.items() if ref != s.drawn[0] for e in ex)
    cases = [
        (dict(tender=not_drawn, expert=experts[0], score=3, comment="c"), "not_drawn"),
        (dict(tender=tender, expert=stranger, score=3, comment="c"), "not_on_committee"),
        (dict(tender=tender, expert=experts[0], score=6, comment="c"), "invalid_rating"),
        (dict(tender=tender, expert=experts[0], score=3, comment=" "), "required"),
    ]
    for kw, code in cases:
        with pytest.raises(ValidationError) as exc:
            services.spot_check_rate(user=boss, spot_check=s, **kw)
        assert code in codes(exc), code
    services.spot_check_rate(user=boss, spot_check=s, tender=tender, expert=experts[0],
                             score=4, comment="ok")
    with pytest.raises(ValidationError) as exc:
        services.spot_check_rate(user=boss, spot_check=s, tender=tender, expert=experts[0],
                                 score=4, comment="ok")
    assert "already_rated" in codes(exc)
    with pytest.raises(ValidationError) as exc:
        services.spot_check_rate(user=supervisor_of(department("x")), spot_check=s,
                                 tender=tender, expert=experts[1], score=4, comment="ok")
    assert "not_your_spot_check" in codes(exc)


def test_spot_check_commit_refusals():
    boss = supervisor_of(department("住建局"))
    today = timezone.localdate()
    with pytest.raises(ValidationError) as exc:
        services.spot_check_commit(user=boss, period_start=today, period_end=today,
                                   sample_size=1, round_name="r")
    assert "population_empty" in codes(exc)
    with pytest.raises(ValidationError) as exc:
        services.spot_check_commit(user=boss, period_start=today,
                                   period_end=today - timedelta(days=1), sample_size=1,
                                   round_name="r")
    assert "bad_period" in codes(exc)
    with pytest.raises(PermissionDenied):
        services.spot_check_commit(user=factories.bidder(), period_start=today,
                                   period_end=today, sample_size=1, round_name="r")


def test_review_shows_the_committee_and_report():
    boss, s, by_ref = drawn_spot_check(n=1, sample=1)
    tender, experts = by_ref[s.drawn[0]]
    review = selectors.spot_check_review(s, tender)
    assert review["report"] is not None
    assert [m["expert"] for m in review["members"]] == experts
