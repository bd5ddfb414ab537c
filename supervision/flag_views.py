"""The supervisor's queue of screened tenders and the drill-down to the evidence."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language

from .access import require_oversight
from .charts import price_distribution_svg
from .flag_selectors import explanation, flag_title, flags_by_tender, ranked_tenders
from .models import RiskScore


@login_required
def flag_queue(request):
    require_oversight(request.user)
    page = Paginator(ranked_tenders(), 50).get_page(request.GET.get("page"))
    flags = flags_by_tender([r.tender_id for r in page])
    rows = [{"risk": r, "flags": [{"flag": f, "title": flag_title(f)}
                                  for f in flags[r.tender_id]]} for r in page]
    return render(request, "supervision/flags.html", {"page": page, "rows": rows})


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
               "reference": risk.tender_reference if risk else flags[0].tender_reference}
    return render(request, "supervision/flag_detail.html", context)
