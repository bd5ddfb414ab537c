"""Publicity of the candidates and objections (Reg 54)."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from bidding.award import decision, publicity
from bidding.award.models import Objection, Publicity
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import statutory
from tests import factories

pytestmark = pytest.mark.django_db
S = Tender.Status


def _code(exc) -> str:
    return next(e.code for errs in exc.value.error_dict.values() for e in errs)


def test_reaching_candidates_publishes_names_and_prices_for_three_days():
    tender, users, bids = factories.candidates_tender()
    p = Publicity.objects.get(tender=tender)
    assert p.ends_at - p.published_at == statutory.days("PUBLICITY_MIN_DAYS") == timedelta(days=3)
    assert [c["bid"] for c in p.candidates] == [str(b.public_id) for b in bids]
    assert p.candidates[0]["bidder"] == bids[0].bidder.name
    assert p.candidates[0]["price"] == "9500000.00"
    assert p.late is False


def test_publicity_later_than_three_days_after_the_report_is_flagged():
    tender, _u, _b = factories.candidates_tender()
    Publicity.objects.filter(tender=tender).delete()
    p = publicity.publicity_open(tender=tender, now=tender.evaluation_report.completed_at
                                 + timedelta(days=3, minutes=1))
    assert p.late is True


def test_award_before_publicity_ends_is_refused():
    tender, _u, _b = factories.candidates_tender()
    p = tender.publicity
    with pytest.raises(ValidationError) as exc:
        decision.award_direct(user=tender.created_by, tender=tender,
                              now=p.ends_at - timedelta(seconds=1))
    assert _code(exc) == "publicity_running"
    # The lifecycle refuses the same move by any path.
    with pytest.raises(lifecycle.TransitionNotAllowed):
        lifecycle.tender_transition(tender=tender, to=S.AWARDED, by=lifecycle.SYSTEM,
                                    now=p.ends_at - timedelta(seconds=1))


def test_objection_during_publicity_pauses_the_award_until_answered():
    tender, users, _b = factories.candidates_tender()
    p = tender.publicity
    objection = publicity.objection_raise(user=users[2], tender=tender, text="第一名业绩造假",
                                          now=p.published_at + timedelta(days=1))
    assert objection.answer_due == objection.raised_at + timedelta(days=3)
    with pytest.raises(ValidationError) as exc:
        decision.award_direct(user=tender.created_by, tender=tender, now=p.ends_at)
    assert _code(exc) == "objection_open"
    with pytest.raises(lifecycle.TransitionNotAllowed) as refused:
        lifecycle.tender_transition(tender=tender, to=S.AWARDED, by=lifecycle.SYSTEM,
                                    now=p.ends_at)
    assert refused.value.guarded
    publicity.objection_answer(user=tender.created_by, objection=objection,
                               answer="经核查业绩属实", now=p.ends_at)
    decision.award_direct(user=tender.created_by, tender=tender, now=p.ends_at)
    tender.refresh_from_db()
    assert tender.status == S.AWARDED


def test_objection_outside_publicity_is_refused():
    tender, users, _b = factories.candidates_tender()
    p = tender.publicity
    with pytest.raises(ValidationError) as exc:
        publicity.objection_raise(user=users[1], tender=tender, text="x", now=p.ends_at)
    assert _code(exc) == "outside_publicity"
    with pytest.raises(ValidationError) as exc:
        publicity.objection_raise(user=users[1], tender=tender, text="x",
                                  now=p.published_at - timedelta(seconds=1))
    assert _code(exc) == "outside_publicity"


def test_objection_by_a_non_bidder_is_refused():
    tender, _u, _b = factories.candidates_tender()
    outsider = factories.bidder_with_key()
    with pytest.raises(ValidationError) as exc:
        publicity.objection_raise(user=outsider, tender=tender, text="x")
    assert _code(exc) == "not_a_bidder"
    with pytest.raises(ValidationError) as exc:
        publicity.objection_raise(user=tender.created_by, tender=tender, text="x")
    assert _code(exc) == "not_a_bidder"


def test_empty_objection_is_refused():
    tender, users, _b = factories.candidates_tender()
    with pytest.raises(ValidationError) as exc:
        publicity.objection_raise(user=users[0], tender=tender, text="  ")
    assert _code(exc) == "required"


def test_only_the_tenderer_answers_and_only_once():
    tender, users, _b = factories.candidates_tender()
    o = publicity.objection_raise(user=users[0], tender=tender, text="异议")
    with pytest.raises(PermissionDenied):
        publicity.objection_answer(user=users[1], objection=o, answer="no")
    publicity.objection_answer(user=tender.created_by, objection=o, answer="答复")
    with pytest.raises(ValidationError) as exc:
        publicity.objection_answer(user=tender.created_by, objection=o, answer="again")
    assert _code(exc) == "already_answered"


def test_clock_flags_an_unanswered_objection_after_three_days_once():
    from accounts.models import Notification

    tender, users, _b = factories.candidates_tender()
    o = publicity.objection_raise(user=users[0], tender=tender, text="异议")
    assert publicity.objections_tick(now=o.answer_due - timedelta(seconds=1)) == []
    assert publicity.objections_tick(now=o.answer_due) == [o.pk]
    assert publicity.objections_tick(now=o.answer_due + timedelta(hours=1)) == []
    o.refresh_from_db()
    assert o.overdue_since == o.answer_due
    assert Notification.objects.filter(organisation=tender.tenderer,
                                       subject__startswith="Overdue").count() == 1


def test_one_failing_objection_does_not_stop_the_tick(monkeypatch):
    tender, users, _b = factories.candidates_tender()
    a = publicity.objection_raise(user=users[0], tender=tender, text="一")
    b = publicity.objection_raise(user=users[1], tender=tender, text="二")
    real = publicity.audit_record

    def flaky(**kw):
        if kw.get("obj") is not None and kw["obj"].pk == a.pk:
            raise RuntimeError("boom")
        return real(**kw)

    monkeypatch.setattr(publicity, "audit_record", flaky)
    done = publicity.objections_tick(now=b.answer_due)
    assert done == [b.pk]
    assert Objection.objects.get(pk=a.pk).overdue_since is None


def test_the_clock_tick_runs_the_award_jobs():
    from core import clock

    tender, users, _b = factories.candidates_tender()
    o = publicity.objection_raise(user=users[0], tender=tender, text="异议")
    report = clock.tick(now=o.answer_due)
    assert {"award.objections", "award.deadlines"} <= set(report.ran)
    assert report.results["award.objections"] == [o.pk]
