"""Pages: the public 一公开 pages (plans, draw proofs, results) and the filings queue and an
inspection's checklist for inspectors. Forms post to the services; refusals show inline."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from . import draws, policies, selectors, services
from .models import ChecklistItem, Filing, Inspection, InspectionPlan


def public_index(request):
    """Anyone: the plans with drawn rounds and the published results."""
    return render(request, "inspections/public_index.html", {
        "plans": selectors.public_plans(),
        "results": selectors.published_inspections()[:100]})


def public_plan(request, plan_id: int):
    """Anyone: a plan, each round's draw proof and whether it verifies, the inspected
    tenders and their published outcomes."""
    plan = get_object_or_404(selectors.public_plans(), pk=plan_id)
    rounds = [{"round": r, "secret": bytes(r.secret).hex(),
               "verification": draws.verify_round(r)}
              for r in plan.rounds.filter(drawn_at__isnull=False)]
    return render(request, "inspections/public_plan.html", {
        "plan": plan, "rounds": rounds, "checklist": selectors.checklist(plan),
        "inspections": plan.inspections.select_related("tender").prefetch_related(
            "inspectors__department")})


def inspection_detail(request, inspection_id: int):
    """A published result for anyone; an open inspection for its inspectors (checklist
    form) and supervisors."""
    inspection = get_object_or_404(Inspection.objects.select_related("tender", "plan"),
                                   pk=inspection_id)
    mine = (request.user.is_authenticated
            and inspection.inspectors.filter(user=request.user).exists())
    if inspection.status != Inspection.Status.PUBLISHED and not (
            mine or policies.is_oversight(request.user)):
        raise Http404
    error = None
    if request.method == "POST" and mine:
        try:
            if "conclude" in request.POST:
                services.inspection_conclude(user=request.user, inspection=inspection,
                                             text=request.POST.get("text", ""))
            else:
                item = get_object_or_404(ChecklistItem, pk=request.POST.get("item"))
                evidence = [int(x) for x in request.POST.get("evidence", "").split()
                            if x.isdigit()]
                services.finding_record(user=request.user, inspection=inspection, item=item,
                                        result=request.POST.get("result", ""),
                                        note=request.POST.get("note", ""), evidence=evidence)
            return redirect("inspections:inspection", inspection_id=inspection.pk)
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
    findings = {f.item_id: f for f in inspection.findings.all()}
    rows = [{"item": i, "finding": findings.get(i.pk)}
            for i in selectors.checklist(inspection.plan)]
    return render(request, "inspections/inspection.html", {
        "inspection": inspection, "rows": rows, "mine": mine, "error": error,
        "open": inspection.status == Inspection.Status.OPEN})


def filings(request):
    """Supervisors: the filings, newest first, with acknowledge / return."""
    if not policies.is_supervisor(request.user):
        raise PermissionDenied(_("Only a supervisor can do this."))
    error = None
    if request.method == "POST":
        f = get_object_or_404(Filing, pk=request.POST.get("filing"))
        try:
            if request.POST.get("action") == "return":
                services.filing_return(user=request.user, filing=f,
                                       reasons=request.POST.get("reasons", ""))
            else:
                services.filing_acknowledge(user=request.user, filing=f)
            return redirect("inspections:filings")
        except ValidationError as exc:
            error = " ".join(m for ms in exc.message_dict.values() for m in ms)
    return render(request, "inspections/filings.html", {
        "filings": selectors.filings_for_supervisor()[:200], "error": error})


def plans_admin(request):
    """Supervisors: every plan (drafts and waiting rounds included)."""
    if not policies.is_oversight(request.user):
        raise PermissionDenied(_("Only a supervisor or the trading centre can do this."))
    return render(request, "inspections/plans.html", {
        "plans": InspectionPlan.objects.prefetch_related("rounds", "departments"),
        "mine": selectors.inspections_for(request.user)})
