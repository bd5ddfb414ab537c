"""Pages. Thin: fetch through access functions, call services, render."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role

from . import lifecycle, selectors, services
from .access import (
    access_clarification_as_owner,
    access_register,
    access_tender,
    access_tender_as_owner,
    can_view_register,
    is_owner,
)
from .api import can_download
from .forms import (
    AmendmentForm,
    AnswerForm,
    DocumentForm,
    QuestionForm,
    TenderForm,
    add_service_errors,
)


def refusals_as_messages(view):
    """Show a refused service call as a message on the tender page, not an error page."""

    @wraps(view)
    def wrapper(request, tender_id, *args, **kwargs):
        try:
            return view(request, tender_id, *args, **kwargs)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except lifecycle.TransitionNotAllowed as exc:
            messages.error(request, str(exc))
        return redirect("bidding:tender_detail", tender_id=tender_id)

    return wrapper


def tender_list(request):
    search = selectors.tender_search(request.GET)
    tenders = search.qs if search.is_valid() else selectors.tender_public_list().none()
    page = Paginator(tenders, 15).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "bidding/tender_list.html",
        {
            "filter": search,
            "page": page,
            "query": query.urlencode(),
        },
    )


def tender_detail(request, tender_id):
    tender = access_tender(request.user, tender_id)
    user = request.user
    owner = is_owner(user, tender)
    context = {
        "tender": tender,
        "is_owner": owner,
        "documents": tender.documents.select_related("amendment"),
        "amendments": tender.amendments.prefetch_related("documents"),
        "clarifications": selectors.clarifications_visible(tender, user),
        "obtained": services.has_obtained(user, tender),
        "can_download": can_download(user, tender),
        "can_view_register": can_view_register(user, tender),
        "transitions": lifecycle.available_transitions(tender)
        if (owner or (user.is_authenticated and user.role in (Role.SUPERVISOR, Role.OPERATOR)))
        else [],
        "question_form": QuestionForm(),
        "answer_form": AnswerForm(),
        "document_form": DocumentForm(),
    }
    return render(request, "bidding/tender_detail.html", context)


@login_required
def dashboard(request):
    user = request.user
    tenders = []
    if user.organisation_id and user.role == Role.TENDERER:
        tenders = selectors.tenders_of_organisation(user.organisation_id)
    elif user.organisation_id and user.role == Role.BIDDER:
        tenders = selectors.tenders_obtained_by(user.organisation_id)
    from accounts.models import Notification

    from .models import Bid

    context = {
        "tenders": tenders,
        "notifications": Notification.objects.filter(
            organisation_id=user.organisation_id)[:20] if user.organisation_id else [],
        "my_bids": Bid.objects.filter(bidder_id=user.organisation_id, status="submitted")
        .select_related("tender") if user.role == Role.BIDDER else [],
        "refunds_due": selectors.bonds_refund_due() if user.role == Role.OPERATOR else [],
    }
    return render(request, "bidding/dashboard.html", context)


def _tender_form_view(request, tender=None):
    if request.user.role != Role.TENDERER:
        raise PermissionDenied(_("Only tenderers and agencies can manage tenders."))
    form = TenderForm(request.POST or None, instance=tender, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            if tender is None:
                tender = services.tender_create(user=request.user, data=form.to_input())
                messages.success(
                    request, _("Draft saved. Attach the tender documents, then publish.")
                )
            else:
                tender = services.tender_update(
                    user=request.user, tender=tender, data=form.to_input()
                )
                messages.success(request, _("Draft updated."))
            return redirect("bidding:tender_detail", tender_id=tender.pk)
        except ValidationError as exc:
            form.add_service_errors(exc)
    return render(request, "bidding/tender_form.html", {"form": form, "tender": tender})


@login_required
def tender_create(request):
    return _tender_form_view(request)


@login_required
def tender_edit(request, tender_id):
    tender = access_tender_as_owner(request.user, tender_id)
    if tender.status != tender.Status.DRAFT:
        messages.error(
            request, _("A published tender cannot be edited; publish an amendment instead.")
        )
        return redirect("bidding:tender_detail", tender_id=tender.pk)
    return _tender_form_view(request, tender)


@login_required
@require_POST
@refusals_as_messages
def tender_publish(request, tender_id):
    tender = access_tender_as_owner(request.user, tender_id)
    services.tender_publish(user=request.user, tender=tender)
    messages.success(request, _("The tender is published. Bidding closes at the deadline."))
    return redirect("bidding:tender_detail", tender_id=tender.pk)


@login_required
@require_POST
@refusals_as_messages
def document_upload(request, tender_id):
    tender = access_tender_as_owner(request.user, tender_id)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        raise ValidationError(form.errors["file"])
    doc = services.document_add(user=request.user, tender=tender, upload=form.cleaned_data["file"])
    messages.success(request, _("Document “%(name)s” attached.") % {"name": doc.name})
    return redirect("bidding:tender_detail", tender_id=tender.pk)


@login_required
@require_POST
@refusals_as_messages
def document_remove(request, tender_id, document_id):
    tender = access_tender_as_owner(request.user, tender_id)
    document = tender.documents.filter(pk=document_id).first()
    if document is None:
        raise ValidationError(_("No such document."))
    services.document_remove(user=request.user, tender=tender, document=document)
    messages.success(request, _("Document removed."))
    return redirect("bidding:tender_detail", tender_id=tender.pk)


@login_required
@require_POST
@refusals_as_messages
def tender_obtain(request, tender_id):
    tender = access_tender(request.user, tender_id)
    services.document_obtain(user=request.user, tender=tender)
    messages.success(request, _("You have obtained the tender documents."))
    return redirect("bidding:tender_detail", tender_id=tender.pk)


@login_required
def tender_register(request, tender_id):
    tender = access_register(request.user, tender_id)
    return render(
        request,
        "bidding/tender_register.html",
        {
            "tender": tender,
            "registrations": selectors.tender_register(tender),
        },
    )


@login_required
@require_POST
@refusals_as_messages
def clarification_ask(request, tender_id):
    tender = access_tender(request.user, tender_id)
    form = QuestionForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors["question"])
    services.clarification_ask(
        user=request.user, tender=tender, question=form.cleaned_data["question"]
    )
    messages.success(
        request,
        _(
            "Your question was sent. The answer will be published to "
            "every bidder without naming you."
        ),
    )
    return redirect("bidding:tender_detail", tender_id=tender.pk)


@login_required
@require_POST
@refusals_as_messages
def clarification_answer(request, tender_id, clarification_id):
    tender = access_tender(request.user, tender_id)
    item = access_clarification_as_owner(request.user, tender, clarification_id)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        raise ValidationError(form.errors["answer"])
    old_deadline = tender.deadline
    services.clarification_answer(
        user=request.user, tender=tender, clarification=item, **form.cleaned_data
    )
    tender.refresh_from_db()
    messages.success(request, _("The answer is published."))
    if tender.deadline != old_deadline:
        messages.warning(
            request,
            _("The bid deadline moved to %(d)s (Law 23).")
            % {"d": tender.deadline.strftime("%Y-%m-%d %H:%M %Z")},
        )
    return redirect("bidding:tender_detail", tender_id=tender.pk)


@login_required
def amendment_create(request, tender_id):
    tender = access_tender_as_owner(request.user, tender_id)
    form = AmendmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            amendment = services.amendment_publish(
                user=request.user,
                tender=tender,
                text=form.cleaned_data["text"],
                files=form.cleaned_data["files"],
                new_deadline=form.cleaned_data["new_deadline"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Amendment %(n)s is published.") % {"n": amendment.number})
            if amendment.deadline_moved_by_rule:
                messages.warning(
                    request,
                    _(
                        "It came less than 15 days before the deadline, so the deadline moved to "
                        "%(d)s (Law 23, Reg 21)."
                    )
                    % {"d": amendment.new_deadline.strftime("%Y-%m-%d %H:%M %Z")},
                )
            return redirect("bidding:tender_detail", tender_id=tender.pk)
    return render(request, "bidding/amendment_form.html", {"form": form, "tender": tender})


@login_required
def bid_page(request, tender_id):
    """The bidder's sealing and submission page. Sealing happens in the browser
    (static/js/envelope.js); this view only provides what the page needs."""
    import base64

    from accounts.models import PublicKey

    from .reference import STANDARD_PRICE_SHEET_ITEMS

    tender = access_tender(request.user, tender_id)
    if request.user.role != Role.BIDDER:
        raise PermissionDenied(_("Only bidders submit bids."))
    versions = list(selectors.bids_of(tender, request.user.organisation_id))
    current = next((b for b in versions if b.status == "submitted"), None)
    bid_keys = PublicKey.objects.filter(organisation_id=request.user.organisation_id,
                                        purpose=PublicKey.Purpose.BID, active=True)
    return render(request, "bidding/bid.html", {
        "tender": tender,
        "obtained": services.has_obtained(request.user, tender),
        "opening_key_b64": base64.b64encode(bytes(tender.opening_public_key or b"")).decode(),
        "bidder_id": request.user.organisation.credit_code,
        "bid_keys": bid_keys,
        "current": current,
        "versions": versions,
        "standard_items": STANDARD_PRICE_SHEET_ITEMS,
        "extra_items": tender.price_sheet_items,
        "bidding_open": tender.status == tender.Status.PUBLISHED,
    })


def opening_hall(request, tender_id):
    """The live opening hall (不见面开标). The page is a shell: hall.js connects to
    ``/ws/openings/<id>/`` and renders the state it receives."""
    from .hall import HallRefused, access_hall

    try:
        tender, role = access_hall(request.user, tender_id)
    except HallRefused:
        from django.http import Http404

        raise Http404(_("No such opening hall.")) from None
    hall_i18n = {
        "waiting": _("Waiting for the opening"), "decrypting": _("Decryption window open"),
        "custodians": _("Custodians opening undecrypted bids"),
        "confirming": _("Bidders confirming the record"),
        "closed": _("Closed: the record is published"), "connected": _("Live"),
        "reconnecting": _("Reconnecting…"), "decrypted": _("Decrypted"),
        "pending": _("Awaiting decryption"), "revoked": _("Not decrypted (revoked)"),
        "withdrawn": _("Not decrypted (withdrawn)"), "by_bidder": _("by the bidder"),
        "by_custodians": _("by the custodians"), "deemed": _("no answer: deemed confirmed"),
        "confirmed": _("confirmed"), "no_key": _("No key in this browser: choose your key file."),
        "done": _("Done."), "unanswered": _("Awaiting the host's answer"), "answer": _("Answer"),
        "proof_ok": _("Verified: your envelope is in the tree whose root the record "
                      "publishes."),
        "proof_bad": _("The proof does not match the published root: report this to the "
                       "supervisor."),
        "role_public": _("You are watching as a member of the public."),
        "role_host": _("You host this opening: answer objections as they come."),
        "role_observer": _("You are observing this opening."),
        "role_custodian": _("You hold a share of this tender's opening key."),
    }
    return render(request, "bidding/hall.html", {
        "tender": tender, "role": role, "hall_i18n": hall_i18n,
        "bidder_id": request.user.organisation.credit_code
        if role == "bidder" else "",
    })
