"""Handling a complaint: working-day deadlines across holidays and 调休, pauses (Reg 61),
suspension and resumption of the tender through the lifecycle (Reg 62), the decision
letter, reminders and overdue marks from the clock."""

import re
import shutil
import subprocess
from datetime import date, timedelta

import chinese_calendar
import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from audit.models import AuditEvent
from bidding.tenders import lifecycle
from bidding.tenders.models import Tender
from core import clock, workdays
from supervision.complaints import services
from supervision.complaints.models import Complaint, Pause
from tests import factories
from tests.conftest import require
from tests.supervision.complaints.helpers import at, evidence_pdf, other_complaint

pytestmark = pytest.mark.django_db
S = Tender.Status


def _nth_workday_after(d: date, n: int) -> date:
    """Independent of core.workdays: straight from the package."""
    while n:
        d += timedelta(days=1)
        n -= chinese_calendar.is_workday(d)
    return d


def test_acceptance_is_due_three_working_days_after_filing_across_national_day_2025():
    c = other_complaint(now=at(2025, 9, 30))
    # 1-8 October off; Thursday 9, Friday 10, Saturday 11 (调休) are the three.
    assert c.accept_due == date(2025, 10, 11) == _nth_workday_after(date(2025, 9, 30), 3)


def test_acceptance_across_mid_autumn_and_national_day_2026():
    c = other_complaint(now=at(2026, 9, 24))
    # Friday 25 off (中秋), Monday 28, Tuesday 29, Wednesday 30.
    assert c.accept_due == date(2026, 9, 30)
    c2 = other_complaint(now=at(2026, 9, 30))
    assert c2.accept_due == date(2026, 10, 10) == _nth_workday_after(date(2026, 9, 30), 3)


def test_the_decision_is_due_thirty_working_days_after_acceptance_across_the_holiday():
    c = other_complaint(now=at(2025, 9, 22))
    c = services.complaint_accept(user=factories.supervisor(), complaint=c,
                                  now=at(2025, 9, 24))
    expected = _nth_workday_after(date(2025, 9, 24), 30)
    assert c.decide_due == expected
    # Plain calendar arithmetic would be wrong: the holiday pushes it out a week.
    assert expected > date(2025, 9, 24) + timedelta(days=42)


def test_a_pause_for_expert_review_extends_the_decision_deadline_by_its_working_days():
    supervisor = factories.supervisor()
    c = other_complaint(now=at(2025, 9, 22))
    c = services.complaint_accept(user=supervisor, complaint=c, now=at(2025, 9, 24))
    before = c.decide_due
    services.pause_start(user=supervisor, complaint=c, reason=Pause.Reason.EXPERT_REVIEW,
                         note="请专家复核评分", now=at(2025, 9, 29, 9))
    # Paused over the holiday: 30 September, 9, 10 and Saturday 11 October are working days.
    p = services.pause_end(user=supervisor, complaint=c, now=at(2025, 10, 11, 17))
    assert p.working_days == 4 == sum(
        chinese_calendar.is_workday(date(2025, 9, 29) + timedelta(days=k)) for k in range(1, 13))
    c.refresh_from_db()
    assert c.decide_due == _nth_workday_after(date(2025, 9, 24), 34)
    assert c.decide_due > before
    assert AuditEvent.objects.filter(action="complaints.resumed_clock").exists()


