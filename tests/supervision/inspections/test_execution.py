"""Inspection execution: findings per checklist item with evidence from the audit chain,
the conclusion and its publication, and opening a case from a finding (hook)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.services import audit_record
from supervision.inspections import hooks, selectors, services
from supervision.inspections.models import Finding, Inspection, Inspector

from .helpers import awarded_tender, codes, plan, setup_two_departments, supervisor_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def inspection():
    a, b, boss, ins, matters = setup_two_departments()
    awarded_tender()
    p = plan(boss, [a, b], matters, sample_count=1)
    r = services.round_draw(user=boss, round=services.round_commit(
        user=boss, plan=p, round_name="r"), value="5")
    return Inspection.objects.get(round=r)


def _record_all(inspection, result="compliant", note=""):
    user = inspection.inspectors.first().user
    for item in selectors.checklist(inspection.plan):
        services.finding_record(user=user, inspection=inspection, item=item, result=result,
                                note=note)
    return user


def test_inspector_records_findings_and_publishes_a_compliant_result(inspection):
    user = _record_all(inspection)
    done = services.inspection_conclude(user=user, inspection=inspection, text="未发现问题")
    assert done.status == Inspection.Status.PUBLISHED and done.conclusion == "compliant"
    assert list(selectors.published_inspections()) == [done]


def test_a_not_compliant_finding_makes_the_conclusion_problems(inspection):
    user = _record_all(inspection)
    item = selectors.checklist(inspection.plan)[0]
    services.finding_record(user=user, inspection=inspection, item=item,
                            result="not_compliant", note="开标记录缺签字")
    done = services.inspection_conclude(user=user, inspection=inspection, text="发现问题")
    assert done.conclusion == "problems"


def test_finding_evidence_is_an_audit_event_of_the_tender(inspection):
    tender = inspection.tender
    event = audit_record(actor="system", action="tender.x", obj=tender, payload={},
                         summary=f"{tender.reference}: x")
    other = audit_record(actor="system", action="other.x", object_type="x.y", object_id="1",
                         payload={}, summary="unrelated")
    user = inspection.inspectors.first().user
    item = selectors.checklist(inspection.plan)[0]
    f = services.finding_record(user=user, inspection=inspection, item=item,
                                result="not_compliant", note="n", evidence=[event.seq])
    assert f.evidence[0]["seq"] == event.seq and f.evidence[0]["hash"] == event.hash
    with pytest.raises(ValidationError) as exc:
        services.finding_record(user=user, inspection=inspection, item=item,
                                result="not_compliant", note="n", evidence=[other.seq])
    assert "bad_evidence" in codes(exc)


def test_only_drawn_inspectors_record_findings(inspection):
    dept = inspection.plan.departments.first()
    outsider = supervisor_of(dept)
    Inspector.objects.create(user=outsider, department=dept, added_at=inspection.created_at)
    item = selectors.checklist(inspection.plan)[0]
    with pytest.raises(ValidationError) as exc:
        services.finding_record(user=outsider, inspection=inspection, item=item,
                                result="compliant")
    assert "not_assigned" in codes(exc)


def test_not_compliant_without_a_note_is_refused(inspection):
    user = inspection.inspectors.first().user
    with pytest.raises(ValidationError) as exc:
        services.finding_record(user=user, inspection=inspection,
                                item=selectors.checklist(inspection.plan)[0],
                                result="not_compliant")
    assert "note_required" in codes(exc)


def test_conclusion_needs_every_item_and_then_findings_are_final(inspection):
    user = inspection.inspectors.first().user
    item = selectors.checklist(inspection.plan)[0]
    services.finding_record(user=user, inspection=inspection, item=item, result="na")
    with pytest.raises(ValidationError) as exc:
        services.inspection_conclude(user=user, inspection=inspection, text="x")
    assert "findings_missing" in codes(exc)
    _record_all(inspection)
    services.inspection_conclude(user=user, inspection=inspection, text="ok")
    with pytest.raises(ValidationError) as exc:
        services.finding_record(user=user, inspection=inspection, item=item, result="na")
    assert "inspection_closed" in codes(exc)


def test_finding_opens_a_case_through_the_registered_hook_only(inspection):
    user = _record_all(inspection, result="not_compliant", note="问题")
    finding = Finding.objects.filter(inspection=inspection).first()
    hooks._opener.clear()
    with pytest.raises(ValidationError) as exc:
        services.finding_open_case(user=user, finding=finding)
    assert "cases_unavailable" in codes(exc)
    seen = []
    hooks.register_case_opener(lambda *, user, source: seen.append(source) or "case")
    try:
        assert services.finding_open_case(user=user, finding=finding) == "case"
    finally:
        hooks._opener.clear()
    assert seen[0]["key"] == f"inspection-finding:{finding.pk}"
    keys = {r["key"] for r in selectors.case_sources(tender_id=inspection.tender_id)}
    assert seen[0]["key"] in keys


def test_a_compliant_finding_opens_no_case(inspection):
    user = _record_all(inspection)
    with pytest.raises(ValidationError) as exc:
        services.finding_open_case(user=user, finding=Finding.objects.first())
    assert "finding_compliant" in codes(exc)


def test_registers_refuse_duplicates_and_non_supervisors():
    from tests import factories

    a, b, boss, ins, matters = setup_two_departments()
    with pytest.raises(ValidationError) as exc:
        services.inspector_register(user=boss, person=ins[0].user)
    assert "inspector_exists" in codes(exc)
    with pytest.raises(ValidationError) as exc:
        services.inspector_register(user=boss, person=factories.bidder(), department=a)
    assert "not_a_supervisor" in codes(exc)
    with pytest.raises(PermissionDenied):
        services.matter_create(user=factories.bidder(), code="X", name="x", legal_basis="l",
                               departments=[a], items=[{"text": "t"}])
    with pytest.raises(ValidationError) as exc:
        services.matter_create(user=boss, code="ZJ-001", name="x", legal_basis="l",
                               departments=[a], items=[{"text": "t"}])
    assert "matter_exists" in codes(exc)


def test_supervised_parties_are_derived_from_the_platform_and_added_manually():
    from supervision.inspections.models import SupervisedParty

    t = awarded_tender()
    added = services.parties_sync()
    assert added >= 1
    assert SupervisedParty.objects.filter(organisation=t.tenderer, kind="tenderer").exists()
    assert services.parties_sync() == 0  # idempotent
    a, b, boss, ins, matters = setup_two_departments()
    p = services.party_add(user=boss, kind="agency", name="外省代理", identifier="X-1")
    assert p.source == "manual"
    with pytest.raises(ValidationError) as exc:
        services.party_add(user=boss, kind="agency", name="外省代理", identifier="X-1")
    assert "party_exists" in codes(exc)
