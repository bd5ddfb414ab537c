"""Pages. Thin: fetch through access functions, call services, render."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from bidding.tenders import lifecycle, selectors, services
from core import timefmt

from .forms import (
    AmendmentForm,
    AnswerForm,
    DocumentForm,
    QuestionForm,
    TenderForm,
    add_service_errors,
)
from .pages import PageFacts, stage_links
from .policies import (
    access_clarification_as_owner,
    access_register,
    access_tender,
    access_tender_as_owner,
    can_cancel,
    can_download,
    can_resume,
    can_see_transitions,
    can_suspend,
    can_view_register,
    is_owner,
    require_tenderer,
)
from .reference import CriterionStage


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
        return redirect("tenders:tender_detail", tender_id=tender_id)

    return wrapper


def tender_list(request):
    search = selectors.tender_search(request.GET)
    tenders = search.qs if search.is_valid() else selectors.tender_public_list().none()
    page = Paginator(tenders, 15).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tenders/tender_list.html",
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
    obtained = selectors.has_obtained(user, tender)
    context = {
        "tender": tender,
        "is_owner": owner,
        "documents": tender.documents.select_related("amendment"),
        "amendments": tender.amendments.prefetch_related("documents"),
        "clarifications": selectors.clarifications_visible(tender, user),
        "obtained": obtained,
        "can_download": can_download(user, tender),
        "can_view_register": can_view_register(user, tender),
        # The lifecycle panel: the moves the viewer makes (buttons), and the moves that
        # happen by themselves (the clock, the platform), as information.
        "automatic_moves": [
            e for e in lifecycle.available_transitions(tender)
            if e.by & {lifecycle.CLOCK, lifecycle.SYSTEM}
        ] if can_see_transitions(user, tender) else [],
        "may_cancel": can_cancel(user, tender),
        "may_suspend": can_suspend(user, tender),
        "may_resume": can_resume(user, tender),
        "resume_to": tender.Status(tender.suspended_from or tender.Status.PUBLISHED).label
        if tender.status == tender.Status.SUSPENDED else None,
        "opening_hall_url": _opening_hall_url(tender),
        "qualification_criteria": [c for c in tender.criteria.all()
                                   if c.stage == CriterionStage.QUALIFICATION],
        "question_form": QuestionForm(),
        "answer_form": AnswerForm(),
        "document_form": DocumentForm(),
        "stage_links": stage_links(user, tender, PageFacts(owner=owner, obtained=obtained)),
    }
    return render(request, "tenders/tender_detail.html", context)


def _opening_hall_url(tender) -> str:
    """Where the online opening (不见面开标) takes place: the hall's address, by its URL
    name, so the tender stage imports nothing from the opening stage. Empty while the
    tender is a draft (there is no opening to attend yet)."""
    if tender.status == tender.Status.DRAFT:
        return ""
    try:
        return reverse("opening:hall", args=[tender.pk])
    except NoReverseMatch:
        return ""


def _tender_form_view(request, tender=None):
    require_tenderer(request.user)
    form = TenderForm(request.POST or None, instance=tender, user=request.user)
    if request.method == "GET" and tender is not None and request.GET.get("check") == "publish":
        # Sent here by a refused publication: every problem beside its field at once.
        try:
            services.check_publishable(tender)
        except ValidationError as exc:
            form.cleaned_data = {}
            form.add_service_errors(exc)
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
            return redirect("tenders:tender_detail", tender_id=tender.pk)
        except ValidationError as exc:
            form.add_service_errors(exc)
    return render(request, "tenders/tender_form.html", {"form": form, "tender": tender})


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
        return redirect("tenders:tender_detail", tender_id=tender.pk)
    return _tender_form_view(request, tender)


@login_required
@require_POST
@refusals_as_messages
def tender_publish(request, tender_id):
    tender = access_tender_as_owner(request.user, tender_id)
    if request.POST.get("confirm") != "yes":
        # Irreversible: the page's checkbox says what happens, the server requires it.
        raise ValidationError(_(
            "Not published: tick the box to confirm that you understand publishing "
            "cannot be undone."))
    try:
        services.tender_publish(user=request.user, tender=tender)
    except ValidationError as exc:
        fields = set(getattr(exc, "error_dict", {})) - {NON_FIELD_ERRORS, "documents"}
        if not fields:
            raise  # nothing to correct in the form: the messages say it on the tender page
        count = len(exc.messages)
        messages.error(request, ngettext(
            "Not published: %(n)s problem to correct. It is shown beside its field below.",
            "Not published: %(n)s problems to correct. Each is shown beside its field below.",
            count) % {"n": count})
        return redirect(reverse("tenders:tender_edit", args=[tender.pk]) + "?check=publish")
    messages.success(request, _("The tender is published. Bidding closes at the deadline."))
    return redirect("tenders:tender_detail", tender_id=tender.pk)


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
    return redirect("tenders:tender_detail", tender_id=tender.pk)


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
    return redirect("tenders:tender_detail", tender_id=tender.pk)


@login_required
@require_POST
@refusals_as_messages
def tender_obtain(request, tender_id):
    tender = access_tender(request.user, tender_id)
    services.document_obtain(user=request.user, tender=tender)
    messages.success(request, _("You have obtained the tender documents."))
    return redirect("tenders:tender_detail", tender_id=tender.pk)


@login_required
def tender_register(request, tender_id):
    tender = access_register(request.user, tender_id)
    return render(
        request,
        "tenders/tender_register.html",
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
    return redirect("tenders:tender_detail", tender_id=tender.pk)


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
            % {"d": timefmt.human(tender.deadline)},
        )
    return redirect("tenders:tender_detail", tender_id=tender.pk)


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
                    % {"d": timefmt.human(amendment.new_deadline)},
                )
            return redirect("tenders:tender_detail", tender_id=tender.pk)
    return render(request, "tenders/amendment_form.html", {"form": form, "tender": tender})


@login_required
@refusals_as_messages
def tender_cancel(request, tender_id):
    """终止招标 in two steps: the page says what will happen (who is told, the bonds
    refunded and by when), then the owner gives the reason and confirms."""
    tender = access_tender_as_owner(request.user, tender_id)
    if not can_cancel(request.user, tender):
        raise lifecycle.TransitionNotAllowed(tender.status, tender.Status.CANCELLED)
    errors = []
    reason = ""
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            services.tender_cancel(user=request.user, tender=tender, reason=reason,
                                   confirmed=request.POST.get("confirm") == "yes")
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, _("The tender is cancelled; everyone concerned is told."))
            return redirect("tenders:tender_detail", tender_id=tender.pk)
    return render(request, "tenders/tender_cancel.html", {
        "tender": tender,
        "preview": services.tender_cancel_preview(tender=tender),
        "errors": errors,
        "reason": reason,
    })


@login_required
@require_POST
@refusals_as_messages
def tender_suspend(request, tender_id):
    return _supervisor_move(request, tender_id, services.tender_suspend,
                            _("The tender is suspended."))


@login_required
@require_POST
@refusals_as_messages
def tender_resume(request, tender_id):
    return _supervisor_move(request, tender_id, services.tender_resume,
                            _("The tender is resumed."))


def _supervisor_move(request, tender_id, move, done: str):
    """Suspend or resume (``move``, the service) with the form's reason."""
    tender = access_tender(request.user, tender_id)
    move(user=request.user, tender=tender, reason=request.POST.get("reason", ""))
    messages.success(request, done)
    return redirect("tenders:tender_detail", tender_id=tender.pk)