def test_pause_refusals():
    supervisor = factories.supervisor()
    c = other_complaint(now=at(2025, 9, 22))
    with pytest.raises(ValidationError) as exc:
        services.pause_start(user=supervisor, complaint=c, reason="testing")
    assert exc.value.error_dict["__all__"][0].code == "not_accepted"
    services.complaint_accept(user=supervisor, complaint=c, now=at(2025, 9, 23))
    with pytest.raises(ValidationError) as exc:
        services.pause_end(user=supervisor, complaint=c)
    assert exc.value.error_dict["__all__"][0].code == "not_paused"
    with pytest.raises(ValidationError) as exc:
        services.pause_start(user=supervisor, complaint=c, reason="lunch")
    assert exc.value.error_dict["reason"][0].code == "invalid_reason"
    services.pause_start(user=supervisor, complaint=c, reason="testing")
    with pytest.raises(ValidationError) as exc:
        services.pause_start(user=supervisor, complaint=c, reason="testing")
    assert exc.value.error_dict["__all__"][0].code == "already_paused"
    with pytest.raises(ValidationError) as exc:
        services.complaint_decide(user=supervisor, complaint=c, outcome="dismissed",
                                  decision="x")
    assert exc.value.error_dict["__all__"][0].code == "paused"


def test_a_deadline_in_an_undefined_year_waits_for_the_operator_and_the_clock_fills_it():
    last = max(workdays.package_years())
    c = other_complaint(now=at(last, 12, 30))
    assert c.accept_due is None and c.calendar_gap == last + 1
    operator = factories.operator()
    workdays.set_day(day=date(last + 1, 1, 1), is_working_day=False, note="元旦", user=operator)
    workdays.define_year(year=last + 1, user=operator)
    with time_machine.travel(at(last, 12, 31), tick=False):
        clock.tick()
    c.refresh_from_db()
    assert c.calendar_gap is None
    assert c.accept_due == workdays.add_working_days(date(last, 12, 30), 3)
    assert c.accept_due.year == last + 1


def test_acceptance_and_rejection_refusals():
    supervisor = factories.supervisor()
    c = other_complaint(now=at(2025, 9, 22))
    with pytest.raises(PermissionDenied):
        services.complaint_accept(user=factories.operator(), complaint=c)
    with pytest.raises(ValidationError) as exc:
        services.complaint_reject(user=supervisor, complaint=c, reason="")
    assert exc.value.error_dict["reason"][0].code == "required"
    c = services.complaint_reject(user=supervisor, complaint=c, reason="不属于受理范围")
    assert c.status == Complaint.Status.REJECTED
    assert Notification.objects.filter(organisation=c.complainant,
                                       body="不属于受理范围").exists()
    with pytest.raises(ValidationError) as exc:
        services.complaint_accept(user=supervisor, complaint=c)
    assert exc.value.error_dict["__all__"][0].code == "not_received"


# --- suspension (Reg 62) ---------------------------------------------------------------


def test_the_supervisor_suspends_and_resumes_the_tender_through_the_lifecycle():
    supervisor = factories.supervisor()
    tender = factories.published_tender()
    c = other_complaint(now=at(2025, 9, 22), tender=tender)
    services.complaint_accept(user=supervisor, complaint=c, now=at(2025, 9, 23))
    s = services.suspend_tender(user=supervisor, complaint=c, reason="核查投诉事项")
    tender.refresh_from_db()
    assert tender.status == S.SUSPENDED and tender.suspended_from == S.PUBLISHED
    assert s.from_status == S.PUBLISHED
    moves = AuditEvent.objects.filter(action="tender.transition").order_by("seq")
    assert moves.last().summary.endswith(f"{S.PUBLISHED} -> {S.SUSPENDED}")
    services.resume_tender(user=supervisor, complaint=c)
    tender.refresh_from_db()
    assert tender.status == S.PUBLISHED and tender.suspended_from == ""
    s.refresh_from_db()
    assert s.resumed_at is not None
    assert AuditEvent.objects.filter(action="tender.transition").order_by(
        "seq").last().summary.endswith(f"{S.SUSPENDED} -> {S.PUBLISHED}")


def test_resumption_returns_a_tender_to_its_candidates_stage():
    supervisor = factories.supervisor()
    tender, users, _ = factories.candidates_tender()
    c = other_complaint(now=at(2025, 9, 22), tender=tender, user=users[0])
    services.suspend_tender(user=supervisor, complaint=c, reason="暂停")
    tender.refresh_from_db()
    assert tender.status == S.SUSPENDED
    services.resume_tender(user=supervisor, complaint=c)
    tender.refresh_from_db()
    assert tender.status == S.CANDIDATES


