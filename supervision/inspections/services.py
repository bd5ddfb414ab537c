"""Writes of the shared supervision registers, plans, double-random draws, inspections,
spot checks of evaluations and filings. Every act is audited (action ``inspections.*``)."""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from audit.models import AuditEvent
from audit.services import audit_record, audit_tree_head_latest
from bidding.tenders.selectors import tenders as all_tenders
from core import platform_keys, statutory
from core.refusals import refuse
from crypto import randomness, receipts
from crypto.chain import canonical_json

from . import draws, hooks, policies, selectors
from .models import (
    ChecklistItem,
    Filing,
    Finding,
    Inspection,
    InspectionPlan,
    Inspector,
    PlanRound,
    SpotCheck,
    SpotCheckRating,
    SupervisedParty,
    SupervisionMatter,
)

# At least two inspectors per inspection (双随机抽查: 执法人员不少于两人), core/statutory.py.
MIN_INSPECTORS = statutory.value("INSPECTORS_MIN")
SUPERVISOR = Organisation.Kind.SUPERVISOR


# ---------------------------------------------------------------- matters and registers


@transaction.atomic
def matter_create(*, user, code: str, name: str, legal_basis: str,
                  departments: list[Organisation], items: list[dict], name_en: str = "",
                  now: datetime | None = None) -> SupervisionMatter:
    """Add a supervision matter with its checklist (``items``: text, text_en, legal_basis)."""
    policies.require_supervisor(user)
    code, name, legal_basis = code.strip(), name.strip(), legal_basis.strip()
    if not code or not name:
        raise refuse("code", _("A matter has a code and a name."), "required")
    if not legal_basis:
        raise refuse("legal_basis", _("Name the legal basis of the matter."), "required")
    if SupervisionMatter.objects.filter(code=code).exists():
        raise refuse("code", _("A matter with this code exists."), "matter_exists")
    if not departments or any(d.kind != SUPERVISOR for d in departments):
        raise refuse("departments", _("A matter belongs to one or more supervision "
                                      "departments."), "not_a_department")
    if not items:
        raise refuse("items", _("A matter's checklist has at least one item."), "required")
    matter = SupervisionMatter.objects.create(code=code, name=name, name_en=name_en,
                                              legal_basis=legal_basis)
    matter.departments.set(departments)
    for n, item in enumerate(items, start=1):
        text = str(item.get("text", "")).strip()
        if not text:
            raise refuse("items", _("Checklist item %(n)s has no text.") % {"n": n},
                         "required")
        ChecklistItem.objects.create(matter=matter, number=n, text=text,
                                     text_en=str(item.get("text_en", "")),
                                     legal_basis=str(item.get("legal_basis", "")))
    audit_record(actor=user, action="inspections.matter_created", obj=matter,
                 payload={"code": code, "departments": sorted(d.pk for d in departments),
                          "items": [i.get("text") for i in items]},
                 summary=f"supervision matter {code}")
    return matter


@transaction.atomic
def inspector_register(*, user, person: User, department: Organisation | None = None,
                       specialties: str = "", interests: list[Organisation] | None = None,
                       now: datetime | None = None) -> Inspector:
    """Put a supervisor on the inspector register of their department."""
    policies.require_supervisor(user)
    now = now or timezone.now()
    department = department or policies.department_of(person)
    if department is None or department.kind != SUPERVISOR:
        raise refuse("department", _("An inspector belongs to a supervision department."),
                     "not_a_department")
    if not policies.is_supervisor(person) or person.organisation_id != department.pk:
        raise refuse("person", _("Inspectors are supervisors of the department they "
                                 "inspect for."), "not_a_supervisor")
    if Inspector.objects.filter(user=person).exists():
        raise refuse("person", _("This person is on the register already."),
                     "inspector_exists")
    inspector = Inspector.objects.create(user=person, department=department,
                                         specialties=specialties.strip(), added_at=now)
    inspector.interests.set(interests or [])
    audit_record(actor=user, action="inspections.inspector_registered", obj=inspector,
                 payload={"user": person.pk, "department": department.pk,
                          "interests": sorted(o.pk for o in interests or [])},
                 summary=f"inspector {inspector.code}")
    return inspector


