from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from audit.services import audit_verify

from .access import require_oversight
from .selectors import audit_events_visible


@login_required
def audit_trail(request):
    require_oversight(request.user)
    events = audit_events_visible().order_by("-seq")
    if q := request.GET.get("object_id"):
        events = events.filter(object_id=q)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    verification = None
    if request.GET.get("verify"):
        result = audit_verify()
        verification = {"ok": result.ok, "line": _("OK: the audit chain is intact")
                        if result.ok else result.line()}
    return render(request, "supervision/audit.html", {"page": page, "verification": verification})
