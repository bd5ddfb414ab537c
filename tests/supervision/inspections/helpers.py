"""Builders for the inspection tests: departments, inspectors, matters, tenders in a
plan's population, completed evaluations."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Organisation, Role
from bidding.tenders.models import Tender
from supervision.inspections import services
from tests import factories


def department(name: str) -> Organisation:
    return factories.OrganisationFactory(kind=Organisation.Kind.SUPERVISOR, name=name)


def supervisor_of(dept: Organisation):
    return factories.UserFactory(role=Role.SUPERVISOR, organisation=dept)


def inspector_in(dept: Organisation, by=None, **kw):
    person = supervisor_of(dept)
    return services.inspector_register(user=by or supervisor_of(dept), person=person, **kw)


def matter(depts, code="JS-001", items=2):
    return services.matter_create(
        user=supervisor_of(depts[0]), code=code, name=f"事项{code}", legal_basis="Law 7",
        departments=list(depts),
        items=[{"text": f"检查项{i}", "text_en": f"item {i}"} for i in range(1, items + 1)])


def awarded_tender(**kw) -> Tender:
    """A tender in an inspection population (status awarded, published today); the
    procedure itself belongs to the stages' tests."""
    t = factories.draft_tender(**kw)
    Tender.objects.filter(pk=t.pk).update(status=Tender.Status.AWARDED,
                                          published_at=timezone.now())
    t.refresh_from_db()
    return t


def plan(user, depts, matters, **kw):
    today = timezone.localdate()
    values = dict(name="2026年度联合抽查", period_start=today - timedelta(days=30),
                  period_end=today + timedelta(days=30), departments=list(depts),
                  matters=list(matters), sample_count=2,
                  population={"statuses": ["awarded"], "date": "published"})
    values.update(kw)
    return services.plan_create(user=user, **values)


def setup_two_departments(n_inspectors: int = 2):
    """Two departments, each with ``n_inspectors`` inspectors, a matter per department."""
    a, b = department("住建局"), department("发改委")
    boss = supervisor_of(a)
    ins = [inspector_in(d, by=boss) for d in (a, b) for _ in range(n_inspectors)]
    matters = [matter([a], "ZJ-001"), matter([b], "FG-001", items=1)]
    return a, b, boss, ins, matters


def codes(exc) -> set[str]:
    """The refusal codes of a raised ValidationError (``pytest.raises`` info)."""
    err = exc.value
    if hasattr(err, "error_dict"):
        return {e.code for errs in err.error_dict.values() for e in errs}
    return {e.code for e in err.error_list}
