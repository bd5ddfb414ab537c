"""Who may do what with bids and bonds.

Secrecy before the deadline: a bid, an upload and a bond are visible only to the
bidding organisation; every other id is "not found", whoever asks.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.policies import is_bidder, is_operator

from .models import BidBond, BidUpload


def require_bidder(user) -> None:
    """Only a bidder of an organisation seals, submits, withdraws and records a bond."""
    if not is_bidder(user):
        raise PermissionDenied(_("Only bidders can submit bids."))


def require_refund_recorder(user) -> None:
    """The trading centre records bond refunds and sees the refunds due."""
    if not is_operator(user):
        raise PermissionDenied(_("Only the trading centre records refunds."))


def can_see_refunds_due(user) -> bool:
    return is_operator(user)


def access_upload(user, upload_id, *, for_update: bool = False) -> BidUpload:
    """The bidder's own upload; any other id, or anyone else's, is not found."""
    require_bidder(user)
    qs = BidUpload.objects.select_related("tender")
    if for_update:
        # Lock this upload's row only: FOR UPDATE on the join would lock the tender's
        # row too, making every bidder's chunks queue behind each other (and, with the
        # deferred foreign-key checks of PostgreSQL, deadlock with submissions).
        qs = qs.select_for_update(of=("self",), no_key=True)
    try:
        return qs.get(public_id=uuid.UUID(str(upload_id)), bidder_id=user.organisation_id)
    except (BidUpload.DoesNotExist, ValueError):
        raise Http404(_("No such upload.")) from None


def access_bond_for_refund(user, bond_id) -> BidBond:
    """A bond by its public id (a UUID), for the trading centre to record its refund.
    The refusal is the same whether the bond exists or not, so ids leak nothing."""
    try:
        bond = (BidBond.objects.get(public_id=uuid.UUID(str(bond_id)))
                if is_operator(user) else None)
    except (BidBond.DoesNotExist, ValueError, TypeError):
        bond = None
    if bond is None:
        raise PermissionDenied(_("Only the trading centre records refunds."))
    return bond
