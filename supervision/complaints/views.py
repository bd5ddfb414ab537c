"""Complaint pages: file a complaint (with evidence), my complaints, the supervisor's
list with working-day deadlines, a complaint's page with its acts, objections to the
tender documents, and the operators' calendar editor. Forms post to the services the
API calls; no script is needed."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bidding.tenders.policies import access_tender, is_owner

from . import calendar, policies, selectors, services
from .api import ACTIONS
from .models import Complaint, Matter, Pause


def _errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _complaint(request, pk) -> Complaint:
    c = get_object_or_404(Complaint.objects.select_related("tender", "complainant"), pk=pk)
    if not policies.may_view(request.user, c):
        raise Http404(_("No such complaint."))
    return c


@login_required
def complaint_new(request):
    if not policies.may_file(request.user):
        raise PermissionDenied(_("Only a bidder or another interested party may complain."))
    form = {"tender": request.GET.get("tender", ""), "matter": request.GET.get("matter", ""),
            "knew_on": timezone.localdate().isoformat(), "text": "", "requests": ""}
    field_errors = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            tender = access_tender(request.user, form["tender"].strip())
        except Http404:
            field_errors["tender"] = [_("No published tender with that number.")]
        else:
            try:
                knew_on = date.fromisoformat(form["knew_on"]) if form["knew_on"] else None
                c = services.complaint_file(
                    user=request.user, tender=tender, matter=form["matter"],
                    text=form["text"], requests=form["requests"], knew_on=knew_on,
                    evidence=request.FILES.getlist("evidence"))
            except ValueError:
                field_errors["knew_on"] = [_("Give the date as YYYY-MM-DD.")]
            except ValidationError as exc:
                field_errors = exc.message_dict if hasattr(exc, "error_dict") else {
                    "__all__": exc.messages}
            else:
                messages.success(request, _("Your complaint was filed. The supervisor decides "
                                            "whether to accept it by %(due)s.") % {
                    "due": c.accept_due or "—"})
                return redirect("complaints:detail", c.pk)
    return render(request, "complaints/new.html", {
        "form": form, "errors": field_errors, "matters": Matter.choices,
        "general_errors": field_errors.get("__all__", []),
        "max_mb": services.EVIDENCE_MAX_BYTES // (1024 * 1024),
        "max_files": services.EVIDENCE_MAX_FILES,
    }, status=400 if field_errors else 200)


def _rows(qs):
    today = timezone.localdate()
    return [{"c": c, "clock": selectors.clock_state(c, today)} for c in qs]


@login_required
def complaint_mine(request):
    qs = selectors.visible_complaints(request.user)
    if policies.may_file(request.user):
        qs = qs.filter(complainant_id=request.user.organisation_id) | qs.filter(
            tender__tenderer_id=request.user.organisation_id) | qs.filter(
            tender__agency_id=request.user.organisation_id)
    page = Paginator(qs.distinct(), 50).get_page(request.GET.get("page"))
    return render(request, "complaints/mine.html", {
        "rows": _rows(page), "page": page, "may_file": policies.may_file(request.user)})


@login_required
def complaint_list(request):
    policies.require_oversight(request.user)
    qs = selectors.visible_complaints(request.user)
    status = request.GET.get("status", "open")
    if status == "open":
        qs = qs.filter(status__in=[Complaint.Status.RECEIVED, Complaint.Status.ACCEPTED])
    elif status in Complaint.Status.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = _rows(page)
    return render(request, "complaints/list.html", {
        "rows": rows, "page": page, "status": status, "statuses": Complaint.Status.choices,
        "overdue": sum(1 for r in rows if r["clock"]["overdue"])})


@login_required
def complaint_detail(request, pk):
    c = _complaint(request, pk)
    return render(request, "complaints/detail.html", {
        "c": c, "clock": selectors.clock_state(c), "objection": c.objection,
        "is_supervisor": policies.is_supervisor(request.user),
        "is_complainant": policies.is_complainant(request.user, c),
        "open_pause": c.open_pause,
        "open_suspension": c.suspensions.filter(resumed_at__isnull=True).first(),
        "pause_reasons": Pause.Reason.choices, "outcomes": Complaint.Outcome.choices,
        "max_mb": services.EVIDENCE_MAX_BYTES // (1024 * 1024),
    })


@login_required
@require_POST
def complaint_act(request, pk, action):
    c = _complaint(request, pk)
    try:
        if action == "evidence":
            services.evidence_add(user=request.user, complaint=c,
                                  files=request.FILES.getlist("evidence"))
        elif action in ACTIONS:
            ACTIONS[action](request.user, c, request.POST)
        else:
            raise Http404(_("No such action."))
        messages.success(request, _("Done."))
    except ValidationError as exc:
        _errors(request, exc)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this."))
    except Exception as exc:  # a refused lifecycle move: say why
        from bidding.tenders.lifecycle import TransitionNotAllowed

        if not isinstance(exc, TransitionNotAllowed):
            raise
        messages.error(request, str(exc))
    return redirect("complaints:detail", c.pk)


@login_required
def complaint_letter(request, pk):
    c = _complaint(request, pk)
    if not c.letter:
        raise Http404(_("No decision yet."))
    return FileResponse(c.letter.open("rb"), content_type="application/pdf",
                        as_attachment=True, filename=f"complaint-{c.pk}-decision.pdf")


@login_required
def complaint_evidence(request, pk, evidence_id):
    c = _complaint(request, pk)
    ev = get_object_or_404(c.evidence, pk=evidence_id)
    return FileResponse(ev.file.open("rb"), content_type=ev.content_type, as_attachment=True,
                        filename=ev.name)


@login_required
def objections(request):
    if request.method == "POST":
        try:
            if "answer" in request.POST:
                o = get_object_or_404(selectors.objections_for(request.user),
                                      pk=request.POST.get("objection"))
                services.objection_answer(user=request.user, objection=o,
                                          answer=request.POST.get("answer", ""))
            else:
                tender = access_tender(request.user, request.POST.get("tender", "").strip())
                services.objection_raise(user=request.user, tender=tender,
                                         text=request.POST.get("text", ""))
            messages.success(request, _("Done."))
        except ValidationError as exc:
            _errors(request, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not do this."))
        return redirect("complaints:objections")
    rows = [{"o": o, "may_answer": o.is_open and is_owner(request.user, o.tender)}
            for o in selectors.objections_for(request.user)[:200]]
    return render(request, "complaints/objections.html", {
        "rows": rows, "may_raise": policies.may_file(request.user),
        "tender": request.GET.get("tender", "")})


@login_required
def calendar_page(request, year=None):
    policies.require_operator(request.user)
    year = calendar.check_year(year or timezone.localdate().year)
    if request.method == "POST":
        try:
            what = request.POST.get("do")
            if what == "define":
                calendar.define_year(user=request.user, year=year,
                                     note=request.POST.get("note", ""))
            elif what == "clear":
                calendar.clear_day(user=request.user, day=request.POST.get("date"))
            else:
                calendar.set_day(user=request.user, day=request.POST.get("date"),
                                 is_working_day=request.POST.get("is_working_day") == "1",
                                 note=request.POST.get("note", ""))
            messages.success(request, _("Saved."))
        except ValidationError as exc:
            _errors(request, exc)
        return redirect("complaints:calendar_year", year)
    return render(request, "complaints/calendar.html", {
        "cal": calendar.year_view(year), "prev": year - 1, "next": year + 1})