@transaction.atomic
def inspector_set_active(*, user, inspector: Inspector, active: bool) -> Inspector:
    policies.require_supervisor(user)
    inspector.active = active
    inspector.save(update_fields=["active"])
    audit_record(actor=user, action="inspections.inspector_active", obj=inspector,
                 payload={"active": active}, summary=f"inspector {inspector.code}: {active}")
    return inspector


PARTY_KINDS = {
    Organisation.Kind.TENDERER: SupervisedParty.Kind.TENDERER,
    Organisation.Kind.AGENCY: SupervisedParty.Kind.AGENCY,
    Organisation.Kind.BIDDER: SupervisedParty.Kind.BIDDER,
}


@transaction.atomic
def parties_sync(*, now: datetime | None = None) -> int:
    """Derive the register of supervised parties from the platform: tenderers, agencies,
    bidders and admitted experts. Manual entries are kept. Returns how many were added."""
    from expert_pool.selectors import active_experts

    now = now or timezone.now()
    have = set(SupervisedParty.objects.values_list("kind", "identifier"))
    new = []
    for org in Organisation.objects.filter(kind__in=list(PARTY_KINDS)):
        kind = PARTY_KINDS[org.kind]
        if (kind, org.credit_code) not in have:
            new.append(SupervisedParty(kind=kind, source=SupervisedParty.Source.PLATFORM,
                                       organisation=org, name=org.name,
                                       identifier=org.credit_code, added_at=now))
    for ex in active_experts():
        if (SupervisedParty.Kind.EXPERT, ex.code) not in have:
            new.append(SupervisedParty(kind=SupervisedParty.Kind.EXPERT,
                                       source=SupervisedParty.Source.PLATFORM, expert=ex,
                                       name=ex.name, identifier=ex.code, added_at=now))
    SupervisedParty.objects.bulk_create(new)
    if new:
        audit_record(actor="system", action="inspections.parties_synced",
                     object_type="inspections.supervisedparty", object_id="register",
                     payload={"added": [[p.kind, p.identifier] for p in new]},
                     summary=f"{len(new)} supervised parties added from the platform")
    return len(new)


@transaction.atomic
def party_add(*, user, kind: str, name: str, identifier: str, note: str = "",
              now: datetime | None = None) -> SupervisedParty:
    """Add a party the platform does not know (a manual entry)."""
    policies.require_supervisor(user)
    if kind not in SupervisedParty.Kind.values:
        raise refuse("kind", _("Unknown kind of party."), "invalid")
    if not name.strip() or not identifier.strip():
        raise refuse("identifier", _("A party has a name and an identifier."), "required")
    if SupervisedParty.objects.filter(kind=kind, identifier=identifier.strip()).exists():
        raise refuse("identifier", _("This party is on the register already."),
                     "party_exists")
    party = SupervisedParty.objects.create(
        kind=kind, source=SupervisedParty.Source.MANUAL, name=name.strip(),
        identifier=identifier.strip(), note=note, added_at=now or timezone.now())
    audit_record(actor=user, action="inspections.party_added", obj=party,
                 payload={"kind": kind, "identifier": party.identifier},
                 summary=f"supervised party {party.name}")
    return party


# ---------------------------------------------------------------- plans


