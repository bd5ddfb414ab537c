"""Pages of the expert pool: the expert's own page, the operator's pool page, the draw
page (request, beacon, progress, verification) and the simulated SMS/voice gateway.
Thin: each POST calls one service and shows its refusal as a message."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bidding.tenders.models import Tender

from . import avoidance, policies, selectors, services
from . import draw as draws
from .models import Draw, DrawMember, Expert, ImportBatch, Specialty


def _refusal(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _int(value, default=0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
def my_profile(request):
    expert = policies.expert_of(request.user)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "apply" and expert is None:
                services.expert_apply(
                    user=request.user, name=request.POST.get("name", "").strip(),
                    title=request.POST.get("title", ""),
                    years_experience=_int(request.POST.get("years_experience")),
                    region=request.POST.get("region", "").strip(),
                    specialties=request.POST.get("specialties", "").split(),
                    phone=request.POST.get("phone", ""), email=request.POST.get("email", ""),
                    recommended_by=request.POST.get("recommended_by", ""))
                messages.success(request, _("Application sent: the trading centre admits "
                                            "experts."))
            elif action == "profile" and expert is not None:
                services.expert_update_profile(user=request.user, expert=expert, data={
                    "phone": request.POST.get("phone", ""),
                    "email": request.POST.get("email", ""),
                    "region": request.POST.get("region", ""),
                    "specialties": request.POST.get("specialties", "").split()})
                messages.success(request, _("Profile saved."))
            elif action == "unavailable" and expert is not None:
                services.expert_mark_unavailable(
                    user=request.user, expert=expert,
                    start=date.fromisoformat(request.POST.get("start", "")),
                    end=date.fromisoformat(request.POST.get("end", "")),
                    note=request.POST.get("note", ""))
                messages.success(request, _("Calendar updated."))
        except ValidationError as exc:
            _refusal(request, exc)
        except ValueError:
            messages.error(request, _("Enter dates as YYYY-MM-DD."))
        return redirect("expert_pool:me")
    return render(request, "expert_pool/me.html", {
        "expert": expert,
        "seats": selectors.my_seats(request.user),
        "inbox": selectors.my_messages(request.user)[:20],
        "titles": Expert.Title.choices,
        "specialties": Specialty.objects.filter(parent__isnull=False),
        "my_codes": " ".join(expert.specialties.values_list("code", flat=True)) if expert else "",
    })


@login_required
@require_POST
def seat(request, member_id):
    m = DrawMember.objects.select_related("expert", "draw__tender").filter(
        pk=member_id, expert__user=request.user).first()
    if m is None:
        raise Http404
    action = request.POST.get("action", "")
    try:
        if action in ("confirm", "decline"):
            services.member_respond(member=m, user=request.user, accept=action == "confirm",
                                    reason=request.POST.get("reason", ""))
        elif action == "send_otp":
            services.pledge_otp_send(member=m, user=request.user)
            messages.info(request, _("A code was sent to your phone."))
        elif action == "pledge":
            services.pledge_sign(member=m, user=request.user, otp=request.POST.get("otp", ""),
                                 signature_b64=request.POST.get("signature", ""))
            messages.success(request, _("Pledge signed."))
    except ValidationError as exc:
        _refusal(request, exc)
    return redirect("expert_pool:me")


@login_required
def pool(request):
    if not policies.can_manage_pool(request.user):
        raise PermissionDenied
    batch = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "import" and request.FILES.get("file"):
                raw = request.FILES["file"].read()
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    text = raw.decode("gb18030", errors="replace")
                batch = services.import_csv(user=request.user, text=text)
                return redirect("expert_pool:import_progress", batch_id=batch.pk)
            expert = get_object_or_404(Expert, pk=_int(request.POST.get("expert")))
            if action == "admit":
                services.expert_admit(user=request.user, expert=expert)
                messages.success(request, _("Expert admitted."))
            elif action == "suspend":
                services.expert_suspend(user=request.user, expert=expert,
                                        reason=request.POST.get("reason", ""))
                messages.success(request, _("Expert suspended."))
        except ValidationError as exc:
            _refusal(request, exc)
        return redirect(request.get_full_path())
    counts = selectors.pool_counts()
    qs = Expert.objects.select_related("employer").order_by("status", "code")
    if q := request.GET.get("q", "").strip():
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if st := request.GET.get("status", ""):
        qs = qs.filter(status=st)
    return render(request, "expert_pool/pool.html", {
        "page": Paginator(qs, 25).get_page(request.GET.get("page")),
        "count_rows": [(label, counts.get(value, 0)) for value, label in Expert.Status.choices],
        "statuses": Expert.Status.choices,
        "q": q, "status": st, "columns": ", ".join(services.CSV_COLUMNS),
        "batches": ImportBatch.objects.order_by("-created_at")[:5],
    })


@login_required
def import_progress(request, batch_id):
    if not policies.can_manage_pool(request.user):
        raise PermissionDenied
    batch = get_object_or_404(ImportBatch, pk=batch_id)
    return render(request, "expert_pool/import.html", {"batch": batch})


@login_required
def gateway(request):
    """The simulated gateway: what was sent, and the keypad of each automatic call."""
    if not policies.can_see_gateway(request.user):
        raise PermissionDenied
    from .models import GatewayMessage

    if request.method == "POST":
        message = get_object_or_404(GatewayMessage, pk=_int(request.POST.get("message")))
        try:
            services.voice_keypress(message=message, key=request.POST.get("key", ""))
            messages.success(request, _("Keypress sent."))
        except ValidationError as exc:
            _refusal(request, exc)
        return redirect("expert_pool:gateway")

    return render(request, "expert_pool/gateway.html", {
        "page": Paginator(GatewayMessage.objects.select_related("expert"), 50).get_page(
            request.GET.get("page"))})


def _draw_context(request, tender: Tender, draw: Draw | None) -> dict:
    user = request.user
    ctx = {"tender": tender, "draw": draw, "can_request": policies.can_request_draw(user),
           "can_verify": policies.can_verify(user), "region_modes": draws.REGION_MODES,
           "specialties": Specialty.objects.filter(parent__isnull=False)}
    if draw is not None:
        ctx["progress"] = selectors.draw_progress(draw)
        ctx["exclusions"] = [(avoidance.REASON_LABELS[k], n)
                             for k, n in selectors.exclusion_counts(draw).items()]
        ctx["committee"] = selectors.committee_for(user, draw)
        ctx["contributions"] = {c.party: c for c in draw.contributions.all()}
        ctx["parties"] = draw.params.get("beacon_parties", [])
        ctx["my_party"] = user.role if user.role in ctx["parties"] else ""
        ctx["secret_hex"] = bytes(draw.secret).hex() if draw.secret_revealed_at else ""
        if request.GET.get("verify") and policies.can_verify(user):
            ctx["verification"] = draws.verify(draw)
    return ctx


@login_required
def tender_draw(request, tender_id):
    user = request.user
    if not (policies.can_request_draw(user) or policies.can_verify(user)
            or policies.NOTARY == user.role):
        raise PermissionDenied
    tender = get_object_or_404(Tender.objects.exclude(status=Tender.Status.DRAFT), pk=tender_id)
    draw = selectors.draw_for_tender(tender)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "request":
                quotas = []
                for code, count in zip(request.POST.getlist("specialty"),
                                       request.POST.getlist("count"), strict=False):
                    if code.strip() and _int(count):
                        quotas.append(draws.Quota(code.strip(), _int(count)))
                draws.draw_request(
                    tender=tender, user=user,
                    committee_size=_int(request.POST.get("committee_size")),
                    tenderer_reps=_int(request.POST.get("tenderer_reps")), quotas=quotas,
                    backups=_int(request.POST.get("backups")),
                    region_mode=request.POST.get("region_mode", "local"),
                    beacon_round=request.POST.get("beacon_round", ""))
                messages.success(request, _("Commitment recorded. The draw waits for its "
                                            "public input."))
            elif action == "commit" and draw:
                draws.beacon_commit(draw=draw, user=user,
                                    commitment=request.POST.get("commitment", ""))
            elif action == "reveal" and draw:
                draws.beacon_reveal(draw=draw, user=user, value=request.POST.get("value", ""))
            elif action == "abandon" and draw:
                draws.draw_abandon(draw=draw, user=user, reason=request.POST.get("reason", ""))
            elif action == "record" and draw:
                draws.beacon_record(draw=draw, user=user, value=request.POST.get("value", ""))
        except ValidationError as exc:
            _refusal(request, exc)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        return redirect("expert_pool:tender_draw", tender_id=tender.pk)
    return render(request, "expert_pool/draw.html", _draw_context(request, tender, draw))


@login_required
def draw_detail(request, draw_id):
    draw = get_object_or_404(Draw.objects.select_related("tender"), pk=draw_id)
    return redirect("expert_pool:tender_draw", tender_id=draw.tender_id)


@login_required
def draw_pdf(request, draw_id):
    draw = get_object_or_404(Draw.objects.select_related("tender"), pk=draw_id)
    if not (policies.can_verify(request.user) or policies.can_see_members(request.user, draw)):
        raise Http404
    from .pdf.record import draw_record_pdf

    response = HttpResponse(draw_record_pdf(draw), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="draw-{draw.pk}.pdf"'
    return response
