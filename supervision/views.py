from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from audit.models import AuditEvent
from audit.services import audit_verify

from .access import require_oversight


@login_required
def audit_trail(request):
    require_oversight(request.user)
    events = AuditEvent.objects.order_by("-seq")
    if q := request.GET.get("object_id"):
        events = events.filter(object_id=q)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    verification = audit_verify() if request.GET.get("verify") else None
    return render(request, "supervision/audit.html", {"page": page, "verification": verification})
