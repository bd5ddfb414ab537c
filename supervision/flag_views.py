"""The supervisor's queue of screened tenders and the drill-down to the evidence."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import cases
from .access import require_oversight
from .charts import flags_by_month_svg, month_counts, network_svg, price_distribution_svg
from .flag_selectors import explanation, flag_title, flags_by_tender, ranked_tenders
from .models import Case, Flag, RiskScore


@login_required
def flag_queue(request):
    require_oversight(request.user)
    page = Paginator(ranked_tenders(), 50).get_page(request.GET.get("page"))
    flags = flags_by_tender([r.tender_id for r in page])
    rows = [{"risk": r, "flags": [{"flag": f, "title": flag_title(f)}
                                  for f in flags[r.tender_id]]} for r in page]
    raised = (timezone.localtime(d) for d in Flag.objects.values_list("raised_at", flat=True))
    over_time = flags_by_month_svg(month_counts(raised))
    return render(request, "supervision/flags.html",
                  {"page": page, "rows": rows, "over_time": over_time})


@login_required
def network_page(request):
    """The co-bidding network of every opened tender, its suspicious groups listed."""
    require_oversight(request.user)
    from .market import network

    net = network()
    names = {n["id"]: n["name"] for n in net["nodes"]}
    groups = [[{"code": m, "name": names.get(m, m)} for m in g] for g in net["groups"]]
    return render(request, "supervision/network.html",
                  {"chart": network_svg(net["nodes"], net["edges"]), "groups": groups,
                   "bidders": len(net["nodes"]), "pairs": len(net["edges"])})


@login_required
def flag_detail(request, tender_id: int):
    require_oversight(request.user)
    risk = RiskScore.objects.filter(tender_id=tender_id).first()
    flags = flags_by_tender([tender_id])[tender_id]
    if risk is None and not flags:
        raise Http404
    lang = get_language()
    items = [{"flag": f, "title": flag_title(f), "explanation": explanation(f, lang),
              "evidence": json.dumps(f.evidence, ensure_ascii=False, indent=1)} for f in flags]
    chart = price_distribution_svg(risk.prices if risk else [],
                                   max_price=risk.max_price if risk else None)
    context = {"risk": risk, "items": items, "chart": chart, "tender_id": tender_id,
               "reference": risk.tender_reference if risk else flags[0].tender_reference,
               "case": Case.objects.filter(tender_id=tender_id,
                                           source_kind=Case.Source.FLAG).first(),
               "outcomes": Case.Outcome.choices,
               "may_decide": request.user.role == "supervisor"}
    return render(request, "supervision/flag_detail.html", context)


@login_required
@require_POST
def case_open(request, tender_id: int):
    try:
        cases.case_open(user=request.user, tender_id=tender_id,
                        note=request.POST.get("note", ""))
        messages.success(request, _("Case opened."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("supervision:flag_detail", tender_id=tender_id)


@login_required
@require_POST
def case_decide(request, tender_id: int, case_id: int):
    try:
        cases.case_decide(user=request.user, case_id=case_id,
                          outcome=request.POST.get("outcome", ""),
                          reasons=request.POST.get("reasons", ""))
        messages.success(request, _("Outcome recorded."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect("supervision:flag_detail", tender_id=tender_id)
