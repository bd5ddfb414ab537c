"""Filing: the objection that must come first (Reg 60 with Reg 22, 44, 54), the 10 days,
evidence, who may file."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from bidding.award import publicity
from supervision.complaints import services
from supervision.complaints.models import Complaint, Evidence, Matter
from tests import factories
from tests.supervision.complaints.helpers import evidence_pdf, other_complaint

pytestmark = pytest.mark.django_db


def _code(exc):
    return next(iter(exc.value.error_dict.values()))[0].code


def _msg(exc):
    return next(iter(exc.value.message_dict.values()))[0]


def test_a_complaint_about_the_documents_without_an_objection_is_refused_with_the_article():
    tender = factories.published_tender()
    with pytest.raises(ValidationError) as exc:
        services.complaint_file(user=factories.bidder(), tender=tender,
                                matter=Matter.DOCUMENTS, text="条款排斥潜在投标人",
                                knew_on=timezone.localdate())
    assert _code(exc) == "objection_required"
    assert "Reg 22" in _msg(exc) and "Reg 60" in _msg(exc)
    assert not Complaint.objects.exists()


def test_a_complaint_about_the_opening_without_an_objection_in_the_hall_is_refused():
    tender = factories.published_tender()
    with pytest.raises(ValidationError) as exc:
        services.complaint_file(user=factories.bidder(), tender=tender, matter=Matter.OPENING,
                                text="唱标价格有误", knew_on=timezone.localdate())
    assert _code(exc) == "objection_required" and "Reg 44" in _msg(exc)


def test_a_complaint_about_the_evaluation_result_without_an_objection_is_refused():
    tender, users, _ = factories.candidates_tender()
    with pytest.raises(ValidationError) as exc:
        services.complaint_file(user=users[2], tender=tender, matter=Matter.EVALUATION,
                                text="第一名资格不符", knew_on=timezone.localdate())
    assert _code(exc) == "objection_required" and "Reg 54" in _msg(exc)


def test_a_complaint_while_the_objection_awaits_its_answer_is_refused():
    tender = factories.published_tender()
    user = factories.bidder()
    services.objection_raise(user=user, tender=tender, text="资格条件过高")
    with pytest.raises(ValidationError) as exc:
        services.complaint_file(user=user, tender=tender, matter=Matter.DOCUMENTS,
                                text="资格条件过高", knew_on=timezone.localdate())
    assert _code(exc) == "objection_pending"


def test_a_complaint_after_the_objection_is_answered_is_received_and_points_at_it():
    tender = factories.published_tender()
    user = factories.bidder()
    o = services.objection_raise(user=user, tender=tender, text="资格条件过高")
    services.objection_answer(user=_owner(tender), objection=o, answer="维持原条件")
    c = services.complaint_file(user=user, tender=tender, matter=Matter.DOCUMENTS,
                                text="答复不能接受", knew_on=timezone.localdate())
    assert c.status == Complaint.Status.RECEIVED
    assert c.document_objection == o and c.objection == o
    assert AuditEvent.objects.filter(action="complaints.filed").exists()


def test_an_objection_left_unanswered_past_its_three_days_lets_the_complaint_in():
    tender = factories.published_tender()
    user = factories.bidder()
    now = timezone.now()
    o = services.objection_raise(user=user, tender=tender, text="评分标准不明", now=now)
    with pytest.raises(ValidationError):
        services.complaint_file(user=user, tender=tender, matter=Matter.DOCUMENTS,
                                text="未答复", knew_on=timezone.localdate(now),
                                now=now + timedelta(days=2))
    later = now + timedelta(days=3, minutes=1)
    c = services.complaint_file(user=user, tender=tender, matter=Matter.DOCUMENTS,
                                text="未答复", knew_on=timezone.localdate(later), now=later)
    assert c.document_objection == o


def test_the_award_stage_objection_counts_for_a_complaint_about_the_evaluation_result():
    tender, users, _ = factories.candidates_tender()
    owner = _owner(tender)
    o = publicity.objection_raise(user=users[1], tender=tender, text="第一名业绩造假")
    publicity.objection_answer(user=owner, objection=o, answer="经核实业绩真实")
    c = services.complaint_file(user=users[1], tender=tender, matter=Matter.EVALUATION,
                                text="答复不实", knew_on=timezone.localdate())
    assert c.award_objection_id == o.pk and c.objection == o
    # Another bidder's objection does not count for this one.
    with pytest.raises(ValidationError) as exc:
        services.complaint_file(user=users[2], tender=tender, matter=Matter.EVALUATION,
                                text="同上", knew_on=timezone.localdate())
    assert _code(exc) == "objection_required"


def test_a_complaint_on_another_matter_needs_no_objection():
    c = other_complaint(now=timezone.now())
    assert c.objection is None and c.status == Complaint.Status.RECEIVED


def test_a_complaint_more_than_ten_days_after_knowing_is_refused():
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        other_complaint(now=now, knew_on=timezone.localdate(now) - timedelta(days=11))
    assert _code(exc) == "complaint_late" and "Reg 60" in _msg(exc)
    assert other_complaint(now=now, knew_on=timezone.localdate(now) - timedelta(days=10))


def test_the_days_an_objection_waited_are_not_counted_in_the_ten_days():
    tender = factories.published_tender()
    user = factories.bidder()
    now = timezone.now()
    knew = timezone.localdate(now)
    o = services.objection_raise(user=user, tender=tender, text="x", now=now)
    services.objection_answer(user=_owner(tender), objection=o, answer="y",
                              now=now + timedelta(days=3))
    # 12 days after knowing, but the objection waited three of them.
    c = services.complaint_file(user=user, tender=tender, matter=Matter.DOCUMENTS, text="z",
                                knew_on=knew, now=now + timedelta(days=12))
    assert c.pk
    with pytest.raises(ValidationError) as exc:
        services.complaint_file(user=user, tender=tender, matter=Matter.DOCUMENTS, text="z",
                                knew_on=knew, now=now + timedelta(days=14))
    assert _code(exc) == "complaint_late"


def test_knowing_in_the_future_is_refused():
    now = timezone.now()
    with pytest.raises(ValidationError) as exc:
        other_complaint(now=now, knew_on=timezone.localdate(now) + timedelta(days=1))
    assert _code(exc) == "knew_on_future"


def test_an_objection_to_the_documents_later_than_ten_days_before_the_deadline_is_refused():
    tender = factories.published_tender()
    with pytest.raises(ValidationError) as exc:
        services.objection_raise(user=factories.bidder(), tender=tender, text="x",
                                 now=tender.deadline - timedelta(days=9))
    assert _code(exc) == "objection_too_late"


def test_only_the_tenderer_answers_an_objection():
    tender = factories.published_tender()
    o = services.objection_raise(user=factories.bidder(), tender=tender, text="x")
    with pytest.raises(PermissionDenied):
        services.objection_answer(user=factories.bidder(), objection=o, answer="y")


def test_evidence_is_stored_with_its_digest():
    c = other_complaint(now=timezone.now(), evidence=[evidence_pdf()])
    ev = Evidence.objects.get(complaint=c)
    assert ev.content_type == "application/pdf" and len(ev.sha256) == 64
    assert ev.file.read().startswith(b"%PDF-")


def test_evidence_that_is_not_a_pdf_or_image_is_refused():
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        other_complaint(now=timezone.now(), evidence=[bad])
    assert _code(exc) == "file_type"
    assert not Complaint.objects.exists()


def test_evidence_over_the_size_cap_is_refused(monkeypatch):
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 100)
    with pytest.raises(ValidationError) as exc:
        other_complaint(now=timezone.now(), evidence=[evidence_pdf(body=b"x" * 200)])
    assert _code(exc) == "file_too_large"


def test_too_many_evidence_files_are_refused(monkeypatch):
    monkeypatch.setattr(services, "EVIDENCE_MAX_FILES", 1)
    with pytest.raises(ValidationError) as exc:
        other_complaint(now=timezone.now(), evidence=[evidence_pdf(), evidence_pdf("b.pdf")])
    assert _code(exc) == "too_many_files"


def test_a_supervisor_or_expert_cannot_file_a_complaint():
    for user in (factories.supervisor(), factories.expert()):
        with pytest.raises(PermissionDenied):
            other_complaint(now=timezone.now(), user=user)


def test_an_empty_complaint_is_refused():
    with pytest.raises(ValidationError) as exc:
        other_complaint(now=timezone.now(), text="   ")
    assert _code(exc) == "required"


def _owner(tender):
    from accounts.models import User

    return User.objects.filter(organisation_id=tender.tenderer_id).first()
