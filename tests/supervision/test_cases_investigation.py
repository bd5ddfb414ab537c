"""Cases (立案) from every source: subjects, evidence with audit references, steps, the
findings, the penalty decision (signed PDF), the expert pool and the bidders' records, the
debarment guard and the overdue clock. A test for every refusal."""

import subprocess
from datetime import date, timedelta
from itertools import count

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from core import statutory
from expert_pool import avoidance
from expert_pool.models import Expert, Penalty
from supervision import cases
from supervision.models import Case, CaseEvidence, CaseStep, Flag, RiskScore, Sanction
from tests import factories

pytestmark = pytest.mark.django_db
_n = count(1)


def _code(exc):
    return next(iter(exc.value.error_dict.values()))[0].code


def _expert():
    n = next(_n)
    return Expert.objects.create(code=f"X{n:05d}", name=f"专家{n}", title=Expert.Title.SENIOR,
                                 years_experience=12, region="350102",
                                 status=Expert.Status.ACTIVE)


def _flag(tender_id=7, subjects=()):
    return Flag.objects.create(kind=Flag.Kind.SCREEN, screen="cv", severity="high",
                               tender_id=tender_id, tender_reference=f"T-{tender_id}",
                               subjects=list(subjects), evidence={"cv": 0.01},
                               explanation_zh="价格过于接近", explanation_en="prices too close",
                               raised_at=timezone.now())


@pytest.fixture
def sup():
    return factories.supervisor()


@pytest.fixture
def parties():
    return factories.bidder().organisation, _expert()


def _complaint_case(sup, parties, **kw):
    org, expert = parties
    return cases.case_open_from(
        user=sup, source_kind="complaint", source_id=kw.pop("source_id", 3),
        source_display="投诉 TS-3", source_link="/supervision/complaints/3/",
        subjects=[{"kind": "bidder", "code": org.credit_code},
                  {"kind": "expert", "code": expert.code}],
        summary="bid rigging alleged", **kw)


# -- opening -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["complaint", "inspection", "spot_check"])
def test_a_case_opens_from_each_source_with_a_number_deadline_and_audit(sup, parties, kind):
    org, expert = parties
    now = timezone.now()
    case = cases.case_open_from(user=sup, source_kind=kind, source_id="12",
                                source_display="<b>x</b>", source_link="/x/",
                                subjects=[{"kind": "bidder", "code": org.credit_code}], now=now)
    assert case.number.startswith("JC-") and case.source_kind == kind
    assert case.subjects == [{"kind": "bidder", "code": org.credit_code, "name": org.name}]
    assert case.deadline == now + timedelta(days=statutory.value("CASE_DECISION_DAYS"))
    assert AuditEvent.objects.filter(action="supervision.case_open",
                                     object_id=str(case.pk)).count() == 1
    assert list(cases.cases_for_source(kind, 12)) == [case]


def test_a_flag_case_takes_its_subjects_from_the_tenders_flags(sup, parties):
    org, expert = parties
    _flag(subjects=[org.credit_code, f"expert:{expert.code}", "UNKNOWN"])
    case = cases.case_open(user=sup, tender_id=7, note="n")
    assert {(s["kind"], s["code"]) for s in case.subjects} == {
        ("bidder", org.credit_code), ("expert", expert.code)}
    assert case.source_link == "/supervision/flags/7/"


def test_a_second_case_on_the_same_source_is_refused(sup, parties):
    _complaint_case(sup, parties)
    with pytest.raises(ValidationError) as exc:
        _complaint_case(sup, parties)
    assert _code(exc) == "case_exists"


def test_a_flag_case_and_a_complaint_case_may_share_a_tender(sup, parties):
    tender = factories.published_tender()
    RiskScore.objects.create(tender_id=tender.pk, tender_reference=tender.reference,
                             computed_at=timezone.now())
    cases.case_open(user=sup, tender_id=tender.pk)
    case = _complaint_case(sup, parties, tender_id=tender.pk)
    assert case.tender_reference == tender.reference