@transaction.atomic
def plan_create(*, user, name: str, period_start: date, period_end: date,
                departments: list[Organisation], matters: list[SupervisionMatter],
                sample_count: int | None = None, sample_ratio: Decimal | None = None,
                inspectors_per_inspection: int = MIN_INSPECTORS,
                distinct_departments: bool = True, population: dict | None = None,
                now: datetime | None = None) -> InspectionPlan:
    """A plan several departments share. Refused unless it can be carried out."""
    policies.require_supervisor(user)
    now = now or timezone.now()
    own = policies.department_of(user)
    if not name.strip():
        raise refuse("name", _("Give the plan a name."), "required")
    if period_end < period_start:
        raise refuse("period_end", _("The period ends before it starts."), "bad_period")
    if not departments or any(d.kind != SUPERVISOR for d in departments):
        raise refuse("departments", _("Name the supervision departments taking part."),
                     "not_a_department")
    if own is None or own not in departments:
        raise refuse("departments", _("Your own department takes part in the plans you "
                                      "make."), "own_department_missing")
    if not matters:
        raise refuse("matters", _("A plan covers at least one supervision matter."),
                     "required")
    dept_ids = {d.pk for d in departments}
    for m in matters:
        if not set(m.departments.values_list("pk", flat=True)) & dept_ids:
            raise refuse("matters", _("Matter %(code)s belongs to no department taking "
                                      "part.") % {"code": m.code}, "matter_not_covered")
    if (sample_count is None) == (sample_ratio is None):
        raise refuse("sample_count", _("Give either a number of tenders or a share of the "
                                       "population, not both."), "sample_required")
    if sample_count is not None and sample_count < 1:
        raise refuse("sample_count", _("Draw at least one tender."), "invalid")
    if sample_ratio is not None and not Decimal("0") < Decimal(sample_ratio) <= 1:
        raise refuse("sample_ratio", _("The share is more than 0 and at most 1."), "invalid")
    if inspectors_per_inspection < MIN_INSPECTORS:
        raise refuse("inspectors_per_inspection", _(
            "An inspection has at least %(n)s inspectors.") % {"n": MIN_INSPECTORS},
            "too_few_inspectors")
    if distinct_departments and len(dept_ids) < inspectors_per_inspection:
        raise refuse("distinct_departments", _(
            "Inspectors from different departments need at least %(n)s departments taking "
            "part.") % {"n": inspectors_per_inspection}, "too_few_departments")
    population = selectors.clean_population(population or {})
    plan = InspectionPlan.objects.create(
        name=name.strip(), period_start=period_start, period_end=period_end,
        sample_count=sample_count, sample_ratio=sample_ratio,
        inspectors_per_inspection=inspectors_per_inspection,
        distinct_departments=distinct_departments, population=population,
        status=InspectionPlan.Status.ACTIVE, created_by=user, created_at=now)
    plan.departments.set(departments)
    plan.matters.set(matters)
    audit_record(actor=user, action="inspections.plan_created", obj=plan,
                 payload={"name": plan.name, "period": [period_start, period_end],
                          "departments": sorted(dept_ids),
                          "matters": sorted(m.code for m in matters),
                          "sample_count": sample_count, "sample_ratio": sample_ratio,
                          "inspectors": inspectors_per_inspection,
                          "distinct_departments": distinct_departments,
                          "population": population},
                 summary=f"inspection plan {plan.name}")
    return plan


def sample_size(plan: InspectionPlan, population: int) -> int:
    if plan.sample_count is not None:
        return min(plan.sample_count, population)
    return min(population, max(1, math.ceil(Decimal(population) * plan.sample_ratio)))