def test_suspension_refusals():
    supervisor = factories.supervisor()
    c = other_complaint(now=at(2025, 9, 22))
    with pytest.raises(PermissionDenied):
        services.suspend_tender(user=factories.tenderer(), complaint=c, reason="x")
    with pytest.raises(ValidationError) as exc:
        services.resume_tender(user=supervisor, complaint=c)
    assert exc.value.error_dict["__all__"][0].code == "not_suspended"
    services.suspend_tender(user=supervisor, complaint=c, reason="x")
    with pytest.raises(ValidationError) as exc:
        services.suspend_tender(user=supervisor, complaint=c, reason="x")
    assert exc.value.error_dict["__all__"][0].code == "already_suspended"
    services.resume_tender(user=supervisor, complaint=c)
    services.complaint_reject(user=supervisor, complaint=c, reason="不受理")
    with pytest.raises(ValidationError) as exc:
        services.suspend_tender(user=supervisor, complaint=c, reason="x")
    assert exc.value.error_dict["__all__"][0].code == "not_handling"


def test_a_tender_the_lifecycle_cannot_suspend_is_refused_by_the_lifecycle():
    supervisor = factories.supervisor()
    tender = factories.published_tender()
    c = other_complaint(now=at(2025, 9, 22), tender=tender)
    Tender.objects.filter(pk=tender.pk).update(status=S.CONTRACTED)
    with pytest.raises(lifecycle.TransitionNotAllowed):
        services.suspend_tender(user=supervisor, complaint=c, reason="x")
    assert not c.suspensions.exists()


# --- the decision letter ----------------------------------------------------------------

HOSTILE = 'A<B & <b>粗</b> <font name="x"> <img src="/etc/hostname"/>'


def _pdftext(data: bytes, tmp_path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) is not installed")
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def test_the_decision_letter_states_the_case_literally_and_is_signed(tmp_path):
    supervisor = factories.supervisor()
    tender = factories.published_tender()
    complainant = factories.bidder()
    c = other_complaint(now=at(2025, 9, 22), tender=tender, user=complainant,
                        text=f"专家打分异常 {HOSTILE}", evidence=[evidence_pdf()])
    services.complaint_accept(user=supervisor, complaint=c, now=at(2025, 9, 23))
    services.pause_start(user=supervisor, complaint=c, reason="testing", now=at(2025, 9, 24))
    services.pause_end(user=supervisor, complaint=c, now=at(2025, 9, 26))
    services.suspend_tender(user=supervisor, complaint=c, reason=f"暂停 {HOSTILE}")
    services.resume_tender(user=supervisor, complaint=c)
    c = services.complaint_decide(user=supervisor, complaint=c, outcome="partly_upheld",
                                  decision=f"责令重新评审 {HOSTILE}", now=at(2025, 10, 20))
    assert c.status == Complaint.Status.DECIDED and c.letter_sha256
    pdf = c.letter.open("rb").read()
    text = _pdftext(pdf, tmp_path)
    flat = re.sub(r"\s+", "", HOSTILE)
    assert "投诉处理决定书" in text and tender.reference in text
    assert complainant.organisation.name in text and "投诉部分成立" in text
    assert f"专家打分异常{flat}" in text and f"责令重新评审{flat}" in text
    assert "检验、检测、鉴定" in text and "第六十二条" in text
    assert c.evidence.first().sha256 in text
    require(shutil.which("pdfsig") is not None, "pdfsig (poppler-utils) is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    assert "Signature #1" in subprocess.run(["pdfsig", str(path)], capture_output=True,
                                            text=True).stdout