@pytest.mark.parametrize("kwargs,code", [
    ({"source_kind": "rumour", "source_id": "1"}, "bad_source"),
    ({"source_kind": "complaint", "source_id": ""}, "bad_source"),
    ({"source_kind": "complaint", "source_id": "1", "tender_id": 999999}, "bad_tender"),
    ({"source_kind": "complaint", "source_id": "1",
      "subjects": [{"kind": "bidder", "code": "NOPE"}]}, "bad_subject"),
    ({"source_kind": "complaint", "source_id": "1",
      "subjects": [{"kind": "judge", "code": "X"}]}, "bad_subject"),
    ({"source_kind": "flag", "source_id": "424242"}, "not_screened"),
])
def test_opening_refusals(sup, kwargs, code):
    with pytest.raises(ValidationError) as exc:
        cases.case_open_from(user=sup, **kwargs)
    assert _code(exc) == code


def test_only_supervisors_open_cases(parties):
    with pytest.raises(PermissionDenied):
        _complaint_case(factories.operator(), parties)


def test_a_subject_is_added_once(sup, parties):
    case = _complaint_case(sup, parties)
    other = factories.bidder().organisation
    case = cases.case_subject_add(user=sup, case_id=case.pk, kind="bidder",
                                  code=other.credit_code)
    assert len(case.subjects) == 3
    with pytest.raises(ValidationError) as exc:
        cases.case_subject_add(user=sup, case_id=case.pk, kind="bidder",
                               code=other.credit_code)
    assert _code(exc) == "subject_exists"


# -- evidence ------------------------------------------------------------------------------

def test_a_flag_attached_as_evidence_carries_the_attaching_events_reference(sup, parties):
    case = _complaint_case(sup, parties)
    flag = _flag()
    item = cases.case_evidence_attach(user=sup, case_id=case.pk, kind="flag",
                                      record_id=flag.pk)
    event = AuditEvent.objects.get(action="supervision.case_evidence")
    assert (item.event_seq, item.event_hash) == (event.seq, event.hash)
    assert item.details["evidence"] == {"cv": 0.01}
    with pytest.raises(ValidationError) as exc:
        cases.case_evidence_attach(user=sup, case_id=case.pk, kind="flag", record_id=flag.pk)
    assert _code(exc) == "evidence_exists"


def test_an_audit_event_attached_as_evidence_keeps_its_seq_and_hash(sup, parties):
    case = _complaint_case(sup, parties)
    opened = AuditEvent.objects.get(action="supervision.case_open")
    item = cases.case_evidence_attach(user=sup, case_id=case.pk, kind="audit_event",
                                      record_id=opened.seq)
    assert (item.record_event_seq, item.record_event_hash) == (opened.seq, opened.hash)


def test_a_tender_document_is_attached_by_its_sha256_and_its_upload_event(sup, parties):
    tender = factories.published_tender()
    doc = tender.documents.first()
    case = _complaint_case(sup, parties)
    item = cases.case_evidence_attach(user=sup, case_id=case.pk, kind="document",
                                      record_id=doc.pk)
    added = AuditEvent.objects.get(action="document.add", object_id=str(doc.pk))
    assert item.sha256 == doc.sha256 and item.record_event_seq == added.seq


def test_a_bid_is_refused_as_evidence_while_its_bidding_is_open(sup, parties):
    tender = factories.published_tender()
    bid = factories.submit_bid(tender, factories.bidder_with_key())
    case = _complaint_case(sup, parties)
    with pytest.raises(ValidationError) as exc:
        cases.case_evidence_attach(user=sup, case_id=case.pk, kind="bid", record_id=bid.pk)
    assert _code(exc) == "sealed"


