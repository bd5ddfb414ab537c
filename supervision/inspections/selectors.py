"""Reads of inspections, spot checks and filings, and the interface the cases app uses:
:func:`case_sources` (what an inspection or a spot check can open a case from)."""

from __future__ import annotations

import hashlib
from datetime import date

from django.db.models import Q
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_object_type
from bidding.tenders.selectors import TenderStatus, tenders
from core.refusals import refuse
from crypto.chain import canonical_json

from .models import (
    ChecklistItem,
    Filing,
    Finding,
    Inspection,
    InspectionPlan,
    Inspector,
    SpotCheck,
    SpotCheckRating,
)

DEFAULT_STATUSES = [TenderStatus.AWARDED, TenderStatus.CONTRACTED]
DATE_BASES = ("published", "awarded")


def clean_population(population: dict) -> dict:
    """The plan's population filter, checked: statuses, categories, regions and which date
    must fall in the period (``published`` or ``awarded``)."""
    statuses = list(population.get("statuses") or DEFAULT_STATUSES)
    if any(s not in TenderStatus.values for s in statuses):
        raise refuse("population", _("Unknown tender status in the population."), "invalid")
    categories = sorted(population.get("categories") or [])
    regions = sorted(population.get("regions") or [])
    basis = population.get("date") or "awarded"
    if basis not in DATE_BASES:
        raise refuse("population", _("The period applies to the publication or the award."),
                     "invalid")
    return {"statuses": sorted(statuses), "categories": categories, "regions": regions,
            "date": basis}


def plan_population(plan: InspectionPlan) -> list:
    """Tenders the plan may still draw: its filter, less every tender inspected under it."""
    p = plan.population
    qs = tenders().filter(status__in=p["statuses"])
    if p.get("categories"):
        qs = qs.filter(category__in=p["categories"])
    if p.get("regions"):
        qs = qs.filter(region__in=p["regions"])
    if p.get("date") == "published":
        qs = qs.filter(published_at__date__gte=plan.period_start,
                       published_at__date__lte=plan.period_end)
    else:
        qs = qs.filter(award_decision__decided_at__date__gte=plan.period_start,
                       award_decision__decided_at__date__lte=plan.period_end)
    done = Inspection.objects.filter(plan=plan).values_list("tender_id", flat=True)
    return list(qs.exclude(pk__in=done).order_by("reference"))


def tender_organisations(tender) -> set[int]:
    """The tenderer, its agency and every bidder of the tender."""
    from bidding.bids.selectors import bids_of_tender

    orgs = set(tender.owner_organisations())
    orgs |= set(bids_of_tender(tender.pk).values_list("bidder_id", flat=True))
    return orgs


def _tender_event_q(tender) -> Q:
    return (Q(object_type=audit_object_type(tender),
              object_id__in=[str(tender.pk), str(getattr(tender, "public_id", tender.pk))])
            | Q(sealed_tender_id=tender.pk)
            | Q(summary__startswith=tender.reference))


def event_concerns(event: AuditEvent, tender) -> bool:
    """Whether an audit event is a record of the tender (its own events, its bids' sealed
    events, or events whose summary names it first)."""
    return AuditEvent.objects.filter(_tender_event_q(tender), pk=event.pk).exists()


def avoidance_reasons(inspector: Inspector, tender) -> list[str]:
    """Why an inspector may not inspect a tender (empty when they may):
    ``own_organisation`` (the inspector's organisation is the tenderer, agency or a bidder),
    ``declared_interest`` (an organisation they declared an interest in is), ``involved``
    (they acted on the tender: created it, sat on its committee, or any audited act)."""
    from bidding.evaluation.selectors import sat_on_committee

    reasons = []
    orgs = tender_organisations(tender)
    user = inspector.user
    if user.organisation_id in orgs:
        reasons.append("own_organisation")
    if inspector.interests.filter(pk__in=orgs).exists():
        reasons.append("declared_interest")
    if (tender.created_by_id == user.pk
            or sat_on_committee(tender, user)
            or AuditEvent.objects.filter(_tender_event_q(tender), actor_id=user.pk).exists()):
        reasons.append("involved")
    return reasons


def checklist(plan: InspectionPlan) -> list[ChecklistItem]:
    """Every item of every matter the plan covers: one inspection covers what each
    participating department needs."""
    return list(ChecklistItem.objects.filter(matter__in=plan.matters.all())
                .select_related("matter").order_by("matter__code", "number"))


def inspections_for(user):
    """The inspections a user was drawn for."""
    return Inspection.objects.filter(inspectors__user=user).select_related("tender", "plan")


def published_inspections():
    return (Inspection.objects.filter(status=Inspection.Status.PUBLISHED)
            .select_related("tender", "plan").order_by("-published_at"))


def public_plans():
    """Plans with at least one drawn round: what the public page lists (一公开)."""
    return (InspectionPlan.objects.filter(rounds__drawn_at__isnull=False).distinct()
            .prefetch_related("departments", "matters"))


