"""Who may do what in the award stage."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.policies import is_bidder, is_oversight, is_tenderer  # noqa: F401
from bidding.bids.models import Bid
from bidding.tenders.models import Tender
from bidding.tenders.policies import is_owner

from .models import CommitteeMember


def bidder_of(user, tender: Tender) -> bool:
    """Staff of an organisation with a standing bid in the tender."""
    return is_bidder(user) and Bid.objects.filter(
        tender=tender, bidder_id=user.organisation_id, status=Bid.Status.SUBMITTED).exists()


def require_owner(user, tender: Tender) -> None:
    if not is_owner(user, tender):
        raise PermissionDenied(_("Only the tenderer or its agency can do this."))


def require_oversight(user) -> None:
    if not is_oversight(user):
        raise PermissionDenied(_("Only a supervisor or the trading centre can do this."))


def member_of(user, tender: Tender) -> CommitteeMember:
    """The user's seat on the tender's award committee; refused for anyone else."""
    member = None
    if getattr(user, "is_authenticated", False):
        member = CommitteeMember.objects.filter(
            committee__tender=tender, committee__formed_at__isnull=False, user=user,
        ).select_related("committee").first()
    if member is None:
        raise PermissionDenied(_("Only a member of the award committee can do this."))
    return member


def can_see_record(user, tender: Tender) -> bool:
    """The tenderer, oversight and the committee see the decision's record as it goes."""
    if is_owner(user, tender) or is_oversight(user):
        return True
    return bool(getattr(user, "is_authenticated", False) and CommitteeMember.objects.filter(
        committee__tender=tender, user=user).exists())
