"""Who may enter a tender's opening hall, and as whom: host, bidder, custodian,
observer or public. The refusal is the same for "no such tender" and "not yours"."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.policies import is_bidder, is_custodian_role
from bidding.bids.models import Bid
from bidding.tenders.models import Tender, TenderKeyShare
from bidding.tenders.policies import TenderNotFound, access_tender, is_owner
from core.prepared import Prepared

S = Tender.Status


class HallRefused(Exception):
    """The user may not enter this hall (the same for 'no such tender')."""


# Asked on every hall request and websocket message of a bidder: compiled once
# (``core.prepared``).
_HAS_BID = Prepared(
    lambda tender_id, bidder_id: Bid.objects.filter(tender_id=tender_id, bidder_id=bidder_id)
    .exclude(status=Bid.Status.SUPERSEDED).values_list("pk")[:1],
    tender_id=int, bidder_id=int)


def hall_role(user, tender: Tender) -> str | None:
    """The user's role in this tender's hall, or None if they may not enter."""
    if is_owner(user, tender):
        return "host"
    if is_bidder(user) and user.organisation_id is not None and _HAS_BID.rows(
            tender_id=tender.pk, bidder_id=user.organisation_id):
        return "bidder"
    if is_custodian_role(user):
        return "custodian" if TenderKeyShare.objects.filter(
            tender=tender, custodian=user).exists() else "observer"
    if tender.public_opening and tender.status != S.DRAFT:
        return "public"
    return None


def access_hall(user, tender_id, *, with_parties: bool = True) -> tuple[Tender, str]:
    """Fetch and authorise in one step: the tender and the user's role in its hall.
    ``with_parties=False``: without the tenderer's and agency's rows (``access_tender``),
    for the API and the socket, which do not show them."""
    try:
        tender = access_tender(user, tender_id, with_parties=with_parties)
    except TenderNotFound:
        raise HallRefused() from None
    role = hall_role(user, tender)
    if role is None:
        raise HallRefused()
    return tender, role


def require_bidder(user, message: str | None = None) -> None:
    """Only a bidder signs in, hands over its data keys, raises objections, confirms."""
    if not is_bidder(user):
        raise PermissionDenied(message or _("Only bidders decrypt bids."))