# ---------------------------------------------------------------- spot checks


def completed_evaluations(start: date, end: date) -> list[str]:
    from bidding.evaluation.selectors import reports_completed_between

    return reports_completed_between(start, end)


def committee_experts(tender) -> list:
    from bidding.evaluation.selectors import committee_expert_ids
    from expert_pool.selectors import experts

    return list(experts().filter(pk__in=committee_expert_ids(tender)).order_by("code"))


def spot_check_review(spot_check: SpotCheck, tender) -> dict:
    """What the supervisor re-reviews: the report (candidates, digest), each member with
    their submitted scores, and the ratings given so far."""
    from bidding.evaluation.selectors import members_with_scores, report_of

    report = report_of(tender)
    members = members_with_scores(tender)
    rated = {r.expert_id: r for r in SpotCheckRating.objects.filter(spot_check=spot_check,
                                                                    tender=tender)}
    return {"tender": tender, "report": report, "members": members, "rated": rated}


# ---------------------------------------------------------------- filings


def _file_sha256(f) -> str:
    h = hashlib.sha256()
    with f.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def filing_items(tender, stage: str) -> list[dict]:
    """What a filing covers, read from the platform's records with their SHA-256s;
    refuses when the stage has not been reached."""
    if stage == Filing.Stage.DOCUMENTS:
        if not tender.published_at:
            raise refuse("__all__", _("Tender documents are filed once the tender is "
                                      "published."), "not_published")
        return [{"kind": "tender_document", "name": d.name, "sha256": d.sha256}
                for d in tender.documents.order_by("pk")]
    from bidding.award.selectors import award_noticed, latest_contract_version
    from bidding.evaluation.selectors import report_of

    decision = award_noticed(tender)
    if decision is None:
        raise refuse("__all__", _("Results are filed after the award notice."), "not_awarded")
    items = []
    report = report_of(tender, completed=True)
    if report is not None:
        items.append({"kind": "evaluation_report", "name": f"{tender.reference} report",
                      "sha256": report.sha256 or hashlib.sha256(
                          canonical_json(report.candidates)).hexdigest()})
    items.append({"kind": "award_decision", "name": f"{tender.reference} award",
                  "sha256": _file_sha256(decision.report) if decision.report else
                  hashlib.sha256(canonical_json(decision.record)).hexdigest()})
    version = latest_contract_version(tender)
    if version is not None:
        items.append({"kind": "contract", "name": version.document_name,
                      "sha256": version.document_sha256})
    return items


def filings_for_supervisor():
    return Filing.objects.select_related("tender", "filed_by").order_by("status", "-filed_at")


def filing_deadline(tender):
    """The Law 47 report's due date (the award's), which filing the results meets."""
    from bidding.award.selectors import award_decision_of

    d = award_decision_of(tender)
    return (d.report_due, d.supervisor_report_at) if d else (None, None)


# ---------------------------------------------------------------- cases


def case_source_of_finding(f: Finding) -> dict:
    i = f.inspection
    return {"key": f"inspection-finding:{f.pk}", "kind": "inspection_finding", "id": f.pk,
            "tender_id": i.tender_id, "tender_reference": i.tender.reference,
            "summary": f"{f.item}: {f.note}", "evidence": list(f.evidence),
            "url": f"/inspections/inspection/{i.pk}/", "at": f.recorded_at}


def case_source_of_rating(r: SpotCheckRating) -> dict:
    return {"key": f"spot-check-rating:{r.pk}", "kind": "spot_check_rating", "id": r.pk,
            "tender_id": r.tender_id, "tender_reference": r.tender.reference,
            "expert_code": r.expert.code, "summary": f"{r.score}/5: {r.comment}",
            "evidence": [], "url": f"/inspections/spot-checks/{r.spot_check_id}/",
            "at": r.rated_at}


def case_sources(*, tender_id: int | None = None, max_rating: int = 2) -> list[dict]:
    """What a case can be opened from: every "not compliant" finding and every spot-check
    rating of ``max_rating`` or below, newest first. Each row: key (stable, unique), kind,
    id, tender_id, tender_reference, summary, evidence (audit references: seq, action,
    object_type, object_id, hash), url, at."""
    findings = Finding.objects.filter(result=Finding.Result.NOT_COMPLIANT).select_related(
        "inspection__tender", "item__matter")
    ratings = SpotCheckRating.objects.filter(score__lte=max_rating).select_related(
        "tender", "expert")
    if tender_id is not None:
        findings = findings.filter(inspection__tender_id=tender_id)
        ratings = ratings.filter(tender_id=tender_id)
    rows = [case_source_of_finding(f) for f in findings]
    rows += [case_source_of_rating(r) for r in ratings]
    return sorted(rows, key=lambda r: r["at"], reverse=True)