@transaction.atomic
def round_commit(*, user, plan: InspectionPlan, round_name: str,
                 now: datetime | None = None, rng=None) -> PlanRound:
    """Step 1 of a double-random draw: fix the population (less the tenders already
    inspected under the plan), the inspector register and the commitment, before the
    public input exists."""
    policies.require_supervisor(user)
    now = now or timezone.now()
    plan = InspectionPlan.objects.select_for_update().get(pk=plan.pk)
    if policies.department_of(user) not in plan.departments.all():
        raise refuse("__all__", _("Only a department taking part draws under this plan."),
                     "not_in_plan")
    if plan.status != InspectionPlan.Status.ACTIVE:
        raise refuse("__all__", _("This plan is closed."), "plan_closed")
    if timezone.localdate(now) > plan.period_end:
        raise refuse("__all__", _("The plan's period is over."), "plan_period_over")
    if plan.rounds.filter(drawn_at__isnull=True).exists():
        raise refuse("__all__", _("A round of this plan is waiting for its public input."),
                     "round_waiting")
    round_name = (round_name or "").strip()
    if not round_name:
        raise refuse("round_name", _("Name the public round whose value will be the public "
                                     "input (for example a lottery draw of a given day)."),
                     "required")
    tenders = selectors.plan_population(plan)
    if not tenders:
        raise refuse("__all__", _("No tender of the plan's population is left to inspect "
                                   "(tenders inspected under the plan are not drawn "
                                   "again)."), "population_empty")
    inspectors = list(Inspector.objects.filter(active=True,
                                               department__in=plan.departments.all()))
    if len(inspectors) < plan.inspectors_per_inspection:
        raise refuse("__all__", _("The register has %(n)s active inspectors in the "
                                  "departments taking part; an inspection needs %(need)s.")
                     % {"n": len(inspectors), "need": plan.inspectors_per_inspection},
                     "too_few_inspectors")
    refs = sorted(t.reference for t in tenders)
    codes = sorted(i.code for i in inspectors)
    secret, commitment = randomness.commit(rng)
    number = plan.rounds.count() + 1
    r = PlanRound.objects.create(
        plan=plan, number=number, tender_candidates=refs,
        tender_digest=randomness.candidates_digest(refs), inspector_candidates=codes,
        inspector_digest=randomness.candidates_digest(codes),
        inspector_departments={i.code: i.department_id for i in inspectors},
        sample_size=sample_size(plan, len(refs)), commitment=commitment, secret=secret,
        round_name=round_name, committed_at=now, committed_by=user,
        params={"purpose": "inspection", "plan": plan.pk, "round": number, "v": 1,
                "inspectors": plan.inspectors_per_inspection,
                "distinct_departments": plan.distinct_departments})
    audit_record(actor=user, action="inspections.round_committed", obj=r,
                 payload=draws.round_commit_payload(r),
                 summary=f"plan {plan.pk} round {number}: committed {commitment}")
    # The secret stays hidden until the draw: only the commitment is published.
    return r


@transaction.atomic
def round_draw(*, user, round: PlanRound, value: str,
               now: datetime | None = None) -> PlanRound:
    """Step 2: record the public round's value; draw the tenders, then each tender's
    inspectors (avoidance applied, recorded); create the inspections. Never re-run."""
    policies.require_supervisor(user)
    now = now or timezone.now()
    r = PlanRound.objects.select_for_update().select_related("plan").get(pk=round.pk)
    if r.drawn_at:
        raise refuse("__all__", _("This round has been drawn; a draw is never re-run."),
                     "draw_rerun")
    value = (value or "").strip()
    if not value:
        raise refuse("value", _("Give the public round's value."), "required")
    r.public_input = draws.public_input_for(r.round_name, value)
    secret = bytes(r.secret)
    r.drawn = randomness.select(
        secret=secret, params=draws.round_tender_params(r), candidates_digest=r.tender_digest,
        public_input=r.public_input, candidates=r.tender_candidates, m=r.sample_size)
    inspectors = {i.code: i for i in Inspector.objects.filter(
        pk__in=[int(c[1:]) for c in r.inspector_candidates])}
    tenders = {t.reference: t for t in all_tenders().filter(reference__in=r.drawn)}
    assignments, skipped = {}, {}
    for ref in r.drawn:
        perm = randomness.select(
            secret=secret, params=draws.round_inspector_params(r, ref),
            candidates_digest=r.inspector_digest, public_input=r.public_input,
            candidates=r.inspector_candidates, m=len(r.inspector_candidates))
        excluded = {}
        for code in perm:
            reasons = selectors.avoidance_reasons(inspectors[code], tenders[ref])
            if reasons:
                excluded[code] = reasons
        skipped[ref] = excluded
        assignments[ref] = draws.assign(
            permutation=perm, departments=r.inspector_departments, excluded=excluded,
            need=r.params["inspectors"], distinct=r.params["distinct_departments"])
    r.assignments, r.skipped, r.drawn_at, r.drawn_by = assignments, skipped, now, user
    r.save(update_fields=["public_input", "drawn", "assignments", "skipped", "drawn_at",
                          "drawn_by"])
    for ref in r.drawn:
        inspection = Inspection.objects.create(plan=r.plan, round=r, tender=tenders[ref],
                                               created_at=now)
        inspection.inspectors.set([inspectors[c] for c in assignments[ref]])
    audit_record(actor=user, action="inspections.round_drawn", obj=r,
                 payload=draws.round_drawn_payload(r),
                 summary=f"plan {r.plan_id} round {r.number}: {len(r.drawn)} tenders drawn")
    return r


