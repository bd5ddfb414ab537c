"""Pages of supervisors' cases (立案): the list, one case (subjects, evidence, steps,
findings, penalty decision), the decision letter, and a party's record. Thin: the rules
are in cases.py."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role

from . import cases
from .access import require_oversight
from .models import Case, CaseEvidence, CaseStep, Flag, PenaltyDecision, Sanction


def _case_or_404(case_id: int) -> Case:
    case = Case.objects.select_related("opened_by", "decided_by").filter(pk=case_id).first()
    if case is None:
        raise Http404
    return case


@login_required
def case_list(request):
    require_oversight(request.user)
    qs = Case.objects.select_related("opened_by")
    state = request.GET.get("state", "")
    now = timezone.now()
    if state == "open":
        qs = qs.filter(closed_at__isnull=True)
    elif state == "overdue":
        qs = qs.filter(closed_at__isnull=True, deadline__lte=now)
    elif state == "closed":
        qs = qs.filter(closed_at__isnull=False)
    if (source := request.GET.get("source", "")) in Case.Source.values:
        qs = qs.filter(source_kind=source)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = [{"case": c, "overdue": cases.is_overdue(c, now)} for c in page]
    return render(request, "supervision/cases.html", {
        "page": page, "rows": rows, "state": state, "source": source,
        "sources": Case.Source.choices})


def _attachable(case: Case) -> dict:
    """Records of the case's tender a supervisor may pick as evidence (bids only once the
    bidding has closed)."""
    if case.tender_id is None:
        return {}
    from bidding.bids.selectors import bids_of_tender, tenders_still_sealed
    from bidding.tenders.selectors import tender_documents

    out = {"flag": [(f.pk, f"{f.get_kind_display()} {f.screen}")
                    for f in Flag.objects.filter(tender_id=case.tender_id)],
           "document": [(d.pk, d.name) for d in
                        tender_documents(case.tender_id)]}
    if not tenders_still_sealed().filter(pk=case.tender_id).exists():
        out["bid"] = [(b.pk, f"{b.bidder.name} v{b.version}") for b in
                      bids_of_tender(case.tender_id)]
    return out


@login_required
def case_detail(request, case_id: int):
    require_oversight(request.user)
    case = _case_or_404(case_id)
    decision = PenaltyDecision.objects.filter(case=case).first()
    evidence = [{"e": e, "details": json.dumps(e.details, ensure_ascii=False, indent=1)}
                for e in case.evidence.select_related("attached_by")]
    return render(request, "supervision/case_detail.html", {
        "case": case, "overdue": cases.is_overdue(case), "evidence": evidence,
        "steps": case.steps.select_related("recorded_by"), "decision": decision,
        "sanctions": decision.sanctions.all() if decision else [],
        "may_act": request.user.role == Role.SUPERVISOR and not case.is_closed,
        "is_supervisor": request.user.role == Role.SUPERVISOR,
        "attachable": _attachable(case), "evidence_kinds": CaseEvidence.Kind.choices,
        "step_kinds": CaseStep.Kind.choices, "outcomes": Case.Outcome.choices,
        "sanction_kinds": Sanction.Kind.choices, "sanction_rows": range(3),
        "today": timezone.localdate().isoformat()})


def _act(request, case_id: int, action, ok: str):
    try:
        action()
        messages.success(request, ok)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("supervision:case_detail", case_id=case_id)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@require_POST
def case_subject(request, case_id: int):
    p = request.POST
    return _act(request, case_id, lambda: cases.case_subject_add(
        user=request.user, case_id=case_id, kind=p.get("kind", ""), code=p.get("code", "")),
        _("Subject added."))


@login_required
@require_POST
def case_evidence(request, case_id: int):
    p = request.POST
    return _act(request, case_id, lambda: cases.case_evidence_attach(
        user=request.user, case_id=case_id, kind=p.get("kind", ""),
        record_id=p.get("record_id", ""), note=p.get("note", "")), _("Evidence attached."))


@login_required
@require_POST
def case_step(request, case_id: int):
    p = request.POST

    def add():
        on = _date(p.get("on"))
        if on is None:
            from core.refusals import refuse

            raise refuse("on", _("Give the step's date."), "date_missing")
        cases.case_step_add(user=request.user, case_id=case_id, kind=p.get("kind", ""),
                            on=on, due=_date(p.get("due")), text=p.get("text", ""))

    return _act(request, case_id, add, _("Step recorded."))


@login_required
@require_POST
def case_findings(request, case_id: int):
    p = request.POST
    return _act(request, case_id, lambda: cases.case_decide(
        user=request.user, case_id=case_id, outcome=p.get("outcome", ""),
        reasons=p.get("reasons", "")), _("Outcome recorded."))


@login_required
@require_POST
def case_decision(request, case_id: int):
    p = request.POST
    sanctions = []
    for i in range(3):
        code, kind = p.get(f"s{i}_subject", ""), p.get(f"s{i}_kind", "")
        if code or kind:
            sanctions.append({"subject_code": code, "kind": kind,
                              "amount": p.get(f"s{i}_amount", ""),
                              "months": p.get(f"s{i}_months", "")})
    return _act(request, case_id, lambda: cases.case_decision_issue(
        user=request.user, case_id=case_id, legal_basis=p.get("legal_basis", ""),
        reasons=p.get("reasons", ""), sanctions=sanctions), _("Penalty decision issued."))


@login_required
def case_decision_pdf(request, case_id: int):
    require_oversight(request.user)
    decision = PenaltyDecision.objects.filter(case_id=case_id).first()
    if decision is None:
        raise Http404
    response = HttpResponse(bytes(decision.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{decision.number}.pdf"'
    return response


def may_see_record(user, code: str) -> bool:
    """A party's penalty record: supervisors, operators and tenderers (who choose whom to
    deal with), and the organisation itself."""
    if user.role in (Role.SUPERVISOR, Role.OPERATOR, Role.TENDERER):
        return True
    org = getattr(user, "organisation", None)
    return org is not None and org.credit_code.upper() == code.upper()


@login_required
def party_record(request, code: str):
    if not may_see_record(request.user, code):
        raise PermissionDenied(_("Only the party itself, tenderers and supervisors can see "
                                 "this record."))
    today = timezone.localdate()
    rows = [{"s": s, "in_force": s.starts <= today and (s.until is None or s.until >= today)}
            for s in cases.sanctions_of(code)]
    return render(request, "supervision/party_record.html", {"code": code.upper(),
                                                           "rows": rows})