def test_the_complainant_and_the_parties_concerned_are_told_of_the_decision():
    supervisor = factories.supervisor()
    tender = factories.published_tender()
    c = other_complaint(now=at(2025, 9, 22), tender=tender)
    services.complaint_accept(user=supervisor, complaint=c)
    services.complaint_decide(user=supervisor, complaint=c, outcome="dismissed",
                              decision="投诉缺乏事实根据")
    told = set(Notification.objects.filter(subject__contains=tender.reference,
                                           link=f"/complaints/{c.pk}/").values_list(
        "organisation_id", flat=True))
    assert {c.complainant_id, tender.tenderer_id} <= told


def test_deciding_a_complaint_not_accepted_is_refused():
    c = other_complaint(now=at(2025, 9, 22))
    with pytest.raises(ValidationError) as exc:
        services.complaint_decide(user=factories.supervisor(), complaint=c,
                                  outcome="upheld", decision="x")
    assert exc.value.error_dict["__all__"][0].code == "not_accepted"


# --- the clock ------------------------------------------------------------------------


def _supervisor_notes(org, word):
    return Notification.objects.filter(organisation=org, subject__contains=word)


def test_the_clock_reminds_a_working_day_ahead_and_flags_the_overdue_acceptance():
    supervisor = factories.supervisor()
    org = supervisor.organisation
    c = other_complaint(now=at(2025, 9, 30))          # due Saturday 11 October (调休)
    with time_machine.travel(at(2025, 10, 9, 9), tick=False):   # two working days ahead
        clock.tick()
    c.refresh_from_db()
    assert c.accept_reminded_at is None
    with time_machine.travel(at(2025, 10, 10, 9), tick=False):  # one working day ahead
        clock.tick()
        clock.tick()
    c.refresh_from_db()
    assert c.accept_reminded_at is not None and c.accept_overdue_since is None
    assert _supervisor_notes(org, "Due 2025-10-11").count() == 1
    with time_machine.travel(at(2025, 10, 11, 20), tick=False):  # the day itself: not late
        clock.tick()
    c.refresh_from_db()
    assert c.accept_overdue_since is None
    with time_machine.travel(at(2025, 10, 12, 9), tick=False):
        clock.tick()
        clock.tick()
    c.refresh_from_db()
    assert c.accept_overdue_since is not None
    assert _supervisor_notes(org, "Overdue").count() == 1
    assert AuditEvent.objects.filter(action="complaints.accept_overdue").count() == 1


def test_a_paused_clock_neither_reminds_nor_flags():
    supervisor = factories.supervisor()
    c = other_complaint(now=at(2025, 9, 1))
    services.complaint_accept(user=supervisor, complaint=c, now=at(2025, 9, 2))
    services.pause_start(user=supervisor, complaint=c, reason="expert_review",
                         now=at(2025, 9, 3))
    c.refresh_from_db()
    with time_machine.travel(c.decide_due + timedelta(days=5), tick=False):
        clock.tick()
    c.refresh_from_db()
    assert c.decide_overdue_since is None and c.decide_reminded_at is None


def test_the_clock_flags_an_overdue_decision():
    supervisor = factories.supervisor()
    c = other_complaint(now=at(2025, 9, 1))
    services.complaint_accept(user=supervisor, complaint=c, now=at(2025, 9, 2))
    c.refresh_from_db()
    with time_machine.travel(at(c.decide_due.year, c.decide_due.month, c.decide_due.day)
                             + timedelta(days=1), tick=False):
        clock.tick()
    c.refresh_from_db()
    assert c.decide_overdue_since is not None


def test_an_unanswered_objection_is_marked_overdue_and_the_objector_told():
    tender = factories.published_tender()
    user = factories.bidder()
    o = services.objection_raise(user=user, tender=tender, text="x")
    with time_machine.travel(o.answer_due + timedelta(minutes=1), tick=False):
        clock.tick()
    o.refresh_from_db()
    assert o.overdue_since is not None
    assert Notification.objects.filter(organisation=user.organisation,
                                       subject__contains="Reg 60").exists()