# ---------------------------------------------------------------- inspections


def _inspector_of(user, inspection: Inspection) -> Inspector:
    inspector = Inspector.objects.filter(user=user, active=True).first()
    if inspector is None or not inspection.inspectors.filter(pk=inspector.pk).exists():
        raise refuse("__all__", _("Only the inspectors drawn for this inspection record "
                                  "it."), "not_assigned")
    return inspector


def _evidence(inspection: Inspection, seqs: list[int]) -> list[dict]:
    """Evidence is the platform's own records: audit events about the inspected tender."""
    tender = inspection.tender
    out = []
    for seq in seqs or []:
        event = AuditEvent.objects.filter(seq=seq).first()
        if event is None or not selectors.event_concerns(event, tender):
            raise refuse("evidence", _("Audit event %(seq)s is not a record of this "
                                       "tender.") % {"seq": seq}, "bad_evidence")
        out.append({"seq": event.seq, "action": event.action, "time": event.time.isoformat(),
                    "object_type": event.object_type, "object_id": event.object_id,
                    "hash": event.hash})
    return out


@transaction.atomic
def finding_record(*, user, inspection: Inspection, item: ChecklistItem, result: str,
                   note: str = "", evidence: list[int] | None = None,
                   now: datetime | None = None) -> Finding:
    """An inspector records (or corrects, while the inspection is open) a finding."""
    now = now or timezone.now()
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    inspector = _inspector_of(user, inspection)
    if inspection.status != Inspection.Status.OPEN:
        raise refuse("__all__", _("The result is published; findings are final."),
                     "inspection_closed")
    if item.pk not in {i.pk for i in selectors.checklist(inspection.plan)}:
        raise refuse("item", _("This item is not on the plan's checklist."), "not_on_checklist")
    if result not in Finding.Result.values:
        raise refuse("result", _("A finding is compliant, not compliant or not applicable."),
                     "invalid")
    if result == Finding.Result.NOT_COMPLIANT and not note.strip():
        raise refuse("note", _("Say what is not compliant."), "note_required")
    rows = _evidence(inspection, evidence or [])
    finding, _created = Finding.objects.update_or_create(
        inspection=inspection, item=item,
        defaults={"result": result, "note": note.strip(), "evidence": rows,
                  "recorded_by": inspector, "recorded_at": now})
    audit_record(actor=user, action="inspections.finding_recorded", obj=inspection,
                 payload={"item": str(item), "result": result, "note": finding.note,
                          "evidence": [e["seq"] for e in rows]},
                 summary=f"{inspection.tender.reference} {item}: {result}")
    return finding


