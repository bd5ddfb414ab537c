"""The award pages: publicity (public), objections, the committee's decision, notices and
the contract's signing status. Forms post to the same services the API calls; signing
the contract (a key on the signer's side) goes through the API."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bidding.tenders.policies import access_tender, is_owner

from . import decision, publicity, selectors
from .api import decision_state
from .models import CommitteeMember, Objection
from .policies import bidder_of


def award_page(request, tender_id):
    """One page per tender: the candidates in publicity, objections, the decision, the
    user's own notice and the contract's status, each shown to those who may see it."""
    tender = access_tender(request.user, tender_id)
    state = selectors.publicity_state(tender)
    if state is None:
        raise Http404(_("The candidates have not been published."))
    member = None
    if request.user.is_authenticated:
        member = CommitteeMember.objects.filter(committee__tender=tender,
                                                committee__formed_at__isnull=False,
                                                user=request.user).first()
    owner = is_owner(request.user, tender)
    d = decision_state(request.user, tender)
    names = {c["bid"]: c["bidder"] for c in tender.publicity.candidates}
    open_round = next((r for r in d["rounds"] if not r["closed_at"]), None)
    contract = (selectors.contract_state(tender)
                if selectors.may_see_contract(request.user, tender) else None)
    return render(request, "award/award.html", {
        "tender": tender, "publicity": state, "owner": owner, "member": member,
        "can_object": bidder_of(request.user, tender) and state["running"],
        "objections": selectors.objections_for(request.user, tender),
        "decision": d, "names": names, "choices": list(names.items()),
        "open_round": open_round,
        "notice": selectors.notice_of(request.user, tender) if request.user.is_authenticated
        else None,
        "contract": contract,
        "price_round": selectors.price_round_page(request.user, tender)
        if tender.decision_method == "price_competition" else None,
        "price_round_i18n": {
            "connected": _("Live updates on"), "reconnecting": _("Reconnecting…"),
            "noKey": _("Choose your bid key file, or make this browser keep your key first."),
            "working": _("Unwrapping your key in this browser…"),
            "done": _("Your key was accepted; your price stays sealed until the round closes."),
            "failed": _("Could not hand over your key:"),
        },
        "bidder_code": getattr(getattr(request.user, "organisation", None), "credit_code", "")
        if request.user.is_authenticated else "",
    })


def _act(request, tender_id, fn):
    tender = access_tender(request.user, tender_id)
    try:
        fn(tender)
        messages.success(request, _("Done."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this."))
    return redirect("award:page", tender.pk)


@require_POST
def objection_raise(request, tender_id):
    return _act(request, tender_id, lambda t: publicity.objection_raise(
        user=request.user, tender=t, text=request.POST.get("text", "")))


@require_POST
def objection_answer(request, tender_id, objection_id):
    def answer(t):
        try:
            o = Objection.objects.get(tender=t, public_id=objection_id)
        except (Objection.DoesNotExist, ValueError, ValidationError):
            raise Http404(_("No such objection.")) from None
        publicity.objection_answer(user=request.user, objection=o,
                                   answer=request.POST.get("answer", ""))
    return _act(request, tender_id, answer)


@require_POST
def vote(request, tender_id):
    return _act(request, tender_id, lambda t: decision.vote_cast(
        user=request.user, tender=t, choice=request.POST.get("choice", "")))


@require_POST
def opinion(request, tender_id):
    return _act(request, tender_id, lambda t: decision.opinion_record(
        user=request.user, tender=t, text=request.POST.get("text", ""),
        preferred=request.POST.get("preferred", "")))


@require_POST
def decide(request, tender_id):
    return _act(request, tender_id, lambda t: decision.deliberation_decide(
        user=request.user, tender=t, winner=request.POST.get("winner", ""),
        reason=request.POST.get("reason", "")))