def test_a_bid_after_the_deadline_is_attached_with_its_metadata_never_its_content(
        sup, parties):
    tender = factories.published_tender()
    bid = factories.submit_bid(tender, factories.bidder_with_key())
    case = _complaint_case(sup, parties)
    later = tender.deadline + timedelta(days=1)
    tender.status = tender.Status.OPENED
    tender.save(update_fields=["status"])
    item = cases.case_evidence_attach(user=sup, case_id=case.pk, kind="bid", record_id=bid.pk,
                                      now=later)
    assert item.sha256 == bid.sha256
    assert item.record_event_seq == AuditEvent.objects.get(action="bid.submit").seq
    assert "price_sheet" not in item.details and "envelope" not in item.details


@pytest.mark.parametrize("kind,record_id,code", [
    ("flag", "99999", "no_record"), ("flag", "abc", "no_record"),
    ("audit_event", "99999", "no_record"), ("gossip", "1", "bad_evidence"),
])
def test_evidence_refusals(sup, parties, kind, record_id, code):
    case = _complaint_case(sup, parties)
    with pytest.raises(ValidationError) as exc:
        cases.case_evidence_attach(user=sup, case_id=case.pk, kind=kind, record_id=record_id)
    assert _code(exc) == code


# -- steps ---------------------------------------------------------------------------------

def test_steps_are_recorded_and_audited(sup, parties):
    case = _complaint_case(sup, parties)
    today = timezone.localdate()
    cases.case_step_add(user=sup, case_id=case.pk, kind="interview", on=today,
                        text="Interviewed the bidder's manager.")
    cases.case_step_add(user=sup, case_id=case.pk, kind="hearing_notice", on=today,
                        due=today + timedelta(days=7), text="Hearing notified.")
    assert CaseStep.objects.filter(case=case).count() == 2
    assert AuditEvent.objects.filter(action="supervision.case_step").count() == 2


@pytest.mark.parametrize("kind,on_delta,due_delta,text,code", [
    ("chat", 0, None, "x", "bad_step"),
    ("interview", 0, None, "  ", "text_missing"),
    ("interview", 1, None, "x", "future_step"),
    ("hearing_notice", 0, None, "x", "hearing_date_missing"),
    ("hearing_notice", 0, 6, "x", "hearing_too_soon"),
    ("document_request", 0, -1, "x", "due_before"),
])
def test_step_refusals(sup, parties, kind, on_delta, due_delta, text, code):
    case = _complaint_case(sup, parties)
    today = timezone.localdate()
    due = today + timedelta(days=due_delta) if due_delta is not None else None
    with pytest.raises(ValidationError) as exc:
        cases.case_step_add(user=sup, case_id=case.pk, kind=kind,
                            on=today + timedelta(days=on_delta), due=due, text=text)
    assert _code(exc) == code


# -- findings and decision -----------------------------------------------------------------

def _confirmed(sup, parties):
    case = _complaint_case(sup, parties)
    return cases.case_decide(user=sup, case_id=case.pk, outcome="confirmed",
                             reasons="The bids share one author and one bond payer.")


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "d.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_a_penalty_decision_is_a_signed_pdf_and_feeds_the_pool_and_the_record(
        sup, parties, tmp_path):
    org, expert = parties
    case = _confirmed(sup, parties)
    hostile = '<img src="/etc/passwd"/> <b>bold</b> & 罚'
    decision = cases.case_decision_issue(
        user=sup, case_id=case.pk, legal_basis="招标投标法实施条例第六十七条",
        reasons=hostile, sanctions=[
            {"subject_code": org.credit_code, "kind": "debarment", "months": 12},
            {"subject_code": org.credit_code, "kind": "fine", "amount": "50000"},
            {"subject_code": expert.code, "kind": "expert_suspension", "months": 6}])
    assert decision.pdf.startswith(b"%PDF") and b"/ByteRange" in decision.pdf
    text = _pdf_text(decision.pdf, tmp_path)
    assert '<img src="/etc/passwd"/> <b>bold</b> & 罚' in text
    assert decision.number in text and "50,000.00" in text
    case.refresh_from_db()
    assert case.closed_at is not None
    debar = Sanction.objects.get(kind="debarment")
    assert debar.until == cases.add_months(debar.starts, 12) - timedelta(days=1)
    assert {s.kind for s in cases.sanctions_of(org.credit_code)} == {"debarment", "fine"}
    penalty = Penalty.objects.get(expert=expert)
    assert penalty.until == Sanction.objects.get(kind="expert_suspension").until
    assert AuditEvent.objects.filter(action="supervision.case_penalty_decision").count() == 1
    assert AuditEvent.objects.filter(action="expert.penalised").count() == 1