@transaction.atomic
def inspection_conclude(*, user, inspection: Inspection, text: str,
                        now: datetime | None = None) -> Inspection:
    """Record the conclusion and publish the result (一公开). Every checklist item has a
    finding first."""
    now = now or timezone.now()
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    _inspector_of(user, inspection)
    if inspection.status != Inspection.Status.OPEN:
        raise refuse("__all__", _("The result is published already."), "inspection_closed")
    done = set(inspection.findings.values_list("item_id", flat=True))
    missing = [str(i) for i in selectors.checklist(inspection.plan) if i.pk not in done]
    if missing:
        raise refuse("__all__", _("Items without a finding: %(items)s.") % {
            "items": ", ".join(missing)}, "findings_missing")
    if not text.strip():
        raise refuse("text", _("Write the conclusion."), "required")
    problems = inspection.findings.filter(result=Finding.Result.NOT_COMPLIANT).exists()
    inspection.conclusion = (Inspection.Conclusion.PROBLEMS if problems
                             else Inspection.Conclusion.COMPLIANT)
    inspection.conclusion_text = text.strip()
    inspection.status, inspection.published_at = Inspection.Status.PUBLISHED, now
    inspection.save(update_fields=["conclusion", "conclusion_text", "status",
                                   "published_at"])
    audit_record(actor=user, action="inspections.result_published", obj=inspection,
                 payload={"tender": inspection.tender.reference,
                          "conclusion": inspection.conclusion, "text": inspection.conclusion_text},
                 summary=f"{inspection.tender.reference}: inspection result published")
    return inspection


def finding_open_case(*, user, finding: Finding):
    """A "not compliant" finding opens a case through the cases app's registered opener
    (``hooks.register_case_opener``); refused when none is registered yet."""
    policies.require_supervisor(user)
    if finding.result != Finding.Result.NOT_COMPLIANT:
        raise refuse("__all__", _("Only a finding of non-compliance opens a case."),
                     "finding_compliant")
    source = selectors.case_source_of_finding(finding)
    result = hooks.open_case(user=user, source=source)
    audit_record(actor=user, action="inspections.case_requested", obj=finding.inspection,
                 payload={"source": source["key"]}, summary=f"case from {source['key']}")
    return result


# ---------------------------------------------------------------- spot checks


@transaction.atomic
def spot_check_commit(*, user, period_start: date, period_end: date, sample_size: int,
                      round_name: str, now: datetime | None = None, rng=None) -> SpotCheck:
    """Commit to a random sample of the evaluations completed in the period."""
    policies.require_supervisor(user)
    now = now or timezone.now()
    if period_end < period_start:
        raise refuse("period_end", _("The period ends before it starts."), "bad_period")
    if sample_size < 1:
        raise refuse("sample_size", _("Draw at least one evaluation."), "invalid")
    round_name = (round_name or "").strip()
    if not round_name:
        raise refuse("round_name", _("Name the public round whose value will be the public "
                                     "input."), "required")
    refs = selectors.completed_evaluations(period_start, period_end)
    if not refs:
        raise refuse("__all__", _("No evaluation was completed in this period."),
                     "population_empty")
    secret, commitment = randomness.commit(rng)
    s = SpotCheck.objects.create(
        supervisor=user, period_start=period_start, period_end=period_end,
        sample_size=min(sample_size, len(refs)), candidates=refs,
        candidates_digest=randomness.candidates_digest(refs), commitment=commitment,
        secret=secret, round_name=round_name, committed_at=now, created_at=now,
        params={"purpose": "evaluation-spot-check", "period": [str(period_start),
                                                               str(period_end)], "v": 1})
    s.params["spot_check"] = s.pk
    s.save(update_fields=["params"])
    audit_record(actor=user, action="inspections.spot_check_committed", obj=s,
                 payload=draws.spot_commit_payload(s),
                 summary=f"spot check {s.pk}: committed {commitment}")
    return s


