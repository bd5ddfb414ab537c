"""The expert screens on the platform: when an evaluation completes (the tender reaches
candidates), an expert who kept scoring one bidder above the other members and an expert
drawn again and again for the same tenderer become flags on each tender concerned, with
the scores as evidence, and count in the tender risk score; a fair committee raises
nothing, nothing breaks without evaluation data, and one unreadable committee does not
stop the others."""

import pytest
from django.utils import timezone

from supervision import expert_screening, tasks
from supervision.models import Flag, RiskScore
from tests import factories
from tests.expert_pool.conftest import make_expert
from tests.supervision.platform_helpers import evaluated

pytestmark = pytest.mark.django_db


def _three(favour, *, capture=None, settings=None):
    buyer = factories.tenderer()
    expert = make_expert()
    org = factories.bidder().organisation
    tenders = []
    for k in range(3):
        if capture is not None and k == 2:
            with capture(execute=True):
                tenders.append(evaluated(buyer=buyer, expert=expert, bidder_org=org,
                                         favour=favour)[0])
        else:
            tenders.append(evaluated(buyer=buyer, expert=expert, bidder_org=org,
                                     favour=favour)[0])
    return tenders, expert, org, buyer


def test_an_expert_favouring_one_bidder_is_flagged_when_the_evaluation_completes(
        django_capture_on_commit_callbacks, settings):
    settings.SUPERVISION_EXPERT_REPEAT_LIMIT = 3
    tenders, expert, org, buyer = _three(True, capture=django_capture_on_commit_callbacks)
    assert all(t.status == "candidates" for t in tenders)
    flags = Flag.objects.filter(screen="expert_favouritism")
    assert sorted(flags.values_list("tender_id", flat=True)) == sorted(t.pk for t in tenders)
    flag = flags.get(tender_id=tenders[0].pk)
    assert flag.subjects == [org.credit_code, f"expert:{expert.code}"]
    assert flag.tender_reference == tenders[0].reference
    ev = flag.evidence
    assert ev["support"] == 3 and ev["p_value"] <= 0.01 and ev["effect"] >= 0.1
    assert ev["this_tender"]["tender"] == tenders[0].pk
    crit = ev["this_tender"]["criteria"]
    assert {c["criterion_name"] for c in crit} == {"施工组织设计", "质量安全措施", "业绩与信誉"}
    assert all(c["expert_score"] == c["max"] > c["others_mean"] for c in crit)
    assert expert.code in flag.explanation_en and org.name in flag.explanation_zh
    # The same expert sat on three tenders of the same tenderer (set limit 3).
    repeat = Flag.objects.filter(screen="expert_repeat_tenderer")
    assert sorted(repeat.values_list("tender_id", flat=True)) == sorted(t.pk for t in tenders)
    assert repeat.first().subjects == [buyer.organisation.credit_code, f"expert:{expert.code}"]


def test_a_fair_expert_sitting_with_the_same_bidder_is_not_flagged(
        django_capture_on_commit_callbacks):
    _three(False, capture=django_capture_on_commit_callbacks)
    assert not Flag.objects.filter(screen="expert_favouritism").exists()
    # Drawn three times for the same tenderer while every other expert sat once: above
    # the IQR fence and at the minimum of 3, so that screen fires on its own.
    assert Flag.objects.filter(screen="expert_repeat_tenderer").count() == 3


def test_two_tenders_together_are_too_little_support(django_capture_on_commit_callbacks):
    buyer, expert, org = factories.tenderer(), make_expert(), factories.bidder().organisation
    evaluated(buyer=buyer, expert=expert, bidder_org=org, favour=True)
    with django_capture_on_commit_callbacks(execute=True):
        evaluated(buyer=buyer, expert=expert, bidder_org=org, favour=True)
    assert not Flag.objects.filter(screen="expert_favouritism").exists()


def test_expert_flags_count_in_the_tender_risk_score():
    tenders, *_ = _three(True)
    now = timezone.now()
    clean = factories.published_tender()
    for t in [*tenders, clean]:
        RiskScore.objects.create(tender_id=t.pk, tender_reference=t.reference,
                                 features={}, computed_at=now)
    expert_screening.screen_experts()
    scores = dict(RiskScore.objects.values_list("tender_id", "score"))
    assert all(scores[t.pk] > scores[clean.pk] for t in tenders)


def test_running_again_replaces_the_expert_flags_and_leaves_the_others():
    tenders, *_ = _three(True)
    Flag.objects.create(kind=Flag.Kind.SCREEN, screen="identical_prices", severity="high",
                        tender_id=tenders[0].pk, tender_reference="x", subjects=["x"],
                        evidence={}, explanation_zh="z", explanation_en="e",
                        raised_at=timezone.now())
    first = expert_screening.screen_experts().flags
    again = expert_screening.screen_experts().flags
    assert first == again == 6
    assert Flag.objects.filter(screen="expert_favouritism").count() == 3
    assert Flag.objects.filter(screen="identical_prices").count() == 1


def test_without_evaluation_data_nothing_is_flagged_and_nothing_breaks(
        django_capture_on_commit_callbacks):
    report = expert_screening.screen_experts()
    assert report.flags == 0 and report.scores == 0
    # A tender reaching candidates without a committee (built directly) runs the hook.
    with django_capture_on_commit_callbacks(execute=True):
        tender, *_ = factories.candidates_tender()
    assert tender.status == "candidates" and not Flag.objects.filter(
        screen__startswith="expert_").exists()


def test_one_unreadable_committee_does_not_stop_the_others(monkeypatch, caplog):
    from supervision.screens import experts

    tenders, *_ = _three(True)
    real = experts.score_rows
    ids = expert_screening._evaluated_committees()

    def rows(committee_ids):
        if committee_ids == [ids[0]]:
            raise RuntimeError("unreadable")
        return real(committee_ids)

    monkeypatch.setattr(experts, "score_rows", rows)
    report = expert_screening.screen_experts()
    assert report.failed == [ids[0]] and "committee" in caplog.text
    # The other two committees were read (their scores screened: two tenders are too
    # little support), and the draws' screen still ran.
    assert report.scores == 2 * 75
    assert not Flag.objects.filter(screen="expert_favouritism").exists()
    assert Flag.objects.filter(screen="expert_repeat_tenderer").count() == 3


def test_the_task_logs_a_failure_and_returns_none(monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("experts exploded")

    monkeypatch.setattr(expert_screening, "screen_experts", broken)
    assert tasks.screen_experts() is None
    assert "expert screens failed" in caplog.text


def test_a_failing_queue_never_breaks_the_tenders_move(monkeypatch, caplog,
                                                       django_capture_on_commit_callbacks):
    def broken():
        raise RuntimeError("no broker")

    monkeypatch.setattr(tasks.screen_experts, "delay", broken)
    with django_capture_on_commit_callbacks(execute=True):
        tender, *_ = factories.candidates_tender()
    assert tender.status == "candidates" and "could not queue" in caplog.text