def test_a_penalised_expert_is_not_drawn(sup, parties):
    org, expert = parties
    case = _confirmed(sup, parties)
    cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 71",
                              reasons="Scored against the criteria twice.",
                              sanctions=[{"subject_code": expert.code,
                                          "kind": "expert_removal"}])
    tender = factories.published_tender()
    ctx = avoidance.context_for(tender, now=timezone.now())
    assert avoidance.exclusions(ctx, {expert.pk}) == {expert.pk: ["penalised"]}


def test_a_debarred_bidder_cannot_start_a_bid_and_others_can(sup):
    debarred = factories.bidder_with_key()
    expert = _expert()
    case = cases.case_open_from(
        user=sup, source_kind="inspection", source_id="9",
        subjects=[{"kind": "bidder", "code": debarred.organisation.credit_code},
                  {"kind": "expert", "code": expert.code}])
    cases.case_decide(user=sup, case_id=case.pk, outcome="confirmed",
                      reasons="Forged qualification certificates.")
    cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 68",
                              reasons="Forged qualification certificates.",
                              sanctions=[{"subject_code": debarred.organisation.credit_code,
                                          "kind": "debarment", "months": 24}])
    tender = factories.published_tender()
    with pytest.raises(ValidationError) as exc:
        factories.submit_bid(tender, debarred)
    assert _code(exc) == "debarred"
    assert factories.submit_bid(tender, factories.bidder_with_key()).pk


def test_a_debarment_that_ended_does_not_refuse(sup, parties):
    org, _e = parties
    case = _confirmed(sup, parties)
    past = timezone.now() - timedelta(days=800)
    cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 67",
                              reasons="Collusion with two other bidders.", now=past,
                              sanctions=[{"subject_code": org.credit_code,
                                          "kind": "debarment", "months": 12}])
    assert cases.debarment_in_force(org.credit_code, timezone.localdate()) is None
    assert cases.debarment_in_force(org.credit_code, timezone.localdate(past)) is not None


@pytest.mark.parametrize("sanction,code", [
    ({"subject_code": "NOBODY", "kind": "warning"}, "not_a_subject"),
    ({"subject_code": "@org", "kind": "flogging"}, "bad_penalty"),
    ({"subject_code": "@org", "kind": "expert_suspension", "months": 3},
     "penalty_not_for_subject"),
    ({"subject_code": "@expert", "kind": "debarment", "months": 12},
     "penalty_not_for_subject"),
    ({"subject_code": "@org", "kind": "fine", "amount": "0"}, "fine_amount"),
    ({"subject_code": "@org", "kind": "fine", "amount": "lots"}, "fine_amount"),
    ({"subject_code": "@org", "kind": "debarment", "months": 11}, "penalty_period"),
    ({"subject_code": "@org", "kind": "debarment", "months": 37}, "penalty_period"),
    ({"subject_code": "@expert", "kind": "expert_suspension", "months": 0}, "penalty_period"),
])
def test_penalty_refusals(sup, parties, sanction, code):
    org, expert = parties
    case = _confirmed(sup, parties)
    sanction = dict(sanction, subject_code={"@org": org.credit_code, "@expert": expert.code}
                    .get(sanction["subject_code"], sanction["subject_code"]))
    with pytest.raises(ValidationError) as exc:
        cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 67",
                                  reasons="Ten characters or more.", sanctions=[sanction])
    assert _code(exc) == code
    assert not Sanction.objects.exists() and not Penalty.objects.exists()