@transaction.atomic
def spot_check_draw(*, user, spot_check: SpotCheck, value: str,
                    now: datetime | None = None) -> SpotCheck:
    policies.require_supervisor(user)
    now = now or timezone.now()
    s = SpotCheck.objects.select_for_update().get(pk=spot_check.pk)
    if s.drawn_at:
        raise refuse("__all__", _("This sample has been drawn; a draw is never re-run."),
                     "draw_rerun")
    value = (value or "").strip()
    if not value:
        raise refuse("value", _("Give the public round's value."), "required")
    s.public_input = draws.public_input_for(s.round_name, value)
    s.drawn = randomness.select(secret=bytes(s.secret), params=s.params,
                                candidates_digest=s.candidates_digest,
                                public_input=s.public_input, candidates=s.candidates,
                                m=s.sample_size)
    s.drawn_at = now
    s.save(update_fields=["public_input", "drawn", "drawn_at"])
    audit_record(actor=user, action="inspections.spot_check_drawn", obj=s,
                 payload=draws.spot_drawn_payload(s),
                 summary=f"spot check {s.pk}: {len(s.drawn)} evaluations drawn")
    return s


@transaction.atomic
def spot_check_rate(*, user, spot_check: SpotCheck, tender, expert, score: int,
                    comment: str, now: datetime | None = None) -> SpotCheckRating:
    """Rate one expert of a drawn evaluation after re-reviewing it; the rating goes to the
    expert's record in the pool (``expert_pool.services.expert_rate``)."""
    from expert_pool.services import expert_rate

    now = now or timezone.now()
    if user.pk != spot_check.supervisor_id:
        raise refuse("__all__", _("Only the supervisor who drew the sample rates it."),
                     "not_your_spot_check")
    if tender.reference not in (spot_check.drawn or []):
        raise refuse("tender", _("This evaluation was not drawn in the sample."), "not_drawn")
    if expert.pk not in {e.pk for e in selectors.committee_experts(tender)}:
        raise refuse("expert", _("This expert was not on the evaluation committee."),
                     "not_on_committee")
    if not comment.strip():
        raise refuse("comment", _("Explain the rating."), "required")
    if SpotCheckRating.objects.filter(spot_check=spot_check, tender=tender,
                                      expert=expert).exists():
        raise refuse("__all__", _("This expert has been rated in this spot check."),
                     "already_rated")
    rating = expert_rate(expert=expert, score=score, comment=comment.strip(), tender=tender,
                         by=user, source=f"spot_check:{spot_check.pk}")
    row = SpotCheckRating.objects.create(spot_check=spot_check, tender=tender, expert=expert,
                                         rating=rating, score=score, comment=comment.strip(),
                                         rated_at=now)
    audit_record(actor=user, action="inspections.expert_rated", obj=spot_check,
                 payload={"tender": tender.reference, "expert": expert.code, "score": score,
                          "comment": row.comment},
                 summary=f"spot check {spot_check.pk}: {expert.code} rated {score}")
    return row


# ---------------------------------------------------------------- filings (备案)


def items_digest(items: list[dict]) -> str:
    """SHA-256 over the filed items (canonical JSON): what the receipt signs."""
    return hashlib.sha256(b"ggzy-filing-items-v1\x00" + canonical_json(items)).hexdigest()


