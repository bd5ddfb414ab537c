"""Fetch and authorise in one step.

The error is the same for "does not exist" and "not yours to see", so ids leak
nothing. Views and the API call these; they never filter tenders by hand.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.policies import is_oversight, is_tenderer, may_act_for
from core.prepared import Prepared

from . import lifecycle
from .models import Clarification, Tender


class TenderNotFound(Http404):
    pass


def _lookup(tender_id) -> dict:
    text = str(tender_id)
    if text.isdigit():
        return {"pk": int(text)}
    return {"reference": text}


def is_owner(user, tender: Tender) -> bool:
    """The user works for the tenderer, or for its agency while the agency holds the
    tenderer's mandate in force for this project (revoked or expired: no longer)."""
    if not is_tenderer(user) or user.organisation_id not in tender.owner_organisations():
        return False
    if user.organisation_id == tender.tenderer_id:
        return True
    return may_act_for(user, tender.tenderer_id, project_code=tender.project_code)


def can_see_draft(user, tender: Tender) -> bool:
    return is_owner(user, tender)


# The tender alone, by id or by number, compiled once (``core.prepared``): a bid
# submission reads it this way, hundreds of times a second at a deadline.
_TENDER_BY = {
    "pk": Prepared(lambda pk: Tender.objects.filter(pk=pk).order_by(), pk=int),
    "reference": Prepared(
        lambda reference: Tender.objects.filter(reference=reference).order_by(),
        reference=str),
}
_MAX_ID = 2**63 - 1


def access_tender(user, tender_id, *, with_parties: bool = True) -> Tender:
    """A tender the user may see: any public tender, or a draft of their own. With
    ``with_parties=False`` the tenderer's and agency's rows are not read with it (for
    a caller that does not show them, such as a bid submission)."""
    lookup = _lookup(tender_id)
    if with_parties:
        try:
            tender = Tender.objects.select_related("tenderer", "agency").get(**lookup)
        except (Tender.DoesNotExist, ValueError):
            raise TenderNotFound(_("No such tender.")) from None
    else:
        (field, value), = lookup.items()
        found = [] if field == "pk" and value > _MAX_ID else _TENDER_BY[field].rows(
            **{field: value})
        if len(found) != 1:
            raise TenderNotFound(_("No such tender."))
        tender = found[0]
    if not tender.is_public and not can_see_draft(user, tender):
        raise TenderNotFound(_("No such tender."))
    return tender


def access_tender_as_owner(user, tender_id) -> Tender:
    """A tender the user manages (tenderer or agency staff). Others: not found / denied."""
    tender = access_tender(user, tender_id)
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))
    return tender


def can_view_register(user, tender: Tender) -> bool:
    """Law 22: who obtained the documents is secret from bidders and the public."""
    return is_owner(user, tender) or is_oversight(user)


def access_register(user, tender_id) -> Tender:
    tender = access_tender(user, tender_id)
    if not can_view_register(user, tender):
        raise PermissionDenied(
            _("The register of who obtained the documents is confidential (Law 22).")
        )
    return tender


def access_clarification_as_owner(user, tender: Tender, clarification_id) -> Clarification:
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can answer questions."))
    try:
        return tender.clarifications.get(pk=int(clarification_id))
    except (Clarification.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such question.")) from None


def can_download(user, tender: Tender) -> bool:
    """Documents go to those who obtained them (registered), the owner and oversight."""
    from .selectors import has_obtained

    if not user.is_authenticated:
        return False
    return is_owner(user, tender) or is_oversight(user) or has_obtained(user, tender)


def can_see_transitions(user, tender: Tender) -> bool:
    """The lifecycle panel: the owner and oversight see the next moves allowed."""
    return is_owner(user, tender) or is_oversight(user)


def is_supervisor(user) -> bool:
    return bool(user.is_authenticated and user.role == "supervisor")


def _lifecycle_allows(tender: Tender, to: str, by: str) -> bool:
    return any(e.target == to for e in lifecycle.available_transitions(tender, by=by))


def can_cancel(user, tender: Tender) -> bool:
    """终止招标: the tenderer (or its agency) where the lifecycle lets the tenderer
    cancel (a draft, or bidding still open)."""
    return is_owner(user, tender) and _lifecycle_allows(
        tender, Tender.Status.CANCELLED, lifecycle.TENDERER)


def can_suspend(user, tender: Tender) -> bool:
    """The supervisor orders the procedure suspended (Reg 62) where the lifecycle allows."""
    return is_supervisor(user) and _lifecycle_allows(
        tender, Tender.Status.SUSPENDED, lifecycle.SUPERVISOR)


def can_resume(user, tender: Tender) -> bool:
    return is_supervisor(user) and tender.status == Tender.Status.SUSPENDED


def require_tenderer(user) -> None:
    """Only staff of a tenderer or an agency create and manage tenders."""
    if not is_tenderer(user):
        raise PermissionDenied(_("Only tenderers and agencies can manage tenders."))