@pytest.mark.parametrize("basis,reasons,sanctions,code", [
    ("", "Ten characters or more.", [{"kind": "warning"}], "basis_missing"),
    ("Reg 67", "short", [{"kind": "warning"}], "reasons_missing"),
    ("Reg 67", "Ten characters or more.", [], "no_penalty"),
])
def test_decision_form_refusals(sup, parties, basis, reasons, sanctions, code):
    case = _confirmed(sup, parties)
    with pytest.raises(ValidationError) as exc:
        cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis=basis,
                                  reasons=reasons, sanctions=sanctions)
    assert _code(exc) == code


def test_a_decision_needs_confirmed_findings_and_a_closed_case_takes_nothing(sup, parties):
    org, _e = parties
    warning = [{"subject_code": org.credit_code, "kind": "warning"}]
    case = _complaint_case(sup, parties)
    with pytest.raises(ValidationError) as exc:
        cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 67",
                                  reasons="Ten characters or more.", sanctions=warning)
    assert _code(exc) == "not_confirmed"
    cases.case_decide(user=sup, case_id=case.pk, outcome="dismissed",
                      reasons="No evidence of collusion found.")
    for call in (
        lambda: cases.case_step_add(user=sup, case_id=case.pk, kind="note",
                                    on=date.today(), text="late"),
        lambda: cases.case_evidence_attach(user=sup, case_id=case.pk, kind="flag",
                                           record_id=_flag().pk),
        lambda: cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 67",
                                          reasons="Ten characters or more.",
                                          sanctions=warning),
    ):
        with pytest.raises(ValidationError) as exc:
            call()
        assert _code(exc) == "case_closed"


def test_only_flag_cases_are_labels_for_the_learned_score(sup, parties):
    _confirmed(sup, parties)
    RiskScore.objects.create(tender_id=8, tender_reference="T-8", computed_at=timezone.now())
    flag_case = cases.case_open(user=sup, tender_id=8)
    cases.case_decide(user=sup, case_id=flag_case.pk, outcome="dismissed",
                      reasons="Prices explained by the market.")
    assert cases.tender_labels() == {8: 0}


# -- overdue -------------------------------------------------------------------------------

def test_the_clock_flags_an_open_case_past_its_deadline_once(sup, parties):
    case = _complaint_case(sup, parties)
    closed = _complaint_case(sup, parties, source_id=4)
    cases.case_decide(user=sup, case_id=closed.pk, outcome="dismissed",
                      reasons="Withdrawn by the complainant.")
    before = case.deadline - timedelta(seconds=1)
    assert cases.cases_flag_overdue(before) == []
    later = case.deadline + timedelta(days=1)
    assert cases.cases_flag_overdue(later) == [case.pk]
    assert cases.cases_flag_overdue(later) == []
    case.refresh_from_db()
    assert case.overdue_at == later and cases.is_overdue(case, later)
    assert AuditEvent.objects.filter(action="supervision.case_overdue").count() == 1


def test_the_overdue_job_is_on_the_clock():
    from core import clock

    assert "supervision.cases_overdue" in [j.name for j in clock.jobs()]


def test_a_decision_before_the_deadline_keeps_the_case_off_the_overdue_list(sup, parties):
    org, _e = parties
    case = _confirmed(sup, parties)
    cases.case_decision_issue(user=sup, case_id=case.pk, legal_basis="Reg 67",
                              reasons="Ten characters or more.",
                              sanctions=[{"subject_code": org.credit_code, "kind": "warning"}])
    assert cases.cases_flag_overdue(case.deadline + timedelta(days=1)) == []
    assert CaseEvidence.objects.count() == 0 and Case.objects.get().closed_at