@transaction.atomic
def filing_submit(*, user, tender, stage: str,
                  now: datetime | None = None) -> Filing:
    """The tenderer files the tender documents (once published) or the results (once the
    award notice is out) with the supervisor. Filing the results is the Law 47 report:
    the award's ``supervisor_report_submit`` marks it submitted."""
    now = now or timezone.now()
    policies.require_tender_owner(user, tender)
    if stage not in Filing.Stage.values:
        raise refuse("stage", _("Unknown filing stage."), "invalid")
    tender = all_tenders().select_for_update().get(pk=tender.pk)
    live = Filing.objects.filter(tender=tender, stage=stage).exclude(
        status=Filing.Status.RETURNED)
    if live.exists():
        raise refuse("__all__", _("This has been filed already; a filing returned with "
                                  "reasons may be filed again."), "already_filed")
    items = selectors.filing_items(tender, stage)  # refuses when not ready
    attempt = Filing.objects.filter(tender=tender, stage=stage).count() + 1
    filing = Filing.objects.create(tender=tender, stage=stage, attempt=attempt, items=items,
                                   filed_by=user, filed_at=now)
    audit_record(actor=user, action="inspections.filed", obj=filing,
                 payload={"tender": tender.reference, "stage": stage, "items": items,
                          "digest": items_digest(items)},
                 summary=f"{tender.reference}: {stage} filed")
    if stage == Filing.Stage.RESULTS:
        from bidding.award.deadlines import supervisor_report_submit
        from bidding.award.selectors import supervisor_report_sent

        if not supervisor_report_sent(tender):
            supervisor_report_submit(user=user, tender=tender, now=now)
    return filing


def _require_handler(user, filing: Filing) -> Filing:
    policies.require_supervisor(user)
    filing = Filing.objects.select_for_update().select_related("tender").get(pk=filing.pk)
    if filing.status != Filing.Status.FILED:
        raise refuse("__all__", _("This filing has been answered already."),
                     "filing_answered")
    return filing


@transaction.atomic
def filing_acknowledge(*, user, filing: Filing, now: datetime | None = None) -> Filing:
    """The supervisor acknowledges; the platform signs a receipt over the items' SHA-256s."""
    now = now or timezone.now()
    filing = _require_handler(user, filing)
    tender = filing.tender
    filing.receipt = receipts.receipt_issue(
        platform_keys.signing_key(), tender_id=tender.reference,
        bidder_id=f"filing:{tender.tenderer.credit_code}", sha256=items_digest(filing.items),
        size=len(filing.items), server_time=now.isoformat(timespec="microseconds"),
        extra={"filing": filing.pk, "stage": filing.stage, "attempt": filing.attempt,
               "items": filing.items, "acknowledged_by": user.username},
        tree_head=audit_tree_head_latest())
    filing.status, filing.handled_by, filing.handled_at = Filing.Status.ACKNOWLEDGED, user, now
    filing.save(update_fields=["receipt", "status", "handled_by", "handled_at"])
    audit_record(actor=user, action="inspections.filing_acknowledged", obj=filing,
                 payload={"digest": items_digest(filing.items)},
                 summary=f"{tender.reference}: {filing.stage} filing acknowledged")
    return filing


@transaction.atomic
def filing_return(*, user, filing: Filing, reasons: str,
                  now: datetime | None = None) -> Filing:
    """The supervisor returns a filing with reasons; the tenderer may file again."""
    now = now or timezone.now()
    filing = _require_handler(user, filing)
    if len(reasons.strip()) < 5:
        raise refuse("reasons", _("Give the reasons for returning the filing."), "required")
    filing.status, filing.reasons = Filing.Status.RETURNED, reasons.strip()
    filing.handled_by, filing.handled_at = user, now
    filing.save(update_fields=["status", "reasons", "handled_by", "handled_at"])
    audit_record(actor=user, action="inspections.filing_returned", obj=filing,
                 payload={"reasons": filing.reasons},
                 summary=f"{filing.tender.reference}: {filing.stage} filing returned")
    return filing


def filing_receipt_verify(filing: Filing) -> dict:
    """Check the receipt's signature with the platform key and that it covers the filed
    items; returns the receipt's fields. Raises ``crypto.errors.CryptoError`` otherwise."""
    from crypto.errors import VerificationFailed

    fields = receipts.receipt_verify(filing.receipt, platform_keys.verify_key())
    if fields["sha256"] != items_digest(fields["extra"]["items"]) or \
            fields["extra"]["items"] != filing.items:
        raise VerificationFailed("the receipt does not cover the filed items")
    return fields
