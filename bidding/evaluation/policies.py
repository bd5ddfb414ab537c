"""Who may do what in an evaluation. Services call these; the API's access functions
fetch and authorise in one step, with the same answer for "no such" and "not yours"."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.policies import is_operator, is_oversight
from bidding.tenders.policies import TenderNotFound, access_tender, is_owner
from core.refusals import refuse

from .models import Committee, Member


class EvaluationNotFound(Http404):
    pass


def member_of(committee: Committee, user, *, active_only: bool = True) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    qs = Member.objects.filter(committee=committee, user=user)
    if active_only:
        qs = qs.filter(active=True)
    return qs.first()


def require_member(committee: Committee, user) -> Member:
    """The user's active seat on the committee. Not a member: PermissionDenied; a member
    who was replaced (Reg 48): refused."""
    member = member_of(committee, user, active_only=False)
    if member is None:
        raise PermissionDenied(_("Only members of the evaluation committee can do this."))
    if not member.active:
        raise refuse("__all__", _("You were replaced on this committee; your scores are "
                                  "void (Reg 48)."), "member_replaced")
    return member


def require_chair(committee: Committee, user) -> Member:
    member = require_member(committee, user)
    if committee.chair_id != member.pk:
        raise PermissionDenied(_("Only the chair of the committee can do this."))
    return member


def can_manage(user, tender) -> bool:
    """The tenderer (or its agency) and the trading centre form the committee and handle
    replacements."""
    return is_owner(user, tender) or is_operator(user)


def can_oversee(user) -> bool:
    return is_oversight(user)


def access_evaluation(user, tender_id) -> tuple:
    """(tender, committee or None, member or None) for someone who may look at the
    evaluation: members (also replaced ones), the tenderer, the trading centre and
    oversight. Anyone else gets 404, the same as for a tender that does not exist."""
    try:
        tender = access_tender(user, tender_id)
    except TenderNotFound:
        raise EvaluationNotFound(_("No such evaluation.")) from None
    committee = Committee.objects.filter(tender=tender).first()
    member = member_of(committee, user, active_only=False) if committee else None
    if member is None and not (can_manage(user, tender) or can_oversee(user)):
        raise EvaluationNotFound(_("No such evaluation."))
    return tender, committee, member
