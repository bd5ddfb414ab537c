"""Double-random draws (双随机): tenders and inspectors drawn verifiably, avoidance of
inspectors, no repeated inspection within a plan, and the refusals."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.services import audit_record
from supervision.inspections import draws, selectors, services
from supervision.inspections.models import Inspection, PlanRound
from tests import factories

from .helpers import (
    awarded_tender,
    codes,
    department,
    inspector_in,
    matter,
    plan,
    setup_two_departments,
    supervisor_of,
)

pytestmark = pytest.mark.django_db




def drawn_round(n_tenders=3, sample=2, **plan_kw):
    a, b, boss, ins, matters = setup_two_departments()
    tenders = [awarded_tender() for _ in range(n_tenders)]
    p = plan(boss, [a, b], matters, sample_count=sample, **plan_kw)
    r = services.round_commit(user=boss, plan=p, round_name="福彩3D 2026001")
    r = services.round_draw(user=supervisor_of(b), round=r, value="731")
    return p, r, boss, ins, tenders


def test_round_draws_tenders_and_two_inspectors_from_different_departments_and_verifies():
    p, r, boss, ins, tenders = drawn_round()
    assert len(r.drawn) == 2 and set(r.drawn) <= {t.reference for t in tenders}
    assert draws.verify_round(r).ok, draws.verify_round(r).problems
    for inspection in Inspection.objects.filter(round=r):
        people = list(inspection.inspectors.all())
        assert len(people) == 2
        assert len({i.department_id for i in people}) == 2


def test_commitment_is_recorded_before_the_public_input_and_the_secret_only_after():
    a, b, boss, ins, matters = setup_two_departments()
    awarded_tender()
    p = plan(boss, [a, b], matters, sample_count=1)
    r = services.round_commit(user=boss, plan=p, round_name="round-1")
    assert r.commitment and not r.public_input and not r.drawn
    assert not draws.verify_round(r).ok  # nothing to verify before the draw


@pytest.mark.parametrize("field,value", [
    ("public_input", "external-v1;福彩3D 2026001=999"),
    ("drawn", None),
    ("tender_candidates", None),
    ("skipped", None),
    ("secret", b"\x01" * 32),
    ("params", None),
])
def test_tampered_round_inputs_fail_verification(field, value):
    p, r, *_ = drawn_round()
    r = PlanRound.objects.get(pk=r.pk)
    if field == "drawn":
        value = list(reversed(r.drawn))
    elif field == "tender_candidates":
        value = [*r.tender_candidates, "ZZ-EXTRA-0001"]
    elif field == "skipped":
        first = r.drawn[0]
        value = {**r.skipped, first: {r.assignments[first][0]: ["involved"]}}
    elif field == "params":
        value = {**r.params, "inspectors": 3}
    setattr(r, field, value)
    assert not draws.verify_round(r).ok


def test_changed_assignment_fails_verification():
    p, r, *_ = drawn_round()
    r = PlanRound.objects.get(pk=r.pk)
    first = r.drawn[0]
    others = [c for c in r.inspector_candidates if c not in r.assignments[first]]
    r.assignments = {**r.assignments, first: [others[0], r.assignments[first][1]]}
    assert not draws.verify_round(r).ok


def test_inspector_with_an_interest_in_the_tenderer_or_involved_is_never_drawn():
    a, b = department("住建局"), department("发改委")
    boss = supervisor_of(a)
    tender = awarded_tender()
    interested = inspector_in(a, by=boss, interests=[tender.tenderer])
    involved = inspector_in(b, by=boss)
    audit_record(actor=involved.user, action="tender.watch", obj=tender, payload={},
                 summary=f"{tender.reference}: watched")
    fine = [inspector_in(a, by=boss), inspector_in(b, by=boss)]
    assert selectors.avoidance_reasons(interested, tender) == ["declared_interest"]
    assert selectors.avoidance_reasons(involved, tender) == ["involved"]
    assert selectors.avoidance_reasons(fine[0], tender) == []
    p = plan(boss, [a, b], [matter([a]), ], sample_count=1)
    r = services.round_commit(user=boss, plan=p, round_name="r")
    r = services.round_draw(user=boss, round=r, value="42")
    assigned = set(r.assignments[tender.reference])
    assert assigned == {f.code for f in fine}
    assert set(r.skipped[tender.reference]) == {interested.code, involved.code}
    assert draws.verify_round(r).ok


def test_own_organisation_excludes_an_inspector():
    a = department("住建局")
    tender = awarded_tender()
    from accounts.models import Organisation

    Organisation.objects.filter(pk=tender.tenderer_id).update(kind="supervisor")
    tender.tenderer.refresh_from_db()
    person = factories.UserFactory(role="supervisor", organisation=tender.tenderer)
    ins = services.inspector_register(user=supervisor_of(a), person=person)
    assert "own_organisation" in selectors.avoidance_reasons(ins, tender)


def test_tender_inspected_under_the_plan_is_not_drawn_again():
    a, b, boss, ins, matters = setup_two_departments()
    tenders = [awarded_tender() for _ in range(3)]
    p = plan(boss, [a, b], matters, sample_count=2)
    r1 = services.round_draw(user=boss, round=services.round_commit(
        user=boss, plan=p, round_name="r1"), value="1")
    r2 = services.round_commit(user=boss, plan=p, round_name="r2")
    assert set(r2.tender_candidates) == {t.reference for t in tenders} - set(r1.drawn)
    r2 = services.round_draw(user=boss, round=r2, value="2")
    assert len(r2.drawn) == 1 and r2.drawn[0] not in r1.drawn
    with pytest.raises(ValidationError) as exc:
        services.round_commit(user=boss, plan=p, round_name="r3")
    assert "population_empty" in codes(exc)
    assert Inspection.objects.filter(plan=p).count() == 3


def test_one_inspection_covers_every_participating_departments_checklist():
    p, r, *_ = drawn_round()
    items = selectors.checklist(p)
    assert {i.matter.code for i in items} == {"ZJ-001", "FG-001"} and len(items) == 3


def test_a_draw_is_never_rerun():
    p, r, boss, *_ = drawn_round()
    with pytest.raises(ValidationError) as exc:
        services.round_draw(user=boss, round=r, value="8")
    assert "draw_rerun" in codes(exc)


def test_a_round_waiting_for_its_input_blocks_a_new_commitment():
    a, b, boss, ins, matters = setup_two_departments()
    awarded_tender()
    p = plan(boss, [a, b], matters, sample_count=1)
    services.round_commit(user=boss, plan=p, round_name="r1")
    with pytest.raises(ValidationError) as exc:
        services.round_commit(user=boss, plan=p, round_name="r2")
    assert "round_waiting" in codes(exc)


def test_round_without_named_public_round_or_value_is_refused():
    a, b, boss, ins, matters = setup_two_departments()
    awarded_tender()
    p = plan(boss, [a, b], matters, sample_count=1)
    with pytest.raises(ValidationError) as exc:
        services.round_commit(user=boss, plan=p, round_name=" ")
    assert "required" in codes(exc)
    r = services.round_commit(user=boss, plan=p, round_name="r")
    with pytest.raises(ValidationError) as exc:
        services.round_draw(user=boss, round=r, value="")
    assert "required" in codes(exc)


def test_department_outside_the_plan_cannot_draw_and_non_supervisors_are_refused():
    a, b, boss, ins, matters = setup_two_departments()
    awarded_tender()
    p = plan(boss, [a, b], matters, sample_count=1)
    with pytest.raises(ValidationError) as exc:
        services.round_commit(user=supervisor_of(department("其他局")), plan=p,
                              round_name="r")
    assert "not_in_plan" in codes(exc)
    with pytest.raises(PermissionDenied):
        services.round_commit(user=factories.tenderer(), plan=p, round_name="r")


def test_too_few_inspectors_in_the_register_is_refused():
    a, b = department("住建局"), department("发改委")
    boss = supervisor_of(a)
    inspector_in(a, by=boss)
    awarded_tender()
    p = plan(boss, [a, b], [matter([a])], sample_count=1)
    with pytest.raises(ValidationError) as exc:
        services.round_commit(user=boss, plan=p, round_name="r")
    assert "too_few_inspectors" in codes(exc)


@pytest.mark.parametrize("kw,code", [
    ({"period_end": None}, "bad_period"),
    ({"sample_count": None}, "sample_required"),
    ({"sample_ratio": "0.2"}, "sample_required"),
    ({"sample_count": None, "sample_ratio": "1.5"}, "invalid"),
    ({"inspectors_per_inspection": 1}, "too_few_inspectors"),
    ({"inspectors_per_inspection": 3}, "too_few_departments"),
    ({"matters": []}, "required"),
])
def test_plan_refusals(kw, code):
    from datetime import timedelta
    from decimal import Decimal

    a, b, boss, ins, matters = setup_two_departments()
    if "period_end" in kw:
        from django.utils import timezone

        kw["period_end"] = timezone.localdate() - timedelta(days=60)
    if kw.get("sample_ratio"):
        kw["sample_ratio"] = Decimal(kw["sample_ratio"])
    with pytest.raises(ValidationError) as exc:
        plan(boss, [a, b], kw.pop("matters", matters), **kw)
    assert code in codes(exc)


def test_plan_needs_the_makers_department_and_matters_of_the_departments():
    a, b, boss, ins, matters = setup_two_departments()
    c = department("水利局")
    with pytest.raises(ValidationError) as exc:
        plan(boss, [b, c], [matters[1]], distinct_departments=True)
    assert "own_department_missing" in codes(exc)
    with pytest.raises(ValidationError) as exc:
        plan(boss, [a, b], [matter([c], "SL-001")])
    assert "matter_not_covered" in codes(exc)


def test_sample_ratio_rounds_up_and_verifies():
    from decimal import Decimal

    p, r, *_ = drawn_round(n_tenders=3, sample=None, sample_ratio=Decimal("0.5"))
    assert r.sample_size == 2 and draws.verify_round(r).ok
